/**
 * The queue consumer: one attempt per message. 2xx acks; anything else records the attempt and asks the
 * queue to retry the message after the backoff schedule's delay (src/webhooks/backoff.ts). Messages the
 * queue dead-letters (the consumer itself kept failing) mark their delivery failed. A message of a chain
 * the delivery no longer runs (src/webhooks/queue.ts) is dropped, so a delivery has one chain of attempts.
 */
import { failDelivery, loadAttempt, recordAttempt, updateWebhook, type Attempt } from "./queries";
import type { Env } from "../env";
import { delivered, post } from "./attempt";
import { GIVE_UP_AFTER_MS, retryDelaySeconds } from "./backoff";
import type { DeliveryMessage } from "./queue";
import { readWebhookSettings } from "./settings";
import { webhookHeaders } from "./sign";
import { checkWebhookUrl } from "./url";

export const DEAD_LETTER_QUEUE_SUFFIX = "-dlq";

export async function handleDeliveries(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  if (batch.queue.endsWith(DEAD_LETTER_QUEUE_SUFFIX)) {
    for (const msg of batch.messages) {
      await failDelivery(env.DB, msg.body.d, msg.body.c ?? 0);
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
  // A chain the delivery no longer runs (re-enqueued since: relay, retry, a duplicate send): the current one attempts it.
  if (a.delivery.chain !== (msg.body.c ?? 0)) return msg.ack();
  const now = Date.now();
  // Disabled since it was queued: not sent; failed, so `POST …/retry` can send it once enabled again.
  if (!a.webhook.enabled) {
    await failDelivery(env.DB, a.delivery.id, a.delivery.chain);
    return msg.ack();
  }
  // Checked again before every request: an endpoint stored before the rule (or under DEV_MODE) may point
  // inside. Not sent; the delivery fails and the endpoint is disabled with the reason.
  const allowed = checkWebhookUrl(a.webhook.url, readWebhookSettings(env).devMode);
  if (!allowed.ok) {
    await failDelivery(env.DB, a.delivery.id, a.delivery.chain);
    await updateWebhook(env.DB, a.webhook.projectId, a.webhook.id, { enabled: false, disabledReason: `disabled by Lattice: ${allowed.error}` }, now);
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
  const current = await recordAttempt(
    env.DB,
    a.delivery,
    { at, responseStatus: status, status: giveUp ? "failed" : "pending", nextAttemptAt: giveUp ? null : at + delay * 1000 },
    disable,
  );
  // A newer chain took over while this attempt ran: it retries, not this one.
  if (giveUp || !current) msg.ack();
  else msg.retry({ delaySeconds: delay });
}

/** The current secret, and the previous one while its 24 hours after a rotation last. */
function secretsOf(a: Attempt, now: number): string[] {
  const w = a.webhook;
  return w.previousSecret && (w.previousSecretExpiresAt ?? 0) > now ? [w.secret, w.previousSecret] : [w.secret];
}
