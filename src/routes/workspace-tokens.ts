/**
 * Workspace tokens: one user, read or write, on a set of documents (ids and id prefixes) of the caller's
 * project, so an app with fifty documents in a sidebar mints one token, not fifty. Used like any client
 * token (the sync URL, the client-token REST routes); with `create: true`, opening a missing document under
 * one of the prefixes creates it. A token is bounded (at most 50 ids, 10 prefixes, 2 KiB of set).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { checkDocSet, DOC_ID, MAX_TOKEN_IDS, MAX_TOKEN_PREFIXES, MAX_TOKEN_SET_BYTES, mintClientToken } from "../auth/client-token";
import { requireSecretKey } from "../auth/middleware";
import { AppError } from "../errors";
import { DocId, json } from "../http/kit";
import { createRouter, errors, SECURITY } from "../http/openapi";
import { iso } from "../ids";

const Prefix = z.string().regex(DOC_ID, "a prefix is the start of a document id (1–128 of its characters)");

const WorkspaceTokenBody = z
  .object({
    userId: z.string().min(1).max(256),
    access: z.enum(["read", "write"]),
    docs: z
      .object({
        ids: z
          .array(DocId)
          .max(MAX_TOKEN_IDS)
          .default([])
          .openapi({ description: `Document ids (at most ${MAX_TOKEN_IDS})` }),
        prefixes: z
          .array(Prefix)
          .max(MAX_TOKEN_PREFIXES)
          .default([])
          .openapi({ description: `Every document whose id starts with one of these (at most ${MAX_TOKEN_PREFIXES}), e.g. "ws_42."` }),
      })
      .openapi({ description: `The documents the token opens; at most ${MAX_TOKEN_SET_BYTES} bytes of JSON together` }),
    create: z.boolean().default(false).openapi({
      description: "Opening a document under one of the prefixes that does not exist creates it (catalog row, `document.created`) instead of answering 404",
    }),
    expiresIn: z.number().int().min(60).max(86400).default(3600).openapi({ description: "Seconds" }),
  })
  .openapi("CreateWorkspaceToken");

const WorkspaceTokenSchema = z
  .object({
    token: z.string(),
    expiresAt: z.string().openapi({ format: "date-time" }),
    syncBase: z.string().openapi({
      description: "The server URL for a y-websocket provider: `new WebsocketProvider(syncBase, docId, doc, { params: { token } })` for any document in the set",
      example: "wss://lattice.example.com/v1/sync",
    }),
  })
  .openapi("WorkspaceToken");

const createWorkspaceToken = createRoute({
  method: "post",
  path: "/tokens",
  summary: "Mint a workspace token: one user on a set of documents (ids and id prefixes)",
  operationId: "createWorkspaceToken",
  description:
    "A client token for every listed id and every id under a listed prefix of the caller's project, `read` or `write`. It is used like a single-document token: on the sync URL and the client-token REST routes; a document outside the set answers 403. Limits, budgets, the per-user connection bound and stored access rules apply per document. With `create: true`, opening a missing document under a prefix creates it. Unlike a single-document token it is not bound to one creation of an id: a document deleted and created again under the set opens with it.",
  tags: ["documents"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  request: { body: { required: true, content: json(WorkspaceTokenBody) } },
  responses: { 201: { description: "The token", content: json(WorkspaceTokenSchema) }, ...errors(400, 401, 403, 415) },
});

export const workspaceTokenRoutes = createRouter().openapi(createWorkspaceToken, async (c) => {
  const { userId, access, docs, create, expiresIn } = c.req.valid("json");
  const set = { ids: docs.ids, prefixes: docs.prefixes };
  const problem = checkDocSet(set);
  if (problem) throw new AppError("invalid_request", problem);
  if (create && set.prefixes.length === 0) throw new AppError("invalid_request", "create needs a prefix to create documents under");
  const exp = Math.floor(Date.now() / 1000) + expiresIn;
  const token = await mintClientToken(c.env.TOKEN_SECRET, { userId, projectId: c.var.projectId, docId: "", docs: set, create, access, keyId: c.var.keyId, exp });
  const url = new URL(c.req.url);
  const syncBase = `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}/v1/sync`;
  return c.json({ token, expiresAt: iso(exp * 1000), syncBase }, 201);
});
