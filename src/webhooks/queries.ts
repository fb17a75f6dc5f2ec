/**
 * Every D1 statement about webhooks: endpoints, the events and deliveries outbox, and the catalog changes
 * whose events must be written in the same batch. Functions take the D1 binding and plain values.
 */
import { and, desc, eq, lt, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { webhookDeliveries, webhookEvents, webhooks, type DeliveryRow, type DocumentRow, type WebhookRow } from "../db/schema";

const db = (d1: D1Database) => drizzle(d1);

// ---- endpoints ----

/**
 * Inserts the endpoint unless the project already has `max`: the count and the insert are one statement,
 * so concurrent creates cannot pass the cap together (D1 runs statements one at a time). False when full.
 */
export async function insertWebhookUnderCap(d1: D1Database, row: WebhookRow, max: number): Promise<boolean> {
  const res = await d1
    .prepare(
      `INSERT INTO webhooks (id, project_id, url, events, description, enabled, disabled_reason, secret, previous_secret, previous_secret_expires_at,
         failing_since, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13 WHERE (SELECT count(*) FROM webhooks WHERE project_id = ?2) < ?14`,
    )
    .bind(
      row.id,
      row.projectId,
      row.url,
      row.events,
      row.description,
      row.enabled ? 1 : 0,
      row.disabledReason,
      row.secret,
      row.previousSecret,
      row.previousSecretExpiresAt,
      row.failingSince,
      row.createdAt,
      row.updatedAt,
      max,
    )
    .run();
  return res.meta.changes === 1;
}

export function listWebhooks(d1: D1Database, projectId: string): Promise<WebhookRow[]> {
  return db(d1).select().from(webhooks).where(eq(webhooks.projectId, projectId)).orderBy(webhooks.createdAt, webhooks.id);
}

export async function getWebhook(d1: D1Database, projectId: string, id: string): Promise<WebhookRow | undefined> {
  const [row] = await db(d1)
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.projectId, projectId), eq(webhooks.id, id)))
    .limit(1);
  return row;
}

export type WebhookPatch = Partial<Pick<WebhookRow, "url" | "events" | "description" | "enabled" | "disabledReason" | "failingSince">>;

export async function updateWebhook(d1: D1Database, projectId: string, id: string, patch: WebhookPatch, at: number): Promise<WebhookRow | undefined> {
  const [row] = await db(d1)
    .update(webhooks)
    .set({ ...patch, updatedAt: at })
    .where(and(eq(webhooks.projectId, projectId), eq(webhooks.id, id)))
    .returning();
  return row;
}

/** The new secret becomes current; the current one stays valid (both signatures are sent) until `previousUntil`. */
export async function rotateWebhookSecret(d1: D1Database, projectId: string, id: string, secret: string, at: number, previousUntil: number): Promise<boolean> {
  const res = await d1
    .prepare("UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = ?1, secret = ?2, updated_at = ?3 WHERE project_id = ?4 AND id = ?5")
    .bind(previousUntil, secret, at, projectId, id)
    .run();
  return res.meta.changes > 0;
}

/** Deletes the endpoint and (cascade) its deliveries; false when the project has no such endpoint. */
export async function deleteWebhook(d1: D1Database, projectId: string, id: string): Promise<boolean> {
  const rows = await db(d1)
    .delete(webhooks)
    .where(and(eq(webhooks.projectId, projectId), eq(webhooks.id, id)))
    .returning({ id: webhooks.id });
  return rows.length > 0;
}

/** The project's enabled endpoints subscribed to `type`. */
export async function subscribers(d1: D1Database, projectId: string, type: string): Promise<{ id: string }[]> {
  const { results } = await d1
    .prepare("SELECT id FROM webhooks WHERE project_id = ? AND enabled = 1 AND instr(events, ?) > 0")
    .bind(projectId, JSON.stringify(type))
    .all<{ id: string }>();
  return results;
}

// ---- events and deliveries ----

export interface NewEvent {
  id: string;
  projectId: string;
  type: string;
  /** The JSON body as sent. */
  body: string;
  createdAt: number;
}

/**
 * The statements that record `event` for every enabled endpoint of the project subscribed to it, when
 * the statement just before them in the same batch changed exactly one row (the catalog change the event
 * is about), and only if some endpoint subscribes. The last one returns the new deliveries' ids.
 */
