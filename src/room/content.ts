/**
 * A document's content through REST: reads (paid by a client token's user from their byte allowance),
 * writes and a fork's seed (through writeUpdate: validated, charged, committed before the answer), the
 * JSON rendering and who is connected. Nothing is revealed before it is written: every read flushes first.
 */
import { overReadBudget, RENDER_COST_PER_BYTE } from "../versions/room";
import { renderRoots, type RootKind } from "../versions/to-json";
import type { Access } from "../sync/ports";
import type { Conn } from "./attachment";
import type { Limits } from "./limits";
import { done, type Outcome, refuse } from "./outcome";
import type { RoomParts } from "./parts";
import type { Presence, Reader } from "./rpc-types";
import { writeUpdate } from "./write";

/** What the content calls need of their object. */
export interface ContentHost {
  parts: RoomParts;
  readonly limits: Limits;
  storedBytes(): number;
  chargeRead(reader: Reader | undefined, bytes: number): boolean;
  conns(): Map<WebSocket, Conn>;
}

export class DocumentContent {
  constructor(private readonly room: ContentHost) {}

  /** The state, or what `stateVector` lacks. A client token's user pays for it from their byte allowance. */
  read(stateVector?: Uint8Array, reader?: Reader): Outcome<Uint8Array> {
    // The whole state costs its stored size up front; a diff, what it turns out to be.
    if (!stateVector && !this.room.chargeRead(reader, this.room.storedBytes())) return overReadBudget;
    this.room.parts.outbox.flush(); // never reveal an update before it is written
    const update = this.room.parts.core.encodeState(stateVector);
    if (stateVector && reader) this.room.parts.core.chargeRead(reader.userId, update.length);
    return done(update);
  }

  /** Applies `update` and answers the new state vector. `author`: the client token's user, charged for it; none for a secret key. */
  write(update: Uint8Array, author?: string): Outcome<Uint8Array> {
    if (update.length > this.room.limits.maxUpdateBytes) return refuse("too_large", `an update may be at most ${this.room.limits.maxUpdateBytes} bytes`);
    const written = writeUpdate(
      this.room.parts,
      update,
      { userId: author },
      {
        invalid: "the body is not a valid Yjs v1 update",
        storage: "the update could not be stored; nothing was applied",
      },
    );
    return written.ok ? done(this.room.parts.core.stateVector()) : written;
  }

  /** Fills a new, empty document (a fork) with `update`, under the document limits but not MAX_UPDATE_BYTES. */
  seed(update: Uint8Array): Outcome<{ sizeBytes: number }> {
    if (this.room.storedBytes() > 0) return refuse("invalid_update", "only an empty document can be seeded");
    const written = writeUpdate(this.room.parts, update, {}, { invalid: "not a valid Yjs v1 update", storage: "the content could not be stored" });
    return written.ok ? done({ sizeBytes: this.room.storedBytes() }) : written;
  }

  json(kinds: ReadonlyMap<string, RootKind>, reader?: Reader): Outcome<Record<string, unknown>> {
    if (!this.room.chargeRead(reader, RENDER_COST_PER_BYTE * this.room.storedBytes())) return overReadBudget;
    this.room.parts.outbox.flush();
    // renderRoots reads items and never types a root (doc.getText etc. would be permanent), so the
    // live document can be read as it is: no copy to encode and decode.
    const rendered = renderRoots(this.room.parts.core.doc, kinds);
    return rendered.ok ? rendered : refuse("unrenderable", rendered.message);
  }

  /**
   * Who is connected: this object's sockets and, counted from the roster, its relays' (`relayed`; their
   * awareness ids live on the relays, so they are listed without them).
   */
  presence(relayed: { total: number; users: { userId: string; access: Access }[] } = { total: 0, users: [] }): Outcome<Presence> {
    const byUser = new Map<string, Presence["users"][number]>();
    let connections = relayed.total;
    for (const u of relayed.users) byUser.set(`${u.access}:${u.userId}`, { userId: u.userId, access: u.access, clientIds: [] });
    for (const conn of this.room.conns().values()) {
      connections++;
      const key = `${conn.access}:${conn.userId}`;
      let entry = byUser.get(key);
      if (!entry) {
        entry = { userId: conn.userId, access: conn.access, clientIds: [] };
        byUser.set(key, entry);
      }
      entry.clientIds.push(...conn.clientIds.keys());
    }
    return done({ connections, users: [...byUser.values()] });
  }
}
