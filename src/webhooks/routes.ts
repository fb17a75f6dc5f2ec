/**
 * Webhook endpoints of the caller's project (secret key only): create (the signing secret shown once),
 * list, read, change, delete, rotate the secret, send a test event, list and retry deliveries. The events
 * themselves are described here for the OpenAPI document's `webhooks` section.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireSecretKey, type AppEnv } from "../auth/middleware";
import type { DeliveryRow, WebhookRow } from "../db/schema";
import {
  deleteWebhook,
  getDelivery,
  getWebhook,
  insertWebhookUnderCap,
  listDeliveries,
  listWebhooks,
  recordEvent,
  restartDelivery,
  rotateWebhookSecret,
  updateWebhook,
} from "./queries";
import { AppError } from "../errors";
import { randomId } from "../ids";
import { recordDeliveries } from "./relay";
import { eventBody, EVENT_TYPES, SUBSCRIBABLE_EVENTS, type EventType } from "./events";
import { readWebhookSettings } from "./settings";
import { generateWebhookSecret } from "./sign";
import { checkWebhookUrl } from "./url";
import { encodeCursor } from "../cursor";
import { afterResponse, json, timeCursor } from "../http/kit";
import { createRouter, errors, PageQuery, page, SECURITY } from "../http/openapi";
import { iso } from "../ids";
import { readLimits } from "../room/limits";

/** After a rotation the previous secret still signs (a second signature) this long. */
export const PREVIOUS_SECRET_TTL_MS = 24 * 3600 * 1000;

// ---- schemas ----

const EventTypeSchema = z.enum(SUBSCRIBABLE_EVENTS).openapi({ description: "An event type; see the `webhooks` section" });
const Events = z
  .array(EventTypeSchema)
  .min(1)
  .max(SUBSCRIBABLE_EVENTS.length)
  .refine((e) => new Set(e).size === e.length, { message: "each event at most once" });
const Url = z.string().min(1).openapi({
  description:
    "https:// on a public host: no loopback, private, link-local, CGNAT, unique-local or metadata address, in any notation, and no internal name (with DEV_MODE, loopback too)",
  example: "https://example.com/hooks/lattice",
});
const Description = z.string().max(500).nullable();

const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(EventTypeSchema),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable().openapi({ description: "Why Lattice disabled the endpoint (3 days of failed deliveries)" }),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Webhook");

const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({ description: "The signing secret (`whsec_…`, Standard Webhooks), shown this once" }),
}).openapi("CreatedWebhook");

const CreateBody = z.object({ url: Url, events: Events, description: Description.optional() }).openapi("CreateWebhook");
const PatchBody = z
  .object({ url: Url.optional(), events: Events.optional(), description: Description.optional(), enabled: z.boolean().optional() })
  .openapi("PatchWebhook");

const Id = z
  .string()
  .min(1)
  .max(64)
  .openapi({ param: { name: "id", in: "path" } });
const Params = z.object({ id: Id });
const DeliveryParams = z.object({
  id: Id,
  deliveryId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "deliveryId", in: "path" } }),
});

const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: "The `webhook-id` header: the same on every attempt" }),
    event: z.enum(EVENT_TYPES),
    createdAt: z.string().openapi({ format: "date-time" }),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.number().int(),
    lastAttemptAt: z.string().nullable().openapi({ format: "date-time" }),
    lastResponseStatus: z.number().int().nullable().openapi({ description: "null when no answer came (timeout, network error)" }),
    nextAttemptAt: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("WebhookDelivery");

// ---- routes ----

const createHook = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "post",
  path: "/webhooks",
  summary: "Create a webhook endpoint; the signing secret is returned this once",
  operationId: "createWebhook",
  description:
    "Registers an HTTPS endpoint for a list of event types. The signing secret (`whsec_…`, Standard Webhooks) is in this answer and never again. At most `MAX_WEBHOOKS_PER_PROJECT` endpoints per project.",
  request: { body: { required: true, content: json(CreateBody) } },
  responses: { 201: { description: "The endpoint, with its secret", content: json(CreatedWebhookSchema) }, ...errors(400, 401, 403, 415) },
});

const listHooks = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "get",
  path: "/webhooks",
  summary: "List the project's webhook endpoints (never a secret)",
  operationId: "listWebhooks",
  description: "The project's webhook endpoints, oldest first, never a secret.",
  responses: { 200: { description: "The endpoints", content: json(z.object({ data: z.array(WebhookSchema) })) }, ...errors(401, 403) },
});

