/**
 * Which catalog statements may be answered by a D1 read replica (read replication, through the Sessions
 * API), and the bookmark that lets a client read its own writes. The one rule (docs/ARCHITECTURE.md,
 * "Catalog reads and D1 read replication", lists every read):
 *
 * - A read where a slightly stale answer is harmless (the document listing, a document's metadata to a
 *   secret key) runs in `catalogReads`: a session that starts on the nearest copy, or on one at least as new
 *   as the bookmark the client sent back.
 * - A read that decides access or must see the latest write (a secret key and its revocation, the key behind
 *   a client token, a stored rule, whether a document exists before its content, tokens or sync) runs on the
 *   plain binding, which always goes to the primary. Those functions take `D1Database`, which a session is
 *   not, so a replica cannot be handed to them by mistake.
 * - A write that should answer a bookmark runs in `primarySession`: the binding itself never reports one.
 */
import { drizzle } from "drizzle-orm/d1";

/** What a catalog statement may run on: the binding (always the primary) or a session. */
export type Catalog = D1Database | D1DatabaseSession;

/**
 * A bookmark as D1 writes them (hex groups joined by `-`, e.g. `00000085-0000024c-00004c6d-8e61…`), at most
 * MAX_BOOKMARK_LENGTH characters. Strict on purpose: the constraint names `first-primary` and
 * `first-unconstrained` do not match, so a client cannot choose how its session starts.
 */
export const BOOKMARK = /^[0-9a-f]+(?:-[0-9a-f]+)*$/;
export const MAX_BOOKMARK_LENGTH = 256;

/** For reads that may be slightly stale: the nearest copy, or one at least as new as `bookmark`. */
export const catalogReads = (d1: D1Database, bookmark?: string): D1DatabaseSession => d1.withSession(bookmark ?? "first-unconstrained");

/** For a write (and the reads just before it) that answers a bookmark: its first statement goes to the primary. */
export const primarySession = (d1: D1Database): D1DatabaseSession => d1.withSession("first-primary");

/**
 * drizzle over the binding or a session. drizzle's D1 driver calls only `prepare` and `batch` (both on a
 * session: drizzle-orm/d1/session.js), but its type asks for the whole binding; this is the one cast.
 */
export const orm = (d1: Catalog) => drizzle(d1 as D1Database);
