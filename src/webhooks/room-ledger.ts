/**
 * The webhook ledger of one document object, in the object's own SQLite: the changes it has yet to
 * announce, and the last change each endpoint was sent. Every commit that writes updates bumps the
 * `document.updated` change sequence inside that same transaction (SqlUpdateStore calls `recordChange`),
 * so a change is never committed without its event. The object's alarm later turns pending changes into
 * events per endpoint (throttled: src/webhooks/throttle.ts; src/webhooks/dispatch.ts, once.ts), records
 * them in D1 and enqueues them; only then are they marked sent here, so a crash anywhere in between sends
 * again (at-least-once, same ids). Nothing here is in D1: the deliveries D1 holds and the queue does not
 * yet are the relay's (src/webhooks/relay.ts).
 *
 * Rows are keyed by (type, key) so later event types fit: one that must not coalesce (a version) uses its own key.
 * The tables keep the names they were created with (`webhook_outbox`, `webhook_sent`): they exist in
 * every object's storage.
 */
import type { Sent } from "./throttle";

export class WebhookLedger {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS webhook_outbox (type TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, handled INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (type, key))`,
    );
    sql.exec(
      `CREATE TABLE IF NOT EXISTS webhook_sent (webhook TEXT NOT NULL, type TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (webhook, type))`,
    );
  }

  /** Inside the commit's transaction: one more change to announce. */
  recordChange(type: string, at: number, key = ""): void {
    this.sql.exec(
      `INSERT INTO webhook_outbox (type, key, seq, at) VALUES (?, ?, 1, ?) ON CONFLICT (type, key) DO UPDATE SET seq = seq + 1, at = excluded.at`,
      type,
      key,
      at,
    );
  }

  /** The latest change not yet handed to every subscribed endpoint. */
  pending(type: string, key = ""): { seq: number; at: number } | undefined {
    return this.sql.exec<{ seq: number; at: number }>(`SELECT seq, at FROM webhook_outbox WHERE type = ? AND key = ? AND seq > handled`, type, key).toArray()[0];
  }

  sent(type: string): Map<string, Sent> {
    const out = new Map<string, Sent>();
    for (const r of this.sql.exec<{ webhook: string; seq: number; at: number }>(`SELECT webhook, seq, at FROM webhook_sent WHERE type = ?`, type)) {
      out.set(r.webhook, { seq: r.seq, at: r.at });
    }
    return out;
  }

  markSent(type: string, webhooks: readonly string[], seq: number, at: number): void {
    for (const w of webhooks) {
      this.sql.exec(
        `INSERT INTO webhook_sent (webhook, type, seq, at) VALUES (?, ?, ?, ?) ON CONFLICT (webhook, type) DO UPDATE SET seq = excluded.seq, at = excluded.at`,
        w,
        type,
        seq,
        at,
      );
    }
  }

  /** Events of `type` recorded one per key (never coalesced) and not yet handed to D1 and the queue, oldest first. */
  pendingKeys(type: string): { key: string; at: number }[] {
    return this.sql.exec<{ key: string; at: number }>(`SELECT key, at FROM webhook_outbox WHERE type = ? AND seq > handled ORDER BY at, key`, type).toArray();
  }

  /** A one-key event is out (or nobody subscribes): its row has nothing left to say. */
  remove(type: string, key: string): void {
    this.sql.exec(`DELETE FROM webhook_outbox WHERE type = ? AND key = ?`, type, key);
  }

  /** Every endpoint has the change `seq` (or none subscribes): nothing pending up to it. */
  markHandled(type: string, seq: number, key = ""): void {
    this.sql.exec(`UPDATE webhook_outbox SET handled = max(handled, ?) WHERE type = ? AND key = ?`, seq, type, key);
  }
}
