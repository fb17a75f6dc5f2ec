/**
 * When a failed delivery is tried again: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every 6 h, until
 * 3 days have passed since the first attempt; then the delivery is failed. Pure.
 */

export const BACKOFF_SECONDS = [5, 30, 120, 600, 1800, 3600] as const;
export const LATER_BACKOFF_SECONDS = 6 * 3600;
/** A delivery is given up (status `failed`), and an endpoint failing that long is disabled, after this. */
export const GIVE_UP_AFTER_MS = 3 * 24 * 3600 * 1000;

/**
 * The delay before the next attempt, in whole seconds, after attempt number `attempt` (1 = the first)
 * failed, `elapsedMs` after the delivery's first attempt; null when the next attempt would fall past
 * GIVE_UP_AFTER_MS. `scale` shrinks the schedule for tests (WEBHOOK_BACKOFF_SCALE, honoured in DEV_MODE only).
 */
export function retryDelaySeconds(attempt: number, elapsedMs: number, scale = 1): number | null {
  const base = BACKOFF_SECONDS[attempt - 1] ?? LATER_BACKOFF_SECONDS;
  if (elapsedMs + base * 1000 > GIVE_UP_AFTER_MS) return null;
  // Queues take whole seconds; a scaled schedule still waits at least one.
  return Math.max(1, Math.round(base * scale));
}

/** The whole production schedule as delays, for the docs and tests: attempt n waits `schedule()[n-1]` s after attempt n. */
export function schedule(): number[] {
  const out: number[] = [];
  let elapsed = 0;
  for (let attempt = 1; ; attempt++) {
    const d = retryDelaySeconds(attempt, elapsed);
    if (d === null) return out;
    out.push(d);
    elapsed += d * 1000;
  }
}
