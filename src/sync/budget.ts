/** What one user may cost the room, as token buckets (in memory: a wake-up from hibernation refills them). */
import type { Bucket, Budgets, RoomLimits } from "./ports";

/** A token bucket: `rate` per second sustained, up to `burst` at once. */
export class TokenBucket implements Bucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }
  /** Takes `n` tokens if there are that many. */
  take(now: number, n = 1): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
  /** Takes `n` tokens even if that leaves a debt: for work whose cost is known only once it is done. */
  charge(now: number, n: number): void {
    this.refill(now);
    this.tokens -= n;
  }
  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}

export function newBudgets(limits: RoomLimits, now: number): Budgets {
  return {
    messages: new TokenBucket(limits.maxUpdatesPerSecond, limits.maxUpdateBurst, now),
    // Twice the document cap: any update that fits in a document also fits in a fresh budget.
    bytes: new TokenBucket(limits.maxSyncBytesPerSecond, 2 * limits.maxDocBytes, now),
    awareness: new TokenBucket(limits.maxAwarenessPerSecond, 10 * limits.maxAwarenessPerSecond, now),
  };
}

/** Users whose rate budgets the room remembers at once. */
const MAX_TRACKED_USERS = 10_000;

/**
 * `userId`'s budgets among the room's `userBudgets`, made on first use: one user, one allowance, whatever
 * their number of sockets and tokens.
 */
export function budgetsOfUser(userBudgets: Map<string, Budgets>, userId: string, limits: RoomLimits, now: number): Budgets {
  const key = userId;
  let budgets = userBudgets.get(key);
  if (!budgets) {
    // Bounded: past this many users the oldest budgets are forgotten (they refill, as after a wake-up).
    if (userBudgets.size >= MAX_TRACKED_USERS) userBudgets.delete(userBudgets.keys().next().value!);
    budgets = newBudgets(limits, now);
    userBudgets.set(key, budgets);
  }
  return budgets;
}
