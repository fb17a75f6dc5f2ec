import type { Env } from "../env";
import type { DocRef } from "./rpc-types";

/** The name of the object holding one creation of one project's document (its relays' names extend it). */
export function roomName(ref: DocRef): string {
  const inc = ref.incarnation ? `/${ref.incarnation}` : "";
  return `${ref.projectId}/${ref.docId}${inc}`;
}

/**
 * The Durable Object holding one creation of one project's document. A re-created id has a new
 * incarnation, hence a new object: nothing of the deleted one (content, sockets) can reach it.
 * Documents from before incarnations ("") keep the object they always had.
 */
export function roomStub(env: Env, ref: DocRef) {
  return env.DOC_ROOM.getByName(roomName(ref));
}

/** Relay `index` of that creation of the document (src/relay): named after it, so a re-created id has new relays too. */
export function relayStub(env: Env, ref: DocRef, index: number) {
  return env.DOC_RELAY.getByName(`${roomName(ref)}#r${index}`);
}
