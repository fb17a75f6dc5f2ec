/**
 * Every D1 statement about webhooks: endpoints, events and their deliveries (the deliveries the queue
 * has not taken yet are the relay's backlog, src/webhooks/relay.ts), and the catalog changes
 * whose events must be written in the same batch. Functions take the D1 binding and plain values.
 */
import { and, desc, eq, exists, isNull, lt, or, sql } from "drizzle-orm";
import { documents, webhookDeliveries, webhookEvents, webhooks, type DeliveryRow, type DocumentRow, type WebhookRow } from "../db/schema";
import { type Catalog, orm as db } from "../db/session";

export type Db = ReturnType<typeof db>;

/** The project's enabled endpoints subscribed to `type` (`events` is a JSON array of quoted types). */
const subscribedTo = (projectId: string, type: string) =>
  and(eq(webhooks.projectId, projectId), eq(webhooks.enabled, true), sql`instr(${webhooks.events}, ${JSON.stringify(type)}) > 0`);

// ---- endpoints ----

/**
 * Inserts the endpoint unless the project already has `max`: the count and the insert are one statement,
 * so concurrent creates cannot pass the cap together (D1 runs statements one at a time). False when full.
 */
export async function insertWebhookUnderCap(d1: D1Database, row: WebhookRow, max: number): Promise<boolean> {
  // drizzle's `sql`, every value bound: the builder's INSERT takes VALUES or a SELECT … FROM, and the cap
  // needs a SELECT of the values without a FROM, guarded by the count (checking the cap apart would race).
  const res = await db(d1).run(
    sql`INSERT INTO ${webhooks} (id, project_id, url, events, description, enabled, disabled_reason, secret, previous_secret, previous_secret_expires_at,
          failing_since, created_at, updated_at)
        SELECT ${row.id}, ${row.projectId}, ${row.url}, ${row.events}, ${row.description}, ${row.enabled ? 1 : 0}, ${row.disabledReason}, ${row.secret},
          ${row.previousSecret}, ${row.previousSecretExpiresAt}, ${row.failingSince}, ${row.createdAt}, ${row.updatedAt}
        WHERE (SELECT count(*) FROM ${webhooks} WHERE ${webhooks.projectId} = ${row.projectId}) < ${max}`,
  );
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
  // Every right-hand side reads the row as it was: previous_secret takes the secret being replaced.
  const res = await db(d1)
    .update(webhooks)
    .set({ previousSecret: sql`${webhooks.secret}`, previousSecretExpiresAt: previousUntil, secret, updatedAt: at })
    .where(and(eq(webhooks.projectId, projectId), eq(webhooks.id, id)));
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
export function subscribers(d1: D1Database, projectId: string, type: string): Promise<{ id: string }[]> {
  return db(d1).select({ id: webhooks.id }).from(webhooks).where(subscribedTo(projectId, type));
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
export function fanOut(d: Db, event: NewEvent) {
  const subscribed = subscribedTo(event.projectId, event.type);
  const at = (name: string) => sql<number>`${event.createdAt}`.as(name);
  return [
    // `changes()` must be read by the statement right after the change, and the event's values selected
    // without a FROM, which the select builder cannot write: so the SELECT is drizzle's `sql`, every value
    // bound, in the order of the table's five columns (the insert lists them all).
    d.insert(webhookEvents).select(
      sql`SELECT ${event.id}, ${event.projectId}, ${event.type}, ${event.body}, ${event.createdAt}
          WHERE changes() = 1 AND EXISTS (SELECT 1 FROM ${webhooks} WHERE ${subscribed})`,
    ),
    // Only once the event row exists, i.e. the guard above held. drizzle checks that these fields are the table's, in its order.
    d.insert(webhookDeliveries).select(
      d
        .select({
          id: sql<string>`'msg_' || lower(hex(randomblob(16)))`.as("id"),
          webhookId: sql<string>`${webhooks.id}`.as("webhook_id"),
          eventId: sql<string>`${event.id}`.as("event_id"),
          status: sql<string>`'pending'`.as("status"),
          attempts: sql<number>`0`.as("attempts"),
          createdAt: at("created_at"),
          startedAt: at("started_at"),
          lastAttemptAt: sql<null>`NULL`.as("last_attempt_at"),
          lastResponseStatus: sql<null>`NULL`.as("last_response_status"),
          nextAttemptAt: at("next_attempt_at"),
          enqueuedAt: sql<null>`NULL`.as("enqueued_at"),
          chain: sql<number>`0`.as("chain"),
        })
        .from(webhooks)
        .where(and(subscribed, exists(d.select({ one: sql`1` }).from(webhookEvents).where(eq(webhookEvents.id, event.id))))),
    ),
    d.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(eq(webhookDeliveries.eventId, event.id)),
  ] as const;
}

/**
 * Inserts the document unless the project has its id, and in the same batch (one transaction) its
 * `document.created` event for every subscribed endpoint. Returns whether it was inserted and the deliveries to enqueue.
 */
export async function insertDocumentWithEvent(
  d1: Catalog,
  doc: DocumentRow,
  event: NewEvent,
  under?: { prefix: string; max: number },
): Promise<{ inserted: boolean; deliveries: string[] }> {
  const d = db(d1);
  // Under a cap: the project's ids starting with `prefix` (all id characters sort below "~") are counted in
  // the statement that inserts, so concurrent creations cannot pass it together.
  const insert = under
    ? d
        .insert(documents)
        .select(
          sql`SELECT ${doc.projectId}, ${doc.id}, ${doc.title}, ${doc.metadata}, ${doc.createdAt}, ${doc.updatedAt}, ${doc.sizeBytes}, ${doc.incarnation}, ${doc.relays}
              WHERE (SELECT count(*) FROM ${documents} WHERE ${documents.projectId} = ${doc.projectId}
                     AND ${documents.id} >= ${under.prefix} AND ${documents.id} < ${`${under.prefix}~`}) < ${under.max}`,
        )
        .onConflictDoNothing()
    : d.insert(documents).values(doc).onConflictDoNothing();
  const [inserted, , , deliveries] = await d.batch([insert, ...fanOut(d, event)]);
  return { inserted: inserted.meta.changes === 1, deliveries: deliveries.map((r) => r.id) };
}

/** Deletes that creation's catalog row and, in the same batch, records its `document.deleted` event. */
export async function deleteDocumentWithEvent(
  d1: Catalog,
  ref: { projectId: string; docId: string; incarnation: string },
  event: NewEvent,
): Promise<{ deleted: boolean; deliveries: string[] }> {
  const d = db(d1);
  const [doc, , , deliveries] = await d.batch([
    d.delete(documents).where(and(eq(documents.projectId, ref.projectId), eq(documents.id, ref.docId), eq(documents.incarnation, ref.incarnation))),
    ...fanOut(d, event),
  ]);
  return { deleted: doc.meta.changes === 1, deliveries: deliveries.map((r) => r.id) };
}

/**
 * Records an event for the given endpoints, idempotently: the ids are chosen by the caller, so a caller
 * that crashed after this and runs again records nothing twice (the document's object derives them from its change sequence).
 */
export async function recordEvent(d1: D1Database, event: NewEvent, deliveries: { id: string; webhookId: string }[]): Promise<void> {
  if (deliveries.length === 0) return;
  const d = db(d1);
  // ON CONFLICT DO NOTHING where the SQL said INSERT OR IGNORE: the same here, as every value is set and
  // not null, so the only conflict there can be is a row with that id already (a run again).
  await d.batch([
    d.insert(webhookEvents).values(event).onConflictDoNothing(),
    // One statement per delivery: a row binds every column, and one statement takes at most 100 values.
    ...deliveries.map((x) =>
      d
        .insert(webhookDeliveries)
        .values({
          id: x.id,
          webhookId: x.webhookId,
          eventId: event.id,
          status: "pending",
          attempts: 0,
          createdAt: event.createdAt,
          startedAt: event.createdAt,
          nextAttemptAt: event.createdAt,
        })
        .onConflictDoNothing(),
    ),
  ]);
}

/**
 * A new retry chain for each of the deliveries still pending: one statement (the ids travel as one JSON
 * value, not one bound parameter each). Returns the pending ones with their new chain.
 */
export async function startChains(d1: D1Database, ids: readonly string[]): Promise<{ id: string; chain: number }[]> {
  if (ids.length === 0) return [];
  return db(d1)
    .update(webhookDeliveries)
    .set({ chain: sql`${webhookDeliveries.chain} + 1` })
    .where(and(sql`${webhookDeliveries.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`, eq(webhookDeliveries.status, "pending")))
    .returning({ id: webhookDeliveries.id, chain: webhookDeliveries.chain });
}

export async function markEnqueued(d1: D1Database, ids: readonly string[], at: number): Promise<void> {
  const d = db(d1);
  const [first, ...rest] = ids.map((id) => d.update(webhookDeliveries).set({ enqueuedAt: at }).where(eq(webhookDeliveries.id, id)));
  if (!first) return;
  await d.batch([first, ...rest]);
}

/**
 * The project's deliveries the relay must (re)enqueue: never enqueued (`enqueued_at` null) for longer
 * than `graceMs`, or pending with an attempt overdue by more than `lostAfterMs` (a queue message lost, e.g. by a local restart).
 */
export async function relayBacklog(
  d1: D1Database,
  projectId: string,
  now: number,
  graceMs: number,
  lostAfterMs: number,
): Promise<{ due: string[]; waiting: boolean }> {
  const results = await db(d1)
    .select({ id: webhookDeliveries.id, enqueuedAt: webhookDeliveries.enqueuedAt, createdAt: webhookDeliveries.createdAt })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(
      and(
        eq(webhooks.projectId, projectId),
        eq(webhookDeliveries.status, "pending"),
        or(isNull(webhookDeliveries.enqueuedAt), lt(webhookDeliveries.nextAttemptAt, now - lostAfterMs)),
      ),
    )
    .limit(500);
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
  const d = db(d1);
  const succeeded = outcome.status === "succeeded";
  const hook = eq(webhooks.id, delivery.webhookId);
  const [delivered] = await d.batch([
    d
      .update(webhookDeliveries)
      .set({
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastAttemptAt: outcome.at,
        lastResponseStatus: outcome.responseStatus,
        status: outcome.status,
        nextAttemptAt: outcome.nextAttemptAt,
      })
      .where(and(eq(webhookDeliveries.id, delivery.id), succeeded ? undefined : eq(webhookDeliveries.chain, delivery.chain))),
    d
      .update(webhooks)
      .set({ failingSince: succeeded ? null : sql`coalesce(${webhooks.failingSince}, ${outcome.at})` })
      .where(hook),
    ...(disable ? [d.update(webhooks).set({ enabled: false, disabledReason: disable, updatedAt: outcome.at }).where(hook)] : []),
  ]);
  return delivered.meta.changes === 1;
}

/** A delivery the queue gave up on (dead-lettered) or must not send: failed, unless it already finished or `chain` is not its current chain. */
export async function failDelivery(d1: D1Database, deliveryId: string, chain: number): Promise<void> {
  await db(d1)
    .update(webhookDeliveries)
    .set({ status: "failed", nextAttemptAt: null })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "pending"), eq(webhookDeliveries.chain, chain)));
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
  const res = await db(d1)
    .update(webhookDeliveries)
    .set({ status: "pending", startedAt: at, nextAttemptAt: at, enqueuedAt: null })
    .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "failed")));
  return res.meta.changes > 0;
}
