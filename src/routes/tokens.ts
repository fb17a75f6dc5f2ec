/**
 * Client tokens: one user, one document (one creation of it), read or write, for a while. With
 * `create: true` the document is created first when it does not exist, so an app needs one call per open.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { mintClientToken, type Access } from "../auth/client-token";
import { requireSecretKey, type AppEnv } from "../auth/middleware";
import { getDocument } from "../db/queries";
import type { DocumentRow } from "../db/schema";
import { createDocument, newDocumentRow } from "../documents/create";
import { afterResponse, DocParams, json, loadDoc } from "../http/kit";
import { createRouter, errors, SECURITY } from "../http/openapi";
import { iso } from "../ids";

// ---- schemas ----

const TokenBody = z
  .object({
    userId: z.string().min(1).max(256),
    access: z.enum(["read", "write"]),
    expiresIn: z.number().int().min(60).max(86400).default(3600).openapi({ description: "Seconds" }),
    create: z.boolean().default(false).openapi({
      description:
        "When true and the project has no document with this id, create it first (as `POST /v1/docs` with this id would, `document.created` webhook included) instead of answering 404",
    }),
  })
  .openapi("CreateToken");

const TokenSchema = z
  .object({
    token: z.string(),
    expiresAt: z.string().openapi({ format: "date-time" }),
    url: z.string().openapi({ description: "This document's WebSocket URL on the host the request came to; open it with `?token=`" }),
    syncBase: z.string().openapi({
      description:
        "The server URL for a y-websocket provider, which appends the document id itself: `new WebsocketProvider(syncBase, docId, doc, { params: { token } })`",
      example: "wss://lattice.example.com/v1/sync",
    }),
    created: z.boolean().openapi({ description: "Whether this call created the document (only ever true with `create: true`)" }),
  })
  .openapi("ClientToken");

// ---- routes ----

const createToken = createRoute({
  method: "post",
  path: "/docs/{id}/tokens",
  summary: "Mint a client token for one user and this document (creating the document first with create: true)",
  operationId: "createClientToken",
  description:
    "A short-lived client token (JWT) for one user on this document, `read` or `write`, valid `expiresIn` seconds (60–86400, default 3600). `syncBase` is the URL to give the stock provider: `new WebsocketProvider(syncBase, docId, doc, { params: { token } })`; `url` already ends in the document's id. With `create: true` the document is created first if it does not exist (`created` says whether it was). Your server calls this and hands the token to the browser.",
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
  const syncBase = `${ws}//${url.host}/v1/sync`;
  return { token, expiresAt: iso(exp * 1000), url: `${syncBase}/${encodeURIComponent(row.id)}`, syncBase };
}

/** The document `id`, created first when the project has none; a concurrent creation of it is simply found. */
async function getOrCreate(c: Context<AppEnv>, id: string): Promise<{ row: DocumentRow; created: boolean }> {
  const existing = await getDocument(c.env.DB, c.var.projectId, id);
  if (existing) return { row: existing, created: false };
  const row = newDocumentRow(c.var.projectId, { id });
  return (await createDocument(c.env, afterResponse(c), row)) ? { row, created: true } : { row: await loadDoc(c, id), created: false };
}

// ---- handlers ----

export const tokenRoutes = createRouter().openapi(createToken, async (c) => {
  const { id } = c.req.valid("param");
  const { userId, access, expiresIn, create } = c.req.valid("json");
  const { row, created } = create ? await getOrCreate(c, id) : { row: await loadDoc(c, id), created: false };
  return c.json({ ...(await issueToken(c, row, { userId, access, expiresIn, keyId: c.var.keyId })), created }, 201);
});
