/**
 * The relay: one small Durable Object per project, whose alarm hands the queue every delivery D1 holds
 * that the queue does not (its `relayBacklog`): one a request recorded but could not enqueue itself (the
 * Worker died between the commit and its after-commit work), or one whose queue message was lost. A route
 * records deliveries only through `recordDeliveries`, which arms the relay before the batch that records
 * them, so the alarm exists whenever such a delivery can. (The document object's own pending events are
 * its ledger, src/webhooks/room-ledger.ts, which hands them to D1 and the queue itself.)
 */
import { DurableObject } from "cloudflare:workers";
import { relayBacklog } from "./queries";
import type { Env } from "../env";
import { enqueueDeliveries } from "./queue";
import { readWebhookSettings } from "./settings";

/** How long after arming the relay looks: the request's own after-commit enqueue normally wins by far. */
const RELAY_DELAY_MS = 10_000;
/** Deliveries younger than this may still be enqueued by their request. */
const GRACE_MS = 5_000;
/** A pending delivery this overdue lost its queue message (a local restart drops the in-memory queue): send it again. */
const LOST_AFTER_MS = 15 * 60_000;

export class WebhookRelay extends DurableObject<Env> {
  /** Makes sure the relay looks at the project's unqueued deliveries in RELAY_DELAY_MS at the latest. */
  async arm(projectId: string): Promise<void> {
    if ((await this.ctx.storage.get<string>("project")) !== projectId) await this.ctx.storage.put("project", projectId);
    const at = Date.now() + RELAY_DELAY_MS;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    const projectId = await this.ctx.storage.get<string>("project");
    if (!projectId) return;
    const now = Date.now();
    const { due, waiting } = await relayBacklog(this.env.DB, projectId, now, GRACE_MS, LOST_AFTER_MS);
    if (due.length > 0) await enqueueDeliveries(this.env, due);
    if (waiting || due.length === 500) await this.ctx.storage.setAlarm(Date.now() + GRACE_MS);
  }
}

export function relayStub(env: Env, projectId: string) {
  return env.WEBHOOK_RELAY.getByName(projectId);
}

/**
 * The one way a route records webhook deliveries in D1: the relay is armed before `write` commits them,
 * so a death between the commit and the enqueue still delivers them; what `write` recorded is enqueued
 * after the response (`waitUntil`), unless the DEV_MODE-only hold is on.
 */
export async function recordDeliveries<T extends { deliveries: readonly string[] }>(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  projectId: string,
  write: () => Promise<T>,
): Promise<T> {
  await relayStub(env, projectId).arm(projectId);
  const written = await write();
  if (written.deliveries.length > 0 && !readWebhookSettings(env).holdEnqueue) {
    waitUntil(
      enqueueDeliveries(env, written.deliveries).catch((e) => {
        // The relay's alarm enqueues them instead.
        console.error("webhook enqueue failed; the relay will retry", { error: e instanceof Error ? e.name : typeof e });
      }),
    );
  }
  return written;
}
