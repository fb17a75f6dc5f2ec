import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import type { DocRoom } from "../../../src/room/doc-room";
import { readLimits } from "../../../src/room/limits";
import { roomStub } from "../../../src/room/stub";
import { encodeSyncStep1, encodeUpdate } from "../../../src/sync/frames";
import { createTestDoc, openRaw, synced, waitFor, type TestDoc, providersPerTest } from "../../helpers/sync";
import { storedUpdate } from "../../helpers/room-calls";

const provider = providersPerTest();

async function twoWriters(d: TestDoc) {
  const a = provider(d.docId, await d.token("write", { userId: "a" }));
  const b = provider(d.docId, await d.token("write", { userId: "b" }));
  await Promise.all([synced(a), synced(b)]);
  a.doc.getText("t").insert(0, "base");
  await waitFor(() => b.doc.getText("t").toString() === "base", "b to see the base text");
  return { a, b };
}

/** After an offender is dropped, the others still collaborate. */
async function othersStillInSync(a: WebsocketProvider, b: WebsocketProvider, marker: string) {
  a.doc.getText("t").insert(0, marker);
  await waitFor(() => b.doc.getText("t").toString().startsWith(marker), "the others to stay in sync");
}

describe("bad input closes only the offending socket, with the contract's code, changing nothing", () => {
  const cases: [string, (ws: WebSocket) => void, number][] = [
    ["a binary frame that cannot be decoded", (ws) => ws.send(new Uint8Array([0, 2, 50, 1, 2, 3])), 1002],
    ["an update Yjs rejects (valid framing, garbage inside)", (ws) => ws.send(encodeUpdate(new Uint8Array([1, 1, 5, 0, 0x1b, 0, 0]))), 1002],
    ["a text frame", (ws) => ws.send("hello"), 1003],
    ["a frame over the size limit (default: the platform's 32 MiB)", (ws) => ws.send(new Uint8Array(readLimits(env).maxFrameBytes + 1)), 1009],
  ];
  for (const [name, send, code] of cases) {
    it(name, async () => {
      const d = await createTestDoc();
      const { a, b } = await twoWriters(d);
      const raw = await openRaw(d.docId, await d.token());
      send(raw.ws);
      expect((await raw.closed).code).toBe(code);
      expect(a.doc.getText("t").toString()).toBe("base");
      await othersStillInSync(a, b, `after-${code}:`);
      expect(a.wsconnected && b.wsconnected).toBe(true);
    });
  }

  it("a well-formed frame of an unknown message type is ignored and the socket stays open", async () => {
    const d = await createTestDoc();
    const raw = await openRaw(d.docId, await d.token());
    raw.ws.send(new Uint8Array([7, 3, 1, 2, 3]));
    raw.ws.send(encodeSyncStep1(new Uint8Array([0])));
    await waitFor(() => raw.received.length >= 2, "the reply to step 1 after the unknown frame");
    expect(raw.isClosed()).toBe(false);
    raw.ws.close();
  });
});

