/**
 * A document's versions (issue 15): take, list and read them, restore one as a forward edit, fork one
 * into a new document, rename and delete. The versions live in the document's object (src/versions/store.ts);
 * every call goes through it and comes back as a domain outcome that this file maps to HTTP.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireDocAccess, requireSecretKey } from "../auth/middleware";
import { getDocument } from "../db/queries";
import { AppError } from "../errors";
import { randomId } from "../ids";
import type { Outcome, VersionMeta } from "../room/rpc-types";
import { outcome, refusalError } from "../http/outcome";
import { roomStub } from "../room/stub";
import { createDocument, newDocumentRow } from "../documents/create";
import { DocumentSchema, toDocument } from "../documents/shape";
import { afterResponse, DocId, DocParams, json, loadDoc, reader, room } from "../http/kit";
import { createRouter, ErrorSchema, errors, JsonQuery, PageQuery, page, parseTypes, SECURITY, yjsUpdate } from "../http/openapi";
import { iso } from "../ids";

// ---- schemas ----

const KINDS = ["named", "auto", "before-restore"] as const;
const MAX_NAME_CHARS = 256;

const VersionParams = DocParams.extend({
  versionId: z
    .string()
    .regex(/^[0-9A-Za-z]{1,64}$/, "a version id is letters and digits")
    .openapi({ param: { name: "versionId", in: "path" }, example: "mi3k2x0a1Zk3Yb8Qp2LmN0" }),
});

const Name = z.string().min(1).max(MAX_NAME_CHARS);

const VersionSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    kind: z
      .enum(KINDS)
      .openapi({ description: "named: taken on request, kept until deleted; auto: taken by the server; before-restore: taken by a restore, to undo it" }),
    createdAt: z.string().openapi({ format: "date-time" }),
    createdBy: z.string().nullable().openapi({ description: "The client token's userId; null for a secret key and for versions the server takes" }),
    sizeBytes: z.number().int().openapi({ description: "Size of the version's Yjs v1 state" }),
  })
  .openapi("Version");

const ListQuery = PageQuery.extend({
  kind: z
    .enum(KINDS)
    .optional()
    .openapi({ param: { name: "kind", in: "query" } }),
});

const CreateBody = z.object({ name: Name.nullable().optional() }).openapi("CreateVersion");
const RenameBody = z.object({ name: Name.nullable().openapi({ description: "null removes the name" }) }).openapi("RenameVersion");
const ForkBody = z
  .object({ id: DocId.optional().openapi({ description: "Generated when absent" }), title: z.string().max(1000).nullable().optional() })
  .openapi("ForkVersion");

/** 429 on taking a named version or restoring: the credential's REST budget, or the user's VERSION_WRITES_PER_MINUTE. */
const rateLimited = {
  description:
    "Too many requests: the credential's RATE_LIMITER budget, or (client tokens) the user's named versions and restores per minute on this document (VERSION_WRITES_PER_MINUTE); Retry-After gives the seconds to wait for the latter",
  headers: { "retry-after": { description: "Seconds until the next named version or restore is allowed", schema: { type: "integer" as const } } },
  content: json(ErrorSchema),
};

// ---- routes ----

const base = "/docs/{id}/versions";
const one = `${base}/{versionId}`;

const createVersion = createRoute({
  method: "post",
  path: base,
  summary: "Take a named version of the document's current content",
  operationId: "createVersion",
  description:
    "Stores the document's current content as a named version (the name is optional), kept until deleted. 413 when a quota is full (MAX_NAMED_VERSIONS per document; for a client token also MAX_NAMED_VERSIONS_PER_USER and a quarter of MAX_VERSION_BYTES for all client tokens) or the versions' byte cap cannot hold it; nothing is evicted for it. A client token's named versions and restores share VERSION_WRITES_PER_MINUTE per user and document: past it 429 with Retry-After.",
  tags: ["versions"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("write")] as const,
  request: { params: DocParams, body: { required: false, content: json(CreateBody) } },
  responses: { 201: { description: "The version", content: json(VersionSchema) }, ...errors(400, 401, 403, 404, 413, 415), 429: rateLimited },
});

