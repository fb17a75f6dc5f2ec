/**
 * A client that handles awareness exactly as the stock y-websocket provider does, for unit tests of the
 * room without sockets: a y-protocols Awareness whose every `update` (remote changes included) is sent
 * back to the server, its own state announced on joining, renewals by `renew()`. The real provider is
 * driven in the workerd and `wrangler dev` tests; this one lets a test hold time still.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import * as Y from "yjs";
import { MessageType } from "../../src/sync/frames";
import type { CloseRequest } from "../../src/sync/close-codes";
import type { RoomCore } from "../../src/sync/room-core";
import { conn, type MemoryTransport, type TestConn } from "./memory-room";

export class StockPeer {
  readonly conn: TestConn;
  readonly awareness: Awareness;
  /** Frames this peer has sent (awareness only), oldest first. */
  readonly uploads: Uint8Array[] = [];
  closed: CloseRequest | undefined;
  private read = 0;
  private queue: Uint8Array[] = [];

  constructor(
    name: string,
    clientId: number,
    private readonly room: RoomCore<TestConn>,
    private readonly transport: MemoryTransport,
  ) {
    this.conn = conn(name);
    const doc = new Y.Doc();
    doc.clientID = clientId;
    this.awareness = new Awareness(doc);
    this.awareness.setLocalState({ user: name });
    // y-websocket.js: every applied change is re-broadcast, remote ones included.
    this.awareness.on("update", ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
      this.queue.push(frame(encodeAwarenessUpdate(this.awareness, [...added, ...updated, ...removed])));
    });
  }

  /** Connects as the stock provider does: the room greets it, then it announces its own state. */
  join(): this {
    this.transport.conns.add(this.conn);
    this.room.greet(this.conn);
    this.queue.push(frame(encodeAwarenessUpdate(this.awareness, [this.awareness.clientID])));
    return this;
  }

  leave(): void {
    this.transport.conns.delete(this.conn);
    this.room.disconnect(this.conn);
    this.awareness.destroy();
  }

  /** Renews its own state (what y-protocols does every 15 s). */
  renew(): void {
    this.awareness.setLocalState(this.awareness.getLocalState());
  }

  /** Applies what the room sent since last time, then sends what that made it say. True if anything moved. */
  step(): boolean {
    let moved = false;
    for (; this.read < this.conn.sent.length; this.read++) {
      const m = this.conn.sent[this.read]!;
      const d = decoding.createDecoder(m);
      if (decoding.readVarUint(d) !== MessageType.awareness) continue;
      applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(d), "server");
      moved = true;
    }
    const out = this.queue;
    this.queue = [];
    for (const f of out) {
      if (this.closed) break;
      this.uploads.push(f);
      this.closed = this.room.handleFrame(this.conn, f);
      moved = true;
    }
    return moved;
  }

  /** The client ids this peer sees (itself included). */
  sees(): number[] {
    return [...this.awareness.getStates().keys()].sort((a, b) => a - b);
  }
}

/** Runs every peer until nothing more moves (the room's timers are not advanced). */
export function settle(peers: Iterable<StockPeer>): void {
  const list = [...peers];
  for (let moved = true; moved; ) {
    moved = false;
    for (const p of list) if (!p.closed && p.step()) moved = true;
  }
}

function frame(payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.awareness);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}
