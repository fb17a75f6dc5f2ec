/**
 * The catalog's D1 statements (projects, keys, documents), through drizzle like webhooks/queries.ts: functions
 * taking the D1 binding and plain values, returning rows. No Hono context. A function that takes a `Catalog`
 * may also be given a session (src/db/session.ts); every access check takes the binding, the primary.
 */
import { and, asc, desc, eq, gt, gte, isNull, lt, or, sql } from "drizzle-orm";
import { ruleOf } from "./access";
import { apiKeys, documentAccess, documents, projects, type ApiKey, type DocumentRow, type Project } from "./schema";
import { type Catalog, orm as db } from "./session";

// ---- projects ----

/** A project and its first secret key, in one batch so neither exists without the other. */
export async function insertProjectWithKey(d1: D1Database, project: Project, key: { id: string; name: string; hash: string }): Promise<void> {
  const d = db(d1);
  await d.batch([d.insert(projects).values(project), d.insert(apiKeys).values({ ...key, projectId: project.id, createdAt: project.createdAt })]);
}

export async function getProject(d1: D1Database, projectId: string): Promise<Project | undefined> {
  const [row] = await db(d1).select().from(projects).where(eq(projects.id, projectId)).limit(1);
  return row;
}

// ---- API keys ----

export async function findKeyByHash(d1: D1Database, hash: string): Promise<ApiKey | undefined> {
  const [row] = await db(d1).select().from(apiKeys).where(eq(apiKeys.hash, hash)).limit(1);
  return row;
}

/** The key, if it is live (exists in that project, not revoked): client tokens it minted depend on it. */
const liveKey = (d: ReturnType<typeof db>, projectId: string, keyId: string) =>
  d
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId), isNull(apiKeys.revokedAt)))
    .limit(1);

export async function isKeyLive(d1: D1Database, projectId: string, keyId: string): Promise<boolean> {
  return (await liveKey(db(d1), projectId, keyId)).length > 0;
}

export async function touchKey(d1: D1Database, keyId: string, at: number): Promise<void> {
  await db(d1).update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, keyId));
}

/**
 * Inserts the key unless the project already has `max` live (not revoked) keys: the count and the insert
 * are one statement, so concurrent creates cannot pass the cap together. False when full.
 */
export async function insertKeyUnderCap(d1: D1Database, key: Omit<ApiKey, "lastUsedAt" | "revokedAt">, max: number): Promise<boolean> {
  // drizzle's `sql`, every value bound: the builder's INSERT cannot guard a SELECT without FROM by the count.
  const res = await db(d1).run(
    sql`INSERT INTO ${apiKeys} (id, project_id, name, hash, created_at) SELECT ${key.id}, ${key.projectId}, ${key.name}, ${key.hash}, ${key.createdAt}
        WHERE (SELECT count(*) FROM ${apiKeys} WHERE ${apiKeys.projectId} = ${key.projectId} AND ${apiKeys.revokedAt} IS NULL) < ${max}`,
  );
  return res.meta.changes === 1;
}

/** One page of the project's keys, oldest first, after the (createdAt, id) cursor; up to `limit + 1` rows. */
export async function listKeys(d1: D1Database, projectId: string, opts: { limit: number; after?: { createdAt: number; id: string } }): Promise<ApiKey[]> {
  const conds = [eq(apiKeys.projectId, projectId)];
  if (opts.after) {
    const a = opts.after;
    conds.push(or(gt(apiKeys.createdAt, a.createdAt), and(eq(apiKeys.createdAt, a.createdAt), gt(apiKeys.id, a.id)))!);
  }
  return db(d1)
    .select()
    .from(apiKeys)
    .where(and(...conds))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
    .limit(opts.limit + 1);
}

/**
 * Revokes a key of the project; undefined when the project has no such key, else when it was revoked.
 * Revoking twice keeps the first time.
 */
export async function revokeKey(d1: D1Database, projectId: string, keyId: string, at: number): Promise<number | undefined> {
  const d = db(d1);
  const [row] = await d
    .select({ revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId)))
    .limit(1);
  if (!row) return undefined;
  if (row.revokedAt !== null) return row.revokedAt;
  await d
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId), isNull(apiKeys.revokedAt)));
  return at;
}

// ---- documents ----

/** Inserts the document; undefined when the project already has that id. */
export async function insertDocument(d1: D1Database, doc: DocumentRow): Promise<DocumentRow | undefined> {
  const [row] = await db(d1).insert(documents).values(doc).onConflictDoNothing().returning();
  return row;
}

export async function getDocument(d1: Catalog, projectId: string, docId: string): Promise<DocumentRow | undefined> {
  const [row] = await db(d1)
    .select()
    .from(documents)
    .where(and(eq(documents.projectId, projectId), eq(documents.id, docId)))
    .limit(1);
  return row;
}

