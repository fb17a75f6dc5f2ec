import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { apiKeys, documents } from "./schema";

export type SyncCatalogCheck = { ok: true; incarnation: string } | { ok: false; error: "key_revoked" | "not_found" };

/**
 * One round trip for the sync route: is the key that minted the token still live, and does the
 * project still have the document?
 */
export async function checkSyncTarget(db: D1Database, projectId: string, docId: string, keyId: string): Promise<SyncCatalogCheck> {
  const d = drizzle(db);
  const [key, doc] = await d.batch([
    d
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId), isNull(apiKeys.revokedAt))),
    d
      .select({ incarnation: documents.incarnation })
      .from(documents)
      .where(and(eq(documents.projectId, projectId), eq(documents.id, docId))),
  ]);
  if (key.length === 0) return { ok: false, error: "key_revoked" };
  return doc[0] ? { ok: true, incarnation: doc[0].incarnation } : { ok: false, error: "not_found" };
}