const getHook = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "get",
  path: "/webhooks/{id}",
  summary: "A webhook endpoint (never its secret)",
  operationId: "getWebhook",
  description: "One webhook endpoint, never its secret.",
  request: { params: Params },
  responses: { 200: { description: "The endpoint", content: json(WebhookSchema) }, ...errors(400, 401, 403, 404) },
});

const patchHook = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "patch",
  path: "/webhooks/{id}",
  summary: "Change an endpoint's url, events, description, or enable / disable it",
  operationId: "updateWebhook",
  description: "Changes an endpoint's url, events or description, or enables / disables it; enabling clears `disabledReason`.",
  request: { params: Params, body: { required: true, content: json(PatchBody) } },
  responses: { 200: { description: "The endpoint", content: json(WebhookSchema) }, ...errors(400, 401, 403, 404, 415) },
});

const deleteHook = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "delete",
  path: "/webhooks/{id}",
  summary: "Delete an endpoint and its deliveries",
  operationId: "deleteWebhook",
  description: "Removes the endpoint; its deliveries go with it.",
  request: { params: Params },
  responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
});

const rotateSecret = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "post",
  path: "/webhooks/{id}/rotate-secret",
  summary: "A new signing secret, returned this once; the previous one keeps signing (a second signature) for 24 h",
  operationId: "rotateWebhookSecret",
  description:
    "A new signing secret, in this answer only. For 24 h every delivery carries a signature with each secret, so receivers can switch without missing one.",
  request: { params: Params },
  responses: {
    200: {
      description: "The new secret",
      content: json(z.object({ secret: z.string(), previousSecretExpiresAt: z.string().openapi({ format: "date-time" }) }).openapi("RotatedWebhookSecret")),
    },
    ...errors(400, 401, 403, 404),
  },
});

const testHook = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "post",
  path: "/webhooks/{id}/test",
  summary: "Send a webhook.test event to this endpoint, through the same delivery path as every event",
  operationId: "testWebhook",
  description: "Queues a `webhook.test` event to this endpoint through the same delivery path as every event. 409 when the endpoint is disabled.",
  request: { params: Params },
  responses: {
    202: { description: "Queued", content: json(z.object({ deliveryId: z.string() })) },
    ...errors(400, 401, 403, 404, 409),
  },
});

const listHookDeliveries = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "get",
  path: "/webhooks/{id}/deliveries",
  summary: "An endpoint's deliveries, newest first",
  operationId: "listWebhookDeliveries",
  description: "The endpoint's deliveries, newest first: status, attempts, the last response status and the next attempt.",
  request: { params: Params, query: PageQuery },
  responses: {
    200: {
      description: "One page; nextCursor is null on the last",
      content: json(page(DeliverySchema)),
    },
    ...errors(400, 401, 403, 404),
  },
});

const retryDelivery = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "post",
  path: "/webhooks/{id}/deliveries/{deliveryId}/retry",
  summary: "Deliver a failed delivery again now, with a fresh retry schedule",
  operationId: "retryWebhookDelivery",
  description: "Sends a `failed` delivery again now, with a fresh retry schedule and the same `webhook-id`. 409 if it is not failed or the endpoint is disabled.",
  request: { params: DeliveryParams },
  responses: {
    202: { description: "Queued", content: json(z.object({ deliveryId: z.string() })) },
    ...errors(400, 401, 403, 404, 409),
  },
});

// ---- helpers ----

