import type { Env } from "../env";
import type { DocRef } from "./rpc-types";

/** The Durable Object holding one project's document. Deleting and re-creating the id reuses the (erased) object. */
export function roomStub(env: Env, ref: DocRef) {
  return env.DOC_ROOM.getByName(`${ref.projectId}/${ref.docId}`);
}
