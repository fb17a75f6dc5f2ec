/**
 * Access rules, with the secret key: remove a collaborator from a document or change what they may do,
 * applied to their open sockets within about a second; list who has a rule; remove a rule (the user's
 * tokens decide again). The precedence is src/auth/access.ts's table. Each change records `access.changed`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { RULES, type Rule } from "../auth/access";
import { requireSecretKey, type AppEnv } from "../auth/middleware";
import { encodeCursor } from "../cursor";
import { listAccessRules } from "../db/access";
import type { DocumentRow } from "../db/schema";
import { AppError } from "../errors";
import { afterResponse, DocParams, idCursor, json, loadDoc, room } from "../http/kit";
import { outcome } from "../http/outcome";
import { createRouter, errors, PageQuery, page, SECURITY } from "../http/openapi";
import { iso, randomId } from "../ids";
import { readLimits } from "../room/limits";
import { eventBody, type AccessChangedData } from "../webhooks/events";
import type { NewEvent } from "../webhooks/queries";
import { recordDeliveries } from "../webhooks/relay";
import { deleteAccessRuleWithEvent, putAccessRuleWithEvent } from "./store";

const USER_ID = /^.{1,256}$/su;

const UserParams = DocParams.extend({
  userId: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: "userId", in: "path" }, example: "user-42", description: "The user id client tokens carry" }),
});

const AccessBody = z.object({ access: z.enum(RULES as [Rule, ...Rule[]]) }).openapi("PutAccess");

const AccessSchema = z
  .object({
    userId: z.string(),
    access: z.enum(["read", "write", "none"]),
    updatedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("AccessRule");

const putAccess = createRoute({
  method: "put",
  path: "/docs/{id}/access/{userId}",
  summary: "Set a user's access to a document (read, write, or none), applied to their open sockets",
  operationId: "putAccess",
  description:
    "Stores what the user may do on this document, whatever their client tokens claim: `none` removes them (open sockets close with 4403, which the stock provider does not retry; their tokens answer 403 on REST and new upgrades), `read` makes their sockets read-only without reconnecting, `write` lets them write (a read token included). Applied within about a second. At most MAX_ACCESS_RULES_PER_DOC rules per document (default 1000; past it 400). Records `access.changed`.",
  tags: ["access"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: UserParams, body: { required: true, content: json(AccessBody) } },
  responses: { 200: { description: "The rule", content: json(AccessSchema) }, ...errors(400, 401, 403, 404, 415) },
});

const listAccess = createRoute({
  method: "get",
  path: "/docs/{id}/access",
  summary: "List who has a stored access rule on a document",
  operationId: "listAccess",
  description: "The document's rules ordered by user id, `limit` (1–100, default 20) per page; pass `nextCursor` back as `cursor`.",
  tags: ["access"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: DocParams, query: PageQuery },
  responses: { 200: { description: "One page; nextCursor is null on the last", content: json(page(AccessSchema)) }, ...errors(400, 401, 403, 404) },
});

const deleteAccess = createRoute({
  method: "delete",
  path: "/docs/{id}/access/{userId}",
  summary: "Remove a user's stored access rule: their tokens decide again",
  operationId: "deleteAccess",
  description:
    "Removes the rule (204 whether or not there was one); open sockets go back to what their token claims. Records `access.changed` with `access: null` when a rule was removed.",
  tags: ["access"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: UserParams },
  responses: { 204: { description: "Removed" }, ...errors(400, 401, 403, 404) },
});

function accessEvent(row: DocumentRow, userId: string, access: Rule | null, at: number): NewEvent {
  const data: AccessChangedData = { projectId: row.projectId, docId: row.id, userId, access };
  return { id: randomId(24, "evt_"), projectId: row.projectId, type: "access.changed", body: JSON.stringify(eventBody("access.changed", at, data)), createdAt: at };
}

/** The rule goes to the document's object, which applies it to the user's open sockets at once. */
async function applyToSockets(c: Context<AppEnv>, row: DocumentRow, userId: string, rule: Rule | null): Promise<void> {
  const r = room(c, row);
  await outcome<number>(r.stub.setAccess(r.ref, userId, rule));
}

export const accessRoutes = createRouter()
  .openapi(putAccess, async (c) => {
    const { id, userId } = c.req.valid("param");
    const { access } = c.req.valid("json");
    const row = await loadDoc(c, id);
    const now = Date.now();
    const rule = { projectId: row.projectId, docId: row.id, incarnation: row.incarnation, userId, access, updatedAt: now };
    const max = readLimits(c.env).maxAccessRulesPerDoc;
    // The catalog first (REST and upgrades read it), then the object (open sockets): a failure in between
    // answers 500 and the PUT can be repeated.
    const { stored } = await recordDeliveries(c.env, afterResponse(c), row.projectId, () =>
      putAccessRuleWithEvent(c.env.DB, rule, max, accessEvent(row, userId, access, now)),
    );
    if (!stored) throw new AppError("invalid_request", `the document has ${max} access rules (MAX_ACCESS_RULES_PER_DOC): remove one first`);
    await applyToSockets(c, row, userId, access);
    return c.json({ userId, access, updatedAt: iso(now) }, 200);
  })
  .openapi(listAccess, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const row = await loadDoc(c, id);
    const rows = await listAccessRules(
      c.env.DB,
      { projectId: row.projectId, docId: row.id, incarnation: row.incarnation },
      { limit, afterUserId: idCursor(cursor, USER_ID) },
    );
    const data = rows.slice(0, limit).map((r) => ({ userId: r.userId, access: r.access as Rule, updatedAt: iso(r.updatedAt) }));
    return c.json({ data, nextCursor: rows.length > limit ? encodeCursor(data[data.length - 1]!.userId) : null }, 200);
  })
  .openapi(deleteAccess, async (c) => {
    const { id, userId } = c.req.valid("param");
    const row = await loadDoc(c, id);
    const key = { projectId: row.projectId, docId: row.id, incarnation: row.incarnation, userId };
    await recordDeliveries(c.env, afterResponse(c), row.projectId, async () => {
      const removed = await deleteAccessRuleWithEvent(c.env.DB, key, accessEvent(row, userId, null, Date.now()));
      return removed;
    });
    await applyToSockets(c, row, userId, null);
    return c.body(null, 204);
  });