const listVersions = createRoute({
  method: "get",
  path: base,
  summary: "List versions, newest first",
  operationId: "listVersions",
  description: "The document's versions, newest first, optionally of one `kind` (`named`, `auto`, `before-restore`).",
  tags: ["versions"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: DocParams, query: ListQuery },
  responses: {
    200: { description: "One page; nextCursor is null on the last", content: json(page(VersionSchema)) },
    ...errors(400, 401, 403, 404),
  },
});

const getVersion = createRoute({
  method: "get",
  path: one,
  summary: "A version's metadata",
  operationId: "getVersion",
  description: "One version's metadata: name, kind, when and by whom it was taken, its size.",
  tags: ["versions"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: VersionParams },
  responses: { 200: { description: "The version", content: json(VersionSchema) }, ...errors(400, 401, 403, 404) },
});

const getVersionUpdate = createRoute({
  method: "get",
  path: `${one}/update`,
  summary: "A version's content as a Yjs v1 update (its whole state)",
  operationId: "getVersionUpdate",
  description: "The version's whole state as a Yjs v1 update (`application/octet-stream`).",
  tags: ["versions"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: VersionParams },
  responses: { 200: { description: "A Yjs v1 update", content: yjsUpdate }, ...errors(400, 401, 403, 404) },
});

const getVersionJson = createRoute({
  method: "get",
  path: `${one}/json`,
  summary: "A version's root shared types as plain JSON (the rendering of GET /v1/docs/{id}/json)",
  operationId: "getVersionJson",
  description: "The version's root shared types as plain JSON, rendered as `GET /v1/docs/{id}/json` renders the live document.",
  tags: ["versions"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: VersionParams, query: JsonQuery },
  responses: { 200: { description: "Root name → JSON value", content: json(z.record(z.string(), z.unknown())) }, ...errors(400, 401, 403, 404) },
});

const restoreVersion = createRoute({
  method: "post",
  path: `${one}/restore`,
  summary: "Make the document's content the version's, as a forward edit that live clients receive as an update",
  operationId: "restoreVersion",
  description:
    "A before-restore version of the current content is taken first (restore it to undo). To make room for it, older automatic versions are thinned by age and, when the before-restore quota (MAX_BEFORE_RESTORE_VERSIONS) is full, the restoring user's own oldest before-restore version goes first; named versions are never removed, and 413 comes only when the secret key's own named versions fill the cap. Texts are restored by a diff, everything else by replacing what differs. A client token's restore is charged to its user like their writes (bytes, new client ids), and their restores and named versions share VERSION_WRITES_PER_MINUTE per document: past either, 429 with Retry-After.",
  tags: ["versions"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("write")] as const,
  request: { params: VersionParams },
  responses: {
    200: {
      description: "Restored",
      content: json(
        z
          .object({
            restoredFrom: z.string().openapi({ description: "The version restored" }),
            before: z.string().openapi({ description: "The before-restore version" }),
          })
          .openapi("Restored"),
      ),
    },
    ...errors(400, 401, 403, 404, 413),
    429: rateLimited,
  },
});

const forkVersion = createRoute({
  method: "post",
  path: `${one}/fork`,
  summary: "Create a new document in the same project whose content is the version's",
  operationId: "forkVersion",
  description: "A new document in the same project (its own id, generated when absent) whose content is the version's. The source document is unchanged.",
  tags: ["versions"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: VersionParams, body: { required: false, content: json(ForkBody) } },
  responses: { 201: { description: "The new document", content: json(DocumentSchema) }, ...errors(400, 401, 403, 404, 409, 413, 415) },
});

const renameVersion = createRoute({
  method: "patch",
  path: one,
  summary: "Rename a version (the kind stays: a renamed automatic version is still retained as one)",
  operationId: "renameVersion",
  description: "Sets or removes (`null`) a version's name. Its kind stays: a renamed automatic version is still retained as one.",
  tags: ["versions"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("write")] as const,
  request: { params: VersionParams, body: { required: true, content: json(RenameBody) } },
  responses: { 200: { description: "The version", content: json(VersionSchema) }, ...errors(400, 401, 403, 404, 415) },
});

const deleteVersion = createRoute({
  method: "delete",
  path: one,
  summary: "Delete a version (of any kind)",
  operationId: "deleteVersion",
  description: "Removes one version of any kind (named, auto or before-restore).",
  tags: ["versions"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: VersionParams },
  responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
});

