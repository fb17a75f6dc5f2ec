import type { Env } from "../env";
import type { DocRef } from "./rpc-types";

/**
 * The Durable Object holding one creation of one project's document. A re-created id has a new
 * incarnation, hence a new object: nothing of the deleted one (content, sockets) can reach it.
 * Documents from before incarnations ("") keep the object they always had.
 */
export function roomStub(env: Env, ref: DocRef) {
  const inc = ref.incarnation ? `/${ref.incarnation}` : "";
  return env.DOC_ROOM.getByName(`${ref.projectId}/${ref.docId}${inc}`);
}
