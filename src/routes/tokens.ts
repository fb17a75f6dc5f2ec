/** Client tokens: one user, one document (one creation of it), read or write, for a while. */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { mintClientToken, type Access } from "../auth/client-token";
import { requireSecretKey, type AppEnv } from "../auth/middleware";
import type { DocumentRow } from "../db/schema";
import { DocParams, json, loadDoc } from "./docs";
import { createRouter, errors, iso, SECURITY } from "./openapi";

// ---- schemas ----

const TokenBody = z
  .object({
    userId: z.string().min(1).max(256),
    access: z.enum(["read", "write"]),
    expiresIn: z.number().int().min(60).max(86400).default(3600).openapi({ description: "Seconds" }),
  })
  .openapi("CreateToken");

const TokenSchema = z
  .object({
    token: z.string(),
    expiresAt: z.string().openapi({ format: "date-time" }),
    url: z.string().openapi({ description: "The WebSocket URL on the host the request came to; pass the token as ?token=" }),
  })
  .openapi("ClientToken");

// ---- routes ----

const createToken = createRoute({
  method: "post",
  path: "/docs/{id}/tokens",
  summary: "Mint a client token for one user and this document",
  operationId: "createClientToken",
  description:
    "A short-lived client token (JWT) for one user on this document, `read` or `write`, valid `expiresIn` seconds (60–86400, default 3600), with the WebSocket URL on the host the request came to. Your server calls this and hands the token to the browser.",
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { params: DocParams, body: { required: true, content: json(TokenBody) } },
  responses: { 201: { description: "The token", content: json(TokenSchema) }, ...errors(400, 401, 403, 404, 415) },
});

// ---- helpers ----

/**
 * Mints a token for `row` (bound to its incarnation) with the key the caller acts with, and the
 * WebSocket URL on the host the request came to.
 */
export async function issueToken(c: Context<AppEnv>, row: DocumentRow, grant: { userId: string; access: Access; expiresIn: number; keyId: string }) {
  const exp = Math.floor(Date.now() / 1000) + grant.expiresIn;
  const token = await mintClientToken(c.env.TOKEN_SECRET, {
    userId: grant.userId,
    projectId: row.projectId,
    docId: row.id,
    access: grant.access,
    keyId: grant.keyId,
    exp,
    incarnation: row.incarnation,
  });
  const url = new URL(c.req.url);
  const ws = url.protocol === "https:" ? "wss:" : "ws:";
  return { token, expiresAt: iso(exp * 1000), url: `${ws}//${url.host}/v1/sync/${encodeURIComponent(row.id)}` };
}

// ---- handlers ----

export const tokenRoutes = createRouter().openapi(createToken, async (c) => {
  const { id } = c.req.valid("param");
  const { userId, access, expiresIn } = c.req.valid("json");
  const row = await loadDoc(c, id);
  return c.json(await issueToken(c, row, { userId, access, expiresIn, keyId: c.var.keyId }), 201);
});
