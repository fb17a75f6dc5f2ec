/** Handing deliveries to the queue: the message names the delivery only; the consumer reads the rest from D1. */
import { markEnqueued } from "../db/webhooks";
import type { Env } from "../env";

export interface DeliveryMessage {
  /** The delivery id (the `webhook-id` header). */
  d: string;
}

/** Sends the deliveries to the queue, then marks them enqueued, so the relay leaves them alone. At-least-once: a crash in between enqueues them again. */
export async function enqueueDeliveries(env: Env, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    await env.WEBHOOK_QUEUE.sendBatch(chunk.map((d) => ({ body: { d } satisfies DeliveryMessage, contentType: "json" as const })));
    await markEnqueued(env.DB, chunk, Date.now());
  }
}
