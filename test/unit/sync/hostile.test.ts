/**
 * Hostile writers against RoomCore with small limits (the RoomLimits argument): each limit closes the
 * offender with its contract code and leaves the document, the store and the other clients untouched.
 */
import { describe, expect, it } from "vitest";
import * as encoding from "lib0/encoding";
import * as Y from "yjs";
import { encodeAwareness, encodeSyncStep1, encodeUpdate, MessageType, SyncType } from "../../../src/sync/frames";
import { validateUpdate } from "../../../src/sync/cost/update-check";
import { CloseCode } from "../../../src/sync/close-codes";
import { CLIENT_ID_WINDOW_MS, DEFAULT_LIMITS, type RoomLimits } from "../../../src/sync/ports";
import type { RoomCore } from "../../../src/sync/room-core";
import { craftEndClaims } from "../../helpers/crafted-update";
import { conn, MemoryStore, MemoryTransport, testRoom, type TestConn } from "../../helpers/memory-room";

function setup(limits: Partial<RoomLimits> = {}) {
  const store = new MemoryStore();
  const transport = new MemoryTransport(store);
  const room = testRoom(store, transport, { ...DEFAULT_LIMITS, ...limits });
  const join = (name: string) => {
    const c = conn(name);
    transport.conns.add(c);
    room.greet(c);
    return c;
  };
  const leave = (c: TestConn) => {
    transport.conns.delete(c);
    room.disconnect(c);
  };
  return { store, transport, room, join, leave };
}

/** One update carrying `n` Yjs client ids (one single-character struct each), as a hostile client builds it. */
function manyClientsUpdate(n: number, firstId = 1): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, n);
  for (let i = 0; i < n; i++) {
    encoding.writeVarUint(e, 1); // one struct
    encoding.writeVarUint(e, firstId + i); // client
    encoding.writeVarUint(e, 0); // clock
    encoding.writeUint8(e, 4); // info: no origins, string content
    encoding.writeVarUint(e, 1); // parent is a root type
    encoding.writeVarString(e, "t");
    encoding.writeVarString(e, "x");
  }
  encoding.writeVarUint(e, 0); // empty delete set
  return encoding.toUint8Array(e);
}

const endClaims = (n: number, chars: number, clock: number) => craftEndClaims(n, chars, { clock });

function snapshot(room: RoomCore<TestConn>, store: MemoryStore) {
  return { state: Array.from(room.encodeState()), log: store.log.length };
}

