/** What an object call answers across the boundary: a value, or why not in the object's own terms. */

/**
 * Why the object refused a version call, in its own terms. `not_found`: no such version; `too_large`: over
 * MAX_VERSION_BYTES or a version quota, or a restore that would take the document past its limits; `unrestorable`: content
 * nested deeper than rendering and restore go (or unreadable); `bad_cursor`: not a page's nextCursor;
 * `rate_limited`: the user's named versions and restores per minute, or their byte or client-id allowance, are spent.
 */
export type VersionRefusal = "not_found" | "too_large" | "unrestorable" | "bad_cursor" | "storage_failed" | "gone" | "rate_limited";

/** `retryAfterSeconds` comes with `rate_limited` (the route's Retry-After). */
export type VersionResult<T> = { ok: true; value: T } | { ok: false; reason: VersionRefusal; message: string; retryAfterSeconds?: number };
