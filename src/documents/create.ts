/**
 * Document creation, the one place a catalog row is born: the row and its `document.created` event
 * commit in one D1 batch, the webhook relay armed first (POST /v1/docs, a token with `create: true`, a fork).
 * Deleting records `document.deleted` the same way.
 */
import type { DocumentRow } from "../db/schema";
import type { Catalog } from "../db/session";
import type { Env } from "../env";
import { randomId } from "../ids";
import { eventBody, type DocumentEventData } from "../webhooks/events";
import { deleteDocumentWithEvent, insertDocumentWithEvent, type NewEvent } from "../webhooks/queries";
import { recordDeliveries } from "../webhooks/relay";

type WaitUntil = (p: Promise<unknown>) => void;

/** A new creation of `id` in `projectId`, empty, with a fresh incarnation. */
export function newDocumentRow(projectId: string, fields: { id: string; title?: string | null; metadata?: Record<string, unknown> }, now = Date.now()): DocumentRow {
  return {
    projectId,
    id: fields.id,
    title: fields.title ?? null,
    metadata: JSON.stringify(fields.metadata ?? {}),
    createdAt: now,
    updatedAt: now,
    sizeBytes: 0,
    incarnation: randomId(12),
    relays: 0,
  };
}

function documentEvent(type: "document.created" | "document.deleted", projectId: string, docId: string, at: number): NewEvent {
  const data: DocumentEventData = { projectId, docId };
  return { id: randomId(24, "evt_"), projectId, type, body: JSON.stringify(eventBody(type, at, data)), createdAt: at };
}

/**
 * Inserts `row` with its `document.created` event unless the project has the id, or (with `under`) already
 * has `max` documents under `prefix`; false then, and nothing changed. `into` is a session when the route
 * answers the write's bookmark (src/db/session.ts).
 */
export async function createDocument(
  env: Env,
  waitUntil: WaitUntil,
  row: DocumentRow,
  under?: { prefix: string; max: number },
  into: Catalog = env.DB,
): Promise<boolean> {
  const event = documentEvent("document.created", row.projectId, row.id, row.createdAt);
  const { inserted } = await recordDeliveries(env, waitUntil, row.projectId, () => insertDocumentWithEvent(into, row, event, under));
  return inserted;
}

/** Removes that creation's catalog row with its `document.deleted` event (`from`: as `into` above). */
export async function deleteDocumentRow(
  env: Env,
  waitUntil: WaitUntil,
  ref: { projectId: string; docId: string; incarnation: string },
  from: Catalog = env.DB,
): Promise<void> {
  const event = documentEvent("document.deleted", ref.projectId, ref.docId, Date.now());
  await recordDeliveries(env, waitUntil, ref.projectId, () => deleteDocumentWithEvent(from, ref, event));
}
