/** A document as the API shows it: the schema and the catalog row's JSON. */
import { z } from "@hono/zod-openapi";
import type { DocumentRow } from "../db/schema";
import { iso } from "../ids";

export const DocumentSchema = z
  .object({
    id: z.string(),
    title: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: z.string().openapi({ format: "date-time" }),
    updatedAt: z.string().openapi({ format: "date-time" }),
    sizeBytes: z.number().int().openapi({ description: "Size of the encoded state, kept up to date within seconds" }),
  })
  .openapi("Document");

export function toDocument(row: DocumentRow) {
  return {
    id: row.id,
    title: row.title,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    sizeBytes: row.sizeBytes,
  };
}
