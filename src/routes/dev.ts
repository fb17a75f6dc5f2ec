/**
 * Development-only routes behind the demo page: list, create and rename documents of the demo project and
 * mint client tokens for it, with no secret key in the browser. They exist only when `DEV_MODE` is "true"
 * (`npm run dev` sets it); everywhere else every path under /dev answers 404, as if it were not there.
 * In production an app's own server mints tokens with `POST /v1/docs/{id}/tokens` instead. Hidden from
 * /openapi.json; validated and answered like every other route.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../auth/middleware";
import { mintClientToken } from "../auth/client-token";
import { hashSecretKey } from "../auth/secret-key";
import { ensureProjectWithKey, getDocument, insertOrGetDocument, recentDocuments, updateDocument } from "../db/queries";
import { AppError } from "../errors";
import { randomId } from "../ids";
import { relayStub, roomStub } from "../room/stub";
import { toDocument } from "../documents/shape";
import { DocId, DocParams, json } from "../http/kit";
import { iso } from "../ids";
import { createRouter } from "../http/openapi";
import { issueToken } from "./tokens";

export const DEMO_PROJECT_ID = "demo";
export const DEMO_KEY_ID = "demo-key";
/**
 * The demo project's secret key. Public on purpose and only ever usable where DEV_MODE created the demo
 * project: it lets a developer try the REST API against the demo documents (`Authorization: Bearer …`).
 */
export const DEMO_SECRET_KEY = "sk_demo_dev_only_not_secret";
/** Dev tokens live an hour; the page fetches a new one before that. */
const DEV_TOKEN_SECONDS = 3600;
const MAX_LISTED = 100;

const DemoTitle = z.string().max(200);
const CreateDoc = z.object({ id: DocId.optional(), title: DemoTitle.optional() });
/** The editor's title field: an empty title is no title ("Untitled"). */
const RenameDoc = z.object({ title: DemoTitle.nullable() });
const TokenBody = z.object({
  userId: z.string().min(1).max(256),
  access: z.enum(["read", "write"]).default("write"),
  title: DemoTitle.optional(),
});

// Per isolate: the rows are written once, then every request skips the round trip.
let demoReady: Promise<void> | undefined;

/** Creates the demo project and its key on first use. */
function ensureDemoProject(d1: D1Database): Promise<void> {
  demoReady ??= (async () => {
    const hash = await hashSecretKey(DEMO_SECRET_KEY);
    await ensureProjectWithKey(
      d1,
      { id: DEMO_PROJECT_ID, name: "Demo (development)", createdAt: Date.now() },
      { id: DEMO_KEY_ID, name: "demo (development)", hash },
    );
  })().catch((e: unknown) => {
    demoReady = undefined; // try again on the next request
    throw e;
  });
  return demoReady;
}

// The generated Env types DEV_MODE as wrangler.toml's literal "false"; `--var DEV_MODE:true` changes it at run time.
const isDevMode = (env: AppEnv["Bindings"]) => (env.DEV_MODE as string) === "true";

const devOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!isDevMode(c.env)) throw new AppError("not_found", "no such route");
  await ensureDemoProject(c.env.DB);
  await next();
};

/**
 * Under `npm run dev`, the demo project exists before any /v1 route looks up a key, so the first
 * `curl -H "Authorization: Bearer sk_demo_dev_only_not_secret" …/v1/docs` works on a fresh state, with no
 * /dev route visited first. Once per isolate; outside DEV_MODE it does nothing.
 */
export const demoProjectInDevMode: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (isDevMode(c.env)) await ensureDemoProject(c.env.DB);
  await next();
};

/** Inserts a demo document unless the id exists. */
function demoDocument(d1: D1Database, id: string, title: string | undefined) {
  const now = Date.now();
  return insertOrGetDocument(d1, {
    projectId: DEMO_PROJECT_ID,
    id,
    title: title ?? null,
    metadata: "{}",
    createdAt: now,
    updatedAt: now,
    sizeBytes: 0,
    incarnation: randomId(12),
    relays: 0,
  });
}

const body = <T extends z.ZodType>(schema: T) => ({ required: false, content: json(schema) });
const listDocs = createRoute({ hide: true, method: "get", path: "/docs", responses: { 200: { description: "Recent demo documents" } } });
const createDoc = createRoute({ hide: true, method: "post", path: "/docs", request: { body: body(CreateDoc) }, responses: { 201: { description: "Created" } } });
const createToken = createRoute({
  hide: true,
  method: "post",
  path: "/docs/{id}/tokens",
  request: { params: DocParams, body: body(TokenBody) },
  responses: { 201: { description: "A client token" } },
});

