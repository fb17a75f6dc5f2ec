/**
 * Conflict-resolution work (src/sync/merge-work.ts, through updateCost) against what Yjs really does.
 * The truth is counted inside Yjs: its conflict loop adds each item it compares to two sets, and nothing
 * else in an apply adds Items to a Set, so (Items added to Sets) / 2 is the loop's steps.
 * MERGE_RUNS and MERGE_SEED override the property test's number of runs and its (fixed) seed.
 */
import fc from "fast-check";
import * as encoding from "lib0/encoding";
import { describe, expect, inject, it } from "vitest";
import * as Y from "yjs";
import { DEFAULT_LIMITS } from "../../../../src/sync/ports";
import { placesWithoutWalk } from "../../../../src/sync/cost/merge-work";
import { loadMergeSteps, updateCost } from "../../../../src/sync/cost/update-cost";
import { craftEndClaims, craftUpdate, type Struct } from "../../../helpers/crafted-update";
import { applyPatches, type SequentialTrace } from "../../../helpers/traces";

const RUNS = inject("knobs").MERGE_RUNS ?? 60;
const SEED = inject("knobs").MERGE_SEED ?? 0x3e76e;

/** Applies `update` and returns the steps Yjs's conflict loop took. */
function applyCounting(doc: Y.Doc, update: Uint8Array): number {
  const add = Set.prototype.add;
  let items = 0;
  Set.prototype.add = function (this: Set<unknown>, value: unknown) {
    if (value instanceof Y.Item) items++;
    return add.call(this, value);
  } as typeof add;
  try {
    Y.applyUpdate(doc, update);
  } finally {
    Set.prototype.add = add;
  }
  return items / 2;
}

/** Predicted, then applied: the prediction (walks aside, which the sets do not see) must be what Yjs did. */
function expectExact(doc: Y.Doc, update: Uint8Array): number {
  const cost = updateCost(doc, update);
  const quick = placesWithoutWalk(doc, update);
  const truth = applyCounting(doc, update);
  expect(cost.mergeSteps - cost.mergeWalks).toBe(truth);
  // The constant-time check the room uses for typing never says "no walk" when Yjs walks.
  if (quick) expect(cost.mergeSteps).toBe(0);
  quickSaid += quick ? 1 : 0;
  predicted += cost.mergeSteps;
  return cost.mergeSteps;
}
/** Every step predicted so far, so a test can show it met real conflicts. */
let predicted = 0;
/** Updates the constant-time check let through. */
let quickSaid = 0;

const T = 1; // the text's author: below the attacker's id, so Yjs orders the attacker's inserts after its items
const endClaims = (n: number, chars: number) => craftEndClaims(n, chars, { textClient: T });

function textDoc(chars: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = T;
  doc.getText("t").insert(0, "x".repeat(chars));
  return doc;
}

function replay(trace: SequentialTrace, from: number, to: number, doc: Y.Doc): Y.Doc {
  const text = doc.getText("text");
  for (let i = from; i < to; i++) applyPatches(text, trace.txns[i]!.patches);
  return doc;
}

function withId(id: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = id;
  return doc;
}

