/**
 * Events that are never coalesced (`version.created`, `document.restored`): each is one ledger row whose
 * key is its own `data` (JSON), written in the transaction of the change it is about. The object's alarm
 * records each for the endpoints subscribed then, enqueues it, and only then removes the row, so a crash in
 * between records and enqueues the same ids again (at-least-once, as for `document.updated`).
 */
import { recordEvent, subscribers } from "./queries";
import type { Env } from "../env";
import { eventBody, type DocumentRestoredData, type VersionCreatedData } from "./events";
import { enqueueDeliveries } from "./queue";
import { digest } from "./dispatch";
import type { WebhookLedger } from "./room-ledger";

export const VERSION_CREATED = "version.created";
export const RESTORED = "document.restored";
export const ONCE_TYPES = [VERSION_CREATED, RESTORED] as const;
export type OnceType = (typeof ONCE_TYPES)[number];

/** What the ledger row's key holds: the event's data without the document's names, which the object knows. */
export type OnceData<T extends OnceType> = T extends typeof VERSION_CREATED
  ? Omit<VersionCreatedData, "projectId" | "docId">
  : Omit<DocumentRestoredData, "projectId" | "docId">;

/** Inside the transaction of the change: the event is recorded with it or not at all. */
export function recordOnce<T extends OnceType>(ledger: WebhookLedger, type: T, data: OnceData<T>, at: number): void {
  ledger.recordChange(type, at, JSON.stringify(data));
}

export function hasPendingOnce(ledger: WebhookLedger): boolean {
  return ONCE_TYPES.some((t) => ledger.pendingKeys(t).length > 0);
}

/** Hands every pending one-shot event to the endpoints subscribed now (D1, then the queue), then drops its row. */
export async function dispatchOnce(input: {
  env: Env;
  /** The object's webhook ledger (room-ledger.ts). */
  outbox: WebhookLedger;
  ref: { projectId: string; docId: string; incarnation: string };
  now: number;
}): Promise<void> {
  const { env, outbox, ref, now } = input;
  for (const type of ONCE_TYPES) {
    const rows = outbox.pendingKeys(type);
    if (rows.length === 0) continue;
    const hooks = await subscribers(env.DB, ref.projectId, type);
    for (const row of rows) {
      if (hooks.length > 0) {
        const data = { projectId: ref.projectId, docId: ref.docId, ...(JSON.parse(row.key) as object) };
        const eventId = `evt_${await digest(`${ref.projectId}/${ref.docId}/${ref.incarnation}|${type}|${row.key}`)}`;
        const deliveries = await Promise.all(hooks.map(async (h) => ({ webhookId: h.id, id: `msg_${await digest(`${eventId}|${h.id}`)}` })));
        await recordEvent(env.DB, { id: eventId, projectId: ref.projectId, type, body: JSON.stringify(eventBody(type, row.at, data)), createdAt: now }, deliveries);
        await enqueueDeliveries(
          env,
          deliveries.map((d) => d.id),
        );
      }
      outbox.remove(type, row.key);
    }
  }
}
