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
    /**
     * The routing record: how many relay objects take this document's new connections (0: its own object
     * does). Written by the document's object when its audience crosses RELAY_AFTER_CONNECTIONS, read by
     * the sync route with the row it already reads (src/relay, docs/SCALE.md). A stale value is harmless.
     */
    relays: integer("relays").notNull().default(0),
  },
  // The primary key (project_id, id) serves both point look-ups and the id-ordered, prefix-filtered listing.
  (t) => [primaryKey({ columns: [t.projectId, t.id] })],
);

/**
 * A stored access rule: what one user may do on one creation of one document, whatever their client tokens
 * claim (src/auth/access.ts has the precedence). Keyed by the document's incarnation, so a document
 * deleted and created again starts with no rules.
 */
export const documentAccess = sqliteTable(
  "document_access",
  {
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    docId: text("doc_id").notNull(),
    incarnation: text("incarnation").notNull(),
    userId: text("user_id").notNull(),
    /** "read", "write" or "none". */
    access: text("access").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.docId, t.incarnation, t.userId] })],
);

/**
 * A project's webhook endpoints. `secret` is stored as it is, unlike API keys: signing needs it (an HMAC key
 * cannot be a hash). It is returned only by the create and rotate calls and never logged (docs/SECURITY.md).
 */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    /** JSON array of event types (src/webhooks/events.ts). */
    events: text("events").notNull(),
    description: text("description"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** Why the endpoint was disabled by Lattice (3 days of failures); null when enabled or disabled by the project. */
    disabledReason: text("disabled_reason"),
    secret: text("secret").notNull(),
    /** The secret before the last rotation: deliveries are signed with both until `previousSecretExpiresAt`. */
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: integer("previous_secret_expires_at"),
    /** When the current run of failed attempts began (null after a success): 3 days of it disable the endpoint. */
    failingSince: integer("failing_since"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhooks_project_idx").on(t.projectId, t.createdAt)],
);

/** One event as it is sent: the JSON body, written once, shared by its deliveries. */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    /** The exact body every delivery of the event sends (and signs). */
    body: text("body").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("webhook_events_project_idx").on(t.projectId, t.createdAt)],
);

/** One event to one endpoint. Its id is the `webhook-id` header, the same on every attempt. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    eventId: text("event_id")
      .notNull()
      .references(() => webhookEvents.id, { onDelete: "cascade" }),
    /** pending | succeeded | failed */
    status: text("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    /** When the current run of attempts began (creation, or a manual retry): the 3-day limit counts from here. */
    startedAt: integer("started_at").notNull(),
    lastAttemptAt: integer("last_attempt_at"),
    lastResponseStatus: integer("last_response_status"),
    nextAttemptAt: integer("next_attempt_at"),
    /** When it was handed to the queue; null: still in the outbox (the relay picks it up). */
    enqueuedAt: integer("enqueued_at"),
    /**
     * The delivery's retry chain: bumped each time it is handed to the queue, and carried by that message.
     * The consumer drops a message whose chain is not the current one, so a re-enqueue (the relay, a
     * manual retry, an at-least-once duplicate) replaces the chain in flight instead of running beside it.
     */
    chain: integer("chain").notNull().default(0),
  },
  (t) => [index("webhook_deliveries_webhook_idx").on(t.webhookId, t.createdAt, t.id), index("webhook_deliveries_outbox_idx").on(t.status, t.enqueuedAt)],
);

export type Project = typeof projects.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type DocumentRow = typeof documents.$inferSelect;
export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AccessRow = typeof documentAccess.$inferSelect;
