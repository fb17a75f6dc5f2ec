/**
 * When the document's object turns what its webhook ledger (room-ledger.ts) holds into events (an alarm duty): a change after a
 * quiet period is announced within about a second; a version or a restore within a second too; after a
 * look-up found no endpoint, `document.updated` waits WEBHOOK_RECHECK_MS before looking again. Off the
 * sync path: only the alarm records and enqueues.
 */
import type { Env } from "../env";
import { base64url } from "../ids";
import { dispatchUpdated, UPDATED } from "./dispatch";
import { dispatchOnce, hasPendingOnce } from "./once";
import type { WebhookLedger } from "./room-ledger";

/** A change after a quiet period is turned into `document.updated` this soon (queued within 5 s). */
export const WEBHOOK_FIRST_DELAY_MS = 1_000;
/**
 * After a look-up found no endpoint for `document.updated`, the next one waits this long: a document edited
 * without webhooks costs one D1 read per 5 s, not one per second, and a change after a webhook is created
 * is still queued within 5 s.
 */
export const WEBHOOK_RECHECK_MS = 5_000;

export interface WebhookSource {
  env: Env;
  ledger(): WebhookLedger;
  /** The document's names; undefined when no call has named it (it cannot have written anything). */
  ref(): { projectId: string; docId: string; incarnation?: string } | undefined;
  sizeBytes(): number;
  durableStateVector(): Uint8Array;
}

export class WebhookSchedule {
  /** When the alarm should next look at the ledger (Infinity: nothing pending that it knows of). */
  private dueAt = Infinity;
  /** No endpoint subscribed at the last look-up: the next waits until then. */
  private quietUntil = 0;

  constructor(private readonly source: WebhookSource) {}

  /** After waking: a change committed just before the object died whose event is not out yet wants a look now. */
  pendingAtWake(now: number): number | undefined {
    const ledger = this.source.ledger();
    if (!ledger.pending(UPDATED) && !hasPendingOnce(ledger)) return undefined;
    this.dueAt = now;
    return now;
  }

  /** A change: the time the alarm must come by (once per quiet period; a memory compare otherwise). */
  changed(now: number): number {
    if (this.dueAt === Infinity) this.dueAt = Math.max(now + WEBHOOK_FIRST_DELAY_MS, this.quietUntil);
    return this.dueAt;
  }

  /** A version or a restore was recorded: out within about a second, even while `document.updated` waits out a quiet look-up. */
  soon(now: number): number {
    this.dueAt = Math.min(this.dueAt, now + WEBHOOK_FIRST_DELAY_MS);
    return this.dueAt;
  }

  reset(): void {
    this.dueAt = Infinity;
  }

  /** The alarm duty: records and enqueues what is pending; due again when a throttled endpoint may have the change. */
  readonly duty = {
    name: "webhooks",
    run: async (now: number): Promise<number> => {
      if (now < this.dueAt) return this.dueAt;
      this.dueAt = Infinity;
      const named = this.source.ref();
      if (!named) return Infinity;
      const ledger = this.source.ledger();
      let next: number;
      try {
        const ref = { ...named, incarnation: named.incarnation ?? "" };
        const { env } = this.source;
        // Versions and restores first: one event each, never throttled.
        await dispatchOnce({ env, outbox: ledger, ref, now });
        const sent = await dispatchUpdated({
          env,
          outbox: ledger,
          ref,
          now,
          state: () => ({ sizeBytes: this.source.sizeBytes(), stateVector: base64url(this.source.durableStateVector()) }),
        });
        next = sent.next;
        if (sent.subscribers === 0) this.quietUntil = now + WEBHOOK_RECHECK_MS;
      } catch (e) {
        // Nothing was marked sent: the next try records and enqueues the same event ids again.
        console.error("webhook dispatch failed; retrying", { doc: named.docId, error: e instanceof Error ? e.name : typeof e });
        next = Date.now() + 10 * WEBHOOK_FIRST_DELAY_MS;
      }
      // A change that came in while this ran asked for nothing (dueAt was not Infinity): look again.
      if (next === Infinity && ledger.pending(UPDATED)) next = Math.max(Date.now() + WEBHOOK_FIRST_DELAY_MS, this.quietUntil);
      this.dueAt = Math.min(this.dueAt, next);
      return this.dueAt;
    },
  };
}
