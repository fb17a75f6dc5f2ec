/**
 * The webhook event types. One list: the REST schema (which events an endpoint may subscribe to), the
 * OpenAPI `webhooks` section and the docs all read it, so a new type (versions will add
 * `version.created`, `document.restored`) is one entry here plus its payload schema in src/routes/webhooks.ts.
 */

export const EVENT_TYPES = ["document.created", "document.deleted", "document.updated", "webhook.test"] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** What an endpoint may subscribe to: every type but `webhook.test`, which goes to the endpoint it was asked for only. */
export const SUBSCRIBABLE_EVENTS = EVENT_TYPES.filter((t): t is Exclude<EventType, "webhook.test"> => t !== "webhook.test");

export type SubscribableEvent = (typeof SUBSCRIBABLE_EVENTS)[number];

export interface DocumentEventData {
  projectId: string;
  docId: string;
}

export interface DocumentUpdatedData extends DocumentEventData {
  /** ISO 8601: when the latest change the event carries was committed. */
  updatedAt: string;
  sizeBytes: number;
  /** base64url of the Yjs state vector of the document's durable state: pass it to `GET …/update?stateVector=` next time. */
  stateVector: string;
}

/** The JSON body of every delivery: `{type, timestamp, data}` (Standard Webhooks' recommended shape). */
export interface EventBody<T extends EventType = EventType, D = unknown> {
  type: T;
  timestamp: string;
  data: D;
}

export function eventBody<T extends EventType, D>(type: T, at: number, data: D): EventBody<T, D> {
  return { type, timestamp: new Date(at).toISOString(), data };
}
