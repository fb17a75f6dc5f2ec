/**
 * From the document object's webhook ledger (room-ledger.ts) to D1 and the queue: `document.updated` for every subscribed endpoint
 * whose throttle allows it, carrying the document's state now. Idempotent per change: event and delivery
 * ids derive from the object's name, the change sequence and the endpoints, and the ledger marks them sent
 * only after D1 has them and the queue took them.
 */
import { recordEvent, subscribers } from "./queries";
import type { Env } from "../env";
import { eventBody, type DocumentUpdatedData } from "./events";
import { enqueueDeliveries } from "./queue";
import { readWebhookSettings } from "./settings";
import { decide } from "./throttle";
import type { WebhookLedger } from "./room-ledger";

export const UPDATED = "document.updated";

export interface DispatchInput {
  env: Env;
  /** The object's webhook ledger (room-ledger.ts). */
  outbox: WebhookLedger;
  ref: { projectId: string; docId: string; incarnation: string };
  now: number;
  /** The durable state now (read only when some endpoint is due). */
  state: () => { sizeBytes: number; stateVector: string };
}

/** When it wants to run again (Infinity: nothing pending), and how many endpoints subscribe (null: not looked up). */
export async function dispatchUpdated(input: DispatchInput): Promise<{ next: number; subscribers: number | null }> {
  const { env, outbox, ref, now } = input;
  const change = outbox.pending(UPDATED);
  if (!change) return { next: Infinity, subscribers: null };
  const { throttleMs } = readWebhookSettings(env);
  const hooks = await subscribers(env.DB, ref.projectId, UPDATED);
  const sent = outbox.sent(UPDATED);
  const due: string[] = [];
  let next = Infinity;
  for (const hook of hooks) {
    const d = decide(change.seq, sent.get(hook.id) ?? { seq: 0, at: 0 }, now, throttleMs);
    if (d.kind === "send") due.push(hook.id);
    else if (d.kind === "wait") next = Math.min(next, d.until);
  }
  if (due.length > 0) {
    const data: DocumentUpdatedData = { projectId: ref.projectId, docId: ref.docId, updatedAt: new Date(change.at).toISOString(), ...input.state() };
    const eventId = `evt_${await digest(`${ref.projectId}/${ref.docId}/${ref.incarnation}|${change.seq}|${due.join(",")}`)}`;
    const deliveries = await Promise.all(due.map(async (webhookId) => ({ webhookId, id: `msg_${await digest(`${eventId}|${webhookId}`)}` })));
    await recordEvent(
      env.DB,
      { id: eventId, projectId: ref.projectId, type: UPDATED, body: JSON.stringify(eventBody(UPDATED, now, data)), createdAt: now },
      deliveries,
    );
    await enqueueDeliveries(
      env,
      deliveries.map((d) => d.id),
    );
    outbox.markSent(UPDATED, due, change.seq, now);
  }
  // Nobody is waiting for this change any more (sent to all, or no endpoint subscribes).
  if (next === Infinity) outbox.markHandled(UPDATED, change.seq);
  return { next, subscribers: hooks.length };
}

/** The first 16 bytes of SHA-256 in hex: event and delivery ids derived from what they are about. */
export async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let out = "";
  for (const b of bytes.subarray(0, 16)) out += b.toString(16).padStart(2, "0");
  return out;
}
