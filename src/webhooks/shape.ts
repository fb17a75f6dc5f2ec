/**
 * A webhook endpoint and a delivery as the REST API shows them: their schemas, the rows' JSON, and the
 * caller's endpoint by id (404 otherwise). Shared by the endpoint routes (routes.ts) and the deliveries'
 * (routes-deliveries.ts).
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../auth/middleware";
import type { DeliveryRow, WebhookRow } from "../db/schema";
import { AppError } from "../errors";
import { iso } from "../ids";
import { EVENT_TYPES, SUBSCRIBABLE_EVENTS, type EventType } from "./events";
import { getWebhook } from "./queries";

export const EventTypeSchema = z.enum(SUBSCRIBABLE_EVENTS).openapi({ description: "An event type; see the `webhooks` section" });

export const WebhookSchema = z
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

export const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({ description: "The signing secret (`whsec_…`, Standard Webhooks), shown this once" }),
}).openapi("CreatedWebhook");

export const Id = z
  .string()
  .min(1)
  .max(64)
  .openapi({ param: { name: "id", in: "path" } });
export const Params = z.object({ id: Id });

export const DeliverySchema = z
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

export function toDelivery(row: DeliveryRow & { type: string }) {
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

/** The caller's endpoint `id`; 404 when the project has none. */
export async function loadHook(c: Context<AppEnv>, id: string): Promise<WebhookRow> {
  const row = await getWebhook(c.env.DB, c.var.projectId, id);
  if (!row) throw new AppError("not_found", "no such webhook");
  return row;
}
