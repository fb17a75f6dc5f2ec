/** Secret keys of the caller's project: create (the secret shown once), list, revoke. */
import { createRoute, z } from "@hono/zod-openapi";
import { requireSecretKey } from "../auth/middleware";
import { generateSecretKey, hashSecretKey } from "../auth/secret-key";
import { randomId } from "../ids";
import { insertKey, listKeys, revokeKey } from "../db/queries";
import type { ApiKey } from "../db/schema";
import { AppError } from "../errors";
import { createRouter, errors, iso, SECURITY } from "./openapi";

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
  summary: "Create a secret key",
  operationId: "createKey",
  description: "A new secret key for the caller's project. The secret is in this answer and never again (only its hash is stored).",
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
  summary: "List the project's keys, revoked ones included, never a secret",
  operationId: "listKeys",
  description: "Every key of the project, revoked ones included, with when each was last used. Never a secret.",
  tags: ["keys"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  responses: {
    200: { description: "The keys", content: { "application/json": { schema: z.object({ data: z.array(KeySchema) }) } } },
    ...errors(401, 403),
  },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/keys/{keyId}",
  summary: "Revoke a key (the caller's own included); it stops working at once",
  operationId: "revokeKey",
  description: "The key stops working at once, the caller's own included, and so do the client tokens it minted (for new connections and requests).",
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
    await insertKey(c.env.DB, { ...key, hash: await hashSecretKey(secretKey) });
    return c.json({ id: key.id, name: key.name, createdAt: iso(key.createdAt), secretKey }, 201);
  })
  .openapi(listKeysRoute, async (c) => {
    const keys = await listKeys(c.env.DB, c.var.projectId);
    return c.json({ data: keys.map(toKey) }, 200);
  })
  .openapi(revokeKeyRoute, async (c) => {
    const { keyId } = c.req.valid("param");
    if (!(await revokeKey(c.env.DB, c.var.projectId, keyId, Date.now()))) throw new AppError("not_found", "no such key");
    return c.body(null, 204);
  });
