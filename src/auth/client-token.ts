import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { err, ok, type Result } from "../result";

import type { Access } from "../sync/ports";

export type { Access };

/** What a client token grants: one user, one document of one project, read or write, until `exp`. */
export interface ClientTokenClaims {
  userId: string;
  projectId: string;
  docId: string;
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

export async function mintClientToken(secret: string, claims: ClientTokenClaims): Promise<string> {
  const inc = claims.incarnation ? { inc: claims.incarnation } : {};
  return new SignJWT({ prj: claims.projectId, doc: claims.docId, acc: claims.access, kid: claims.keyId, ...inc })
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
    const { sub, prj, doc, acc, kid, exp, inc = "" } = payload as Record<string, unknown>;
    if (
      typeof sub !== "string" ||
      typeof prj !== "string" ||
      typeof doc !== "string" ||
      typeof kid !== "string" ||
      typeof exp !== "number" ||
      typeof inc !== "string" ||
      (acc !== "read" && acc !== "write")
    ) {
      return err("invalid");
    }
    return ok({ userId: sub, projectId: prj, docId: doc, access: acc, keyId: kid, exp, incarnation: inc });
  } catch (e) {
    return err(e instanceof joseErrors.JWTExpired ? "expired" : "invalid");
  }
}