describe("hostile writers meet a limit, and only they are affected", () => {
  it("new Yjs client ids per connection: an update carrying 10,000 ids is refused whole with 4422 (permanent)", () => {
    const { room, store, join } = setup({ maxClientIdsPerUser: 64 });
    const honest = join("honest");
    const src = new Y.Doc();
    src.getText("t").insert(0, "kept");
    expect(room.handleFrame(honest, encodeUpdate(Y.encodeStateAsUpdate(src)))).toBeUndefined();
    const watcher = join("watcher");
    const before = snapshot(room, store);
    const sent = watcher.sent.length;
    const attacker = join("attacker");
    const update = manyClientsUpdate(10_000, 1_000_000);
    // The update is valid Yjs: a permissive server would apply it and slow every later update down.
    const check = new Y.Doc();
    Y.applyUpdate(check, update);
    expect(check.store.clients.size).toBe(10_000);
    expect(room.handleFrame(attacker, encodeUpdate(update))).toMatchObject({ code: CloseCode.tooManyClientIds });
    expect(snapshot(room, store)).toEqual(before);
    expect(watcher.sent.length).toBe(sent);
    expect(room.doc.store.clients.size).toBe(1);
  });

  it("new Yjs client ids add up across a user's updates; ids already in the document are free", () => {
    const { room, store, join } = setup({ maxClientIdsPerUser: 5 });
    const a = join("a");
    for (let i = 0; i < 5; i++) expect(room.handleFrame(a, encodeUpdate(manyClientsUpdate(1, 100 + i)))).toBeUndefined();
    const before = snapshot(room, store);
    expect(room.handleFrame(a, encodeUpdate(manyClientsUpdate(1, 200)))).toMatchObject({ code: CloseCode.tooManyClientIds });
    expect(snapshot(room, store)).toEqual(before);
    // Another connection editing as the five existing clients introduces nothing new.
    const b = join("b");
    const doc = new Y.Doc();
    Y.applyUpdate(doc, room.encodeState());
    doc.clientID = 100;
    const sv = Y.encodeStateVector(doc);
    doc.getText("t").insert(0, "y");
    expect(room.handleFrame(b, encodeUpdate(Y.encodeStateAsUpdate(doc, sv)))).toBeUndefined();
  });

  it("new Yjs client ids are counted per user and document, in storage: reconnecting or a restart resets nothing", () => {
    const { room, store, transport, join } = setup({ maxClientIdsPerUser: 3 });
    const first = join("mallory");
    for (let i = 0; i < 3; i++) expect(room.handleFrame(first, encodeUpdate(manyClientsUpdate(1, 500 + i)), 1000)).toBeUndefined();
    // A new connection of the same user (a reconnect) gets no fresh allowance.
    const again = join("mallory");
    expect(room.handleFrame(again, encodeUpdate(manyClientsUpdate(1, 600)), 2000)).toMatchObject({ code: CloseCode.tooManyClientIds });
    // Nor does a new instance over the same storage (a wake-up from hibernation, a restart).
    const revived = testRoom(store, transport, { ...DEFAULT_LIMITS, maxClientIdsPerUser: 3 });
    const third = conn("mallory");
    transport.conns.add(third);
    expect(revived.handleFrame(third, encodeUpdate(manyClientsUpdate(1, 601)), 3000)).toMatchObject({ code: CloseCode.tooManyClientIds });
    // Another user is not affected, and the window moves on after an hour.
    const alice = conn("alice");
    transport.conns.add(alice);
    expect(revived.handleFrame(alice, encodeUpdate(manyClientsUpdate(1, 700)), 3000)).toBeUndefined();
    expect(revived.handleFrame(third, encodeUpdate(manyClientsUpdate(1, 602)), 1001 + CLIENT_ID_WINDOW_MS)).toBeUndefined();
  });

  it("REST writes: a client token's user shares the budget; a secret-key write has its own per-update cap", () => {
    const { room, join } = setup({ maxClientIdsPerUser: 2, maxClientIdsPerSecretWrite: 50 });
    const sock = join("bob");
    expect(room.handleFrame(sock, encodeUpdate(manyClientsUpdate(1, 10)))).toBeUndefined();
    const check = (u: Uint8Array, by: { userId?: string }) => room.applyUpdate(u, validateUpdate(u), by);
    expect(check(manyClientsUpdate(1, 20), { userId: "bob" })).toMatchObject({ ok: true });
    expect(check(manyClientsUpdate(1, 30), { userId: "bob" })).toMatchObject({ ok: false, code: "too_many_client_ids" });
    expect(check(manyClientsUpdate(2_000, 10_000), { userId: "carol" })).toMatchObject({ ok: false, code: "too_many_client_ids" });
    expect(check(manyClientsUpdate(60, 20_000), {})).toMatchObject({ ok: false, code: "too_many_client_ids" });
    expect(check(manyClientsUpdate(50, 30_000), {})).toMatchObject({ ok: true });
    expect(room.doc.store.clients.size).toBe(52);
  });

  it("total document size: the write that would pass it is refused (4413, permanent), the document stays as it was", () => {
    const { room, store, join } = setup({ maxDocBytes: 2000 });
    const a = join("a");
    const src = new Y.Doc();
    const t = src.getText("t");
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      const sv = Y.encodeStateVector(src);
      t.insert(t.length, "0123456789".repeat(10));
      const before = snapshot(room, store);
      const close = room.handleFrame(a, encodeUpdate(Y.encodeStateAsUpdate(src, sv)));
      if (close) {
        refused = true;
        expect(close.code).toBe(CloseCode.tooLarge);
        // The content is unchanged (the log may have been folded into a snapshot before refusing).
        expect(snapshot(room, store).state).toEqual(before.state);
      }
    }
    expect(refused).toBe(true);
    expect(room.storedBytes).toBeLessThanOrEqual(2000);
    // Reading still works, and a write that fits is still accepted from someone else.
    const b = join("b");
    expect(room.handleFrame(b, encodeUpdate(new Uint8Array([0, 0])))).toBeUndefined();
  });

  it("the delete-set bomb: an update splitting every other character is refused (4413) by what it would allocate, not its bytes", () => {
    const { room, store, join } = setup({ maxDocItemUnits: 20_000 });
    const a = join("a");
    const src = new Y.Doc();
    src.clientID = 1;
    src.getText("t").insert(0, "c".repeat(60_000));
    expect(room.handleFrame(a, encodeUpdate(Y.encodeStateAsUpdate(src)))).toBeUndefined();
    // Struct-free: only a delete set, 30,000 ranges that each split the one big item.
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 0);
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, 30_000);
    for (let i = 0; i < 30_000; i++) {
      encoding.writeVarUint(e, 2 * i);
      encoding.writeVarUint(e, 1);
    }
    const bomb = encoding.toUint8Array(e);
    expect(bomb.length).toBeLessThan(200_000); // far under any byte limit
    const before = snapshot(room, store);
    const watcher = join("watcher");
    const seen = watcher.sent.length;
    expect(room.handleFrame(a, encodeUpdate(bomb))).toMatchObject({ code: CloseCode.tooLarge });
    expect(snapshot(room, store)).toEqual(before);
    expect(watcher.sent.length).toBe(seen);
    // An honest client's full re-sync of the same document costs nothing new and is accepted.
    expect(room.handleFrame(join("b"), encodeUpdate(Y.encodeStateAsUpdate(src)))).toBeUndefined();
    // And ordinary editing goes on.
    const sv = Y.encodeStateVector(src);
    src.getText("t").delete(0, 10);
    expect(room.handleFrame(a, encodeUpdate(Y.encodeStateAsUpdate(src, sv)))).toBeUndefined();
  });

  it("conflict-resolution work: 2,000 inserts that claim to end the text (14 KB) are refused (4413) before Yjs walks; an honest offline re-sync is not", () => {
    const { room, store, join } = setup();
    const a = join("a");
    const text = new Y.Doc();
    text.clientID = 1;
    text.getText("t").insert(0, "x".repeat(600_000));
    expect(room.handleFrame(a, encodeUpdate(Y.encodeStateAsUpdate(text)))).toBeUndefined();
    const attack = endClaims(2000, 600_000, 0);
    expect(attack.length).toBeLessThan(16_000);
    const before = snapshot(room, store);
    const watcher = join("watcher");
    const seen = watcher.sent.length;
    expect(room.handleFrame(a, encodeUpdate(attack))).toMatchObject({ code: CloseCode.tooLarge });
    expect(snapshot(room, store)).toEqual(before);
    expect(watcher.sent.length).toBe(seen);
    // Someone who typed offline at the same places as the others syncs without a hitch.
    const offline = new Y.Doc();
    offline.clientID = 50;
    Y.applyUpdate(offline, room.encodeState());
    const mine = offline.getText("t");
    const theirs = new Y.Doc();
    theirs.clientID = 51;
    Y.applyUpdate(theirs, room.encodeState());
    for (let i = 0; i < 200; i++) {
      mine.insert((i * 2999) % mine.length, "mine ");
      theirs.getText("t").insert((i * 2999) % mine.length, "theirs ");
    }
    expect(room.handleFrame(join("b"), encodeUpdate(Y.encodeStateAsUpdate(theirs, room.durableStateVector())))).toBeUndefined();
    expect(room.handleFrame(a, encodeUpdate(Y.encodeStateAsUpdate(offline, room.durableStateVector())))).toBeUndefined();
  });

  it("conflict-resolution work adds up: small walks one after another reach the document's cap (4413), kept across a restart", () => {
    const limits = { maxMergeStepsPerUpdate: 1_000, maxDocMergeSteps: 20_000 };
    const { room, store, transport, join } = setup(limits);
    const a = join("a");
    const text = new Y.Doc();
    text.clientID = 1;
    text.getText("t").insert(0, "x".repeat(2_000));
    const t0 = Date.now();
    expect(room.handleFrame(a, encodeUpdate(Y.encodeStateAsUpdate(text)), t0)).toBeUndefined();
    let refusedAt = -1;
    for (let j = 0; j < 500 && refusedAt < 0; j++) {
      const before = snapshot(room, store).state;
      const close = room.handleFrame(a, encodeUpdate(endClaims(1, 2_000 - 2 * j, j)), t0 + j * 1000);
      if (close) {
        expect(close.code).toBe(CloseCode.tooLarge);
        expect(snapshot(room, store).state).toEqual(before);
        refusedAt = j;
      }
    }
    // Each walk stays under the per-update limit; together they reach the document's cap.
    expect(refusedAt).toBeGreaterThan(10);
    expect(refusedAt).toBeLessThan(500);
    // A new instance over the same storage (a wake-up, a restart) still knows.
    const revived = testRoom(store, transport, { ...DEFAULT_LIMITS, ...limits });
    const b = conn("b");
    transport.conns.add(b);
    expect(revived.handleFrame(b, encodeUpdate(endClaims(1, 10, refusedAt)), t0 + 1e6)).toMatchObject({ code: CloseCode.tooLarge });
    // Edits that conflict with nothing (typing at the end) still go through.
    const typist = new Y.Doc();
    Y.applyUpdate(typist, revived.encodeState());
    const sv = Y.encodeStateVector(typist);
    typist.getText("t").insert(typist.getText("t").length, "still editable");
    expect(revived.handleFrame(b, encodeUpdate(Y.encodeStateAsUpdate(typist, sv)), t0 + 1e6)).toBeUndefined();
  });

  it("conflict-resolution work at compaction: a snapshot whose load would pass the document's cap is not written (the limit was lowered)", () => {
    const { room, store, transport, join } = setup({ maxMergeStepsPerUpdate: 1_000_000, maxDocMergeSteps: 10_000_000 });
    const a = join("a");
    const text = new Y.Doc();
    text.clientID = 1;
    text.getText("t").insert(0, "x".repeat(10_000));
    expect(room.handleFrame(a, encodeUpdate(Y.encodeStateAsUpdate(text)))).toBeUndefined();
    expect(room.handleFrame(a, encodeUpdate(endClaims(400, 10_000, 0)))).toBeUndefined(); // 160,000 steps, under these limits
    // The operator lowers the cap; the object restarts over the same storage.
    const lowered = { ...DEFAULT_LIMITS, maxDocMergeSteps: 50_000 };
    const revived = testRoom(store, transport, lowered);
    const log = store.log.length;
    revived.maybeCompact(true);
    expect(store.log.length).toBe(log); // the log stays: replayed in the order it was counted in
    expect(store.snapshot).toBeUndefined();
    // A further conflicting write is refused; one that conflicts with nothing is not.
    const b = conn("b");
    transport.conns.add(b);
    expect(revived.handleFrame(b, encodeUpdate(endClaims(1, 10, 400)))).toMatchObject({ code: CloseCode.tooLarge });
    const typist = new Y.Doc();
    Y.applyUpdate(typist, revived.encodeState());
    const sv = Y.encodeStateVector(typist);
    typist.getText("t").insert(typist.getText("t").length, "!");
    expect(revived.handleFrame(b, encodeUpdate(Y.encodeStateAsUpdate(typist, sv)))).toBeUndefined();
  });

  it("updates waiting for missing dependencies are stored, counted and bounded", () => {
    const { room, store, join } = setup({ maxPendingBytes: 4000 });
    const a = join("a");
    // Client 9's clocks 0-9 are missing; the server holds what comes after them as pending.
    const src = new Y.Doc();
    src.clientID = 9;
    src.getText("t").insert(0, "0123456789");
    const missing = Y.encodeStateAsUpdate(src);
    const later: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      const sv = Y.encodeStateVector(src);
      src.getText("t").insert(src.getText("t").length, `p${i}`);
      later.push(Y.encodeStateAsUpdate(src, sv));
    }
    for (const u of later) expect(room.handleFrame(a, encodeUpdate(u))).toBeUndefined();
    // Each pending update was stored (Yjs merges pending parts in place: it must not look unchanged).
    expect(store.log).toHaveLength(3);
    // A reload from storage alone, once the missing part arrives, has everything.
    const replica = new Y.Doc();
    for (const u of [...store.load(), missing]) Y.applyUpdate(replica, u);
    expect(replica.getText("t").toString()).toBe("0123456789p0p1p2");
    // Past maxPendingBytes, a further pending update is refused and the document is unchanged.
    const before = snapshot(room, store);
    const sv = Y.encodeStateVector(src);
    src.getText("t").insert(src.getText("t").length, "x".repeat(5000));
    expect(room.handleFrame(join("b"), encodeUpdate(Y.encodeStateAsUpdate(src, sv)))).toMatchObject({ code: CloseCode.tooLarge });
    expect(snapshot(room, store)).toEqual(before);
  });

  it("root types are capped: Yjs scans every root to encode one", () => {
    const { room, join } = setup({ maxRootTypes: 10 });
    const a = join("a");
    const src = new Y.Doc();
    for (let i = 0; i < 20; i++) src.getMap(`root-${i}`).set("k", i);
    expect(room.handleFrame(a, encodeUpdate(Y.encodeStateAsUpdate(src)))).toMatchObject({ code: CloseCode.tooLarge });
    expect(room.doc.share.size).toBe(0);
    const fits = new Y.Doc();
    for (let i = 0; i < 5; i++) fits.getMap(`root-${i}`).set("k", i);
    expect(room.handleFrame(join("b"), encodeUpdate(Y.encodeStateAsUpdate(fits)))).toBeUndefined();
  });

  it("one user's sockets share one budget: opening more connections does not multiply it", () => {
    const { room, join } = setup({ maxUpdatesPerSecond: 10, maxUpdateBurst: 20 });
    const sockets = Array.from({ length: 4 }, () => join("mallory")); // one token, four sockets
    const other = join("alice");
    const src = new Y.Doc();
    const next = () => {
      const sv = Y.encodeStateVector(src);
      src.getText("t").insert(0, "x");
      return encodeUpdate(Y.encodeStateAsUpdate(src, sv));
    };
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      if (room.handleFrame(sockets[i % 4]!, next(), 5000)?.code === CloseCode.tryAgainLater) refused++;
      else accepted++;
    }
    expect(accepted).toBe(20); // the burst, once, across all four
    expect(refused).toBe(20);
    // Another user has a budget of their own.
    expect(room.handleFrame(other, next(), 5000)).toBeUndefined();
  });

  it("awareness pays for its fan-out: a big state sent often to many receivers runs out of byte budget", () => {
    const { room, join } = setup({ maxAwarenessPerSecond: 1000, maxSyncBytesPerSecond: 1000, maxDocBytes: 64 * 1024 });
    const sender = join("sender");
    for (let i = 0; i < 40; i++) join(`r${i}`);
    const state = JSON.stringify({ pad: "p".repeat(10_000) });
    let sent = 0;
    let close;
    for (let clock = 1; clock < 100 && !close; clock++) {
      close = room.handleFrame(sender, encodeAwareness([{ clientId: 1, clock, stateJson: state }]), 1000);
      if (!close) sent++;
    }
    // 41 receivers x ~10 KB = ~410 KB per message against a 128 KiB burst: cut off within a message or two.
    expect(close).toMatchObject({ code: CloseCode.tryAgainLater });
    expect(sent).toBeLessThanOrEqual(2);
  });

  it("size-cap lockout: content inserted and deleted no longer counts once the log is folded", () => {
    const { room, store, join } = setup({ maxDocBytes: 20_000 });
    const a = join("a");
    const src = new Y.Doc();
    const t = src.getText("t");
    const send = () => {
      const sv = Y.encodeStateVector(room.doc);
      return room.handleFrame(a, encodeUpdate(Y.encodeStateAsUpdate(src, sv)));
    };
    // Insert and delete ~5 KB three times, then pad to just under the cap: the log holds ~17 KB of
    // bytes, most of them deleted content, in a handful of entries (far from the compaction policy).
    for (let i = 0; i < 3; i++) {
      t.insert(0, "d".repeat(5000));
      expect(send()).toBeUndefined();
      t.delete(0, 5000);
      expect(send()).toBeUndefined();
    }
    t.insert(0, "p".repeat(4000));
    expect(send()).toBeUndefined();
    expect(store.log.length).toBeLessThan(64);
    expect(room.storedBytes).toBeGreaterThan(19_000);
    // A later write that fits in the document's real size is accepted: the log was folded first.
    t.insert(4000, "q".repeat(1500));
    expect(send()).toBeUndefined();
    expect(room.doc.getText("t").toString()).toBe("p".repeat(4000) + "q".repeat(1500));
    expect(room.storedBytes).toBeLessThan(20_000);
  });

  it("whole-document requests are paid for: alternating empty step 1 and query-awareness on a 200 KB document", () => {
    const { room, join } = setup();
    const w = join("w");
    const src = new Y.Doc();
    src.getText("t").insert(0, "z".repeat(200_000));
    expect(room.handleFrame(w, encodeUpdate(Y.encodeStateAsUpdate(src)), 0)).toBeUndefined();
    expect(room.handleFrame(w, encodeAwareness([{ clientId: 1, clock: 1, stateJson: JSON.stringify({ name: "w" }) }]), 0)).toBeUndefined();
    const reader = join("reader"); // any credential can ask: a read token
    const step1 = encodeSyncStep1(new Uint8Array([0]));
    const query = new Uint8Array([MessageType.queryAwareness]);
    let answered = 0;
    let close;
    for (let i = 0; i < 5000 && !close; i++) {
      close = room.handleFrame(reader, i % 2 === 0 ? step1 : query, 1000);
      if (!close && i % 2 === 0) answered++;
    }
    // The burst (2 x MAX_DOC_BYTES) pays for about 80 whole-document answers, not 2,500; then 1013.
    expect(close).toMatchObject({ code: CloseCode.tryAgainLater });
    expect(answered).toBeLessThan(100);
  });

  it("updates per second: a flood is closed with 1013 (retried) once its burst is spent; a polite writer is not", () => {
    const { room, join } = setup({ maxUpdatesPerSecond: 10, maxUpdateBurst: 20 });
    const flood = join("flood");
    const polite = join("polite");
    const src = new Y.Doc();
    const next = () => {
      const sv = Y.encodeStateVector(src);
      src.getText("t").insert(0, "x");
      return encodeUpdate(Y.encodeStateAsUpdate(src, sv));
    };
    let closedAt = -1;
    for (let i = 0; i < 100 && closedAt < 0; i++) if (room.handleFrame(flood, next(), 5000)?.code === CloseCode.tryAgainLater) closedAt = i;
    expect(closedAt).toBe(20); // the burst
    for (let s = 0; s < 30; s++) for (let i = 0; i < 10; i++) expect(room.handleFrame(polite, next(), 10_000 + s * 1000 + i * 100)).toBeUndefined();
  });

  it("awareness per second: a flood is closed with 1013 once its burst (10x the rate) is spent", () => {
    const { room, join } = setup({ maxAwarenessPerSecond: 2 });
    const a = join("a");
    const codes: (number | undefined)[] = [];
    for (let clock = 1; clock <= 22; clock++) codes.push(room.handleFrame(a, encodeAwareness([{ clientId: 7, clock, stateJson: "{}" }]), 1000)?.code);
    expect(codes.slice(0, 20).every((c) => c === undefined)).toBe(true);
    expect(codes[20]).toBe(CloseCode.tryAgainLater);
  });

  it("awareness ids per connection: a frame with 1,000 new ids closes the sender with 4413 and changes nothing", () => {
    const { room, join } = setup();
    const reader = join("reader");
    const other = join("other");
    const sent = other.sent.length;
    const state = JSON.stringify({ pad: "p".repeat(900) });
    const entries = Array.from({ length: 1000 }, (_, i) => ({ clientId: 10_000 + i, clock: 1, stateJson: state }));
    expect(room.handleFrame(reader, encodeAwareness(entries))).toMatchObject({ code: CloseCode.tooLarge });
    expect(other.sent.length).toBe(sent);
    const late = join("late");
    expect(late.sent).toHaveLength(1); // sync step 1 only: the room kept no awareness state
    // A stock client (one id) is unaffected.
    expect(room.handleFrame(other, encodeAwareness([{ clientId: 5, clock: 1, stateJson: "{}" }]))).toBeUndefined();
  });

  it("awareness bytes per document: past the room's cap the newcomer gets 1013 (retried); removals always pass", () => {
    const { room, join } = setup({ maxAwarenessBytesPerDoc: 10_000, maxAwarenessPerSecond: 1000 });
    const state = JSON.stringify({ pad: "p".repeat(3000) });
    const people = Array.from({ length: 3 }, (_, i) => join(`p${i}`));
    people.forEach((p, i) => expect(room.handleFrame(p, encodeAwareness([{ clientId: i + 1, clock: 1, stateJson: state }]))).toBeUndefined());
    const fourth = join("fourth");
    expect(room.handleFrame(fourth, encodeAwareness([{ clientId: 4, clock: 1, stateJson: state }]))).toMatchObject({ code: CloseCode.tryAgainLater });
    // Someone leaves, and there is room again.
    expect(room.handleFrame(people[0]!, encodeAwareness([{ clientId: 1, clock: 2, stateJson: "null" }]))).toBeUndefined();
    const fifth = join("fifth");
    expect(room.handleFrame(fifth, encodeAwareness([{ clientId: 5, clock: 1, stateJson: state }]))).toBeUndefined();
  });

  it("awareness state size: a state over the limit closes with 4413 and is not stored or sent", () => {
    const { room, join } = setup({ maxAwarenessStateBytes: 1024 });
    const a = join("a");
    const b = join("b");
    const sent = b.sent.length;
    const big = JSON.stringify({ blob: "x".repeat(2000) });
    expect(room.handleFrame(a, encodeAwareness([{ clientId: 7, clock: 1, stateJson: big }]))).toMatchObject({ code: CloseCode.tooLarge });
    expect(b.sent.length).toBe(sent);
    const c = join("c");
    expect(c.sent).toHaveLength(1); // sync step 1 only: no awareness to show
    expect(room.handleFrame(a, encodeAwareness([{ clientId: 7, clock: 1, stateJson: JSON.stringify({ name: "ok" }) }]))).toBeUndefined();
  });

  it("awareness for someone else's client id is ignored: no update, no removal, no broadcast", () => {
    const { room, join, leave } = setup();
    const owner = join("owner");
    const other = join("other");
    room.handleFrame(owner, encodeAwareness([{ clientId: 42, clock: 1, stateJson: '{"name":"owner"}' }]));
    const sentToOwner = owner.sent.length;
    // Overwrite with a newer clock, then try to remove it: both ignored.
    expect(room.handleFrame(other, encodeAwareness([{ clientId: 42, clock: 9, stateJson: '{"name":"impostor"}' }]))).toBeUndefined();
    expect(room.handleFrame(other, encodeAwareness([{ clientId: 42, clock: 10, stateJson: "null" }]))).toBeUndefined();
    expect(owner.sent.length).toBe(sentToOwner);
    expect(other.clientIds.has(42)).toBe(false);
    // A newcomer still sees the owner's state.
    const late = join("late");
    const greeting = late.sent.at(-1)!;
    expect(new TextDecoder().decode(greeting)).toContain('"name":"owner"');
    // When the impostor leaves nothing of the owner's is removed.
    leave(other);
    expect(new TextDecoder().decode(join("later").sent.at(-1)!)).toContain('"name":"owner"');
  });

  it("a read connection's updates are ignored without counting against anything", () => {
    const { room, store } = setup({ maxClientIdsPerUser: 1 });
    const r = conn("r", "read");
    room.greet(r);
    const before = snapshot(room, store);
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MessageType.sync);
    encoding.writeVarUint(e, SyncType.update);
    encoding.writeVarUint8Array(e, manyClientsUpdate(50));
    expect(room.handleFrame(r, encoding.toUint8Array(e))).toBeUndefined();
    expect(snapshot(room, store)).toEqual(before);
  });
});