export function toWebhook(row: WebhookRow) {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as (typeof SUBSCRIBABLE_EVENTS)[number][],
    description: row.description,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

function toDelivery(row: DeliveryRow & { type: string }) {
  return {
    id: row.id,
    event: row.type as EventType,
    createdAt: iso(row.createdAt),
    status: row.status as "pending" | "succeeded" | "failed",
    attempts: row.attempts,
    lastAttemptAt: isoOrNull(row.lastAttemptAt),
    lastResponseStatus: row.lastResponseStatus,
    nextAttemptAt: row.status === "pending" ? isoOrNull(row.nextAttemptAt) : null,
  };
}

function checkUrl(c: Context<AppEnv>, url: string): string {
  const checked = checkWebhookUrl(url, readWebhookSettings(c.env).devMode);
  if (!checked.ok) throw new AppError("invalid_request", checked.error, [{ code: "custom", path: ["url"], message: checked.error }]);
  return checked.value;
}

async function loadHook(c: Context<AppEnv>, id: string): Promise<WebhookRow> {
  const row = await getWebhook(c.env.DB, c.var.projectId, id);
  if (!row) throw new AppError("not_found", "no such webhook");
  return row;
}

/** Records one event for one endpoint and enqueues it (the relay armed first, as for every delivery a route records). */
async function sendOne(c: Context<AppEnv>, hook: WebhookRow, type: EventType, data: unknown): Promise<string> {
  const now = Date.now();
  const event = { id: randomId(24, "evt_"), projectId: hook.projectId, type, body: JSON.stringify(eventBody(type, now, data)), createdAt: now };
  const deliveryId = randomId(24, "msg_");
  await recordDeliveries(c.env, afterResponse(c), hook.projectId, async () => {
    await recordEvent(c.env.DB, event, [{ id: deliveryId, webhookId: hook.id }]);
    return { deliveries: [deliveryId] };
  });
  return deliveryId;
}

// ---- handlers ----

export const webhookRoutes = createRouter()
  .openapi(createHook, async (c) => {
    const body = c.req.valid("json");
    const url = checkUrl(c, body.url);
    const now = Date.now();
    const row: WebhookRow = {
      id: randomId(21, "wh_"),
      projectId: c.var.projectId,
      url,
      events: JSON.stringify(body.events),
      description: body.description ?? null,
      enabled: true,
      disabledReason: null,
      secret: generateWebhookSecret(),
      previousSecret: null,
      previousSecretExpiresAt: null,
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    };
    const max = readLimits(c.env).maxWebhooksPerProject;
    if (!(await insertWebhookUnderCap(c.env.DB, row, max))) throw new AppError("invalid_request", `a project may have at most ${max} webhooks`);
    return c.json({ ...toWebhook(row), secret: row.secret }, 201);
  })
  .openapi(listHooks, async (c) => c.json({ data: (await listWebhooks(c.env.DB, c.var.projectId)).map(toWebhook) }, 200))
  .openapi(getHook, async (c) => c.json(toWebhook(await loadHook(c, c.req.valid("param").id)), 200))
  .openapi(patchHook, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const patch: Parameters<typeof updateWebhook>[3] = {};
    if (body.url !== undefined) patch.url = checkUrl(c, body.url);
    // Enabling an endpoint stored before the URL rule (Lattice disabled it for that): its URL must pass now.
    else if (body.enabled === true) checkUrl(c, (await loadHook(c, id)).url);
    if (body.events !== undefined) patch.events = JSON.stringify(body.events);
    if (body.description !== undefined) patch.description = body.description;
    if (body.enabled !== undefined) {
      patch.enabled = body.enabled;
      // Enabled again (or disabled by the project): Lattice's reason and the failure run no longer apply.
      patch.disabledReason = null;
      patch.failingSince = null;
    }
    const row = await updateWebhook(c.env.DB, c.var.projectId, id, patch, Date.now());
    if (!row) throw new AppError("not_found", "no such webhook");
    return c.json(toWebhook(row), 200);
  })
  .openapi(deleteHook, async (c) => {
    if (!(await deleteWebhook(c.env.DB, c.var.projectId, c.req.valid("param").id))) throw new AppError("not_found", "no such webhook");
    return c.body(null, 204);
  })
  .openapi(rotateSecret, async (c) => {
    const { id } = c.req.valid("param");
    const secret = generateWebhookSecret();
    const now = Date.now();
    if (!(await rotateWebhookSecret(c.env.DB, c.var.projectId, id, secret, now, now + PREVIOUS_SECRET_TTL_MS))) {
      throw new AppError("not_found", "no such webhook");
    }
    return c.json({ secret, previousSecretExpiresAt: iso(now + PREVIOUS_SECRET_TTL_MS) }, 200);
  })
  .openapi(testHook, async (c) => {
    const hook = await loadHook(c, c.req.valid("param").id);
    if (!hook.enabled) throw new AppError("conflict", "the webhook is disabled: enable it first (PATCH enabled: true)");
    const deliveryId = await sendOne(c, hook, "webhook.test", { projectId: hook.projectId, webhookId: hook.id });
    return c.json({ deliveryId }, 202);
  })
  .openapi(listHookDeliveries, async (c) => {
    const hook = await loadHook(c, c.req.valid("param").id);
    const { limit, cursor } = c.req.valid("query");
    const rows = await listDeliveries(c.env.DB, hook.id, { limit, before: timeCursor(cursor) });
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor(page[page.length - 1]!) : null;
    return c.json({ data: page.map(toDelivery), nextCursor }, 200);
  })
  .openapi(retryDelivery, async (c) => {
    const { id, deliveryId } = c.req.valid("param");
    const hook = await loadHook(c, id);
    const delivery = await getDelivery(c.env.DB, hook.id, deliveryId);
    if (!delivery) throw new AppError("not_found", "no such delivery");
    if (!hook.enabled) throw new AppError("conflict", "the webhook is disabled: enable it first (PATCH enabled: true)");
    await recordDeliveries(c.env, afterResponse(c), hook.projectId, async () => {
      if (!(await restartDelivery(c.env.DB, delivery.id, Date.now())))
        throw new AppError("conflict", `only a failed delivery can be retried (this one is ${delivery.status})`);
      return { deliveries: [delivery.id] };
    });
    return c.json({ deliveryId: delivery.id }, 202);
  });