export async function updateDocument(
  d1: Catalog,
  projectId: string,
  docId: string,
  patch: { title?: string | null; metadata?: string; updatedAt: number },
): Promise<DocumentRow | undefined> {
  const [row] = await db(d1)
    .update(documents)
    .set(patch)
    .where(and(eq(documents.projectId, projectId), eq(documents.id, docId)))
    .returning();
  return row;
}

/** The object's write-back of its size and last change, to its own creation's row only. */
export async function writeBackDocument(
  d1: D1Database,
  ref: { projectId: string; docId: string; incarnation: string },
  values: { updatedAt: number; sizeBytes: number },
): Promise<void> {
  await db(d1)
    .update(documents)
    .set(values)
    .where(and(eq(documents.projectId, ref.projectId), eq(documents.id, ref.docId), eq(documents.incarnation, ref.incarnation)));
}

/** Inserts the document unless the id exists; returns the row either way, and whether it is new. */
export async function insertOrGetDocument(d1: D1Database, doc: DocumentRow): Promise<{ row: DocumentRow; created: boolean }> {
  const inserted = await insertDocument(d1, doc);
  if (inserted) return { row: inserted, created: true };
  const row = await getDocument(d1, doc.projectId, doc.id);
  if (!row) throw new Error("document vanished between insert and select");
  return { row, created: false };
}

/** The project's most recently edited documents. */
export function recentDocuments(d1: D1Database, projectId: string, limit: number): Promise<DocumentRow[]> {
  return db(d1).select().from(documents).where(eq(documents.projectId, projectId)).orderBy(desc(documents.updatedAt), asc(documents.id)).limit(limit);
}

/** A project and a key with fixed ids, unless they exist (idempotent: racing isolates are harmless). */
export async function ensureProjectWithKey(d1: D1Database, project: Project, key: { id: string; name: string; hash: string }): Promise<void> {
  const d = db(d1);
  await d.batch([
    d.insert(projects).values(project).onConflictDoNothing(),
    d
      .insert(apiKeys)
      .values({ ...key, projectId: project.id, createdAt: project.createdAt })
      .onConflictDoNothing(),
  ]);
}

/**
 * One page of the project's documents ordered by id, after `afterId` when given. `prefix` is a range on
 * the primary key rather than LIKE: SQLite's LIKE ignores ASCII case and treats `_` as a wildcard.
 * Returns up to `limit + 1` rows so the caller can tell whether another page follows.
 */
export async function listDocuments(d1: Catalog, projectId: string, opts: { limit: number; afterId?: string; prefix?: string }): Promise<DocumentRow[]> {
  const conds = [eq(documents.projectId, projectId)];
  if (opts.afterId !== undefined) conds.push(gt(documents.id, opts.afterId));
  if (opts.prefix) {
    conds.push(gte(documents.id, opts.prefix));
    // Ids are ASCII below 0x7f, so every id starting with the prefix sorts before prefix + "\x7f".
    conds.push(lt(documents.id, `${opts.prefix}\x7f`));
  }
  return db(d1)
    .select()
    .from(documents)
    .where(and(...conds))
    .orderBy(asc(documents.id))
    .limit(opts.limit + 1);
}

// ---- the sync route ----

export type SyncCatalogCheck = { ok: true; incarnation: string; rule: string | null; relays: number } | { ok: false; error: "key_revoked" | "not_found" };

/**
 * One round trip for the sync route: is the key that minted the token still live, does the project still
 * have the document, and what rule is stored for the user on it?
 */
export async function checkSyncTarget(d1: D1Database, projectId: string, docId: string, keyId: string, userId: string): Promise<SyncCatalogCheck> {
  const d = db(d1);
  const [key, doc] = await d.batch([
    liveKey(d, projectId, keyId),
    d
      .select({ incarnation: documents.incarnation, rule: documentAccess.access, relays: documents.relays })
      .from(documents)
      .leftJoin(documentAccess, ruleOf(userId))
      .where(and(eq(documents.projectId, projectId), eq(documents.id, docId))),
  ]);
  if (key.length === 0) return { ok: false, error: "key_revoked" };
  return doc[0] ? { ok: true, incarnation: doc[0].incarnation, rule: doc[0].rule, relays: doc[0].relays } : { ok: false, error: "not_found" };
}

/** The document's object publishes its routing record (how many relays take new connections) on its own creation's row. */
export async function publishRelays(d1: D1Database, projectId: string, docId: string, incarnation: string, relays: number): Promise<void> {
  await db(d1)
    .update(documents)
    .set({ relays })
    .where(and(eq(documents.projectId, projectId), eq(documents.id, docId), eq(documents.incarnation, incarnation)));
}
