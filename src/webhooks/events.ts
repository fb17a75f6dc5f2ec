/**
 * The webhook event types. One list: the REST schema (which events an endpoint may subscribe to), the
 * OpenAPI `webhooks` section and the docs all read it, so a new type is one entry here plus its payload
 * schema in src/webhooks/event-docs.ts.
 */

export const EVENT_TYPES = [
  "document.created",
  "document.deleted",
  "document.updated",
  "version.created",
  "document.restored",
  "access.changed",
  "webhook.test",
] as const;

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

export interface VersionCreatedData extends DocumentEventData {
  versionId: string;
  kind: "named" | "auto" | "before-restore";
  /** As given when it was taken (a later rename does not change the event). */
  name: string | null;
}

export interface DocumentRestoredData extends DocumentEventData {
  /** The version whose content the document now has. */
  restoredFrom: string;
  /** The before-restore version holding the content the restore replaced: restore it to undo. */
  before: string;
}

export interface AccessChangedData extends DocumentEventData {
  userId: string;
  /** The stored rule now: "read", "write" or "none"; null when the rule was removed (the user's tokens decide again). */
  access: "read" | "write" | "none" | null;
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
