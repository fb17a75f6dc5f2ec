/**
 * What every route uses: the document id and its path parameters, JSON content, the catalog check, the
 * document's object, the reader a client token makes, and `waitUntil`.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { DOC_ID } from "../auth/client-token";
import type { AppEnv } from "../auth/middleware";
import { decodeIdCursor, decodeTimeCursor, type TimeCursor } from "../cursor";
import { getDocument } from "../db/queries";
import type { DocumentRow } from "../db/schema";
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
 * id it was minted for: after a delete and a re-create, the old token finds no document.
 */
export async function loadDoc(c: Context<AppEnv>, docId: string): Promise<DocumentRow> {
  // A client token's check already read the row (auth/middleware.ts): one catalog read per request.
  const row = c.var.doc?.id === docId ? c.var.doc : await getDocument(c.env.DB, c.var.projectId, docId);
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
