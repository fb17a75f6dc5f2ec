/**
 * The queue consumer: one attempt per message. 2xx acks; anything else records the attempt and asks the
 * queue to retry the message after the backoff schedule's delay (src/webhooks/backoff.ts). Messages the
 * queue dead-letters (the consumer itself kept failing) mark their delivery failed.
 */
import { failDelivery, loadAttempt, recordAttempt, type Attempt } from "../db/webhooks";
import type { Env } from "../env";
import { delivered, post } from "./attempt";
import { GIVE_UP_AFTER_MS, retryDelaySeconds } from "./backoff";
import type { DeliveryMessage } from "./queue";
import { readWebhookSettings } from "./settings";
import { webhookHeaders } from "./sign";

export const DEAD_LETTER_QUEUE_SUFFIX = "-dlq";

export async function handleDeliveries(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  if (batch.queue.endsWith(DEAD_LETTER_QUEUE_SUFFIX)) {
    for (const msg of batch.messages) {
      await failDelivery(env.DB, msg.body.d);
      msg.ack();
    }
    return;
  }
  await Promise.all(batch.messages.map((msg) => attemptOne(env, msg)));
}

async function attemptOne(env: Env, msg: Message<DeliveryMessage>): Promise<void> {
  const a = await loadAttempt(env.DB, msg.body?.d ?? "");
  // Gone (endpoint deleted), or finished already (a duplicate message: at-least-once): nothing to do.
  if (a?.delivery.status !== "pending") return msg.ack();
  const now = Date.now();
  // Disabled since it was queued: not sent; failed, so `POST …/retry` can send it once enabled again.
  if (!a.webhook.enabled) {
    await failDelivery(env.DB, a.delivery.id);
    return msg.ack();
  }
  const status = await post(a.webhook.url, await webhookHeaders(secretsOf(a, now), a.delivery.id, Math.floor(now / 1000), a.body), a.body);
  const at = Date.now();
  if (delivered(status)) {
    await recordAttempt(env.DB, a.delivery, { at, responseStatus: status, status: "succeeded", nextAttemptAt: null });
    return msg.ack();
  }
  const delay = retryDelaySeconds(msg.attempts, at - a.delivery.startedAt, readWebhookSettings(env).backoffScale);
  const failingSince = a.webhook.failingSince ?? at;
  const disable =
    at - failingSince >= GIVE_UP_AFTER_MS
      ? `disabled by Lattice on ${new Date(at).toISOString()}: every delivery failed for 3 days (last answer: ${status ?? "no response"})`
      : undefined;
  const giveUp = delay === null || disable !== undefined;
  await recordAttempt(
    env.DB,
    a.delivery,
    { at, responseStatus: status, status: giveUp ? "failed" : "pending", nextAttemptAt: giveUp ? null : at + delay * 1000 },
    disable,
  );
  if (giveUp) msg.ack();
  else msg.retry({ delaySeconds: delay });
}

/** The current secret, and the previous one while its 24 hours after a rotation last. */
function secretsOf(a: Attempt, now: number): string[] {
  const w = a.webhook;
  return w.previousSecret && (w.previousSecretExpiresAt ?? 0) > now ? [w.secret, w.previousSecret] : [w.secret];
}
