import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Times are stored as epoch milliseconds; the API renders them as ISO 8601 strings. */
export const projects = sqliteTable("projects", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: integer("created_at").notNull(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** SHA-256 of the whole secret key, hex. The secret itself is never stored. */
    hash: text("hash").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash_idx").on(t.hash), index("api_keys_project_idx").on(t.projectId, t.createdAt)],
);

export const documents = sqliteTable(
  "documents",
  {
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    id: text("id").notNull(),
    title: text("title"),
    /** JSON object text, at most 8 KiB. */
    metadata: text("metadata").notNull().default("{}"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    sizeBytes: integer("size_bytes").notNull().default(0),
    /**
     * Which creation of this id the row is: random per creation ("" for documents made before it
     * existed). It names the Durable Object that holds the content and is bound into client tokens, so
     * nothing of a deleted document (content, live sockets, tokens) reaches one re-created with its id.
     */
    incarnation: text("incarnation").notNull().default(""),
  },
  // The primary key (project_id, id) serves both point look-ups and the id-ordered, prefix-filtered listing.
  (t) => [primaryKey({ columns: [t.projectId, t.id] })],
);

export type Project = typeof projects.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type DocumentRow = typeof documents.$inferSelect;