function fanOut(d1: D1Database, event: NewEvent, guard: "after-change" | "always"): D1PreparedStatement[] {
  const changed = guard === "after-change" ? "changes() = 1 AND " : "";
  const type = JSON.stringify(event.type);
  return [
    d1
      .prepare(
        `INSERT INTO webhook_events (id, project_id, type, body, created_at) SELECT ?1, ?2, ?3, ?4, ?5
         WHERE ${changed}EXISTS (SELECT 1 FROM webhooks WHERE project_id = ?2 AND enabled = 1 AND instr(events, ?6) > 0)`,
      )
      .bind(event.id, event.projectId, event.type, event.body, event.createdAt, type),
    d1
      .prepare(
        `INSERT INTO webhook_deliveries (id, webhook_id, event_id, status, attempts, created_at, started_at, next_attempt_at)
         SELECT 'msg_' || lower(hex(randomblob(16))), id, ?1, 'pending', 0, ?2, ?2, ?2 FROM webhooks
         WHERE project_id = ?3 AND enabled = 1 AND instr(events, ?4) > 0 AND EXISTS (SELECT 1 FROM webhook_events WHERE id = ?1)`,
      )
      .bind(event.id, event.createdAt, event.projectId, type),
    d1.prepare("SELECT id FROM webhook_deliveries WHERE event_id = ?").bind(event.id),
  ];
}

const deliveryIds = (result: D1Result | undefined) => ((result?.results ?? []) as { id: string }[]).map((r) => r.id);

/**
 * Inserts the document unless the project has its id, and in the same batch (one transaction) its
 * `document.created` event for every subscribed endpoint. Returns whether it was inserted and the deliveries to enqueue.
 */
export async function insertDocumentWithEvent(d1: D1Database, doc: DocumentRow, event: NewEvent): Promise<{ inserted: boolean; deliveries: string[] }> {
  const results = await d1.batch([
    d1
      .prepare(
        `INSERT INTO documents (project_id, id, title, metadata, created_at, updated_at, size_bytes, incarnation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .bind(doc.projectId, doc.id, doc.title, doc.metadata, doc.createdAt, doc.updatedAt, doc.sizeBytes, doc.incarnation),
    ...fanOut(d1, event, "after-change"),
  ]);
  return { inserted: (results[0]?.meta.changes ?? 0) === 1, deliveries: deliveryIds(results[3]) };
}

/** Deletes that creation's catalog row and, in the same batch, records its `document.deleted` event. */
export async function deleteDocumentWithEvent(
  d1: D1Database,
  ref: { projectId: string; docId: string; incarnation: string },
  event: NewEvent,
): Promise<{ deleted: boolean; deliveries: string[] }> {
  const results = await d1.batch([
    d1.prepare("DELETE FROM documents WHERE project_id = ? AND id = ? AND incarnation = ?").bind(ref.projectId, ref.docId, ref.incarnation),
    ...fanOut(d1, event, "after-change"),
  ]);
  return { deleted: (results[0]?.meta.changes ?? 0) === 1, deliveries: deliveryIds(results[3]) };
}

/**
 * Records an event for the given endpoints, idempotently: the ids are chosen by the caller, so a caller
 * that crashed after this and runs again records nothing twice (the document's object derives them from its change sequence).
 */
export async function recordEvent(d1: D1Database, event: NewEvent, deliveries: { id: string; webhookId: string }[]): Promise<void> {
  if (deliveries.length === 0) return;
  await d1.batch([
    d1
      .prepare("INSERT OR IGNORE INTO webhook_events (id, project_id, type, body, created_at) VALUES (?, ?, ?, ?, ?)")
      .bind(event.id, event.projectId, event.type, event.body, event.createdAt),
    ...deliveries.map((d) =>
      d1
        .prepare(
          `INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, event_id, status, attempts, created_at, started_at, next_attempt_at)
           VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4, ?4)`,
        )
        .bind(d.id, d.webhookId, event.id, event.createdAt),
    ),
  ]);
}

/**
 * A new retry chain for each of the deliveries still pending: one statement (the ids travel as one JSON
 * value, not one bound parameter each). Returns the pending ones with their new chain.
 */
export async function startChains(d1: D1Database, ids: readonly string[]): Promise<{ id: string; chain: number }[]> {
  if (ids.length === 0) return [];
  const { results } = await d1
    .prepare("UPDATE webhook_deliveries SET chain = chain + 1 WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'pending' RETURNING id, chain")
    .bind(JSON.stringify(ids))
    .all<{ id: string; chain: number }>();
  return results;
}

export async function markEnqueued(d1: D1Database, ids: readonly string[], at: number): Promise<void> {
  if (ids.length === 0) return;
  await d1.batch(ids.map((id) => d1.prepare("UPDATE webhook_deliveries SET enqueued_at = ? WHERE id = ?").bind(at, id)));
}

/**
 * The project's deliveries the relay must (re)enqueue: still in the outbox (never enqueued) for longer
 * than `graceMs`, or pending with an attempt overdue by more than `lostAfterMs` (a queue message lost, e.g. by a local restart).
 */
export async function outboxBacklog(
  d1: D1Database,
  projectId: string,
  now: number,
  graceMs: number,
  lostAfterMs: number,
): Promise<{ due: string[]; waiting: boolean }> {
  const { results } = await d1
    .prepare(
      `SELECT d.id, d.enqueued_at AS enqueuedAt, d.created_at AS createdAt FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
       WHERE w.project_id = ?1 AND d.status = 'pending' AND (d.enqueued_at IS NULL OR d.next_attempt_at < ?2) LIMIT 500`,
    )
    .bind(projectId, now - lostAfterMs)
    .all<{ id: string; enqueuedAt: number | null; createdAt: number }>();
  const due = results.filter((r) => r.enqueuedAt !== null || r.createdAt <= now - graceMs).map((r) => r.id);
  return { due, waiting: due.length < results.length };
}

export interface Attempt {
  delivery: DeliveryRow;
  body: string;
  webhook: WebhookRow;
}

/** What one attempt needs: the delivery, its event's body and its endpoint (with the secrets). */
export async function loadAttempt(d1: D1Database, deliveryId: string): Promise<Attempt | undefined> {
  const d = db(d1);
  const [delivery] = await d.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId)).limit(1);
  if (!delivery) return undefined;
  const [events, hooks] = await d.batch([
    d.select({ body: webhookEvents.body }).from(webhookEvents).where(eq(webhookEvents.id, delivery.eventId)).limit(1),
    d.select().from(webhooks).where(eq(webhooks.id, delivery.webhookId)).limit(1),
  ]);
  const body = events[0]?.body;
  const webhook = hooks[0];
  return body !== undefined && webhook ? { delivery, body, webhook } : undefined;
}

export interface AttemptOutcome {
  at: number;
  /** HTTP status, or null when no answer came (timeout, network error). */
  responseStatus: number | null;
  status: "pending" | "succeeded" | "failed";
  nextAttemptAt: number | null;
}

/**
 * Writes one attempt's outcome, and the endpoint's failure run: cleared by a success, started by the
 * first failure; `disable` (3 days of failures) turns the endpoint off with its reason, in the same batch.
 * A failure changes the delivery's row only while `delivery.chain` is its current chain; false when it is
 * not (a newer chain took over during the attempt: the caller lets this one end). A success always counts.
 */
export async function recordAttempt(d1: D1Database, delivery: DeliveryRow, outcome: AttemptOutcome, disable?: string): Promise<boolean> {
  const statements = [
    d1
      .prepare(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?1, last_response_status = ?2, status = ?3, next_attempt_at = ?4
         WHERE id = ?5 AND (chain = ?6 OR ?3 = 'succeeded')`,
      )
      .bind(outcome.at, outcome.responseStatus, outcome.status, outcome.nextAttemptAt, delivery.id, delivery.chain),
    outcome.status === "succeeded"
      ? d1.prepare("UPDATE webhooks SET failing_since = NULL WHERE id = ?").bind(delivery.webhookId)
      : d1.prepare("UPDATE webhooks SET failing_since = coalesce(failing_since, ?) WHERE id = ?").bind(outcome.at, delivery.webhookId),
  ];
  if (disable) {
    statements.push(d1.prepare("UPDATE webhooks SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?").bind(disable, outcome.at, delivery.webhookId));
  }
  const [delivered] = await d1.batch(statements);
  return (delivered?.meta.changes ?? 0) === 1;
}

