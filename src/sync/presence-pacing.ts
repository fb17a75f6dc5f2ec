/**
 * How quickly presence (awareness) travels, as a function of the audience: the one rule that keeps a
 * room of a thousand stock clients from spending its thread on N² socket sends. Pure.
 *
 * Each awareness message the room sends reaches every socket, and every stock y-websocket client that
 * learns something from it sends one echo back: a flush costs about 2 × audience events. Small rooms
 * flush every change at once (today's latency); larger ones coalesce.
 *
 * - A real change (a new client, a new state, a removal) goes out at once if the last flush was at least
 *   `changeGapMs` ago, else at the end of that gap, together with everything else pending. So a room
 *   flushes changes at most 1000 / changeGapMs times a second: ~6.7 at 990 people.
 * - A renewal (the same state with a higher clock: y-protocols renews every 15 s, and a state not renewed
 *   for 30 s is dropped by peers) waits up to `renewalDelayMs`, and recipients are split into
 *   RENEWAL_SLOTS groups served in turn, so a renewal flush reaches a tenth of the room at a time and
 *   the room never stalls on one big burst.
 */

/** Audiences up to this size get every awareness message at once, as before batching. */
export const SMALL_ROOM = 16;
/** Gap between two change flushes, per recipient: 0.15 ms × 990 people ≈ 150 ms. */
export const CHANGE_GAP_PER_RECIPIENT_MS = 0.15;
/** Changes are never held longer than this (the target for a cursor move: p99 ≤ 250 ms at 990). */
export const MAX_CHANGE_GAP_MS = 150;
/** How long a renewal may wait, per recipient: 5 ms × 990 ≈ 5 s. */
export const RENEWAL_DELAY_PER_RECIPIENT_MS = 5;
/**
 * Renewals are never held longer than this. A stock client renews 15–18 s apart (it checks every 3 s);
 * held 5 s, its peers see it renewed at most ~23 s apart, well inside y-protocols' 30 s timeout.
 */
export const MAX_RENEWAL_DELAY_MS = 5_000;
/** Recipients are split into this many groups for renewal flushes, each served once per renewal delay. */
export const RENEWAL_SLOTS = 10;

export interface Pacing {
  /** Least time between two flushes of changes; 0: every change is sent at once. */
  changeGapMs: number;
  /** Longest a renewal waits before it is sent; 0: at once. */
  renewalDelayMs: number;
}

/** The pacing for a room of `audience` connections. */
export function pacing(audience: number): Pacing {
  if (audience <= SMALL_ROOM) return { changeGapMs: 0, renewalDelayMs: 0 };
  return {
    changeGapMs: Math.min(MAX_CHANGE_GAP_MS, audience * CHANGE_GAP_PER_RECIPIENT_MS),
    renewalDelayMs: Math.min(MAX_RENEWAL_DELAY_MS, audience * RENEWAL_DELAY_PER_RECIPIENT_MS),
  };
}

/** When the next flush of changes may happen, given the last one. */
export function changeDueAt(p: Pacing, lastFlushAt: number, now: number): number {
  return Math.max(now, lastFlushAt + p.changeGapMs);
}

/** The time between two renewal ticks (each serves one slot). */
export function renewalTickMs(p: Pacing): number {
  return p.renewalDelayMs / RENEWAL_SLOTS;
}
