/** Documents: the catalog (D1) and their content, presence and client tokens (through the Durable Object). */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as Y from "yjs";
import { mintClientToken } from "../auth/client-token";
import { requireDocAccess, requireSecretKey } from "../auth/middleware";
import { base64url, fromBase64url, randomId } from "../ids";
import { deleteDocument, getDocument, insertDocument, listDocuments, updateDocument } from "../db/queries";
import type { DocumentRow } from "../db/schema";
import type { AppEnv } from "../auth/middleware";
import { AppError } from "../errors";
import { readLimits } from "../room/limits";
import type { DocRef, JsonResult, Presence, RootKind } from "../room/rpc-types";
import { roomStub } from "../room/stub";
import { createRouter, errors, iso, SECURITY } from "./openapi";

export const DOC_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
export const MAX_METADATA_BYTES = 8 * 1024;
const MAX_STATE_VECTOR_CHARS = 64 * 1024;
const MAX_TYPES = 64;

const encoder = new TextEncoder();

// ---- schemas ----

const DocId = z.string().regex(DOC_ID_PATTERN, "a document id matches ^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$");
const DocParams = z.object({ id: DocId.openapi({ param: { name: "id", in: "path" }, example: "my-doc" }) });

const Metadata = z
  .record(z.string(), z.unknown())
  .refine((m) => encoder.encode(JSON.stringify(m)).length <= MAX_METADATA_BYTES, {
    message: `metadata may be at most ${MAX_METADATA_BYTES} bytes of JSON`,
  })
  .openapi({ description: `A JSON object, at most ${MAX_METADATA_BYTES} bytes (UTF-8) of its JSON` });

const Title = z.string().max(1000).nullable();

const DocumentSchema = z
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

const ListQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ param: { name: "limit", in: "query" }, example: 20 }),
  cursor: z
    .string()
    .max(256)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "nextCursor of the previous page" }),
  prefix: z
    .string()
    .max(128)
    .regex(/^[A-Za-z0-9._-]*$/, "a prefix uses the characters of document ids")
    .optional()
    .openapi({ param: { name: "prefix", in: "query" } }),
});

const UpdateQuery = z.object({
  stateVector: z
    .string()
    .max(MAX_STATE_VECTOR_CHARS)
    .optional()
    .openapi({ param: { name: "stateVector", in: "query" }, description: "base64url Yjs state vector: answer only what it lacks" }),
});

const JsonQuery = z.object({
  types: z
    .string()
    .max(8192)
    .optional()
    .openapi({ param: { name: "types", in: "query" }, description: "name:kind,… with kind one of text, map, array, xml", example: "content:xml,title:text" }),
});

const TokenBody = z
  .object({
    userId: z.string().min(1).max(256),
    access: z.enum(["read", "write"]),
    expiresIn: z.number().int().min(60).max(86400).default(3600).openapi({ description: "Seconds" }),
  })
  .openapi("CreateToken");

const TokenSchema = z
  .object({
    token: z.string(),
    expiresAt: z.string().openapi({ format: "date-time" }),
    url: z.string().openapi({ description: "The WebSocket URL on the host the request came to; pass the token as ?token=" }),
  })
  .openapi("ClientToken");

const PresenceSchema = z
  .object({
    connections: z.number().int(),
    users: z.array(z.object({ userId: z.string(), access: z.enum(["read", "write"]), clientIds: z.array(z.number().int()) })),
  })
  .openapi("Presence");

const Binary = z.string().openapi({ format: "binary" });
const json = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });

// ---- routes ----

const createDoc = createRoute({
  method: "post",
  path: "/docs",
  summary: "Create a document",
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
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { query: ListQuery },
  responses: {
    200: {
      description: "One page; nextCursor is null on the last",
      content: json(z.object({ data: z.array(DocumentSchema), nextCursor: z.string().nullable() })),
    },
    ...errors(400, 401, 403),
  },
});

const getDoc = createRoute({
  method: "get",
  path: "/docs/{id}",
  summary: "A document",
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
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: DocParams },
  responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
});

