/**
 * The outbox owns "durable before visible": the production class (src/room/outbox.ts) over the in-memory
 * store, with the flush run by hand where the Durable Object's zero-delay timer would run it.
 */
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { decodeFrame, encodeAwareness, encodeUpdate } from "../../../src/sync/frames";
import { conn, MemoryStore, MemoryTransport, testRoom } from "../../helpers/memory-room";

function typing(doc: Y.Doc, text: string): Uint8Array {
  const sv = Y.encodeStateVector(doc);
  doc.getText("t").insert(doc.getText("t").length, text);
  return Y.encodeStateAsUpdate(doc, sv);
}

describe("Outbox", () => {
  it("sends at once while nothing is pending", () => {
    const store = new MemoryStore();
    const outbox = new MemoryTransport(store);
    const a = conn("a");
    outbox.conns.add(a);
    outbox.send(a, new Uint8Array([1]));
    expect(a.sent).toHaveLength(1);
  });

  it("holds every message while an update is pending, then commits before it releases them in order", () => {
    const events: string[] = [];
    const store = new MemoryStore(events);
    const outbox = new MemoryTransport(store, events);
    const [a, b] = [conn("a"), conn("b")];
    outbox.conns.add(a).add(b);
    const doc = new Y.Doc();
    const updates = [typing(doc, "x"), typing(doc, "y"), typing(doc, "z")];
    for (const u of updates) {
      store.append(u);
      outbox.broadcastUpdate(u, a);
    }
    outbox.broadcast(encodeAwareness([{ clientId: 1, clock: 1, stateJson: "{}" }]));
    expect(a.sent).toHaveLength(0);
    expect(b.sent).toHaveLength(0);
    expect(events).toEqual(["append", "append", "append"]);
    outbox.settle();
    expect(events.slice(0, 4)).toEqual(["append", "append", "append", "commit"]);
    // The sink hears of the commit once, after everything it released.
    expect(events.at(-1)).toBe("committed");
    expect(events.filter((e) => e === "committed")).toHaveLength(1);
    // b gets the three updates as one merged message, then the awareness; a (the writer) only the awareness.
    expect(b.sent.map((m) => (decodeFrame(m) as { value: { kind: string } }).value.kind)).toEqual(["sync-update", "awareness"]);
    expect(a.sent).toHaveLength(1);
    const replica = new Y.Doc();
    const first = decodeFrame(b.sent[0]!);
    if (first.ok && first.value.kind === "sync-update") Y.applyUpdate(replica, first.value.update);
    expect(replica.getText("t").toString()).toBe("xyz");
  });

  it("a failed commit releases nothing and forgets the batch", () => {
    const store = new MemoryStore();
    const outbox = new MemoryTransport(store);
    const b = conn("b");
    outbox.conns.add(b);
    const u = typing(new Y.Doc(), "lost");
    store.append(u);
    outbox.broadcastUpdate(u);
    store.failNextFlush = true;
    expect(outbox.flush()).toBe(false);
    expect(b.sent).toHaveLength(0);
    expect(store.hasPending).toBe(false);
    expect(store.log).toHaveLength(0);
    expect(outbox.failures).toHaveLength(1);
    expect(outbox.commits).toBe(0); // no "saved" for what was not stored
    // The next message is not held behind anything.
    outbox.send(b, encodeUpdate(new Uint8Array([0, 0])));
    expect(b.sent).toHaveLength(1);
  });

  it("in the room: a writer's update reaches nobody and is not stored when its commit fails", () => {
    const store = new MemoryStore();
    const transport = new MemoryTransport(store);
    const room = testRoom(store, transport);
    const [a, b] = [conn("a"), conn("b")];
    for (const c of [a, b]) {
      transport.conns.add(c);
      room.greet(c);
    }
    const seen = b.sent.length;
    store.failNextFlush = true;
    room.handleFrame(a, encodeUpdate(typing(new Y.Doc(), "never durable")));
    expect(b.sent.length).toBe(seen);
    expect(store.load()).toHaveLength(0);
    expect(transport.failures).toHaveLength(1);
  });

  it("a commit made by a compaction is announced too (the saved signal must not skip it)", () => {
    const store = new MemoryStore();
    const transport = new MemoryTransport(store);
    const room = testRoom(store, transport);
    const a = conn("a");
    transport.conns.add(a);
    room.greet(a);
    const doc = new Y.Doc();
    let announced = 0;
    for (let i = 0; i < 1100; i++) {
      const before = transport.commits;
      const compactions = store.events.filter((e) => e === "compact").length;
      room.handleFrame(a, encodeUpdate(typing(doc, "k")));
      if (store.events.filter((e) => e === "compact").length > compactions) expect(transport.commits, `update ${i}, which compacted`).toBe(before + 1);
      announced += transport.commits - before;
    }
    expect(store.events).toContain("compact");
    expect(announced).toBe(1100);
  });
});
