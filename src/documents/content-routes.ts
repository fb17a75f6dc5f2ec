/** A document's content through its Durable Object: the Yjs state, REST writes, JSON and presence. */
import { createRoute, z } from "@hono/zod-openapi";
import * as Y from "yjs";
import { requireDocAccess } from "../auth/middleware";
import { AppError } from "../errors";
import { base64url, fromBase64url } from "../ids";
import { readLimits } from "../room/limits";
import type { Presence } from "../room/rpc-types";
import { outcome } from "../http/outcome";
import { DocParams, json, loadDoc, reader, room } from "../http/kit";
import { createRouter, errors, JsonQuery, parseTypes, SECURITY, yjsUpdate } from "../http/openapi";

const MAX_STATE_VECTOR_CHARS = 64 * 1024;

// ---- schemas ----

const UpdateQuery = z.object({
  stateVector: z
    .string()
    .max(MAX_STATE_VECTOR_CHARS)
    .optional()
    .openapi({ param: { name: "stateVector", in: "query" }, description: "base64url Yjs state vector: answer only what it lacks" }),
});

const PresenceSchema = z
  .object({
    connections: z.number().int(),
    users: z.array(z.object({ userId: z.string(), access: z.enum(["read", "write"]), clientIds: z.array(z.number().int()) })),
  })
  .openapi("Presence");

// ---- routes ----

const getUpdate = createRoute({
  method: "get",
  path: "/docs/{id}/update",
  summary: "The document's state as a Yjs v1 update (or only what ?stateVector= lacks)",
  operationId: "getDocumentUpdate",
  description: "The document as a Yjs v1 update (`application/octet-stream`): the whole state, or with `stateVector` (base64url) only what that state vector lacks.",
  tags: ["content"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: DocParams, query: UpdateQuery },
  responses: {
    200: { description: "A Yjs v1 update", content: yjsUpdate },
    ...errors(400, 401, 403, 404),
  },
});

const postUpdate = createRoute({
  method: "post",
  path: "/docs/{id}/update",
  summary: "Apply a Yjs v1 update: persisted, then broadcast to live clients",
  operationId: "applyDocumentUpdate",
  description:
    "Applies a Yjs v1 update (`application/octet-stream`), stores it, then broadcasts it to live clients; the 200 comes after it is stored. Malformed: 400, nothing changed. Over `MAX_UPDATE_BYTES`, or taking the document past its limits: 413.",
  tags: ["content"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("write")] as const,
  request: { params: DocParams, body: { required: true, content: yjsUpdate } },
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
  operationId: "getDocumentJson",
  description:
    "The root shared types as plain JSON: Y.Text → string, Y.Map → object, Y.Array → array, Y.XmlFragment → XML string. `types` names a root's kind where its content cannot tell.",
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
  operationId: "getDocumentPresence",
  description: "How many sockets are open on the document, and which users hold them with which awareness client ids.",
  tags: ["content"],
  security: SECURITY.docAccess,
  middleware: [requireDocAccess("read")] as const,
  request: { params: DocParams },
  responses: { 200: { description: "Connections and users", content: json(PresenceSchema) }, ...errors(400, 401, 403, 404) },
});

// ---- helpers ----

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

export const contentRoutes = createRouter()
  .openapi(getUpdate, async (c) => {
    const { id } = c.req.valid("param");
    const { stateVector } = c.req.valid("query");
    const sv = stateVector === undefined ? undefined : decodeStateVector(stateVector);
    const r = room(c, await loadDoc(c, id));
    const update = await outcome<Uint8Array>(r.stub.readUpdate(r.ref, sv, reader(c)));
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
    const stateVector = await outcome<Uint8Array>(r.stub.applyUpdate(r.ref, body, c.var.client?.userId));
    return c.json({ stateVector: base64url(stateVector) }, 200);
  })
  .openapi(getJson, async (c) => {
    const { id } = c.req.valid("param");
    const kinds = parseTypes(c.req.valid("query").types);
    const r = room(c, await loadDoc(c, id));
    return c.json(await outcome<Record<string, unknown>>(r.stub.getJson(r.ref, kinds, reader(c))), 200);
  })
  .openapi(getPresence, async (c) => {
    const { id } = c.req.valid("param");
    const r = room(c, await loadDoc(c, id));
    return c.json(await outcome<Presence>(r.stub.getPresence(r.ref)), 200);
  });
