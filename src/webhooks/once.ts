/**
 * Events that are never coalesced (`version.created`, `document.restored`): each is one ledger row whose
 * key is its own `data` (JSON), written in the transaction of the change it is about. The object's alarm
 * records each for the endpoints subscribed then, enqueues it, and only then removes the row, so a crash in
 * between records and enqueues the same ids again (at-least-once, as for `document.updated`).
 */
import { subscribers } from "./queries";
import type { Env } from "../env";
import type { DocumentRestoredData, VersionCreatedData } from "./events";
import { sendRoomEvent, type DocRef } from "./room-event";
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
  ref: DocRef;
  now: number;
}): Promise<void> {
  const { env, outbox: ledger, ref, now } = input;
  for (const type of ONCE_TYPES) {
    const rows = ledger.pendingKeys(type);
    if (rows.length === 0) continue;
    const hooks = await subscribers(env.DB, ref.projectId, type);
    for (const row of rows) {
      if (hooks.length > 0) {
        const event = { type, key: `${type}|${row.key}`, at: row.at, data: JSON.parse(row.key) as object };
        await sendRoomEvent(
          env,
          ref,
          event,
          hooks.map((h) => h.id),
          now,
        );
      }
      ledger.remove(type, row.key);
    }
  }
}