/** A delivery the queue gave up on (dead-lettered) or must not send: failed, unless it already finished or `chain` is not its current chain. */
export async function failDelivery(d1: D1Database, deliveryId: string, chain: number): Promise<void> {
  await d1
    .prepare("UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL WHERE id = ? AND status = 'pending' AND chain = ?")
    .bind(deliveryId, chain)
    .run();
}

/**
 * One page of an endpoint's deliveries, newest first, after the (createdAt, id) cursor, each with its event
 * type. Returns up to `limit + 1` rows. One statement with a join, binding at most six values whatever
 * `limit` is: D1 refuses a statement with more than 100 bound parameters.
 */
export async function listDeliveries(
  d1: D1Database,
  webhookId: string,
  opts: { limit: number; before?: { createdAt: number; id: string } },
): Promise<(DeliveryRow & { type: string })[]> {
  const d = db(d1);
  const conds = [eq(webhookDeliveries.webhookId, webhookId)];
  if (opts.before) {
    const b = opts.before;
    conds.push(or(lt(webhookDeliveries.createdAt, b.createdAt), and(eq(webhookDeliveries.createdAt, b.createdAt), lt(webhookDeliveries.id, b.id)))!);
  }
  const rows = await d
    .select({ delivery: webhookDeliveries, type: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(...conds))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(opts.limit + 1);
  return rows.map((r) => ({ ...r.delivery, type: r.type }));
}

export async function getDelivery(d1: D1Database, webhookId: string, deliveryId: string): Promise<DeliveryRow | undefined> {
  const [row] = await db(d1)
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.id, deliveryId)))
    .limit(1);
  return row;
}

/** A failed delivery starts a new run of attempts now; false unless it was failed. */
export async function restartDelivery(d1: D1Database, deliveryId: string, at: number): Promise<boolean> {
  const res = await d1
    .prepare("UPDATE webhook_deliveries SET status = 'pending', started_at = ?1, next_attempt_at = ?1, enqueued_at = NULL WHERE id = ?2 AND status = 'failed'")
    .bind(at, deliveryId)
    .run();
  return res.meta.changes > 0;
}
