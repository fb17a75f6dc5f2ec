/** The catalog's queries: functions taking the D1 binding and plain values, returning rows. No Hono context. */
import { and, asc, eq, gt, gte, isNull, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { apiKeys, documents, projects, type ApiKey, type DocumentRow, type Project } from "./schema";

const db = (d1: D1Database) => drizzle(d1);

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

/** Whether the key is live (exists in that project, not revoked): client tokens it minted depend on it. */
export async function isKeyLive(d1: D1Database, projectId: string, keyId: string): Promise<boolean> {
  const rows = await db(d1)
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId), isNull(apiKeys.revokedAt)))
    .limit(1);
  return rows.length > 0;
}

export async function touchKey(d1: D1Database, keyId: string, at: number): Promise<void> {
  await db(d1).update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, keyId));
}

export async function insertKey(d1: D1Database, key: Omit<ApiKey, "lastUsedAt" | "revokedAt">): Promise<void> {
  await db(d1).insert(apiKeys).values(key);
}

export async function listKeys(d1: D1Database, projectId: string): Promise<ApiKey[]> {
  return db(d1).select().from(apiKeys).where(eq(apiKeys.projectId, projectId)).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
}

/** Revokes a key of the project; false when the project has no such key. Revoking twice keeps the first time. */
export async function revokeKey(d1: D1Database, projectId: string, keyId: string, at: number): Promise<boolean> {
  const d = db(d1);
  const [row] = await d
    .select({ revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId)))
    .limit(1);
  if (!row) return false;
  if (row.revokedAt === null) {
    await d
      .update(apiKeys)
      .set({ revokedAt: at })
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId), isNull(apiKeys.revokedAt)));
  }
  return true;
}

// ---- documents ----

/** Inserts the document; undefined when the project already has that id. */
export async function insertDocument(d1: D1Database, doc: DocumentRow): Promise<DocumentRow | undefined> {
  const [row] = await db(d1).insert(documents).values(doc).onConflictDoNothing().returning();
  return row;
}

export async function getDocument(d1: D1Database, projectId: string, docId: string): Promise<DocumentRow | undefined> {
  const [row] = await db(d1)
    .select()
    .from(documents)
    .where(and(eq(documents.projectId, projectId), eq(documents.id, docId)))
    .limit(1);
  return row;
}

export async function updateDocument(
  d1: D1Database,
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

/** Deletes the catalog row of that creation of the document; false when there was none. */
export async function deleteDocument(d1: D1Database, projectId: string, docId: string, incarnation: string): Promise<boolean> {
  const rows = await db(d1)
    .delete(documents)
    .where(and(eq(documents.projectId, projectId), eq(documents.id, docId), eq(documents.incarnation, incarnation)))
    .returning({ id: documents.id });
  return rows.length > 0;
}

/**
 * One page of the project's documents ordered by id, after `afterId` when given. `prefix` is a range on
 * the primary key rather than LIKE: SQLite's LIKE ignores ASCII case and treats `_` as a wildcard.
 * Returns up to `limit + 1` rows so the caller can tell whether another page follows.
 */
export async function listDocuments(d1: D1Database, projectId: string, opts: { limit: number; afterId?: string; prefix?: string }): Promise<DocumentRow[]> {
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