describe("durability and hibernation", () => {
  it("clients stay connected across eviction; the document comes back from storage and sync goes on", async () => {
    const d = await createTestDoc();
    const { a, b } = await twoWriters(d);
    a.awareness.setLocalStateField("user", { name: "a" });
    await waitFor(() => b.awareness.getStates().has(a.doc.clientID), "awareness before eviction");
    const stub = roomStub(env, d);
    await evictDurableObject(stub);
    // The same sockets, after waking.
    b.doc.getText("t").insert(4, "+after");
    await waitFor(() => a.doc.getText("t").toString() === "base+after", "a to receive b's edit after waking");
    a.awareness.setLocalStateField("user", { name: "a2" });
    await waitFor(() => (b.awareness.getStates().get(a.doc.clientID) as { user?: { name: string } })?.user?.name === "a2", "awareness after waking");
    expect(a.wsconnected && b.wsconnected).toBe(true);
    // The object woke without any client re-sending the document: what it holds came from storage.
    await evictDurableObject(stub);
    const fresh = provider(d.docId, await d.token("read"));
    await synced(fresh);
    expect(fresh.doc.getText("t").toString()).toBe("base+after");
  });

  it("presence survives hibernation: a joiner sees everyone at once, and a leaver's removal is honoured", async () => {
    const d = await createTestDoc();
    const { a, b } = await twoWriters(d);
    a.awareness.setLocalStateField("user", { name: "ada" });
    b.awareness.setLocalStateField("user", { name: "bo" });
    // Several renewals, so the clocks peers hold are well past the first one the room saw.
    for (let i = 0; i < 5; i++) a.awareness.setLocalStateField("cursor", i);
    await waitFor(() => (b.awareness.getStates().get(a.doc.clientID) as { cursor?: number })?.cursor === 4, "b to see a's latest state");
    await waitFor(() => a.awareness.getStates().has(b.doc.clientID), "a to see b");
    await evictDurableObject(roomStub(env, d));
    // Well within y-websocket's 15 s renewal: what the joiner sees comes from the room, not from a renewal.
    const c = provider(d.docId, await d.token("read", { userId: "c" }));
    await synced(c);
    await waitFor(
      () => c.awareness.getStates().has(a.doc.clientID) && c.awareness.getStates().has(b.doc.clientID),
      "the joiner to see both present users after the wake-up",
      5000,
    );
    expect(c.awareness.getStates().get(a.doc.clientID)).toMatchObject({ user: { name: "ada" }, cursor: 4 });
    // a leaves: its removal must carry a clock b and c accept, so it does not linger for 30 s.
    const gone = a.doc.clientID;
    a.destroy();
    await waitFor(() => !b.awareness.getStates().has(gone) && !c.awareness.getStates().has(gone), "a's presence to be removed everywhere", 5000);
  });

  it("no acknowledged update is lost when the object is evicted right after it", async () => {
    const d = await createTestDoc();
    const { a, b } = await twoWriters(d);
    const stub = roomStub(env, d);
    for (let i = 0; i < 20; i++) {
      a.doc.getText("t").insert(0, String(i % 10));
      const expected = a.doc.getText("t").toString();
      await waitFor(() => b.doc.getText("t").toString() === expected, "the update to be acknowledged (seen by b)");
      if (i % 5 === 4) await evictDurableObject(stub);
    }
    const fresh = provider(d.docId, await d.token("read"));
    await synced(fresh);
    expect(fresh.doc.getText("t").toString()).toBe(a.doc.getText("t").toString());
  });

  it("a document over 20 MB is stored in chunks and read back whole after eviction", async () => {
    const d = await createTestDoc();
    const raw = await openRaw(d.docId, await d.token());
    const src = new Y.Doc();
    const text = src.getText("t");
    const chunk = "0123456789abcdef".repeat(60 * 1024); // 960 KiB per update, under the 1 MiB frame limit
    for (let i = 0; i < 22; i++) {
      const sv = Y.encodeStateVector(src);
      text.insert(text.length, chunk);
      raw.ws.send(encodeUpdate(Y.encodeStateAsUpdate(src, sv)));
    }
    // Frames are handled in order: the reply to this step 1 means every update before it is applied.
    const before = raw.received.length;
    raw.ws.send(encodeSyncStep1(Y.encodeStateVector(src)));
    await waitFor(() => raw.received.length > before, "the reply to step 1", 60_000);
    expect(raw.isClosed()).toBe(false);
    const stub = roomStub(env, d);
    // Fold everything into one snapshot, then check that it is stored in chunks.
    const stats = await runInDurableObject(stub, async (room: DocRoom, state) => {
      await room.compact();
      const s = await room.stats();
      const rows = state.storage.sql.exec<{ n: number; biggest: number }>("SELECT COUNT(*) AS n, MAX(length(data)) AS biggest FROM snapshot").one();
      return { ...s, snapshotRows: rows.n, biggestRow: rows.biggest };
    });
    expect(stats.encodedBytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(stats.snapshotRows).toBeGreaterThanOrEqual(20);
    expect(stats.biggestRow).toBeLessThanOrEqual(1024 * 1024);
    raw.ws.close();
    await evictDurableObject(stub);
    const whole = await storedUpdate(stub, d);
    const back = new Y.Doc();
    Y.applyUpdate(back, whole);
    expect(back.getText("t").length).toBe(22 * chunk.length);
    expect(back.getText("t").toString() === text.toString()).toBe(true);
  });
});

describe("sessions end when they should", () => {
  it("closes a socket with 4401 when its token expires", async () => {
    const d = await createTestDoc();
    const raw = await openRaw(d.docId, await d.token("write", { exp: Math.floor(Date.now() / 1000) + 2 }));
    const other = await openRaw(d.docId, await d.token());
    await new Promise((r) => setTimeout(r, 2100));
    await runDurableObjectAlarm(roomStub(env, d));
    expect((await raw.closed).code).toBe(4401);
    expect(other.isClosed()).toBe(false);
    other.ws.close();
  });

  it("erasing the document closes its sockets with 4404, its content is gone, and the object refuses every later call", async () => {
    const d = await createTestDoc();
    const raw = await openRaw(d.docId, await d.token());
    const src = new Y.Doc();
    src.getText("t").insert(0, "doomed");
    raw.ws.send(encodeUpdate(Y.encodeStateAsUpdate(src)));
    const stub = roomStub(env, d);
    await waitFor(() => raw.received.length >= 1, "greeting");
    await stub.erase();
    expect((await raw.closed).code).toBe(4404);
    // A request that passed the catalog check just before the delete finds a tombstone, even after eviction.
    await evictDurableObject(stub);
    expect(await stub.readUpdate(d)).toMatchObject({ ok: false, reason: "gone" });
    expect(await stub.applyUpdate(d, Y.encodeStateAsUpdate(src))).toMatchObject({ ok: false, reason: "gone" });
    const late = await openRaw(d.docId, await d.token());
    expect((await late.closed).code).toBe(4404);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM log").one().n)).toBe(0);
  });

  it("writes size and time back to the catalog within seconds, batched on the alarm", async () => {
    const d = await createTestDoc();
    const p = provider(d.docId, await d.token());
    await synced(p);
    for (let i = 0; i < 10; i++) p.doc.getText("t").insert(0, "x");
    const stub = roomStub(env, d);
    await new Promise((r) => setTimeout(r, 200));
    // The write-back is due 5–10 s after the burst's first change (a random 0–5 s spreads documents edited
    // together); the alarm itself comes sooner, after ~1 s, for the webhook outbox.
    const due = await runInDurableObject(stub, async (room, state) => ({
      alarm: await state.storage.getAlarm(),
      catalog: (room as unknown as { h: { catalog: { dueAt: number } } }).h.catalog.dueAt,
      now: Date.now(),
    }));
    expect(due.alarm).not.toBeNull();
    expect(due.alarm! - due.now).toBeLessThanOrEqual(1_000);
    expect(due.catalog - due.now).toBeGreaterThan(4_000);
    expect(due.catalog - due.now).toBeLessThanOrEqual(10_000);
    const ran = await runDurableObjectAlarm(stub);
    expect(ran).toBe(true);
    const row = await env.DB.prepare("SELECT size_bytes, updated_at, created_at FROM documents WHERE project_id = ? AND id = ?")
      .bind(d.projectId, d.docId)
      .first<{ size_bytes: number; updated_at: number; created_at: number }>();
    expect(row!.size_bytes).toBeGreaterThan(0);
    expect(row!.updated_at).toBeGreaterThanOrEqual(row!.created_at);
  });
});
