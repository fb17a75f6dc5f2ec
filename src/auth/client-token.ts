import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { err, ok, type Result } from "../result";

import type { Access } from "../sync/ports";

export type { Access };

/** The documents a workspace token names: these ids, and every id that starts with one of these prefixes. */
export interface DocSet {
  ids: string[];
  prefixes: string[];
}

/** Bounds on a workspace token's set, so a token stays small (it travels in the sync URL; verify refuses past 4,096 characters). */
export const MAX_TOKEN_IDS = 50;
export const MAX_TOKEN_PREFIXES = 10;
export const MAX_TOKEN_SET_BYTES = 2048;
/** What a document id looks like; a token's prefix is any non-empty start of one, so the same rule. */
export const DOC_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * What a client token grants: one user, read or write, until `exp`, on one document of one project (`docId`,
 * bound to that creation of it) or on a set of them (`docs`: a workspace token; `docId` is "" then).
 */
export interface ClientTokenClaims {
  userId: string;
  projectId: string;
  docId: string;
  /** A workspace token's documents (absent on a single-document token). */
  docs?: DocSet;
  /** A workspace token may create a missing document under one of its prefixes when it is opened. */
  create?: boolean;
  access: Access;
  /** Id of the secret key that minted the token: revoking that key refuses the token. */
  keyId: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** The creation of the document the token was minted for ("" for documents older than incarnations). */
  incarnation?: string;
}

export type TokenError = "invalid" | "expired";

const encoder = new TextEncoder();
const keyCache = new Map<string, Uint8Array>();
function secretBytes(secret: string): Uint8Array {
  let bytes = keyCache.get(secret);
  if (!bytes) {
    bytes = encoder.encode(secret);
    keyCache.set(secret, bytes);
  }
  return bytes;
}

/** Whether the token opens `docId`: its one document, or an id or prefix of its set. */
export function covers(claims: Pick<ClientTokenClaims, "docId" | "docs">, docId: string): boolean {
  if (!claims.docs) return claims.docId === docId;
  return claims.docs.ids.includes(docId) || claims.docs.prefixes.some((p) => docId.startsWith(p));
}

/** The prefix under which a workspace token with `create` may create `docId`; undefined when it may not. */
export function creationPrefix(claims: Pick<ClientTokenClaims, "docs" | "create">, docId: string): string | undefined {
  if (claims.create !== true || !claims.docs || !DOC_ID.test(docId)) return undefined;
  return claims.docs.prefixes.find((p) => docId.startsWith(p));
}

/** A valid set, or why not: ids and prefixes well formed, within the bounds, not empty. */
export function checkDocSet(set: DocSet): string | undefined {
  if (set.ids.length + set.prefixes.length === 0) return "docs names no document: give ids or prefixes";
  if (set.ids.length > MAX_TOKEN_IDS) return `at most ${MAX_TOKEN_IDS} ids`;
  if (set.prefixes.length > MAX_TOKEN_PREFIXES) return `at most ${MAX_TOKEN_PREFIXES} prefixes`;
  if (!set.ids.every((id) => typeof id === "string" && DOC_ID.test(id))) return "an id is not a document id";
  if (!set.prefixes.every((p) => typeof p === "string" && DOC_ID.test(p))) return "a prefix is not the start of a document id";
  if (encoder.encode(JSON.stringify(set)).length > MAX_TOKEN_SET_BYTES) return `the set may be at most ${MAX_TOKEN_SET_BYTES} bytes of JSON`;
  return undefined;
}

export async function mintClientToken(secret: string, claims: ClientTokenClaims): Promise<string> {
  const inc = claims.incarnation ? { inc: claims.incarnation } : {};
  const target = claims.docs ? { ws: { i: claims.docs.ids, p: claims.docs.prefixes }, ...(claims.create ? { cr: true } : {}) } : { doc: claims.docId, ...inc };
  return new SignJWT({ prj: claims.projectId, acc: claims.access, kid: claims.keyId, ...target })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.userId)
    .setIssuedAt()
    .setExpirationTime(claims.exp)
    .sign(secretBytes(secret));
}

/** Verifies signature (HS256 only, so `alg: none` and other algorithms are refused) and expiry. */
export async function verifyClientToken(secret: string, token: string): Promise<Result<ClientTokenClaims, TokenError>> {
  if (!token || token.length > 4096) return err("invalid");
  try {
    const { payload } = await jwtVerify(token, secretBytes(secret), { algorithms: ["HS256"] });
    const { sub, prj, doc, ws, cr, acc, kid, exp, inc = "" } = payload as Record<string, unknown>;
    const docs = readDocSet(ws);
    if (
      typeof sub !== "string" ||
      typeof prj !== "string" ||
      (docs === undefined ? typeof doc !== "string" : doc !== undefined || docs === null) ||
      typeof kid !== "string" ||
      typeof exp !== "number" ||
      typeof inc !== "string" ||
      (acc !== "read" && acc !== "write")
    ) {
      return err("invalid");
    }
    if (docs) return ok({ userId: sub, projectId: prj, docId: "", docs, create: cr === true, access: acc, keyId: kid, exp });
    return ok({ userId: sub, projectId: prj, docId: doc as string, access: acc, keyId: kid, exp, incarnation: inc });
  } catch (e) {
    return err(e instanceof joseErrors.JWTExpired ? "expired" : "invalid");
  }
}

/** A token's `ws` claim: undefined when absent, null when malformed (the token is refused). */
function readDocSet(ws: unknown): DocSet | null | undefined {
  if (ws === undefined) return undefined;
  if (typeof ws !== "object" || ws === null) return null;
  const { i = [], p = [] } = ws as Record<string, unknown>;
  if (!Array.isArray(i) || !Array.isArray(p)) return null;
  const set = { ids: i as string[], prefixes: p as string[] };
  return checkDocSet(set) === undefined ? set : null;
}
