/**
 * How quickly presence (awareness) travels, as a function of the audience: the one rule that keeps a
 * room of a thousand stock clients from spending its thread on N² socket sends. Pure.
 *
 * Each awareness message the room sends reaches every socket, and every stock y-websocket client that
 * learns something from it sends one echo back: a flush costs about 2 × audience events. Small rooms
 * flush every change at once (today's latency); larger ones coalesce.
 *
 * - A real change (a new client, a new state, a removal) goes out at once if the last flush was at least
 *   `changeGapMs` ago, else at the end of that gap, together with every other change pending. So a room
 *   flushes changes at most 1000 / changeGapMs times a second: ~6.7 at 990 people.
 * - A renewal (the same state with a higher clock: y-protocols renews every 15 s, and a state not renewed
 *   for 30 s is dropped by peers) waits up to `renewalDelayMs`. Recipients are split into
 *   RENEWAL_BUCKETS fixed groups, and each renewal tick serves the next few, so a tick reaches about
 *   RECIPIENTS_PER_TICK people and every group is served once per renewal delay. Every stock client
 *   echoes all it applies, so a tick's cost (to the room and to the clients) grows with its recipients:
 *   small ticks keep the room from stalling on one big burst, whatever its size.
 * - A change flush carries changes only (presence.ts): renewals keep to their ticks.
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
/** Recipients are split into this many fixed groups for renewal ticks (a connection keeps its group). */
export const RENEWAL_BUCKETS = 64;
/** About how many recipients one renewal tick serves. */
export const RECIPIENTS_PER_TICK = 25;

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

/** How many groups each renewal tick serves, and how often ticks come, for a room of `audience`. */
export function renewalTicks(p: Pacing, audience: number): { bucketsPerTick: number; everyMs: number } {
  const ticksPerRound = Math.max(1, Math.min(RENEWAL_BUCKETS, Math.ceil(audience / RECIPIENTS_PER_TICK)));
  const bucketsPerTick = Math.ceil(RENEWAL_BUCKETS / ticksPerRound);
  // Every group is served once per renewal delay.
  return { bucketsPerTick, everyMs: p.renewalDelayMs / Math.ceil(RENEWAL_BUCKETS / bucketsPerTick) };
}
