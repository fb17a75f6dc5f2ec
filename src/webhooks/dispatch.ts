/**
 * From the document object's webhook ledger (room-ledger.ts) to D1 and the queue: `document.updated` for
 * every subscribed endpoint whose throttle allows it, carrying the document's state now. Idempotent per change: the event's key is
 * the change sequence and the endpoints (room-event.ts), and the ledger marks them sent only after D1 has
 * them and the queue took them.
 */
import { subscribers } from "./queries";
import type { Env } from "../env";
import type { DocumentUpdatedData } from "./events";
import { sendRoomEvent, type DocRef } from "./room-event";
import { readWebhookSettings } from "./settings";
import { decide } from "./throttle";
import type { WebhookLedger } from "./room-ledger";

export const UPDATED = "document.updated";

export interface DispatchInput {
  env: Env;
  /** The object's webhook ledger (room-ledger.ts). */
  outbox: WebhookLedger;
  ref: DocRef;
  now: number;
  /** The durable state now (read only when some endpoint is due). */
  state: () => { sizeBytes: number; stateVector: string };
}

/** When it wants to run again (Infinity: nothing pending), and how many endpoints subscribe (null: not looked up). */
export async function dispatchUpdated(input: DispatchInput): Promise<{ next: number; subscribers: number | null }> {
  const { env, outbox: ledger, ref, now } = input;
  const change = ledger.pending(UPDATED);
  if (!change) return { next: Infinity, subscribers: null };
  const { throttleMs } = readWebhookSettings(env);
  const hooks = await subscribers(env.DB, ref.projectId, UPDATED);
  const sent = ledger.sent(UPDATED);
  const due: string[] = [];
  let next = Infinity;
  for (const hook of hooks) {
    const d = decide(change.seq, sent.get(hook.id) ?? { seq: 0, at: 0 }, now, throttleMs);
    if (d.kind === "send") due.push(hook.id);
    else if (d.kind === "wait") next = Math.min(next, d.until);
  }
  if (due.length > 0) {
    const data: Omit<DocumentUpdatedData, "projectId" | "docId"> = { updatedAt: new Date(change.at).toISOString(), ...input.state() };
    await sendRoomEvent(env, ref, { type: UPDATED, key: `${change.seq}|${due.join(",")}`, at: now, data }, due, now);
    ledger.markSent(UPDATED, due, change.seq, now);
  }
  // Nobody is waiting for this change any more (sent to all, or no endpoint subscribes).
  if (next === Infinity) ledger.markHandled(UPDATED, change.seq);
  return { next, subscribers: hooks.length };
}
