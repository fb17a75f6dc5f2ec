/** Random ids, base64url and ISO times: for keys, cursors, incarnations, state vectors and timestamps alike. */

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

/** A millisecond time as the API writes it. */
export const iso = (ms: number) => new Date(ms).toISOString();
