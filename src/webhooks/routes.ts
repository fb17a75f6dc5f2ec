/**
 * Webhook endpoints of the caller's project (secret key only): create (the signing secret shown once),
 * list, read, change, delete, rotate the secret, send a test event; their deliveries are in
 * routes-deliveries.ts, mounted here. `registerWebhookEvents` describes the events themselves in the
 * OpenAPI document's `webhooks` section (event-docs.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireSecretKey, type AppEnv } from "../auth/middleware";
import type { WebhookRow } from "../db/schema";
import { AppError } from "../errors";
import { iso, randomId } from "../ids";
import { afterResponse, json } from "../http/kit";
import { createRouter, errors, SECURITY } from "../http/openapi";
import { readLimits } from "../room/limits";
import { DeliveryHeaders, EVENT_DOCS } from "./event-docs";
import { eventBody, EVENT_TYPES, SUBSCRIBABLE_EVENTS, type EventType } from "./events";
import { deleteWebhook, insertWebhookUnderCap, listWebhooks, recordEvent, rotateWebhookSecret, updateWebhook } from "./queries";
import { recordDeliveries } from "./relay";
import { deliveryRoutes } from "./routes-deliveries";
import { readWebhookSettings } from "./settings";
import { CreatedWebhookSchema, EventTypeSchema, loadHook, Params, toWebhook, WebhookSchema } from "./shape";
import { generateWebhookSecret } from "./sign";
import { checkWebhookUrl } from "./url";

/** After a rotation the previous secret still signs (a second signature) this long. */
export const PREVIOUS_SECRET_TTL_MS = 24 * 3600 * 1000;

// ---- request bodies ----

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

const CreateBody = z.object({ url: Url, events: Events, description: Description.optional() }).openapi("CreateWebhook");
const PatchBody = z
  .object({ url: Url.optional(), events: Events.optional(), description: Description.optional(), enabled: z.boolean().optional() })
  .openapi("PatchWebhook");

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

// ---- helpers ----

function checkUrl(c: Context<AppEnv>, url: string): string {
  const checked = checkWebhookUrl(url, readWebhookSettings(c.env).devMode);
  if (!checked.ok) throw new AppError("invalid_request", checked.error, [{ code: "custom", path: ["url"], message: checked.error }]);
  return checked.value;
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
  // Mounted last: the OpenAPI document lists the operations in the order it always did.
  .route("/", deliveryRoutes);

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
