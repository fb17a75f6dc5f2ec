/**
 * The document catalog (D1): create, list, read, patch and delete documents; and what every document
 * route shares: the id and its schema, a row's JSON shape, the catalog check and the document's object.
 * The listing and a secret key's metadata read may come from a D1 read replica; every route here answers
 * and takes the read-your-writes bookmark (src/db/session.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireDocAccess, requireSecretKey } from "../auth/middleware";
import { encodeCursor } from "../cursor";
import { listDocuments, updateDocument } from "../db/queries";
import { catalogReads, primarySession } from "../db/session";
import { AppError } from "../errors";
import {
  afterResponse,
  answerBookmark,
  BOOKMARK_HEADER,
  BookmarkHeaders,
  bookmarkAnswered,
  DOC_ID_PATTERN,
  DocId,
  DocParams,
  gone,
  idCursor,
  json,
  loadDoc,
  room,
} from "../http/kit";
import { createRouter, errors, PageQuery, page, SECURITY } from "../http/openapi";
import { randomId } from "../ids";
import { createDocument, deleteDocumentRow, newDocumentRow } from "./create";
import { DocumentSchema, toDocument } from "./shape";

export const MAX_METADATA_BYTES = 8 * 1024;

const encoder = new TextEncoder();

// ---- schemas ----

const Metadata = z
  .record(z.string(), z.unknown())
  .refine((m) => encoder.encode(JSON.stringify(m)).length <= MAX_METADATA_BYTES, {
    message: `metadata may be at most ${MAX_METADATA_BYTES} bytes of JSON`,
  })
  .openapi({ description: `A JSON object, at most ${MAX_METADATA_BYTES} bytes (UTF-8) of its JSON` });

const Title = z.string().max(1000).nullable();

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
  request: { headers: BookmarkHeaders, body: { required: false, content: json(CreateDocBody) } },
  responses: { 201: { description: "The document", headers: bookmarkAnswered, content: json(DocumentSchema) }, ...errors(400, 401, 403, 409, 415) },
});

const listDocs = createRoute({
  method: "get",
  path: "/docs",
  summary: "List documents ordered by id",
  operationId: "listDocuments",
  description:
    "The project's documents ordered by id, `limit` (1–100, default 20) per page, optionally only ids starting with `prefix`. Pass `nextCursor` back as `cursor` for the next page. May be read from a replica a moment behind; send an earlier answer's `x-lattice-bookmark` to see at least what that answer saw.",
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { query: ListQuery, headers: BookmarkHeaders },
  responses: {
    200: {
      description: "One page; nextCursor is null on the last",
      headers: bookmarkAnswered,
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
  description:
    "A document's catalog entry: title, metadata, times and stored size (`sizeBytes`, kept up to date within seconds). With a secret key it may be read from a replica a moment behind (send an earlier answer's `x-lattice-bookmark` to see at least what that answer saw); a client token's answer is the row its access check read on the primary.",
  tags: ["documents"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: DocParams, headers: BookmarkHeaders },
  responses: { 200: { description: "The document", headers: bookmarkAnswered, content: json(DocumentSchema) }, ...errors(400, 401, 403, 404) },
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
  request: { params: DocParams, headers: BookmarkHeaders, body: { required: true, content: json(PatchDocBody) } },
  responses: { 200: { description: "The updated document", headers: bookmarkAnswered, content: json(DocumentSchema) }, ...errors(400, 401, 403, 404, 415) },
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
  request: { params: DocParams, headers: BookmarkHeaders },
  responses: { 204: { description: "Deleted", headers: bookmarkAnswered }, ...errors(400, 401, 403, 404) },
});

// ---- handlers ----

// Writes run in a session that starts on the primary, so they can answer a bookmark (the binding gives none);
// the bookmark they were sent was validated, but the primary is already at least that new.
export const docRoutes = createRouter()
  .openapi(createDoc, async (c) => {
    const body = c.req.valid("json");
    const row = newDocumentRow(c.var.projectId, { id: body.id ?? randomId(21), title: body.title, metadata: body.metadata });
    const session = primarySession(c.env.DB);
    if (!(await createDocument(c.env, afterResponse(c), row, undefined, session))) throw new AppError("conflict", "the project already has a document with this id");
    answerBookmark(c, session);
    return c.json(toDocument(row), 201);
  })
  .openapi(listDocs, async (c) => {
    const { limit, cursor, prefix } = c.req.valid("query");
    const afterId = idCursor(cursor, DOC_ID_PATTERN);
    const session = catalogReads(c.env.DB, c.req.valid("header")[BOOKMARK_HEADER]);
    const rows = await listDocuments(session, c.var.projectId, { limit, afterId, prefix });
    answerBookmark(c, session);
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null;
    return c.json({ data: page.map(toDocument), nextCursor }, 200);
  })
  .openapi(getDoc, async (c) => {
    const { id } = c.req.valid("param");
    // A client token is answered with the row its access check read on the primary: what decided access
    // (a deleted document, a changed rule) is never contradicted by a replica. Only a secret key reads near.
    if (c.var.client) return c.json(toDocument(await loadDoc(c, id)), 200);
    const session = catalogReads(c.env.DB, c.req.valid("header")[BOOKMARK_HEADER]);
    const row = await loadDoc(c, id, session);
    answerBookmark(c, session);
    return c.json(toDocument(row), 200);
  })
  .openapi(patchDoc, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const patch: { title?: string | null; metadata?: string; updatedAt: number } = { updatedAt: Date.now() };
    if (body.title !== undefined) patch.title = body.title;
    if (body.metadata !== undefined) patch.metadata = JSON.stringify(body.metadata);
    const session = primarySession(c.env.DB);
    const row = await updateDocument(session, c.var.projectId, id, patch);
    if (!row) throw gone();
    answerBookmark(c, session);
    return c.json(toDocument(row), 200);
  })
  .openapi(deleteDoc, async (c) => {
    const { id } = c.req.valid("param");
    // The row is read in the write's session, whose first statement goes to the primary.
    const session = primarySession(c.env.DB);
    const row = await loadDoc(c, id, session);
    // Erase first: the object closes its sockets, drops its content and refuses every later call, so a
    // write that passed the catalog check a moment ago cannot land. If erasing fails, the row is still
    // there and the DELETE can be retried; if deleting the row fails after it, the row leads to an
    // erased object (404 everywhere) until a retried DELETE removes it.
    const r = room(c, row);
    await r.stub.erase();
    await deleteDocumentRow(c.env, afterResponse(c), { projectId: c.var.projectId, docId: id, incarnation: row.incarnation }, session);
    answerBookmark(c, session);
    return c.body(null, 204);
  });
