/**
 * Who may open one more socket on a document (pure). One user (a token's subject) holds at most
 * `maxConnectionsPerUser` of a document's sockets and opens them at a bounded rate, so that whatever one
 * user does (one read token opening a thousand sockets), others can still connect and sync. A refusal
 * is transient (1013, which the stock provider retries with its backoff).
 */
import { TokenBucket } from "./budget";

/** Upgrades one user may make at once before their sustained rate applies. */
export const UPGRADE_BURST = 20;
/** Users whose upgrade budgets are remembered at once (the oldest are forgotten, and refill). */
const MAX_TRACKED_USERS = 10_000;

export interface AdmissionLimits {
  maxConnectionsPerDoc: number;
  maxConnectionsPerUser: number;
  /** Sustained upgrades per minute per user. */
  maxUpgradesPerUserPerMinute: number;
}

export class Admission {
  private readonly upgrades = new Map<string, TokenBucket>();

  constructor(private readonly limits: AdmissionLimits) {}

  /** Undefined if `userId` may open another socket (and that upgrade is counted); else the close reason. */
  admit(userId: string, open: { total: number; byUser: number }, now: number): string | undefined {
    if (open.total >= this.limits.maxConnectionsPerDoc) return "document is full: try again later";
    if (open.byUser >= this.limits.maxConnectionsPerUser) return "too many connections for this user: try again later";
    let bucket = this.upgrades.get(userId);
    if (!bucket) {
      if (this.upgrades.size >= MAX_TRACKED_USERS) this.upgrades.delete(this.upgrades.keys().next().value!);
      bucket = new TokenBucket(this.limits.maxUpgradesPerUserPerMinute / 60, UPGRADE_BURST, now);
      this.upgrades.set(userId, bucket);
    }
    if (!bucket.take(now)) return "too many connection attempts for this user: try again later";
    return undefined;
  }
}
