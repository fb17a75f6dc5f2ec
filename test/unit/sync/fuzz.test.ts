/**
 * 100,000+ hostile frames (random, truncated, huge varints, wrong types, mutations of real frames from a
 * trace, valid framing around garbage updates) through the codec and through RoomCore with the in-memory
 * store: nothing throws, a refused frame changes nothing, close codes are the contract's.
 * FUZZ_FRAMES and FUZZ_SEED override the count and the seed.
 */
import { describe, expect, inject, it } from "vitest";
import * as Y from "yjs";
import { decodeFrame } from "../../../src/sync/frames";
import { CloseCode } from "../../../src/sync/close-codes";
import { DEFAULT_LIMITS } from "../../../src/sync/ports";
import { hostileFrame, prng, realFrames } from "../../helpers/fuzz";
import { conn, MemoryStore, MemoryTransport, testRoom } from "../../helpers/memory-room";
import type { SequentialTrace } from "../../helpers/traces";

const knobs = inject("knobs");
const FRAMES = knobs.FUZZ_FRAMES ?? 100_000;
const SEED = knobs.FUZZ_SEED ?? 0x5eed;
/** Frames per room: each epoch starts from a fresh store holding the same real document. */
const EPOCH = 1000;
const CONTRACT_CODES = new Set<number>(Object.values(CloseCode));
const trace = inject("traces").friendsforever_flat as SequentialTrace;
const real = realFrames(trace, 300);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

describe(`fuzzed frames (${FRAMES} per run, seed ${SEED})`, () => {
  it("decodeFrame never throws; an update it lets through that Yjs still rejects is refused by the room, changing nothing", () => {
    const rng = prng(SEED);
    const failures: string[] = [];
    const missed: string[] = [];
    let accepted = 0;
    for (let i = 0; i < FRAMES && failures.length <= 20; i++) {
      const frame = hostileFrame(rng, real);
      let result;
      try {
        result = decodeFrame(frame);
      } catch (e) {
        failures.push(`threw on ${hex(frame)}: ${String(e)}`);
        continue;
      }
      if (!result.ok) {
        if (typeof result.error.reason !== "string") failures.push(`no reason for ${hex(frame)}`);
        continue;
      }
      accepted++;
      const f = result.value;
      if (f.kind !== "sync-update" && f.kind !== "sync-step2") continue;
      try {
        Y.applyUpdate(new Y.Doc(), f.update);
      } catch {
        // The validator let it through, Yjs throws: the room's last line of defence must refuse it whole.
        missed.push(hex(f.update));
        const store = new MemoryStore();
        const transport = new MemoryTransport(store);
        const room = testRoom(store, transport);
        const a = conn("a");
        transport.conns.add(a);
        const close = room.handleFrame(a, frame, 0);
        if (close?.code !== CloseCode.protocolError) failures.push(`Yjs rejects ${hex(f.update)} but the room answered ${JSON.stringify(close)}`);
        if (store.log.length !== 0 || !same(room.stateVector(), new Uint8Array([0]))) failures.push(`room kept part of ${hex(f.update)}`);
      }
    }
    expect(failures).toEqual([]);
    // The generator reaches past the framing: some frames decode (mutations that stay valid).
    expect(accepted).toBeGreaterThan(FRAMES / 100);
    if (missed.length > 0) console.info(`${missed.length} updates pass validateUpdate but make Yjs throw, e.g. ${missed.slice(0, 3).join(", ")}`);
  });

  it("RoomCore: no exception escapes, a refused frame changes nothing, closes use the contract's codes", () => {
    const rng = prng(SEED + 1);
    const failures: string[] = [];
    const codes = new Map<number, number>();
    let now = 1_000_000;
    for (let epoch = 0; epoch * EPOCH < FRAMES && failures.length <= 20; epoch++) {
      const store = new MemoryStore();
      const transport = new MemoryTransport(store);
      const room = testRoom(store, transport, DEFAULT_LIMITS);
      const join = (name: string) => {
        const c = conn(name);
        transport.conns.add(c);
        room.greet(c);
        return c;
      };
      const observer = join("observer");
      // A real document to start from: the first trace frames, sent by an honest writer.
      const honest = join("honest");
      for (const f of real.slice(0, 50)) expect(room.handleFrame(honest, f, now)).toBeUndefined();
      let attacker = join("attacker");
      for (let i = epoch * EPOCH; i < Math.min(FRAMES, (epoch + 1) * EPOCH); i++) {
        const frame = hostileFrame(rng, real);
        const stateVector = room.stateVector();
        // Only a decodable update can reach the document: its whole state is compared for those.
        const pre = decodeFrame(frame);
        const fullBefore = pre.ok && (pre.value.kind === "sync-update" || pre.value.kind === "sync-step2") ? room.encodeState() : undefined;
        const logLength = store.log.length;
        const snapshot = store.snapshot;
        const observed = observer.sent.length;
        now += 1000; // one frame a second: the rate budgets never interfere
        let close;
        try {
          close = room.handleFrame(attacker, frame, now);
        } catch (e) {
          failures.push(`threw on ${hex(frame)}: ${String(e)}`);
          close = { code: -1, reason: "threw" };
        }
        if (!close) continue;
        codes.set(close.code, (codes.get(close.code) ?? 0) + 1);
        if (!CONTRACT_CODES.has(close.code)) failures.push(`close code ${close.code} for ${hex(frame)}`);
        if (!same(room.stateVector(), stateVector)) failures.push(`refused frame changed the state vector: ${hex(frame)}`);
        if (fullBefore && !same(room.encodeState(), fullBefore)) failures.push(`refused frame changed the document: ${hex(frame)} epoch ${epoch}`);
        if (store.log.length !== logLength || store.snapshot !== snapshot) failures.push(`refused frame changed storage: ${hex(frame)}`);
        if (observer.sent.length !== observed) failures.push(`refused frame reached another client: ${hex(frame)}`);
        transport.conns.delete(attacker);
        room.disconnect(attacker);
        attacker = join(`attacker-${i}`);
      }
    }
    expect(failures).toEqual([]);
    // Most hostile frames are refused, with 1002; none with a code outside the contract.
    expect(codes.get(CloseCode.protocolError) ?? 0).toBeGreaterThan(FRAMES / 4);
  });
});
