/** Secret keys (`sk_…`) and constant-time comparison. Only hashes of secrets are ever stored. */
import { base64url } from "../ids";

const encoder = new TextEncoder();

export const SECRET_KEY_PREFIX = "sk_";

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
