/**
 * An update from outside the socket protocol (REST, a restore, a fork's seed) entering the document: it is
 * validated, handed to RoomCore.applyUpdate (the one gate every write path passes, sockets included: what
 * may enter and whom it is charged to) and committed before the caller answers. Durable before visible:
 * the outbox holds what it sends until the commit.
 */
import { validateUpdate } from "../sync/cost/update-check";
import type { Outbox } from "../sync/outbox";
import type { RoomConn, Writer } from "../sync/ports";
import type { RoomCore } from "../sync/room-core";
import { done, type Outcome, refuse } from "./outcome";

export interface WriteTarget<C extends RoomConn> {
  core: RoomCore<C>;
  outbox: Outbox<C>;
}

/**
 * `invalidMessage` names the body in the refusal; `storageMessage` what was not stored. Refusals change
 * nothing; `storage_failed` means nothing was applied.
 */
export function writeUpdate<C extends RoomConn>(
  room: WriteTarget<C>,
  update: Uint8Array,
  by: Writer<C>,
  messages: { invalid: string; storage: string },
): Outcome<void> {
  let clientIds: Set<number>;
  try {
    clientIds = validateUpdate(update);
  } catch {
    return refuse("invalid_update", messages.invalid);
  }
  const outcome = room.core.applyUpdate(update, clientIds, by);
  // The answer is an acknowledgement: write now, in this event, so it waits for the commit.
  if (!room.outbox.flush()) return refuse("storage_failed", messages.storage);
  if (!outcome.ok) return refuse(outcome.code, outcome.message);
  return done(undefined);
}
