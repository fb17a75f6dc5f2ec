/**
 * Tells every document of a project that a key was revoked, so each object closes the sockets of tokens
 * that key minted (DocRoom.revokeKey). The key is already revoked in D1 when this runs: new requests and
 * upgrades with its tokens are refused there; this reaches the sockets that are already open.
 *
 * Every document in the catalog is told, a page at a time, the page's objects in parallel: an object does
 * not say from outside whether it holds sockets, so one that sleeps is woken by the call (a storage read and
 * nothing else; no document is loaded). Each page is one D1 read and up to REVOKE_PAGE_SIZE object calls, so
 * a project's documents count against the request's subrequest limit (Cloudflare: 10,000 per request by
 * default on the paid plan, 50 on the free one); REVOKE_MAX_DOCUMENTS stays under the first.
 */
import { listDocuments } from "../db/queries";
import type { Env } from "../env";
import type { Outcome } from "./outcome";
import { roomStub } from "./stub";

export const REVOKE_PAGE_SIZE = 100;
/** Documents told per revocation request; past it the route answers 500 and the retried DELETE goes on from the start. */
export const REVOKE_MAX_DOCUMENTS = 9_000;

export interface RevocationFanOut {
  /** Documents told. */
  documents: number;
  /** Sockets closed. */
  sockets: number;
  /** Documents that could not be told (the call failed), and whether the project had more than REVOKE_MAX_DOCUMENTS. */
  failed: number;
  truncated: boolean;
}

export async function closeSocketsOfKey(env: Env, projectId: string, keyId: string): Promise<RevocationFanOut> {
  const out: RevocationFanOut = { documents: 0, sockets: 0, failed: 0, truncated: false };
  let afterId: string | undefined;
  for (;;) {
    const rows = await listDocuments(env.DB, projectId, { limit: REVOKE_PAGE_SIZE, afterId });
    const page = rows.slice(0, REVOKE_PAGE_SIZE);
    const results = await Promise.allSettled(
      page.map((row) => {
        const ref = { projectId, docId: row.id, incarnation: row.incarnation };
        return roomStub(env, ref).revokeKey(ref, keyId);
      }),
    );
    for (const r of results) {
      if (r.status === "fulfilled") {
        // A deleted document (gone) holds no sockets. RPC results arrive wrapped: the plain type is named.
        const closed = r.value as Outcome<number>;
        if (closed.ok) out.sockets += closed.value;
      } else out.failed++;
    }
    out.documents += page.length;
    if (rows.length <= REVOKE_PAGE_SIZE) return out;
    if (out.documents >= REVOKE_MAX_DOCUMENTS) {
      out.truncated = true;
      return out;
    }
    afterId = page[page.length - 1]!.id;
  }
}