const renameDoc = createRoute({
  hide: true,
  method: "patch",
  path: "/docs/{id}",
  request: { params: DocParams, body: { required: true, content: json(RenameDoc) } },
  responses: { 200: { description: "The renamed demo document" } },
});

const WorkspaceTokenBody = z.object({ userId: z.string().min(1).max(256), title: DemoTitle.optional() });
/**
 * The sections demo (/s/{id}): a workspace token on the document and every id under "{id}.", where the client
 * package opens its subdocuments (`{id}.{guid}`), creating them on first open.
 */
const createWorkspaceToken = createRoute({
  hide: true,
  method: "post",
  path: "/docs/{id}/workspace-tokens",
  request: { params: DocParams, body: body(WorkspaceTokenBody) },
  responses: { 201: { description: "A workspace token for the document and its subdocuments" } },
});

const wakeups = createRoute({
  hide: true,
  method: "get",
  path: "/docs/{id}/wakeups",
  request: { params: DocParams },
  responses: { 200: { description: "How many times the document's object was woken (constructed); bench W6" } },
});

const objects = createRoute({
  hide: true,
  method: "get",
  path: "/docs/{id}/objects",
  request: { params: DocParams },
  responses: { 200: { description: "Sockets and messages sent by the document's object and by each of its relays; bench W9" } },
});

const router = createRouter();
router.use("*", devOnly);

export const devRoutes = router
  .openapi(listDocs, async (c) => c.json({ data: (await recentDocuments(c.env.DB, DEMO_PROJECT_ID, MAX_LISTED)).map(toDocument) }, 200))
  .openapi(createDoc, async (c) => {
    const { id, title } = c.req.valid("json");
    const { row, created } = await demoDocument(c.env.DB, id ?? randomId(10), title);
    if (!created) throw new AppError("conflict", "the demo project already has this document");
    return c.json(toDocument(row), 201);
  })
  .openapi(createToken, async (c) => {
    const { id } = c.req.valid("param");
    const { userId, access, title } = c.req.valid("json");
    // Opening a link to a document that does not exist yet creates it, so any /d/{id} can be shared.
    const { row } = await demoDocument(c.env.DB, id, title);
    const token = await issueToken(c, row, { userId, access, expiresIn: DEV_TOKEN_SECONDS, keyId: DEMO_KEY_ID });
    return c.json({ ...token, document: toDocument(row) }, 201);
  })
  .openapi(createWorkspaceToken, async (c) => {
    const { id } = c.req.valid("param");
    const { userId, title } = c.req.valid("json");
    // The prefix needs room for at least one character after the dot.
    if (id.length > 126) throw new AppError("invalid_request", "the document id leaves no room for subdocument ids");
    const { row } = await demoDocument(c.env.DB, id, title);
    const exp = Math.floor(Date.now() / 1000) + DEV_TOKEN_SECONDS;
    const docs = { ids: [id], prefixes: [`${id}.`] };
    const token = await mintClientToken(c.env.TOKEN_SECRET, {
      userId,
      projectId: DEMO_PROJECT_ID,
      docId: "",
      docs,
      create: true,
      access: "write",
      keyId: DEMO_KEY_ID,
      exp,
    });
    return c.json({ token, expiresAt: iso(exp * 1000), document: toDocument(row) }, 201);
  })
  .openapi(renameDoc, async (c) => {
    const { id } = c.req.valid("param");
    const { title } = c.req.valid("json");
    const row = await updateDocument(c.env.DB, DEMO_PROJECT_ID, id, { title: title?.trim() || null, updatedAt: Date.now() });
    if (!row) throw new AppError("not_found", "no such document");
    return c.json(toDocument(row), 200);
  })
  .openapi(wakeups, async (c) => {
    const { id } = c.req.valid("param");
    const row = await getDocument(c.env.DB, DEMO_PROJECT_ID, id);
    if (!row) throw new AppError("not_found", "no such document");
    return c.json({ wakeups: await roomStub(c.env, { projectId: row.projectId, docId: row.id, incarnation: row.incarnation }).wakeups() }, 200);
  })
  .openapi(objects, async (c) => {
    const { id } = c.req.valid("param");
    const row = await getDocument(c.env.DB, DEMO_PROJECT_ID, id);
    if (!row) throw new AppError("not_found", "no such document");
    const ref = { projectId: row.projectId, docId: row.id, incarnation: row.incarnation };
    const authority = await roomStub(c.env, ref).work();
    const relays = await Promise.all(Array.from({ length: Math.max(authority.relays, authority.span) }, (_, k) => relayStub(c.env, ref, k).work()));
    return c.json({ authority, relays }, 200);
  });
