/**
 * What every route uses: the document id and its path parameters, JSON content, the catalog check, the
 * document's object, the reader a client token makes, `waitUntil`, and the read-your-writes bookmark.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { DOC_ID } from "../auth/client-token";
import type { AppEnv } from "../auth/middleware";
import { decodeIdCursor, decodeTimeCursor, type TimeCursor } from "../cursor";
import { getDocument } from "../db/queries";
import type { DocumentRow } from "../db/schema";
import { BOOKMARK, type Catalog, MAX_BOOKMARK_LENGTH } from "../db/session";
import { AppError } from "../errors";
import type { DocRef, Reader } from "../room/rpc-types";
import { roomStub } from "../room/stub";

export const DOC_ID_PATTERN = DOC_ID;

export const DocId = z.string().regex(DOC_ID_PATTERN, "a document id matches ^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$");
export const DocParams = z.object({ id: DocId.openapi({ param: { name: "id", in: "path" }, example: "my-doc" }) });

export const json = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } });

export const gone = () => new AppError("not_found", "no such document");

/**
 * The document's catalog row, or 404. A single-document client token counts only for the creation of the
 * id it was minted for: after a delete and a re-create, the old token finds no document. Read on the
 * primary unless the route passes a session (src/db/session.ts says which may).
 */
export async function loadDoc(c: Context<AppEnv>, docId: string, catalog: Catalog = c.env.DB): Promise<DocumentRow> {
  // A client token's check already read the row (auth/middleware.ts): one catalog read per request.
  const row = c.var.doc?.id === docId ? c.var.doc : await getDocument(catalog, c.var.projectId, docId);
  // A workspace token names ids, not creations: it opens whichever creation of an id in its set exists.
  const client = c.var.client;
  if (!row || (client && !client.docs && (client.incarnation ?? "") !== row.incarnation)) throw gone();
  return row;
}

const ref = (row: DocumentRow): DocRef => ({ projectId: row.projectId, docId: row.id, incarnation: row.incarnation });

/** The object for `row`, and the ref every call passes it. */
export const room = (c: Context<AppEnv>, row: DocumentRow) => ({ stub: roomStub(c.env, ref(row)), ref: ref(row) });

/** Who reads, for the object's read budgets: a client token's user; a secret key reads unbudgeted. */
export const reader = (c: Context<AppEnv>): Reader | undefined => (c.var.client ? { userId: c.var.client.userId, access: c.var.client.access } : undefined);

/** `ctx.waitUntil` where the runtime gives one (app.request without a context has none: the promise still runs). */
export function afterResponse(c: Context<AppEnv>): (p: Promise<unknown>) => void {
  return (p) => {
    try {
      c.executionCtx.waitUntil(p);
    } catch {
      // no execution context
    }
  };
}

const badCursor = () => new AppError("invalid_request", "the cursor is not valid");

/** `?cursor=` of a list ordered by id; 400 when it is not one. */
export function idCursor(cursor: string | undefined, pattern: RegExp): string | undefined {
  if (cursor === undefined) return undefined;
  const id = decodeIdCursor(cursor, pattern);
  if (id === undefined) throw badCursor();
  return id;
}

/** `?cursor=` of a list ordered by (createdAt, id); 400 when it is not one. */
export function timeCursor(cursor: string | undefined): TimeCursor | undefined {
  if (cursor === undefined) return undefined;
  const at = decodeTimeCursor(cursor);
  if (!at) throw badCursor();
  return at;
}

/** The read-your-writes header (src/db/session.ts): answered by the document catalog routes, and sent back by the client. */
export const BOOKMARK_HEADER = "x-lattice-bookmark";

/** The request's bookmark, validated with the route's other input: a malformed one is 400 before the handler runs. */
export const BookmarkHeaders = z.object({
  [BOOKMARK_HEADER]: z
    .string()
    .max(MAX_BOOKMARK_LENGTH)
    .regex(BOOKMARK, "a bookmark is the value of an earlier x-lattice-bookmark answer")
    .optional()
    .openapi({
      param: { name: BOOKMARK_HEADER, in: "header" },
      description: "An earlier answer's x-lattice-bookmark: this request reads the catalog at least as new as that answer",
    }),
});

/** The response header, for a route's OpenAPI answer. */
export const bookmarkAnswered = {
  [BOOKMARK_HEADER]: { description: "Send it back as x-lattice-bookmark to read at least this state of the catalog", schema: { type: "string" as const } },
};

/** Answers the session's bookmark, when D1 gave one. */
export function answerBookmark(c: Context<AppEnv>, session: D1DatabaseSession): void {
  const bookmark = session.getBookmark();
  if (bookmark) c.header(BOOKMARK_HEADER, bookmark);
}
