/**
 * The step `document.updated` (dispatch.ts) and the one-shot events (once.ts) share: one event of the
 * document object, from its webhook ledger (room-ledger.ts) to D1 and the queue. Event and delivery ids
 * derive from the document's creation, what makes the event this one, and the endpoints, so a run again
 * after a crash (the ledger marks nothing sent until this returns) records nothing twice and enqueues the
 * same deliveries (at-least-once).
 */
import type { Env } from "../env";
import { eventBody, type SubscribableEvent } from "./events";
import { recordEvent } from "./queries";
import { enqueueDeliveries } from "./queue";

/** Which creation of which document: ids derive from it, so a re-created document's events are new. */
export interface DocRef {
  projectId: string;
  docId: string;
  incarnation: string;
}

export interface RoomEvent {
  type: SubscribableEvent;
  /** With the document's creation, what names this event: the same key, the same event id. */
  key: string;
  /** The body's timestamp: when what it announces happened. */
  at: number;
  /** The event's `data` beyond `projectId` and `docId`, which come first. */
  data: object;
}

/** Records `event` in D1 for `webhookIds`, then enqueues its deliveries. */
export async function sendRoomEvent(env: Env, ref: DocRef, event: RoomEvent, webhookIds: readonly string[], now: number): Promise<void> {
  const eventId = `evt_${await digest(`${ref.projectId}/${ref.docId}/${ref.incarnation}|${event.key}`)}`;
  const deliveries = await Promise.all(webhookIds.map(async (webhookId) => ({ webhookId, id: `msg_${await digest(`${eventId}|${webhookId}`)}` })));
  const data = { projectId: ref.projectId, docId: ref.docId, ...event.data };
  await recordEvent(
    env.DB,
    { id: eventId, projectId: ref.projectId, type: event.type, body: JSON.stringify(eventBody(event.type, event.at, data)), createdAt: now },
    deliveries,
  );
  await enqueueDeliveries(
    env,
    deliveries.map((d) => d.id),
  );
}

/** The first 16 bytes of SHA-256 in hex: event and delivery ids derived from what they are about. */
async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let out = "";
  for (const b of bytes.subarray(0, 16)) out += b.toString(16).padStart(2, "0");
  return out;
}
