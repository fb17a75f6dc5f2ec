/** Stored access rules in D1 (document_access): reading them. Writes go with their webhook event (access/store.ts). */
import { and, asc, eq, gt } from "drizzle-orm";
import { type AccessRow, documentAccess, type DocumentRow, documents } from "./schema";
import { orm as db } from "./session";

/** Joins a document row to the rule stored for `userId` on that creation of it (absent: null). */
export const ruleOf = (userId: string) =>
  and(
    eq(documentAccess.projectId, documents.projectId),
    eq(documentAccess.docId, documents.id),
    eq(documentAccess.incarnation, documents.incarnation),
    eq(documentAccess.userId, userId),
  );

/** The document's row and the rule stored for `userId` on it, in one read; undefined when the project has no such document. */
export async function docAndRule(d1: D1Database, projectId: string, docId: string, userId: string): Promise<{ doc: DocumentRow; rule: string | null } | undefined> {
  const [row] = await db(d1)
    .select({ doc: documents, rule: documentAccess.access })
    .from(documents)
    .leftJoin(documentAccess, ruleOf(userId))
    .where(and(eq(documents.projectId, projectId), eq(documents.id, docId)))
    .limit(1);
  return row;
}

/** One page of a document's rules ordered by user id, after `afterUserId`; up to `limit + 1` rows. */
export function listAccessRules(
  d1: D1Database,
  doc: { projectId: string; docId: string; incarnation: string },
  opts: { limit: number; afterUserId?: string },
): Promise<AccessRow[]> {
  const where = and(
    eq(documentAccess.projectId, doc.projectId),
    eq(documentAccess.docId, doc.docId),
    eq(documentAccess.incarnation, doc.incarnation),
    opts.afterUserId === undefined ? undefined : gt(documentAccess.userId, opts.afterUserId),
  );
  return db(d1)
    .select()
    .from(documentAccess)
    .where(where)
    .orderBy(asc(documentAccess.userId))
    .limit(opts.limit + 1);
}