describe("merge work: the steps of Yjs's conflict resolution, counted before applying", () => {
  it("the attack: inserts that claim to end the text walk everything after them, n² steps, over the per-update limit", () => {
    for (const n of [100, 300]) {
      const doc = textDoc(60_000);
      expect(expectExact(doc, endClaims(n, 60_000))).toBe(n * n);
    }
    // 2,000 of them are 14 KB on the wire and 4 million steps; with a limit the count stops just past it.
    const update = endClaims(2000, 600_000);
    expect(update.length).toBeLessThan(16_000);
    const limited = updateCost(textDoc(600_000), update, Infinity, DEFAULT_LIMITS.maxMergeStepsPerUpdate);
    expect(limited.mergeSteps).toBeGreaterThan(DEFAULT_LIMITS.maxMergeStepsPerUpdate);
    expect(limited.mergeSteps).toBeLessThan(DEFAULT_LIMITS.maxMergeStepsPerUpdate + 5_000);
  });

  it("honest traffic: typing costs nothing, offline re-syncs and whole documents far under the limit, all exact", () => {
    for (const name of ["friendsforever_flat", "sveltecomponent", "automerge-paper"]) {
      const trace = inject("traces")[name] as SequentialTrace;
      const n = trace.txns.length;
      // Live typing, one update per transaction.
      const live = new Y.Doc();
      const typist = withId(1);
      typist.on("update", (u: Uint8Array) => expect(expectExact(live, u)).toBe(0));
      const quickBefore = quickSaid;
      replay(trace, 0, Math.min(n, 3000), typist);
      // Keystrokes and deletions are recognised without counting.
      expect(quickSaid - quickBefore).toBeGreaterThan(Math.min(n, 3000) * 0.9);
      // Two people type the second half of the trace at the same places, one of them offline: the
      // worst honest conflict there is. Then each side receives the other's.
      const server = replay(trace, 0, n >> 1, withId(10));
      const offline = withId(11);
      Y.applyUpdate(offline, Y.encodeStateAsUpdate(server));
      replay(trace, n >> 1, n, offline);
      replay(trace, n >> 1, (3 * n) >> 2, server);
      const serverCopy = withId(12);
      Y.applyUpdate(serverCopy, Y.encodeStateAsUpdate(server));
      const resync = expectExact(server, Y.encodeStateAsUpdate(offline, Y.encodeStateVector(server)));
      const back = expectExact(offline, Y.encodeStateAsUpdate(serverCopy, Y.encodeStateVector(offline)));
      // A fresh load of the merged document (what a compaction's snapshot or a new client replays).
      const load = expectExact(new Y.Doc(), Y.encodeStateAsUpdate(server));
      expect(load).toBe(loadMergeSteps(Y.encodeStateAsUpdate(server)));
      for (const steps of [resync, back, load]) expect(steps).toBeLessThan(DEFAULT_LIMITS.maxMergeStepsPerUpdate / 10);
    }
  });

  it("structs that wait for a missing update are counted as walking the whole document now", () => {
    const doc = textDoc(1000);
    // Client 5's clock 0 is missing: its struct at clock 1 cannot be placed.
    const gap = craftUpdate([
      {
        client: 5,
        clock: 1,
        structs: [
          (e) => {
            encoding.writeUint8(e, 0x84);
            encoding.writeVarUint(e, T);
            encoding.writeVarUint(e, 3);
            encoding.writeVarString(e, "z");
          },
        ],
      },
    ]);
    expect(updateCost(doc, gap).mergeSteps).toBeGreaterThanOrEqual(1);
    Y.applyUpdate(doc, gap);
    expect(doc.store.pendingStructs).not.toBeNull();
  });

  it(`random concurrent edits on every kind of type, exchanged in random order: predicted exactly (${RUNS} runs, seed ${SEED})`, () => {
    const op = fc.record({
      who: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom("text", "format", "array", "map", "xml", "delete", "sync", "sync-all"),
      pos: fc.nat(),
      len: fc.integer({ min: 1, max: 4 }),
      to: fc.integer({ min: 0, max: 2 }),
      key: fc.constantFrom("a", "b", "c"),
    });
    let conflicts = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 120 }), (ops) => {
        const docs = [withId(3), withId(1), withId(2)];
        for (const o of ops) {
          const doc = docs[o.who]!;
          const text = doc.getText("t");
          const arr = doc.getArray<unknown>("a");
          const xml = doc.getXmlFragment("x");
          switch (o.kind) {
            case "text":
              text.insert(o.pos % (text.length + 1), "ab".slice(0, o.len % 2 ? 1 : 2), o.len > 2 ? { bold: true } : undefined);
              break;
            case "format":
              if (text.length > 0) text.format(o.pos % text.length, o.len, { italic: o.len % 2 === 0 ? true : null });
              break;
            case "array":
              arr.insert(o.pos % (arr.length + 1), o.len > 3 ? [new Y.Map([["k", o.pos]])] : [o.pos, "s"]);
              break;
            case "map":
              doc.getMap("m").set(o.key, o.pos);
              if (arr.length > 0 && arr.get(0) instanceof Y.Map) (arr.get(0) as Y.Map<unknown>).set(o.key, o.len);
              break;
            case "xml": {
              const at = o.pos % (xml.length + 1);
              if (o.len > 2) {
                const el = new Y.XmlElement("p");
                el.setAttribute("class", o.key);
                el.insert(0, [new Y.XmlText("hi")]);
                xml.insert(at, [el]);
              } else xml.insert(at, [new Y.XmlText("t")]);
              break;
            }
            case "delete":
              if (text.length > 0) text.delete(o.pos % text.length, Math.min(o.len, text.length - (o.pos % text.length)));
              if (arr.length > 0 && o.len > 2) arr.delete(o.pos % arr.length, 1);
              break;
            case "sync": {
              const to = docs[o.to]!;
              if (to !== doc) expectExact(to, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(to)));
              break;
            }
            case "sync-all":
              // Everything one peer has, from others' edits too: one update from several clients.
              for (const other of docs) if (other !== doc) expectExact(doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(doc)));
              break;
          }
        }
        // Converged: every peer gets everything, and a fresh load of it.
        for (const a of docs) for (const b of docs) if (a !== b) expectExact(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
        const before = predicted;
        expectExact(new Y.Doc(), Y.encodeStateAsUpdate(docs[0]!));
        conflicts += predicted - before;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The runs met real conflicts (walks Yjs took), not only edits that never collide.
    expect(conflicts).toBeGreaterThan(RUNS);
  });

  it(`hostile structs with any origins and right origins, from several clients: predicted exactly (${RUNS} runs, seed ${SEED})`, () => {
    const base = new Y.Doc();
    base.clientID = 1;
    base.getText("t").insert(0, "abcdefghij");
    const other = withId(4);
    Y.applyUpdate(other, Y.encodeStateAsUpdate(base));
    other.getText("t").insert(3, "XYZ");
    other.getText("t").insert(9, "Q");
    Y.applyUpdate(base, Y.encodeStateAsUpdate(other));
    const existing: [number, number][] = [];
    for (const [client, structs] of base.store.clients) {
      const end = Y.getState(base.store, client);
      for (let k = 0; k < end; k++) existing.push([client, k]);
      void structs;
    }
    const ref = fc.oneof(fc.constant(null), fc.constantFrom(...existing), fc.record({ earlier: fc.nat() }));
    const struct = fc.record({ client: fc.constantFrom(5, 6, 7), origin: ref, right: ref, text: fc.constantFrom("y", "yy", "yyy") });
    let exact = 0;
    let conflicted = 0;
    fc.assert(
      fc.property(fc.array(struct, { minLength: 1, maxLength: 40 }), (specs) => {
        // Each client's structs from clock 0 in order; "earlier" points at a struct already written.
        const clocks = new Map<number, number>();
        const written: [number, number][] = [];
        const groups = new Map<number, Struct[]>();
        const resolve = (r: (typeof specs)[number]["origin"]): [number, number] | null =>
          r === null ? null : Array.isArray(r) ? r : written.length > 0 ? written[r.earlier % written.length]! : null;
        for (const spec of specs) {
          const clock = clocks.get(spec.client) ?? 0;
          const origin = resolve(spec.origin);
          const right = resolve(spec.right);
          clocks.set(spec.client, clock + spec.text.length);
          written.push([spec.client, clock + spec.text.length - 1]);
          const list = groups.get(spec.client) ?? [];
          groups.set(spec.client, list);
          list.push((e) => {
            encoding.writeUint8(e, 4 | (origin ? 0x80 : 0) | (right ? 0x40 : 0));
            for (const id of [origin, right]) {
              if (id) for (const n of id) encoding.writeVarUint(e, n);
            }
            if (!origin && !right) {
              encoding.writeVarUint(e, 1); // the parent: root "t"
              encoding.writeVarString(e, "t");
            }
            encoding.writeVarString(e, spec.text);
          });
        }
        const update = craftUpdate([...groups].map(([client, structs]) => ({ client, structs })));
        const doc = new Y.Doc();
        Y.applyUpdate(doc, Y.encodeStateAsUpdate(base));
        const cost = updateCost(doc, update);
        let truth: number;
        try {
          truth = applyCounting(doc, update);
        } catch {
          return; // Yjs refuses it (the room then refuses it too, and drops what was integrated)
        }
        if (doc.store.pendingStructs) return; // waits for structs that never come: counted as a whole-document walk
        expect(cost.mergeSteps - cost.mergeWalks).toBe(truth);
        exact++;
        if (truth > 0) conflicted++;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(exact).toBeGreaterThan(RUNS / 4);
    expect(conflicted).toBeGreaterThan(RUNS / 10);
  });
});