const getUpdate = createRoute({
  method: "get",
  path: "/docs/{id}/update",
  summary: "The document's state as a Yjs v1 update (or only what ?stateVector= lacks)",
  tags: ["content"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: DocParams, query: UpdateQuery },
  responses: {
    200: { description: "A Yjs v1 update", content: { "application/octet-stream": { schema: Binary } } },
    ...errors(400, 401, 403, 404),
  },
});

const postUpdate = createRoute({
  method: "post",
  path: "/docs/{id}/update",
  summary: "Apply a Yjs v1 update: persisted, then broadcast to live clients",
  tags: ["content"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("write")] as const,
  request: { params: DocParams, body: { required: true, content: { "application/octet-stream": { schema: Binary } } } },
  responses: {
    200: {
      description: "Applied; the whole document's state vector",
      content: json(z.object({ stateVector: z.string().openapi({ description: "base64url" }) })),
    },
    ...errors(400, 401, 403, 404, 413, 415),
  },
});

const getJson = createRoute({
  method: "get",
  path: "/docs/{id}/json",
  summary: "The root shared types as plain JSON",
  tags: ["content"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: DocParams, query: JsonQuery },
  responses: {
    200: { description: "Root name → JSON value", content: json(z.record(z.string(), z.unknown())) },
    ...errors(400, 401, 403, 404),
  },
});

const getPresence = createRoute({
  method: "get",
  path: "/docs/{id}/presence",
  summary: "Who is connected",
  tags: ["content"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: DocParams },
  responses: { 200: { description: "Connections and users", content: json(PresenceSchema) }, ...errors(400, 401, 403, 404) },
});

const createToken = createRoute({
  method: "post",
  path: "/docs/{id}/tokens",
  summary: "Mint a client token for one user and this document",
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: DocParams, body: { required: true, content: json(TokenBody) } },
  responses: { 201: { description: "The token", content: json(TokenSchema) }, ...errors(400, 401, 403, 404, 415) },
});

// ---- helpers ----

