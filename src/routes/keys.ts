/**
 * Secret keys of the caller's project: create (the secret shown once, at most MAX_KEYS_PER_PROJECT live),
 * list (paged), revoke (at once: its tokens' open sockets are closed before the 204).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireSecretKey } from "../auth/middleware";
import { generateSecretKey, hashSecretKey } from "../auth/secret-key";
import { randomId } from "../ids";
import { insertKeyUnderCap, listKeys, revokeKey } from "../db/queries";
import type { ApiKey } from "../db/schema";
import { AppError } from "../errors";
import { closeSocketsOfKey } from "../room/key-revocation";
import { REVOKED_KEY_MEMORY_MS } from "../room/revoked-keys";
import { encodeCursor } from "../cursor";
import { timeCursor } from "../http/kit";
import { createRouter, errors, page, PageQuery, SECURITY } from "../http/openapi";
import { iso } from "../ids";
import { readLimits } from "../room/limits";

const KeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string().openapi({ format: "date-time" }),
    lastUsedAt: z.string().nullable().openapi({ format: "date-time" }),
    revokedAt: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("Key");

const CreatedKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string().openapi({ format: "date-time" }),
    secretKey: z.string().openapi({ description: "Shown this once; only its hash is stored." }),
  })
  .openapi("CreatedKey");

const CreateKeyBody = z.object({ name: z.string().trim().min(1).max(200).optional() }).openapi("CreateKey");
const KeyParams = z.object({
  keyId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "keyId", in: "path" } }),
});

const createKey = createRoute({
  method: "post",
  path: "/keys",
  summary: "Create a secret key (at most MAX_KEYS_PER_PROJECT live keys, default 100; then 400)",
  operationId: "createKey",
  description:
    "A new secret key for the caller's project. The secret is in this answer and never again (only its hash is stored). At most MAX_KEYS_PER_PROJECT live keys (default 100), enforced in one statement: past it, 400.",
  tags: ["keys"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { body: { required: false, content: { "application/json": { schema: CreateKeyBody } } } },
  responses: {
    201: { description: "The key, with its secret", content: { "application/json": { schema: CreatedKeySchema } } },
    ...errors(400, 401, 403, 415),
  },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/keys",
  summary: "List the project's keys, oldest first, revoked ones included, never a secret",
  operationId: "listKeys",
  description: "Every key of the project, oldest first, revoked ones included, with when each was last used, in pages (`?limit=&cursor=`). Never a secret.",
  tags: ["keys"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { query: PageQuery },
  responses: {
    200: { description: "One page; nextCursor is null on the last", content: { "application/json": { schema: page(KeySchema) } } },
    ...errors(400, 401, 403),
  },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/keys/{keyId}",
  summary:
    'Revoke a key (the caller\'s own included); it stops working at once: answered once every open socket of a token it minted is closed (4401 "key revoked")',
  operationId: "revokeKey",
  description:
    'The key stops working at once, the caller\'s own included, and so do the client tokens it minted: new connections and requests are refused, and every open socket of those tokens, on every document of the project, is closed with 4401 "key revoked" before the answer.',
  tags: ["keys"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: KeyParams },
  responses: { 204: { description: "Revoked" }, ...errors(400, 401, 403, 404) },
});

const toKey = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  createdAt: iso(k.createdAt),
  lastUsedAt: k.lastUsedAt === null ? null : iso(k.lastUsedAt),
  revokedAt: k.revokedAt === null ? null : iso(k.revokedAt),
});

export const keyRoutes = createRouter()
  .openapi(createKey, async (c) => {
    const body = c.req.valid("json");
    const key = { id: randomId(21, "key_"), projectId: c.var.projectId, name: body.name ?? "unnamed", createdAt: Date.now() };
    const secretKey = generateSecretKey();
    const max = readLimits(c.env).maxKeysPerProject;
    if (!(await insertKeyUnderCap(c.env.DB, { ...key, hash: await hashSecretKey(secretKey) }, max))) {
      throw new AppError("invalid_request", `a project may have at most ${max} live keys: revoke one first`);
    }
    return c.json({ id: key.id, name: key.name, createdAt: iso(key.createdAt), secretKey }, 201);
  })
  .openapi(listKeysRoute, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const rows = await listKeys(c.env.DB, c.var.projectId, { limit, after: timeCursor(cursor) });
    const keys = rows.slice(0, limit);
    return c.json({ data: keys.map(toKey), nextCursor: rows.length > limit ? encodeCursor(keys[keys.length - 1]!) : null }, 200);
  })
  .openapi(revokeKeyRoute, async (c) => {
    const { keyId } = c.req.valid("param");
    const now = Date.now();
    const revokedAt = await revokeKey(c.env.DB, c.var.projectId, keyId, now);
    if (revokedAt === undefined) throw new AppError("not_found", "no such key");
    // Every token the key minted has expired: no socket of one can be open, and no object needs waking.
    if (now - revokedAt > REVOKED_KEY_MEMORY_MS) return c.body(null, 204);
    // Revoked in D1 first (new requests and upgrades are refused from here), then the open sockets. Done
    // again on a repeated DELETE, so a retry finishes what a failed one left.
    const fanOut = await closeSocketsOfKey(c.env, c.var.projectId, keyId);
    if (fanOut.failed > 0 || fanOut.truncated) {
      console.error("key revocation did not reach every document", { failed: fanOut.failed, truncated: fanOut.truncated });
      throw new AppError(
        "internal",
        fanOut.truncated
          ? "the key is revoked, but the project has more documents than one request can reach: open sockets of its tokens may stay open until they expire"
          : "the key is revoked, but some documents could not be reached: retry the DELETE to close their sockets",
      );
    }
    return c.body(null, 204);
  });
