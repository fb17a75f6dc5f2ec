/**
 * Who is calling, and may they use this route. The contract's status matrix: no credential or one that is
 * not valid at all → 401; a valid credential of the wrong kind → 403; another project's document → 404
 * (the routes only ever look inside c.var.projectId, so that one follows by itself).
 */
import type { Context, MiddlewareHandler } from "hono";
import { findKeyByHash, isKeyLive, touchKey } from "../db/queries";
import type { ApiKey, DocumentRow } from "../db/schema";
import type { Env } from "../env";
import { AppError } from "../errors";
import { docAndRule } from "../db/access";
import { decide, toRule } from "./access";
import { covers, verifyClientToken, type Access, type ClientTokenClaims } from "./client-token";
import { constantTimeEqual, hashSecretKey, looksLikeSecretKey } from "./secret-key";

/** Per-request values that this middleware hands to route handlers. */
export interface Variables {
  /** The project the caller acts in (secret key or client token). */
  projectId: string;
  /** The secret key used, or the key that minted the client token. */
  keyId: string;
  /** Set when the caller authenticated with a client token. */
  client?: ClientTokenClaims;
  /** The document row the client-token check read (with its rule), so the route need not read it again. */
  doc?: DocumentRow;
}

/** The Hono environment of every route: the Worker's bindings and the caller's identity. */
export type AppEnv = { Bindings: Env; Variables: Variables };

/** lastUsedAt is a hint, not an audit log: write it at most this often per key. */
const TOUCH_INTERVAL_MS = 60_000;

export type Caller =
  | { kind: "none" }
  | { kind: "invalid"; reason: string }
  | { kind: "admin" }
  | { kind: "secret"; key: ApiKey }
  | { kind: "client"; claims: ClientTokenClaims };

function bearer(c: Context<AppEnv>): string | undefined {
  const header = c.req.header("authorization");
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : "";
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Classifies the bearer credential. Never logs it. */
export async function identify(c: Context<AppEnv>): Promise<Caller> {
  const token = bearer(c);
  if (token === undefined) return { kind: "none" };
  if (!token) return { kind: "invalid", reason: "the Authorization header must be `Bearer <credential>`" };
  // Checked first, whatever the token looks like, so an admin token of any shape is recognised.
  if (c.env.ADMIN_TOKEN && (await constantTimeEqual(token, c.env.ADMIN_TOKEN))) return { kind: "admin" };

  if (looksLikeSecretKey(token)) {
    const hash = await hashSecretKey(token);
    const key = await findKeyByHash(c.env.DB, hash);
    // The lookup is by hash; comparing the hash again in constant time keeps the check independent of
    // how the database compares strings.
    if (!key || !(await constantTimeEqual(key.hash, hash))) return { kind: "invalid", reason: "unknown secret key" };
    if (key.revokedAt !== null) return { kind: "invalid", reason: "the secret key was revoked" };
    touch(c, key);
    return { kind: "secret", key };
  }

  if (JWT_SHAPE.test(token)) {
    const verified = await verifyClientToken(c.env.TOKEN_SECRET, token);
    if (!verified.ok) return { kind: "invalid", reason: verified.error === "expired" ? "the token has expired" : "the token is not valid" };
    const claims = verified.value;
    if (!(await isKeyLive(c.env.DB, claims.projectId, claims.keyId))) {
      return { kind: "invalid", reason: "the key that minted this token was revoked" };
    }
    return { kind: "client", claims };
  }

  return { kind: "invalid", reason: "the credential is not valid" };
}

function touch(c: Context<AppEnv>, key: ApiKey): void {
  const now = Date.now();
  if (key.lastUsedAt !== null && now - key.lastUsedAt < TOUCH_INTERVAL_MS) return;
  const write = touchKey(c.env.DB, key.id, now).catch(() => {
    // A missed lastUsedAt is harmless; the next request retries.
  });
  try {
    c.executionCtx.waitUntil(write);
  } catch {
    // No execution context (e.g. app.request in a unit test): the promise still runs.
  }
}

function refuse(caller: Caller): never {
  if (caller.kind === "none") throw new AppError("unauthorized", "a credential is required: Authorization: Bearer <credential>");
  if (caller.kind === "invalid") throw new AppError("unauthorized", caller.reason);
  throw new AppError("forbidden", "this credential may not use this route");
}

/**
 * Counts one request against the credential's budget (the RATE_LIMITER binding, configured in
 * wrangler.toml); over it, 429 rate_limited. The key names the credential, never its secret.
 */
async function rateLimit(c: Context<AppEnv>, key: string): Promise<void> {
  const limiter = c.env.RATE_LIMITER as RateLimit | undefined;
  if (!limiter) return;
  const { success } = await limiter.limit({ key });
  if (!success) throw new AppError("rate_limited", "too many requests for this credential; slow down");
}

/** Only the operator's admin token. */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const caller = await identify(c);
  if (caller.kind !== "admin") refuse(caller);
  await rateLimit(c, "admin");
  await next();
};

/** Only a live secret key; sets projectId and keyId. */
export const requireSecretKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const caller = await identify(c);
  if (caller.kind !== "secret") refuse(caller);
  await rateLimit(c, `key:${caller.key.id}`);
  c.set("projectId", caller.key.projectId);
  c.set("keyId", caller.key.id);
  await next();
};

/**
 * A secret key, or a client token for the document in the `:id` path parameter (with write access when
 * `access` is "write"). Sets projectId and keyId, and client for token callers.
 */
export function requireDocAccess(access: Access): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = await identify(c);
    if (caller.kind === "secret") {
      await rateLimit(c, `key:${caller.key.id}`);
      c.set("projectId", caller.key.projectId);
      c.set("keyId", caller.key.id);
      return next();
    }
    if (caller.kind !== "client") refuse(caller);
    const { claims } = caller;
    const docId = c.req.param("id") ?? "";
    if (!covers(claims, docId)) throw new AppError("forbidden", "the token is for another document");
    // The rule stored for this user decides over the token's claim (src/auth/access.ts); a missing
    // document has none, and its route answers 404.
    const target = await docAndRule(c.env.DB, claims.projectId, docId, claims.userId);
    const decision = decide(claims.access, toRule(target?.rule), access);
    if (!decision.ok) throw new AppError("forbidden", decision.message);
    await rateLimit(c, `token:${claims.keyId}:${docId}:${claims.userId}`);
    c.set("projectId", claims.projectId);
    c.set("keyId", claims.keyId);
    c.set("client", { ...claims, access: decision.access });
    if (target) c.set("doc", target.doc);
    await next();
  };
}
