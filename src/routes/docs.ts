/**
 * The document catalog (D1): create, list, read, patch and delete documents; and what every document
 * route shares: the id and its schema, a row's JSON shape, the catalog check and the document's object.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireDocAccess, requireSecretKey, type AppEnv } from "../auth/middleware";
import { getDocument, listDocuments, updateDocument } from "../db/queries";
import { deleteDocumentWithEvent, insertDocumentWithEvent, type NewEvent } from "../db/webhooks";
import type { DocumentRow } from "../db/schema";
import { AppError } from "../errors";
import { base64url, fromBase64url, randomId } from "../ids";
import type { DocRef, Reader } from "../room/rpc-types";
import { roomStub } from "../room/stub";
import { webhookOutbox } from "../room/webhook-relay";
import { eventBody, type DocumentEventData } from "../webhooks/events";
import { readWebhookSettings } from "../webhooks/settings";
import { createRouter, errors, iso, PageQuery, page, SECURITY } from "./openapi";

export const DOC_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
export const MAX_METADATA_BYTES = 8 * 1024;

const encoder = new TextEncoder();

// ---- schemas ----

export const DocId = z.string().regex(DOC_ID_PATTERN, "a document id matches ^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$");
export const DocParams = z.object({ id: DocId.openapi({ param: { name: "id", in: "path" }, example: "my-doc" }) });

const Metadata = z
  .record(z.string(), z.unknown())
  .refine((m) => encoder.encode(JSON.stringify(m)).length <= MAX_METADATA_BYTES, {
    message: `metadata may be at most ${MAX_METADATA_BYTES} bytes of JSON`,
  })
  .openapi({ description: `A JSON object, at most ${MAX_METADATA_BYTES} bytes (UTF-8) of its JSON` });

const Title = z.string().max(1000).nullable();

export const DocumentSchema = z
  .object({
    id: z.string(),
    title: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
    sizeBytes: z.number().int().openapi({ description: "Size of the encoded state, kept up to date within seconds" }),
  })
  .openapi("Document");

const CreateDocBody = z
  .object({ id: DocId.optional().openapi({ description: "Generated when absent" }), title: Title.optional(), metadata: Metadata.optional() })
  .openapi("CreateDocument");

const PatchDocBody = z
  .object({ title: Title.optional(), metadata: Metadata.optional().openapi({ description: "Replaces the whole metadata object" }) })
  .openapi("PatchDocument");

const ListQuery = PageQuery.extend({
  prefix: z
    .string()
    .max(128)
    .regex(/^[A-Za-z0-9._-]*$/, "a prefix uses the characters of document ids")
    .optional()
    .openapi({ param: { name: "prefix", in: "query" } }),
});

export const json = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });

// ---- routes ----

const createDoc = createRoute({
  method: "post",
  path: "/docs",
  summary: "Create a document",
  operationId: "createDocument",
  description:
    "Adds a document to the catalog. `id` is generated when absent; ids are per project, and one the project already has is 409. `metadata` is a JSON object of at most 8 KiB.",
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { body: { required: false, content: json(CreateDocBody) } },
  responses: { 201: { description: "The document", content: json(DocumentSchema) }, ...errors(400, 401, 403, 409, 415) },
});

const listDocs = createRoute({
  method: "get",
  path: "/docs",
  summary: "List documents ordered by id",
  operationId: "listDocuments",
  description:
    "The project's documents ordered by id, `limit` (1–100, default 20) per page, optionally only ids starting with `prefix`. Pass `nextCursor` back as `cursor` for the next page.",
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { query: ListQuery },
  responses: {
    200: {
      description: "One page; nextCursor is null on the last",
      content: json(page(DocumentSchema)),
    },
    ...errors(400, 401, 403),
  },
});

const getDoc = createRoute({
  method: "get",
  path: "/docs/{id}",
  summary: "A document",
  operationId: "getDocument",
  description: "A document's catalog entry: title, metadata, times and stored size (`sizeBytes`, kept up to date within seconds).",
  tags: ["documents"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: DocParams },
  responses: { 200: { description: "The document", content: json(DocumentSchema) }, ...errors(400, 401, 403, 404) },
});

const patchDoc = createRoute({
  method: "patch",
  path: "/docs/{id}",
  summary: "Update a document's title or metadata",
  operationId: "updateDocument",
  description: "Changes the title (`null` clears it) or replaces the whole metadata object.",
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: DocParams, body: { required: true, content: json(PatchDocBody) } },
  responses: { 200: { description: "The updated document", content: json(DocumentSchema) }, ...errors(400, 401, 403, 404, 415) },
});

const deleteDoc = createRoute({
  method: "delete",
  path: "/docs/{id}",
  summary: "Delete a document: live sockets close with 4404 and its content is erased",
  operationId: "deleteDocument",
  description: "Closes the document's live sockets with 4404 and erases its content and versions; later requests get 404. The id may be created again, empty.",
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: DocParams },
  responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
});

// ---- helpers ----

export function toDocument(row: DocumentRow) {
  return {
    id: row.id,
    title: row.title,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    sizeBytes: row.sizeBytes,
  };
}

/**
 * The document's catalog row, or 404. A client token counts only for the creation of the id it was
 * minted for: after a delete and a re-create, the old token finds no document.
 */
