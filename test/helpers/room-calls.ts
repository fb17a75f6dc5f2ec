/** Calls on a document's object from tests, unwrapped: the object answers an Outcome (src/room/outcome.ts). */
import type { DocRoom } from "../../src/room/doc-room";
import type { Outcome } from "../../src/room/outcome";
import type { DocRef } from "../../src/room/rpc-types";

/** The document's whole stored state; throws when the object refuses (a deleted document). */
export async function storedUpdate(stub: DurableObjectStub<DocRoom>, ref: DocRef): Promise<Uint8Array> {
  const read = (await stub.readUpdate(ref)) as Outcome<Uint8Array>;
  if (!read.ok) throw new Error(`readUpdate refused: ${read.reason}`);
  return read.value;
}
