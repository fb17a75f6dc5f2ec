/**
 * How quickly presence (awareness) travels, as a function of the audience: the one rule that keeps a
 * room of a thousand stock clients from spending its thread on N² socket sends. Pure.
 *
 * Each awareness message the room sends reaches every socket, and every stock y-websocket client that
 * learns something from it sends one echo back: a flush costs about 2 × audience events. Small rooms
 * flush every change at once (today's latency); larger ones coalesce.
 *
 * Recipients are split into RENEWAL_SLOTS groups, served one group per tick with one message each (all
 * that group lacks), so a flush reaches a tenth of the room at a time, and so do the echoes it draws: the
 * room never stalls on one big burst.
 * - While any group lacks a real change (a new client, a new state, a removal), ticks are a tenth of
 *   `changeGapMs` apart, the first at once: a change reaches everyone within the gap (~150 ms at 990).
 * - While they lack only renewals (the same state with a higher clock: y-protocols renews every 15 s, and
 *   a state not renewed for 30 s is dropped by peers), ticks are a tenth of `renewalDelayMs` apart.
 */

/** Audiences up to this size get every awareness message at once, as before batching. */
export const SMALL_ROOM = 16;
/** How long a change takes to reach every group, per recipient: 0.15 ms × 990 people ≈ 150 ms. */
export const CHANGE_GAP_PER_RECIPIENT_MS = 0.15;
/** A change reaches everyone within this (the target for a cursor move: p99 ≤ 250 ms at 990). */
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

/** The time between two slot ticks while a change is on its way: a sweep of all slots takes the change gap. */
export function changeTickMs(p: Pacing): number {
  return p.changeGapMs / RENEWAL_SLOTS;
}

/** The time between two slot ticks while only renewals wait: a sweep takes the renewal delay. */
export function renewalTickMs(p: Pacing): number {
  return p.renewalDelayMs / RENEWAL_SLOTS;
}