// ---- the events, for the OpenAPI document's `webhooks` section ----

const DocumentData = z.object({ projectId: z.string(), docId: z.string() });

/** Every event type with its `data`; a `Record` over EventType, so a new type cannot go undocumented. */
const EVENT_DOCS: Record<EventType, { summary: string; data: z.ZodType }> = {
  "document.created": { summary: "A document was created (POST /v1/docs)", data: DocumentData.openapi("DocumentCreatedData") },
  "document.deleted": { summary: "A document was deleted (DELETE /v1/docs/{id})", data: DocumentData.openapi("DocumentDeletedData") },
  "document.updated": {
    summary:
      "A document's content changed. The first change after a quiet period is queued within seconds; later ones are coalesced to at most one event " +
      "per WEBHOOK_THROTTLE_SECONDS (default 30) per document and endpoint, each carrying the latest state. " +
      "Pass the previous event's stateVector to GET /v1/docs/{id}/update?stateVector= to fetch exactly what changed.",
    data: DocumentData.extend({
      updatedAt: z.string().openapi({ format: "date-time", description: "When the latest change this event carries was committed" }),
      sizeBytes: z.number().int(),
      stateVector: z.string().openapi({ description: "base64url of the Yjs state vector of the document's stored state" }),
    }).openapi("DocumentUpdatedData"),
  },
  "version.created": {
    summary:
      "A version of a document was taken: named (POST /v1/docs/{id}/versions), automatic, or before-restore (just before a restore). " +
      "Queued within seconds, one event per version (never coalesced).",
    data: DocumentData.extend({
      versionId: z.string(),
      kind: z.enum(["named", "auto", "before-restore"]),
      name: z.string().nullable().openapi({ description: "The name when it was taken" }),
    }).openapi("VersionCreatedData"),
  },
  "document.restored": {
    summary: "A document's content was restored to a version (POST /v1/docs/{id}/versions/{versionId}/restore). Queued within seconds, one event per restore.",
    data: DocumentData.extend({
      restoredFrom: z.string().openapi({ description: "The version restored" }),
      before: z.string().openapi({ description: "The before-restore version: restore it to undo" }),
    }).openapi("DocumentRestoredData"),
  },
  "webhook.test": { summary: "Sent by POST /v1/webhooks/{id}/test", data: z.object({ projectId: z.string(), webhookId: z.string() }).openapi("WebhookTestData") },
};

const DeliveryHeaders = z.object({
  "webhook-id": z.string().openapi({ description: "The delivery id: the same on every retry, so receivers can drop duplicates" }),
  "webhook-timestamp": z.string().openapi({ description: "Unix seconds of this attempt" }),
  "webhook-signature": z.string().openapi({
    description: 'Space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per valid secret (two for 24 h after a rotation)',
  }),
});

/** Adds every event type to the OpenAPI 3.1 document's `webhooks` section. */
export function registerWebhookEvents(app: ReturnType<typeof createRouter>): void {
  for (const type of EVENT_TYPES) {
    const doc = EVENT_DOCS[type];
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      summary: doc.summary,
      description:
        "Delivered as a Standard Webhooks POST (https://www.standardwebhooks.com/) with a JSON body `{type, timestamp, data}`. " +
        "Answer 2xx within 10 s; anything else (redirects are not followed) is retried after 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every 6 h for up to 3 days.",
      tags: ["webhooks"],
      request: {
        headers: DeliveryHeaders,
        body: {
          required: true,
          content: json(z.object({ type: z.literal(type), timestamp: z.string().openapi({ format: "date-time" }), data: doc.data })),
        },
      },
      responses: { 200: { description: "Received (any 2xx)" } },
    });
  }
}
