// `npm run bench:compaction`: replays automerge-paper keystroke by keystroke through the room logic
// (RoomCore, the code the Durable Object runs) with an in-memory store, and reports every compaction's
// pause. Node, one process: it measures the Yjs work of compaction (encoding the snapshot); the SQLite
// write of the chunks comes on top in the object.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import * as Y from "yjs";
import { encodeUpdate } from "../src/sync/frames";
import type { RoomConn, UpdateStore } from "../src/sync/ports";
import { RoomCore } from "../src/sync/room-core";

const trace = JSON.parse(gunzipSync(readFileSync(join(import.meta.dirname, "..", "test", "fixtures", "traces", "automerge-paper.json.gz"))).toString()) as {
  endContent: string;
  txns: { patches: [number, number, string][] }[];
};

const pauses: number[] = [];
class Store implements UpdateStore {
  snapshot: Uint8Array | undefined;
  log: Uint8Array[] = [];
  logBytes = 0;
  load() {
    return this.snapshot ? [this.snapshot, ...this.log] : [...this.log];
  }
  append(u: Uint8Array) {
    this.log.push(u);
    this.logBytes += u.length;
  }
  compact(snapshot: Uint8Array, tail: Uint8Array[]) {
    this.snapshot = snapshot;
    this.log = [...tail];
    this.logBytes = tail.reduce((n, u) => n + u.length, 0);
  }
  get logCount() {
    return this.log.length;
  }
  get snapshotBytes() {
    return this.snapshot?.length ?? 0;
  }
}

const store = new Store();
const room = new RoomCore<RoomConn>(store, { send() {}, connections: () => [] }, undefined);
const conn: RoomConn = { access: "write", userId: "bench", clientIds: new Map(), yjsClientIds: new Set() };
const compact = room.maybeCompact.bind(room);
room.maybeCompact = (force = false) => {
  const before = store.snapshotBytes === 0 && store.logCount === 0 ? -1 : store.logCount;
  const t = performance.now();
  compact(force);
  if (store.logCount < before || before === -1) pauses.push(performance.now() - t);
};

const src = new Y.Doc();
const text = src.getText("text");
const frames: Uint8Array[] = [];
src.on("update", (u: Uint8Array) => frames.push(encodeUpdate(u)));
for (const txn of trace.txns) {
  src.transact(() => {
    for (const [pos, del, ins] of txn.patches) {
      if (del > 0) text.delete(pos, del);
      if (ins) text.insert(pos, ins);
    }
  });
}
const t0 = performance.now();
let i = 0;
for (const f of frames) {
  room.handleFrame(conn, f, ++i); // a fake clock: one ms per update keeps the rate budget out of the way
}
const total = performance.now() - t0;
const ok = room.doc.getText("text").toString() === trace.endContent;
pauses.sort((a, b) => a - b);
const pct = (p: number) => pauses[Math.min(pauses.length - 1, Math.floor((p / 100) * pauses.length))]!.toFixed(1);
console.log(
  `automerge-paper: ${frames.length} updates through RoomCore in ${(total / 1000).toFixed(1)} s (${((total * 1000) / frames.length).toFixed(1)} µs each), content ${ok ? "ok" : "WRONG"}`,
);
console.log(
  `compactions: ${pauses.length}; pause p50 ${pct(50)} ms, p99 ${pct(99)} ms, longest ${pauses.at(-1)!.toFixed(1)} ms; final snapshot ${store.snapshotBytes} B + ${store.logCount} log entries`,
);
if (!ok) process.exit(1);
