/**
 * Writing stored access rules to D1, each with its `access.changed` event in the same batch (the event's
 * statements come from webhooks/queries.ts, as for every catalog change that has an event).
 */
import { and, eq, sql } from "drizzle-orm";
import { type AccessRow, documentAccess } from "../db/schema";
import { orm as db } from "../db/session";
import { fanOut, type NewEvent } from "../webhooks/queries";

/**
 * Stores (or replaces) a user's access rule on one creation of a document, unless the document already has
 * `max` rules and this user none (the count and the write are one statement), and in the same batch its
 * `access.changed` event. `stored` is false when the cap refused it (nothing changed then).
 */
export async function putAccessRuleWithEvent(d1: D1Database, rule: AccessRow, max: number, event: NewEvent): Promise<{ stored: boolean; deliveries: string[] }> {
  const d = db(d1);
  const sameDoc = and(eq(documentAccess.projectId, rule.projectId), eq(documentAccess.docId, rule.docId), eq(documentAccess.incarnation, rule.incarnation));
  const [put, , , deliveries] = await d.batch([
    // The values selected without a FROM, guarded by the cap: drizzle's `sql`, every value bound, in the table's column order.
    d
      .insert(documentAccess)
      .select(
        sql`SELECT ${rule.projectId}, ${rule.docId}, ${rule.incarnation}, ${rule.userId}, ${rule.access}, ${rule.updatedAt}
            WHERE (SELECT count(*) FROM ${documentAccess} WHERE ${sameDoc}) < ${max}
               OR EXISTS (SELECT 1 FROM ${documentAccess} WHERE ${sameDoc} AND ${documentAccess.userId} = ${rule.userId})`,
      )
      .onConflictDoUpdate({
        target: [documentAccess.projectId, documentAccess.docId, documentAccess.incarnation, documentAccess.userId],
        set: { access: sql`excluded.access`, updatedAt: sql`excluded.updated_at` },
      }),
    ...fanOut(d, event),
  ]);
  return { stored: put.meta.changes === 1, deliveries: deliveries.map((r) => r.id) };
}

/** Removes a user's rule on one creation of a document and, in the same batch, records its `access.changed` event. */
export async function deleteAccessRuleWithEvent(
  d1: D1Database,
  key: Omit<AccessRow, "access" | "updatedAt">,
  event: NewEvent,
): Promise<{ deleted: boolean; deliveries: string[] }> {
  const d = db(d1);
  const [gone, , , deliveries] = await d.batch([
    d
      .delete(documentAccess)
      .where(
        and(
          eq(documentAccess.projectId, key.projectId),
          eq(documentAccess.docId, key.docId),
          eq(documentAccess.incarnation, key.incarnation),
          eq(documentAccess.userId, key.userId),
        ),
      ),
    ...fanOut(d, event),
  ]);
  return { deleted: gone.meta.changes === 1, deliveries: deliveries.map((r) => r.id) };
}
