/**
 * `GET /v1/sync/{docId}?token=` → the document's Durable Object. Checked in the contract's order:
 * not a WebSocket (426), bad token (401), token for another document (403), unknown document (404; a
 * workspace token with `create` creates a missing one under its prefixes instead), the user's access
 * removed by a stored rule (403). Every refusal is thrown to the one error handler, as on every other route.
 */
import { Hono } from "hono";
import { decide, toRule } from "../auth/access";
import { covers, creationPrefix, verifyClientToken } from "../auth/client-token";
import type { AppEnv } from "../auth/middleware";
import { checkSyncTarget } from "../db/queries";
import { createDocument, newDocumentRow } from "../documents/create";
import { AppError } from "../errors";
import { afterResponse } from "../http/kit";
import { readLimits } from "../room/limits";
import { IdentityHeader } from "../room/rpc-types";
import { relayStub, roomStub } from "../room/stub";
import { pickRelay } from "../sync/relay-plan";

export const syncRoutes = new Hono<AppEnv>().get("/:docId", async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new AppError("upgrade_required", "this endpoint speaks the y-websocket protocol: open it as a WebSocket");
  }
  const token = c.req.query("token");
  if (!token) throw new AppError("unauthorized", "a client token is required: ?token=");
  const verified = await verifyClientToken(c.env.TOKEN_SECRET, token);
  if (!verified.ok) throw new AppError("unauthorized", verified.error === "expired" ? "the token has expired" : "the token is not valid");
  const claims = verified.value;
  const docId = c.req.param("docId");
  if (!covers(claims, docId)) throw new AppError("forbidden", "the token is for another document");
  let check = await checkSyncTarget(c.env.DB, claims.projectId, docId, claims.keyId, claims.userId);
  if (!check.ok && check.error === "key_revoked") throw new AppError("unauthorized", "the key that minted this token was revoked");
  const prefix = check.ok ? undefined : creationPrefix(claims, docId);
  if (prefix !== undefined) {
    // Opened for the first time under a prefix the token may create in: created as POST /v1/docs would
    // (a concurrent opener may win the insert; either way the document exists now), at most
    // MAX_DOCS_CREATED_PER_PREFIX under that prefix, so a token handed to a browser cannot fill the catalog.
    const max = readLimits(c.env).maxDocsCreatedPerPrefix;
    const created = await createDocument(c.env, afterResponse(c), newDocumentRow(claims.projectId, { id: docId }), { prefix, max });
    check = await checkSyncTarget(c.env.DB, claims.projectId, docId, claims.keyId, claims.userId);
    if (!created && !check.ok) throw new AppError("forbidden", `the prefix already has ${max} documents (MAX_DOCS_CREATED_PER_PREFIX): none is created on open`);
  }
  // A single-document token opens only the creation of the id it was minted for: not one re-created after a delete.
  if (!check.ok || (!claims.docs && check.incarnation !== (claims.incarnation ?? ""))) throw new AppError("not_found", "no such document");
  const allowed = decide(claims.access, toRule(check.rule), "read");
  if (!allowed.ok) throw new AppError("forbidden", allowed.message);

  const headers = new Headers(c.req.raw.headers);
  // Only the Worker and the document's objects speak these: none a client sent may pass.
  for (const name of [...headers.keys()]) if (name.startsWith("x-lattice-")) headers.delete(name);
  headers.set(IdentityHeader.user, claims.userId);
  headers.set(IdentityHeader.access, claims.access);
  headers.set(IdentityHeader.exp, String(claims.exp));
  headers.set(IdentityHeader.project, claims.projectId);
  headers.set(IdentityHeader.doc, docId);
  headers.set(IdentityHeader.incarnation, check.incarnation);
  headers.set(IdentityHeader.key, claims.keyId);
  // Always set: a header the client sent itself must never pass through.
  headers.set(IdentityHeader.saved, c.req.query("saved") === "1" ? "1" : "0");
  const ref = { projectId: claims.projectId, docId, incarnation: check.incarnation };
  // The routing record, read with the row above: past its own share, the document's audience joins its relays
  // (src/relay, docs/SCALE.md). A stale record is harmless: the object forwards, a full relay answers 1013.
  if (check.relays === 0) return roomStub(c.env, ref).fetch(new Request(c.req.raw.url, { headers }));
  const relay = pickRelay(check.relays, Math.random());
  headers.set(IdentityHeader.relay, String(relay));
  return relayStub(c.env, ref, relay).fetch(new Request(c.req.raw.url, { headers }));
});
