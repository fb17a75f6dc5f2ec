/** Handing deliveries to the queue: the message names the delivery and its chain; the consumer reads the rest from D1. */
import { markEnqueued, startChains } from "./queries";
import type { Env } from "../env";

export interface DeliveryMessage {
  /** The delivery id (the `webhook-id` header). */
  d: string;
  /**
   * The delivery's retry chain when this message was sent (webhook_deliveries.chain). The consumer drops
   * the message once the delivery has a newer one. Absent on messages sent before chains existed: chain 0.
   */
  c?: number;
}

/**
 * Starts a new chain for each pending delivery (in D1, before the send, so the message is current when it
 * arrives and every older message of the delivery is not), sends them to the queue, then marks them
 * enqueued, so the relay leaves them alone. At-least-once: a crash in between enqueues them again, with a
 * newer chain that supersedes this one.
 */
export async function enqueueDeliveries(env: Env, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    const chains = await startChains(env.DB, ids.slice(i, i + 100));
    if (chains.length === 0) continue;
    await env.WEBHOOK_QUEUE.sendBatch(chains.map(({ id, chain }) => ({ body: { d: id, c: chain } satisfies DeliveryMessage, contentType: "json" as const })));
    await markEnqueued(
      env.DB,
      chains.map((c) => c.id),
      Date.now(),
    );
  }
}