// ---- helpers ----

export const toVersion = (v: VersionMeta) => ({ id: v.id, name: v.name, kind: v.kind, createdAt: iso(v.createdAt), createdBy: v.createdBy, sizeBytes: v.sizeBytes });

// ---- handlers ----

export const versionRoutes = createRouter()
  .openapi(createVersion, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const r = room(c, await loadDoc(c, id));
    const v = await outcome<VersionMeta>(r.stub.createVersion(r.ref, { name: body.name ?? null, createdBy: c.var.client?.userId ?? null }));
    return c.json(toVersion(v), 201);
  })
  .openapi(listVersions, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor, kind } = c.req.valid("query");
    const r = room(c, await loadDoc(c, id));
    const page = await outcome<{ data: VersionMeta[]; nextCursor: string | null }>(r.stub.listVersions(r.ref, { limit, cursor, kind }));
    return c.json({ data: page.data.map(toVersion), nextCursor: page.nextCursor }, 200);
  })
  .openapi(getVersion, async (c) => {
    const { id, versionId } = c.req.valid("param");
    const r = room(c, await loadDoc(c, id));
    return c.json(toVersion(await outcome<VersionMeta>(r.stub.getVersion(r.ref, versionId))), 200);
  })
  .openapi(getVersionUpdate, async (c) => {
    const { id, versionId } = c.req.valid("param");
    const r = room(c, await loadDoc(c, id));
    const state = await outcome<Uint8Array>(r.stub.getVersionState(r.ref, versionId, reader(c)));
    return c.body(state as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
  })
  .openapi(getVersionJson, async (c) => {
    const { id, versionId } = c.req.valid("param");
    const kinds = parseTypes(c.req.valid("query").types);
    const r = room(c, await loadDoc(c, id));
    return c.json(await outcome<Record<string, unknown>>(r.stub.getVersionJson(r.ref, versionId, kinds, reader(c))), 200);
  })
  .openapi(restoreVersion, async (c) => {
    const { id, versionId } = c.req.valid("param");
    const r = room(c, await loadDoc(c, id));
    return c.json(await outcome<{ restoredFrom: string; before: string }>(r.stub.restoreVersion(r.ref, versionId, c.var.client?.userId ?? null)), 200);
  })
  .openapi(forkVersion, async (c) => {
    const { id, versionId } = c.req.valid("param");
    const body = c.req.valid("json");
    const source = room(c, await loadDoc(c, id));
    const projectId = c.var.projectId;
    const newId = body.id ?? randomId(21);
    if (await getDocument(c.env.DB, projectId, newId)) throw new AppError("conflict", "the project already has a document with this id");
    // The version's content as one fresh edit (restored into an empty document): its own history, none of the source's.
    const update = await outcome<Uint8Array>(source.stub.forkUpdate(source.ref, versionId));
    const row = newDocumentRow(projectId, { id: newId, title: body.title });
    // Content first, catalog row second: a document never shows up empty, and a refused fork leaves no row.
    const target = roomStub(c.env, { projectId, docId: newId, incarnation: row.incarnation });
    const seeded = (await target.seed({ projectId, docId: newId, incarnation: row.incarnation }, update)) as Outcome<{ sizeBytes: number }>;
    if (!seeded.ok) {
      await target.erase();
      throw refusalError(seeded);
    }
    row.sizeBytes = seeded.value.sizeBytes;
    if (!(await createDocument(c.env, afterResponse(c), row))) {
      // Created by someone else since the check above: this content goes, theirs stays.
      await target.erase();
      throw new AppError("conflict", "the project already has a document with this id");
    }
    return c.json(toDocument(row), 201);
  })
  .openapi(renameVersion, async (c) => {
    const { id, versionId } = c.req.valid("param");
    const { name } = c.req.valid("json");
    const r = room(c, await loadDoc(c, id));
    return c.json(toVersion(await outcome<VersionMeta>(r.stub.renameVersion(r.ref, versionId, name))), 200);
  })
  .openapi(deleteVersion, async (c) => {
    const { id, versionId } = c.req.valid("param");
    const r = room(c, await loadDoc(c, id));
    await outcome<null>(r.stub.deleteVersion(r.ref, versionId));
    return c.body(null, 204);
  });
