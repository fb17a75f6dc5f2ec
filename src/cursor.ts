/**
 * The one cursor encoder. A cursor is opaque to clients: base64url of the key of the last row a page
 * holds, either an id (lists ordered by id) or `[createdAt, id]` as JSON (lists ordered by time).
 * Decoders answer undefined for anything they did not make; the caller turns that into its 400.
 */
import { base64url, fromBase64url } from "./ids";

/** The position in a list ordered by (createdAt, id): the deliveries and keys lists. */
export interface TimeCursor {
  createdAt: number;
  id: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCursor(key: string | TimeCursor): string {
  return base64url(encoder.encode(typeof key === "string" ? key : JSON.stringify([key.createdAt, key.id])));
}

/** The id an id cursor holds, if it is one and the id matches `pattern`. */
export function decodeIdCursor(cursor: string, pattern: RegExp): string | undefined {
  const bytes = fromBase64url(cursor);
  const id = bytes && decoder.decode(bytes);
  return id && pattern.test(id) ? id : undefined;
}

export function decodeTimeCursor(cursor: string): TimeCursor | undefined {
  try {
    const bytes = fromBase64url(cursor);
    const v = bytes && (JSON.parse(decoder.decode(bytes)) as unknown);
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === "string") return { createdAt: v[0], id: v[1] };
  } catch {
    // not JSON: not a cursor of ours
  }
  return undefined;
}
