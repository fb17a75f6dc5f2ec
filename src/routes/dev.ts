/**
 * Development-only routes behind the demo page: list and create documents of the demo project and mint
 * client tokens for it, with no secret key in the browser. They exist only when `DEV_MODE` is "true"
 * (`npm run dev` sets it); everywhere else every path under /dev answers 404, as if it were not there.
 * In production an app's own server mints tokens with `POST /v1/docs/{id}/tokens` instead.
 */
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { mintClientToken } from "../auth/client-token";
import { hashSecretKey } from "../auth/secret-key";
import { randomId } from "../ids";
import { apiKeys, documents, projects, type DocumentRow } from "../db/schema";
import type { AppEnv } from "../auth/middleware";
import { errorResponse } from "../errors";

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

const DocId = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/, "a document id matches ^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$");
const CreateDoc = z.object({ id: DocId.optional(), title: z.string().max(200).optional() });
const TokenBody = z.object({
  userId: z.string().min(1).max(256),
  access: z.enum(["read", "write"]).default("write"),
  title: z.string().max(200).optional(),
});

// Per isolate: the rows are written once, then every request skips the round trip.
let demoReady: Promise<void> | undefined;

/** Creates the demo project and its key on first use; idempotent, so racing isolates are harmless. */
export function ensureDemoProject(db: D1Database): Promise<void> {
  demoReady ??= (async () => {
    const d = drizzle(db);
    const now = Date.now();
    await d.insert(projects).values({ id: DEMO_PROJECT_ID, name: "Demo (development)", createdAt: now }).onConflictDoNothing();
    await d
      .insert(apiKeys)
      .values({ id: DEMO_KEY_ID, projectId: DEMO_PROJECT_ID, name: "demo (development)", hash: await hashSecretKey(DEMO_SECRET_KEY), createdAt: now })
      .onConflictDoNothing();
  })().catch((e: unknown) => {
    demoReady = undefined; // try again on the next request
    throw e;
  });
  return demoReady;
}

function toDoc(row: DocumentRow) {
  return {
    id: row.id,
    title: row.title,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    sizeBytes: row.sizeBytes,
  };
}

async function findDoc(db: D1Database, id: string): Promise<DocumentRow | undefined> {
  const rows = await drizzle(db)
    .select()
    .from(documents)
    .where(and(eq(documents.projectId, DEMO_PROJECT_ID), eq(documents.id, id)));
  return rows[0];
}

/** Inserts the document unless it exists; returns the row either way. */
async function createDoc(db: D1Database, id: string, title: string | undefined): Promise<{ row: DocumentRow; created: boolean }> {
  const now = Date.now();
  const inserted = await drizzle(db)
    .insert(documents)
    .values({ projectId: DEMO_PROJECT_ID, id, title: title ?? null, createdAt: now, updatedAt: now, incarnation: randomId(12) })
    .onConflictDoNothing()
    .returning();
  if (inserted[0]) return { row: inserted[0], created: true };
  const row = await findDoc(db, id);
  if (!row) throw new Error("document vanished between insert and select");
  return { row, created: false };
}

/** Parses the JSON body once, at the edge; a missing or empty body counts as `{}`. */
async function readJson<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<{ ok: true; value: z.infer<T> } | { ok: false; res: Response }> {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      return { ok: false, res: errorResponse("invalid_request", "the body is not valid JSON") };
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, res: errorResponse("invalid_request", "the request is not valid", parsed.error.issues) };
  return { ok: true, value: parsed.data };
}

export const devRoutes = new Hono<AppEnv>()
  .use("*", async (c, next) => {
    // The generated Env types DEV_MODE as wrangler.toml's literal "false"; `--var DEV_MODE:true` changes it at run time.
    if ((c.env.DEV_MODE as string) !== "true") return errorResponse("not_found", "no such route");
    await ensureDemoProject(c.env.DB);
    await next();
  })
  .get("/docs", async (c) => {
    const rows = await drizzle(c.env.DB)
      .select()
      .from(documents)
      .where(eq(documents.projectId, DEMO_PROJECT_ID))
      .orderBy(desc(documents.updatedAt), documents.id)
      .limit(MAX_LISTED);
    return c.json({ data: rows.map(toDoc) });
  })
  .post("/docs", async (c) => {
    const body = await readJson(c, CreateDoc);
    if (!body.ok) return body.res;
    const { id, title } = body.value;
    const { row, created } = await createDoc(c.env.DB, id ?? randomId(10), title);
    if (!created) return errorResponse("conflict", "the demo project already has this document");
    return c.json(toDoc(row), 201);
  })
  .post("/docs/:id/tokens", async (c) => {
    const id = DocId.safeParse(c.req.param("id"));
    if (!id.success) return errorResponse("invalid_request", "the document id is not valid", id.error.issues);
    const body = await readJson(c, TokenBody);
    if (!body.ok) return body.res;
    const { userId, access, title } = body.value;
    // Opening a link to a document that does not exist yet creates it, so any /d/{id} can be shared.
    const { row } = await createDoc(c.env.DB, id.data, title);
    const exp = Math.floor(Date.now() / 1000) + DEV_TOKEN_SECONDS;
    const token = await mintClientToken(c.env.TOKEN_SECRET, {
      userId,
      projectId: DEMO_PROJECT_ID,
      docId: id.data,
      access,
      keyId: DEMO_KEY_ID,
      exp,
      incarnation: row.incarnation,
    });
    const url = new URL(c.req.url);
    const ws = url.protocol === "https:" ? "wss:" : "ws:";
    return c.json(
      { token, expiresAt: new Date(exp * 1000).toISOString(), url: `${ws}//${url.host}/v1/sync/${encodeURIComponent(id.data)}`, document: toDoc(row) },
      201,
    );
  });
