/**
 * Presence with stock-provider peers (test/helpers/stock-peer.ts: y-protocols' Awareness wired as
 * y-websocket.js wires it, echo included) and a fake clock: who sees whom, what is ignored, what is
 * counted, and when batches go out.
 */
import { afterEach, describe, expect, it } from "vitest";
import { decodeFrame, encodeAwareness } from "../../../src/sync/frames";
import { CloseCode } from "../../../src/sync/close-codes";
import { DEFAULT_LIMITS, type RoomLimits } from "../../../src/sync/ports";
import { MAX_CHANGE_GAP_MS, MAX_RENEWAL_DELAY_MS, pacing, RECIPIENTS_PER_TICK, RENEWAL_BUCKETS, renewalTicks, SMALL_ROOM } from "../../../src/sync/presence-pacing";
import { TOMBSTONE_MS } from "../../../src/sync/presence";
import { FakeClock } from "../../helpers/fake-clock";
import { conn, MemoryStore, MemoryTransport, testRoom, type TestConn } from "../../helpers/memory-room";
import { settle, StockPeer } from "../../helpers/stock-peer";

let peers: StockPeer[] = [];
afterEach(() => {
  for (const p of peers) p.awareness.destroy();
  peers = [];
});

function setup(limits: RoomLimits = DEFAULT_LIMITS) {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const transport = new MemoryTransport(store);
  const room = testRoom(store, transport, limits, clock);
  const peer = (i: number) => {
    const p = new StockPeer(`p${i}`, 1000 + i, room, transport);
    peers.push(p);
    return p;
  };
  /** Lets time pass in steps, the peers answering everything that arrives on the way. */
  const pass = (ms: number, step = 10) => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(Math.min(step, ms - t));
      settle(peers);
    }
  };
  return { clock, store, transport, room, peer, pass };
}

const awarenessSent = (c: TestConn) => c.sent.filter((m) => m[0] === 1).length;
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => 1000 + from + i);

describe("presence pacing (the rule)", () => {
  it("small rooms send at once; larger ones coalesce, within the bounds that keep peers alive", () => {
    expect(pacing(1)).toEqual({ changeGapMs: 0, renewalDelayMs: 0 });
    expect(pacing(SMALL_ROOM)).toEqual({ changeGapMs: 0, renewalDelayMs: 0 });
    const at990 = pacing(990);
    expect(at990.changeGapMs).toBeGreaterThan(100);
    expect(at990.changeGapMs).toBeLessThanOrEqual(MAX_CHANGE_GAP_MS);
    expect(at990.renewalDelayMs).toBeLessThanOrEqual(MAX_RENEWAL_DELAY_MS);
    // A stock client renews every 15–18 s and peers drop it after 30 s: the wait must leave room.
    expect(18_000 + MAX_RENEWAL_DELAY_MS).toBeLessThan(25_000);
    let last = pacing(SMALL_ROOM + 1);
    for (const n of [50, 100, 250, 500, 990, 5000]) {
      const p = pacing(n);
      expect(p.changeGapMs).toBeGreaterThanOrEqual(last.changeGapMs);
      expect(p.renewalDelayMs).toBeGreaterThanOrEqual(last.renewalDelayMs);
      last = p;
    }
  });
});

describe("renewal ticks (the rule)", () => {
  it("every group is served once per renewal delay, a tick reaching about RECIPIENTS_PER_TICK people", () => {
    for (const n of [SMALL_ROOM + 1, 50, 100, 250, 500, 990, 1500, 5000]) {
      const p = pacing(n);
      const { bucketsPerTick, everyMs } = renewalTicks(p, n);
      expect(bucketsPerTick).toBeGreaterThanOrEqual(1);
      expect(bucketsPerTick).toBeLessThanOrEqual(RENEWAL_BUCKETS);
      // A round of ticks covers every group, in no more than the renewal delay.
      const ticks = Math.ceil(RENEWAL_BUCKETS / bucketsPerTick);
      expect(ticks * bucketsPerTick).toBeGreaterThanOrEqual(RENEWAL_BUCKETS);
      expect(ticks * everyMs).toBeLessThanOrEqual(p.renewalDelayMs + 1e-9);
      // People per tick: the room's share of the groups a tick serves.
      const perTick = (n * bucketsPerTick) / RENEWAL_BUCKETS;
      if (n <= RECIPIENTS_PER_TICK) expect(bucketsPerTick).toBe(RENEWAL_BUCKETS);
      else if (n <= RENEWAL_BUCKETS * RECIPIENTS_PER_TICK) expect(perTick).toBeLessThanOrEqual(2 * RECIPIENTS_PER_TICK);
      // Past that, one group per tick, ticks as often as the delay allows.
      else expect(bucketsPerTick).toBe(1);
    }
  });
});