export async function loadDoc(c: Context<AppEnv>, docId: string): Promise<DocumentRow> {
  const row = await getDocument(c.env.DB, c.var.projectId, docId);
  if (!row || (c.var.client && (c.var.client.incarnation ?? "") !== row.incarnation)) throw new AppError("not_found", "no such document");
  return row;
}

const ref = (row: DocumentRow): DocRef => ({ projectId: row.projectId, docId: row.id, incarnation: row.incarnation });

/** The object for `row`, and the ref every call passes it. */
export const room = (c: Context<AppEnv>, row: DocumentRow) => ({ stub: roomStub(c.env, ref(row)), ref: ref(row) });

/** Who reads, for the object's read budgets: a client token's user; a secret key reads unbudgeted. */
export const reader = (c: Context<AppEnv>): Reader | undefined => (c.var.client ? { userId: c.var.client.userId, access: c.var.client.access } : undefined);

export const gone = () => new AppError("not_found", "no such document");

/** A `document.created` / `document.deleted` event, recorded in the batch of the catalog change it is about. */
function documentEvent(type: "document.created" | "document.deleted", projectId: string, docId: string, at: number): NewEvent {
  const data: DocumentEventData = { projectId, docId };
  return { id: randomId(24, "evt_"), projectId, type, body: JSON.stringify(eventBody(type, at, data)), createdAt: at };
}

/**
 * Creates the document `id` in the caller's project with its `document.created` event, unless the id is
 * taken (then `inserted` is false and nothing changed).
 */
export async function insertDocument(
  c: Context<AppEnv>,
  fields: { id: string; title?: string | null; metadata?: Record<string, unknown> },
): Promise<{ row: DocumentRow; inserted: boolean }> {
  const now = Date.now();
  const row: DocumentRow = {
    projectId: c.var.projectId,
    id: fields.id,
    title: fields.title ?? null,
    metadata: JSON.stringify(fields.metadata ?? {}),
    createdAt: now,
    updatedAt: now,
    sizeBytes: 0,
    incarnation: randomId(12),
  };
  // The event commits with the row (one D1 batch); the relay is armed first, so a death between the
  // commit and the enqueue below still delivers it.
  await webhookOutbox.before(c.env, row.projectId);
  const { inserted, deliveries } = await insertDocumentWithEvent(c.env.DB, row, documentEvent("document.created", row.projectId, row.id, now));
  if (inserted) webhookOutbox.after(c.env, afterResponse(c), deliveries, readWebhookSettings(c.env).holdEnqueue);
  return { row, inserted };
}

/** `ctx.waitUntil` where the runtime gives one (app.request without a context has none: the promise still runs). */
export function afterResponse(c: Context<AppEnv>): (p: Promise<unknown>) => void {
  return (p) => {
    try {
      c.executionCtx.waitUntil(p);
    } catch {
      // no execution context
    }
  };
}

export function encodeCursor(lastId: string): string {
  return base64url(encoder.encode(lastId));
}

function decodeCursor(cursor: string): string {
  const bytes = fromBase64url(cursor);
  const id = bytes && new TextDecoder().decode(bytes);
  if (!id || !DOC_ID_PATTERN.test(id)) throw new AppError("invalid_request", "the cursor is not valid");
  return id;
}

// ---- handlers ----

export const docRoutes = createRouter()
  .openapi(createDoc, async (c) => {
    const body = c.req.valid("json");
    const { row, inserted } = await insertDocument(c, { id: body.id ?? randomId(21), title: body.title, metadata: body.metadata });
    if (!inserted) throw new AppError("conflict", "the project already has a document with this id");
    return c.json(toDocument(row), 201);
  })
  .openapi(listDocs, async (c) => {
    const { limit, cursor, prefix } = c.req.valid("query");
    const afterId = cursor === undefined ? undefined : decodeCursor(cursor);
    const rows = await listDocuments(c.env.DB, c.var.projectId, { limit, afterId, prefix });
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null;
    return c.json({ data: page.map(toDocument), nextCursor }, 200);
  })
  .openapi(getDoc, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(toDocument(await loadDoc(c, id)), 200);
  })
  .openapi(patchDoc, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const patch: { title?: string | null; metadata?: string; updatedAt: number } = { updatedAt: Date.now() };
    if (body.title !== undefined) patch.title = body.title;
    if (body.metadata !== undefined) patch.metadata = JSON.stringify(body.metadata);
    const row = await updateDocument(c.env.DB, c.var.projectId, id, patch);
    if (!row) throw new AppError("not_found", "no such document");
    return c.json(toDocument(row), 200);
  })
  .openapi(deleteDoc, async (c) => {
    const { id } = c.req.valid("param");
    const row = await loadDoc(c, id);
    // Erase first: the object closes its sockets, drops its content and refuses every later call, so a
    // write that passed the catalog check a moment ago cannot land. If erasing fails, the row is still
    // there and the DELETE can be retried; if deleting the row fails after it, the row leads to an
    // erased object (404 everywhere) until a retried DELETE removes it.
    const r = room(c, row);
    await r.stub.erase();
    await webhookOutbox.before(c.env, row.projectId);
    const event = documentEvent("document.deleted", row.projectId, id, Date.now());
    const { deliveries } = await deleteDocumentWithEvent(c.env.DB, { projectId: c.var.projectId, docId: id, incarnation: row.incarnation }, event);
    webhookOutbox.after(c.env, afterResponse(c), deliveries, readWebhookSettings(c.env).holdEnqueue);
    return c.body(null, 204);
  });
