/**
 * The storage, the outbox and the room of one document's object: made together, and made again together
 * when an erase drops the tables. The object's helpers hold this one object, so they always see the current ones.
 */
import type { Outbox } from "../sync/outbox";
import type { RoomCore } from "../sync/room-core";
import type { WebhookLedger } from "../webhooks/room-ledger";
import type { Conn } from "./attachment";
import type { SqlUpdateStore } from "./store";

export interface RoomParts {
  store: SqlUpdateStore;
  outbox: Outbox<Conn>;
  core: RoomCore<Conn>;
  ledger: WebhookLedger;
}
