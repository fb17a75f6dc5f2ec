/** The typed RPC surface of a document's Durable Object, as the REST routes use it. */

/** Names the document an object holds; passed on every call so the object can write its catalog row back. */
export interface DocRef {
  projectId: string;
  docId: string;
  /** Which creation of the id (see documents.incarnation); "" or absent for documents older than incarnations. */
  incarnation?: string;
}

export type { RootKind } from "../sync/to-json";

export type ApplyUpdateResult =
  | { ok: true; stateVector: Uint8Array }
  | { ok: false; code: "invalid_request" | "payload_too_large" | "internal" | "not_found"; message: string };

export interface Presence {
  connections: number;
  users: { userId: string; access: "read" | "write"; clientIds: number[] }[];
}

export type JsonResult = { ok: true; value: Record<string, unknown> } | { ok: false; message: string; gone?: boolean };
