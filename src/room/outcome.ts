/**
 * The one result shape across the object boundary: every call on a document's object answers a value,
 * or a refusal in the object's own terms. The routes map refusals to HTTP in one place
 * (src/http/outcome.ts), by an exhaustive switch, so a new refusal cannot go unmapped.
 */

/**
 * Why the object refused:
 * - `gone`: the document was deleted (its object refuses every call for good);
 * - `not_found`: no such version;
 * - `invalid_update`, `too_many_client_ids`: the update is not valid, or brings more new Yjs client ids than allowed;
 * - `too_large`: past a document or version limit (nothing changed);
 * - `rate_limited`: the user's allowance is spent (`retryAfterSeconds` when the wait is known);
 * - `storage_failed`: storage refused the write (nothing applied);
 * - `unrestorable`: a version's content nests deeper than rendering and restore go, or cannot be read;
 * - `unrenderable`: the document's content nests deeper than its JSON rendering goes;
 * - `bad_cursor`: not a page's nextCursor.
 */
export type Refusal =
  | "gone"
  | "not_found"
  | "invalid_update"
  | "too_many_client_ids"
  | "too_large"
  | "rate_limited"
  | "storage_failed"
  | "unrestorable"
  | "unrenderable"
  | "bad_cursor";

export type Refused = { ok: false; reason: Refusal; message: string; retryAfterSeconds?: number };
export type Outcome<T> = { ok: true; value: T } | Refused;

export const done = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const refuse = (reason: Refusal, message: string, retryAfterSeconds?: number): Refused =>
  retryAfterSeconds === undefined ? { ok: false, reason, message } : { ok: false, reason, message, retryAfterSeconds };

export const GONE = refuse("gone", "no such document");
