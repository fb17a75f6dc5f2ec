/** Secret keys (`sk_…`), random ids and constant-time comparison. Only hashes of secrets are ever stored. */

const encoder = new TextEncoder();

export const SECRET_KEY_PREFIX = "sk_";

export function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Strict base64url (no padding, no other alphabet); undefined when the text is not one. */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** A new secret key: `sk_` + 32 random bytes (256 bits), base64url. */
export function generateSecretKey(): string {
  return SECRET_KEY_PREFIX + base64url(crypto.getRandomValues(new Uint8Array(32)));
}

export function looksLikeSecretKey(text: string): boolean {
  return text.startsWith(SECRET_KEY_PREFIX) && text.length <= 256;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** What `api_keys.hash` holds: SHA-256 of the whole key, hex. */
export async function hashSecretKey(secret: string): Promise<string> {
  return hex(await sha256(secret));
}

/** Constant-time equality of two strings of any length: both are hashed first, so lengths never leak. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256(a), sha256(b)]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** A random id over [0-9a-zA-Z] (rejection sampling, so no modulo bias), optionally prefixed. */
export function randomId(length = 21, prefix = ""): string {
  let out = prefix;
  while (out.length < prefix.length + length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < 248 && out.length < prefix.length + length) out += ID_ALPHABET[b % 62];
    }
  }
  return out;
}