function toDocument(row: DocumentRow) {
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
async function loadDoc(c: Context<AppEnv>, docId: string): Promise<DocumentRow> {
  const row = await getDocument(c.env.DB, c.var.projectId, docId);
  if (!row || (c.var.client && (c.var.client.incarnation ?? "") !== row.incarnation)) throw new AppError("not_found", "no such document");
  return row;
}

const ref = (row: DocumentRow): DocRef => ({ projectId: row.projectId, docId: row.id, incarnation: row.incarnation });

/** The object for `row`, and the ref every call passes it. */
const room = (c: Context<AppEnv>, row: DocumentRow) => ({ stub: roomStub(c.env, ref(row)), ref: ref(row) });

const gone = () => new AppError("not_found", "no such document");

export function encodeCursor(lastId: string): string {
  return base64url(encoder.encode(lastId));
}

function decodeCursor(cursor: string): string {
  const bytes = fromBase64url(cursor);
  const id = bytes && new TextDecoder().decode(bytes);
  if (!id || !DOC_ID_PATTERN.test(id)) throw new AppError("invalid_request", "the cursor is not valid");
  return id;
}

/** `name:kind,…` → kinds; 400 for anything else. */
export function parseTypes(text: string | undefined): Map<string, RootKind> {
  // A Map, not an object: a root may be named `__proto__` or `constructor`.
  const kinds = new Map<string, RootKind>();
  if (text === undefined || text === "") return kinds;
  const parts = text.split(",");
  if (parts.length > MAX_TYPES) throw new AppError("invalid_request", `at most ${MAX_TYPES} types`);
  for (const part of parts) {
    const m = /^([^:,]{1,256}):(text|map|array|xml)$/.exec(part);
    if (!m) throw new AppError("invalid_request", "types is name:kind,… with kind one of text, map, array, xml", { types: part });
    kinds.set(m[1]!, m[2] as RootKind);
  }
  return kinds;
}

function decodeStateVector(text: string): Uint8Array {
  const bytes = fromBase64url(text);
  if (bytes) {
    try {
      Y.decodeStateVector(bytes);
      return bytes;
    } catch {
      // falls through to the 400
    }
  }
  throw new AppError("invalid_request", "stateVector is not a base64url Yjs state vector");
}

/** The body, read at most up to `max` bytes: a larger one is refused without being buffered whole. */
async function readCapped(req: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => new AppError("payload_too_large", `an update may be at most ${max} bytes`);
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw tooLarge();
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

// ---- handlers ----

export const docRoutes = createRouter()
  .openapi(createDoc, async (c) => {
    const body = c.req.valid("json");
    const now = Date.now();
    const row = await insertDocument(c.env.DB, {
      projectId: c.var.projectId,
      id: body.id ?? randomId(21),
      title: body.title ?? null,
      metadata: JSON.stringify(body.metadata ?? {}),
      createdAt: now,
      updatedAt: now,
      sizeBytes: 0,
      incarnation: randomId(12),
    });
    if (!row) throw new AppError("conflict", "the project already has a document with this id");
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
    await deleteDocument(c.env.DB, c.var.projectId, id, row.incarnation);
    return c.body(null, 204);
  })
  .openapi(getUpdate, async (c) => {
    const { id } = c.req.valid("param");
    const { stateVector } = c.req.valid("query");
    const sv = stateVector === undefined ? undefined : decodeStateVector(stateVector);
    const r = room(c, await loadDoc(c, id));
    const update = await r.stub.getUpdate(r.ref, sv);
    if (!update) throw gone();
    return c.body(update as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
  })
  .openapi(postUpdate, async (c) => {
    const { id } = c.req.valid("param");
    const mediaType = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
    if (mediaType !== "application/octet-stream") {
      throw new AppError("unsupported_media_type", "the body must be application/octet-stream: a Yjs v1 update");
    }
    const body = await readCapped(c.req.raw, readLimits(c.env).maxUpdateBytes);
    if (body.length === 0) throw new AppError("invalid_request", "the body is empty: expected a Yjs v1 update");
    const r = room(c, await loadDoc(c, id));
    const result = await r.stub.applyUpdate(r.ref, body, c.var.client?.userId);
    if (!result.ok) throw new AppError(result.code, result.message);
    return c.json({ stateVector: base64url(result.stateVector) }, 200);
  })
  .openapi(getJson, async (c) => {
    const { id } = c.req.valid("param");
    const kinds = parseTypes(c.req.valid("query").types);
    const r = room(c, await loadDoc(c, id));
    // RPC return types arrive wrapped (Disposable), which defeats narrowing: name the plain type.
    const result = (await r.stub.getJson(r.ref, kinds)) as JsonResult;
    if (!result.ok) throw result.gone ? gone() : new AppError("invalid_request", result.message);
    return c.json(result.value, 200);
  })
  .openapi(getPresence, async (c) => {
    const { id } = c.req.valid("param");
    const r = room(c, await loadDoc(c, id));
    const presence = (await r.stub.getPresence(r.ref)) as Presence | null;
    if (!presence) throw gone();
    return c.json(presence, 200);
  })
  .openapi(createToken, async (c) => {
    const { id } = c.req.valid("param");
    const { userId, access, expiresIn } = c.req.valid("json");
    const row = await loadDoc(c, id);
    const exp = Math.floor(Date.now() / 1000) + expiresIn;
    const token = await mintClientToken(c.env.TOKEN_SECRET, {
      userId,
      projectId: c.var.projectId,
      docId: id,
      access,
      keyId: c.var.keyId,
      exp,
      incarnation: row.incarnation,
    });
    const url = new URL(c.req.url);
    const ws = url.protocol === "https:" ? "wss:" : "ws:";
    return c.json({ token, expiresAt: iso(exp * 1000), url: `${ws}//${url.host}/v1/sync/${encodeURIComponent(id)}` }, 201);
  });
