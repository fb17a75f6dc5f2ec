/**
 * Every webhook event as the OpenAPI document's `webhooks` section describes it: its summary, its `data`
 * and the headers of a delivery. routes.ts registers them (registerWebhookEvents).
 */
import { z } from "@hono/zod-openapi";
import type { EventType } from "./events";

const DocumentData = z.object({ projectId: z.string(), docId: z.string() });

/** Every event type with its `data`; a `Record` over EventType, so a new type cannot go undocumented. */
export const EVENT_DOCS: Record<EventType, { summary: string; data: z.ZodType }> = {
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
  "access.changed": {
    summary:
      "A user's stored access to a document changed (PUT or DELETE /v1/docs/{id}/access/{userId}): who, and the rule now (null: removed, the user's tokens decide again).",
    data: DocumentData.extend({
      userId: z.string(),
      access: z.enum(["read", "write", "none"]).nullable(),
    }).openapi("AccessChangedData"),
  },
  "webhook.test": { summary: "Sent by POST /v1/webhooks/{id}/test", data: z.object({ projectId: z.string(), webhookId: z.string() }).openapi("WebhookTestData") },
};

export const DeliveryHeaders = z.object({
  "webhook-id": z.string().openapi({ description: "The delivery id: the same on every retry, so receivers can drop duplicates" }),
  "webhook-timestamp": z.string().openapi({ description: "Unix seconds of this attempt" }),
  "webhook-signature": z.string().openapi({
    description: 'Space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per valid secret (two for 24 h after a rotation)',
  }),
});