describe("presence with stock providers", () => {
  it("20 stock providers join one by one: nobody is closed, everyone sees everyone, echoes are not counted or re-sent", () => {
    const { peer, pass } = setup();
    for (let i = 0; i < 20; i++) {
      peer(i).join();
      pass(50);
    }
    pass(MAX_RENEWAL_DELAY_MS);
    const all = ids(0, 20);
    for (const p of peers) {
      expect(p.closed).toBeUndefined();
      expect(p.sees()).toEqual(all);
      // Its own id only, though its echoes named everyone.
      expect([...p.conn.clientIds.keys()]).toEqual([p.awareness.clientID]);
    }
    // The last joiner's first echo named everyone present.
    expect(decodeFrame(peers[19]!.uploads.at(-1)!)).toMatchObject({ ok: true, value: { kind: "awareness" } });
    const echoed = peers[19]!.uploads.map((u) => decodeFrame(u)).flatMap((f) => (f.ok && f.value.kind === "awareness" ? f.value.entries : []));
    expect(echoed.length).toBeGreaterThan(19);
  });

  it("300 stock providers join in bursts of 50: nobody is closed and everyone sees all 300", () => {
    const { peer, pass } = setup();
    for (let b = 0; b < 6; b++) {
      for (let i = 0; i < 50; i++) peer(b * 50 + i).join();
      pass(400, 50);
    }
    pass(MAX_RENEWAL_DELAY_MS, 100);
    const all = ids(0, 300);
    for (const p of peers) {
      expect(p.closed).toBeUndefined();
      expect(p.sees()).toEqual(all);
      expect(p.conn.clientIds.size).toBe(1);
    }
  });

  it("a change in a large room is batched: one message per recipient per flush, however many changed", () => {
    const { peer, pass, clock } = setup();
    for (let i = 0; i < 100; i++) peer(i).join();
    pass(MAX_RENEWAL_DELAY_MS * 2, 50);
    const gap = pacing(100).changeGapMs;
    const before = peers.map((p) => awarenessSent(p.conn));
    // A first change after a quiet time goes out at once.
    peers[0]!.awareness.setLocalStateField("cursor", 1);
    peers[0]!.step();
    expect(peers.map((p) => awarenessSent(p.conn) - before[peers.indexOf(p)]!)).toEqual(peers.map(() => 1));
    // Ten more within the gap wait for its end, and travel together.
    for (let i = 1; i <= 10; i++) {
      peers[i]!.awareness.setLocalStateField("cursor", i);
      peers[i]!.step();
    }
    expect(awarenessSent(peers[50]!.conn) - before[50]!).toBe(1);
    clock.advance(gap);
    expect(awarenessSent(peers[50]!.conn) - before[50]!).toBe(2);
    const last = decodeFrame(peers[50]!.conn.sent.at(-1)!);
    expect(last.ok && last.value.kind === "awareness" && last.value.entries.map((e) => e.clientId).sort()).toEqual(ids(1, 10));
  });

  it("a change flush carries changes only: with renewals held, a cursor move reaches everyone as one entry and comes back as one", () => {
    const { peer, pass, clock } = setup();
    for (let i = 0; i < 300; i++) peer(i).join();
    pass(MAX_RENEWAL_DELAY_MS * 2, 50);
    // Half the room renews: held for their groups' ticks.
    for (let i = 100; i < 250; i++) peers[i]!.renew();
    for (let i = 100; i < 250; i++) peers[i]!.step();
    clock.advance(1);
    const mover = peers[0]!;
    const before = peers.map((p) => p.conn.sent.length);
    const uploadsBefore = peers.map((p) => p.uploads.length);
    mover.awareness.setLocalStateField("cursor", 7);
    mover.step();
    const entriesOf = (m: Uint8Array) => {
      const f = decodeFrame(m);
      return f.ok && f.value.kind === "awareness" ? f.value.entries.map((e) => e.clientId) : [];
    };
    for (const [i, p] of peers.entries()) {
      // One message, the move alone (the renewals would have made it 151 entries).
      expect(p.conn.sent.slice(before[i]!).map(entriesOf)).toEqual([[mover.awareness.clientID]]);
    }
    settle(peers);
    // Every stock peer echoes what it applied: one entry each, not the room's pending renewals.
    for (const [i, p] of peers.entries()) {
      if (p === mover) continue;
      expect(p.awareness.getStates().get(mover.awareness.clientID)).toMatchObject({ cursor: 7 });
      expect(p.uploads.slice(uploadsBefore[i]!).map((u) => entriesOf(u).length)).toEqual([1]);
    }
    // The renewals still reach everyone within the renewal delay.
    pass(pacing(300).renewalDelayMs, 50);
    for (const p of peers) for (let r = 100; r < 250; r++) expect(p.awareness.meta.get(1000 + r)?.clock).toBe(peers[r]!.awareness.meta.get(1000 + r)?.clock);
  });

  it("a cursor moving every second in a renewing room of 300: every move at everyone within the change gap, nobody times out", () => {
    const { peer, pass } = setup();
    for (let i = 0; i < 300; i++) peer(i).join();
    pass(1000, 50);
    const mover = peers[0]!;
    // The change gap, in the 10 ms steps time passes in; a step of the loop is 50 ms.
    const gap = Math.ceil(pacing(300).changeGapMs / 10) * 10;
    expect(gap).toBeLessThanOrEqual(50);
    for (let t = 0; t < 40_000; t += 50) {
      for (const [i, p] of peers.entries()) if ((t + i * 50) % 15_000 === 0) p.renew();
      if (t % 1000 === 0) {
        mover.awareness.setLocalStateField("cursor", t);
        mover.step();
        // Within the gap, at every peer.
        pass(gap, 10);
        for (const p of peers) expect(p.awareness.getStates().get(mover.awareness.clientID)).toMatchObject({ cursor: t });
        pass(50 - gap, 10);
      } else pass(50, 50);
    }
    for (const p of peers) {
      expect(p.sees()).toHaveLength(300);
      for (const q of peers)
        expect((q.awareness.meta.get(q.awareness.clientID)?.clock ?? 0) - (p.awareness.meta.get(q.awareness.clientID)?.clock ?? 0)).toBeLessThanOrEqual(1);
    }
  });

  it("renewals in a large room wait, in groups, and still reach everyone well inside the 30 s timeout", () => {
    const { peer, pass, clock } = setup();
    for (let i = 0; i < 200; i++) peer(i).join();
    pass(MAX_RENEWAL_DELAY_MS * 2, 50);
    const { renewalDelayMs } = pacing(200);
    const before = peers.map((p) => awarenessSent(p.conn));
    const clocks = (p: StockPeer, id: number) => p.awareness.meta.get(id)?.clock;
    // A quarter of the room renews at once: nothing is sent to anyone yet.
    for (let i = 0; i < 50; i++) peers[i]!.renew();
    for (let i = 0; i < 50; i++) peers[i]!.step();
    expect(peers.every((p, i) => awarenessSent(p.conn) === before[i])).toBe(true);
    // Within the delay every peer has every renewal, in one message.
    clock.advance(renewalDelayMs);
    settle(peers);
    for (const [i, p] of peers.entries()) {
      expect(awarenessSent(p.conn) - before[i]!).toBe(1);
      for (let r = 0; r < 50; r++) expect(clocks(p, 1000 + r)).toBe(clocks(peers[r]!, 1000 + r));
    }
    // Groups: the first tick reaches a few groups, about RECIPIENTS_PER_TICK people.
    const b2 = peers.map((p) => awarenessSent(p.conn));
    peers[0]!.renew();
    peers[0]!.step();
    const { bucketsPerTick, everyMs } = renewalTicks(pacing(200), 200);
    clock.advance(everyMs);
    const reached = peers.filter((p, i) => awarenessSent(p.conn) > b2[i]!).length;
    expect(reached).toBeGreaterThan(0);
    expect(reached).toBeLessThanOrEqual(bucketsPerTick * Math.ceil(200 / RENEWAL_BUCKETS));
  });

  it("nobody times out at a peer while everyone renews as y-protocols does, in a room of 100", () => {
    const { peer, pass } = setup();
    for (let i = 0; i < 100; i++) peer(i).join();
    pass(1000, 50);
    // 40 s of renewals, every 15 s at each peer's own phase.
    for (let t = 0; t < 40_000; t += 100) {
      for (const [i, p] of peers.entries()) if ((t + i * 100) % 15_000 === 0) p.renew();
      pass(100, 100);
    }
    // Every peer holds every other's latest clock, or the one before while a renewal is still held.
    for (const p of peers) {
      expect(p.sees()).toHaveLength(100);
      for (const q of peers)
        expect((q.awareness.meta.get(q.awareness.clientID)?.clock ?? 0) - (p.awareness.meta.get(q.awareness.clientID)?.clock ?? 0)).toBeLessThanOrEqual(1);
    }
  });

  it("a leaving client is removed everywhere within the change gap, and a late echo of it brings nothing back", () => {
    const { peer, pass, clock, room } = setup();
    for (let i = 0; i < 60; i++) peer(i).join();
    pass(MAX_RENEWAL_DELAY_MS * 2, 50);
    const leaver = peers[7]!;
    const id = leaver.awareness.clientID;
    const lastState = encodeAwareness([{ clientId: id, clock: leaver.awareness.meta.get(id)!.clock, stateJson: JSON.stringify(leaver.awareness.getLocalState()) }]);
    leaver.leave();
    clock.advance(pacing(59).changeGapMs);
    settle(peers);
    for (const p of peers) if (p !== leaver) expect(p.sees()).not.toContain(id);
    // An echo of its last state, crossing the removal, from a peer that holds an id already: ignored.
    const other = peers[3]!;
    expect(room.handleFrame(other.conn, lastState)).toBeUndefined();
    expect(other.conn.clientIds.has(id)).toBe(false);
    expect(room.awarenessState(id)).toBeUndefined();
    pass(TOMBSTONE_MS / 2, 500);
    for (const p of peers) if (p !== leaver) expect(p.sees()).not.toContain(id);
  });

  it("a client coming back after leaving is seen again at once (the room corrects its clock as y-protocols expects)", () => {
    const { peer, pass, room, transport } = setup();
    for (let i = 0; i < 3; i++) peer(i).join();
    pass(100);
    const back = peers[1]!;
    const id = back.awareness.clientID;
    // The socket drops; the stock provider keeps its own state and clock and reconnects.
    transport.conns.delete(back.conn);
    room.disconnect(back.conn);
    pass(100);
    expect(peers[0]!.sees()).not.toContain(id);
    const again = new StockPeer("again", id, room, transport);
    peers.push(again);
    again.awareness.setLocalState(back.awareness.getLocalState());
    again.awareness.meta.set(id, { clock: back.awareness.meta.get(id)!.clock, lastUpdated: Date.now() });
    back.awareness.destroy();
    peers.splice(1, 1);
    again.join();
    pass(200);
    expect(again.closed).toBeUndefined();
    expect(peers[0]!.sees()).toContain(id);
    expect(peers[2]!.sees()).toContain(id);
  });

  it("what a connection claims as its own stays bounded; an impostor's entries for others' ids change nothing", () => {
    const { peer, pass, room, transport } = setup();
    for (let i = 0; i < 30; i++) peer(i).join();
    pass(MAX_RENEWAL_DELAY_MS, 50);
    const hostile = conn("hostile");
    transport.conns.add(hostile);
    room.greet(hostile);
    // Everyone else's ids at newer clocks with new states: none is its to set.
    const forged = peers.map((p) => ({ clientId: p.awareness.clientID, clock: 999, stateJson: '{"user":"forged"}' }));
    expect(room.handleFrame(hostile, encodeAwareness(forged))).toBeUndefined();
    expect(hostile.clientIds.size).toBe(0);
    expect(room.awarenessState(peers[0]!.awareness.clientID)).toBe(JSON.stringify({ user: "p0" }));
    // 16 new ids of its own are allowed; a 17th closes it for good (4413), and nothing of that message is kept.
    expect(room.handleFrame(hostile, encodeAwareness(ids(5000, 16).map((clientId) => ({ clientId, clock: 1, stateJson: "{}" }))))).toBeUndefined();
    expect(hostile.clientIds.size).toBe(16);
    expect(room.handleFrame(hostile, encodeAwareness([{ clientId: 9999, clock: 1, stateJson: "{}" }]))).toMatchObject({ code: CloseCode.tooLarge });
    expect(room.awarenessState(9999)).toBeUndefined();
  });

  it("a state that is not JSON is refused (1002) and nothing of its message is kept", () => {
    const { room, transport } = setup();
    const c = conn("c");
    transport.conns.add(c);
    room.greet(c);
    const refused = room.handleFrame(
      c,
      encodeAwareness([
        { clientId: 1, clock: 1, stateJson: "{}" },
        { clientId: 2, clock: 1, stateJson: "{" },
      ]),
    );
    expect(refused).toMatchObject({ code: CloseCode.protocolError });
    expect(room.awarenessState(1)).toBeUndefined();
  });

  it("an idle room sets no timer once everything is sent (the object may hibernate)", () => {
    const { peer, pass, clock } = setup();
    for (let i = 0; i < 40; i++) peer(i).join();
    pass(MAX_RENEWAL_DELAY_MS * 2, 50);
    expect(clock.pending).toBe(0);
    peers[0]!.renew();
    peers[0]!.step();
    expect(clock.pending).toBe(1);
    pass(MAX_RENEWAL_DELAY_MS, 50);
    expect(clock.pending).toBe(0);
  });
});
