/**
 * updateCost (src/sync/update-cost.ts) against what Yjs really does: the delete-set bomb is counted, an
 * honest sync step 2 is not, the document is never touched, and the counts match the Items Yjs creates.
 */
import fc from "fast-check";
import * as encoding from "lib0/encoding";
import { describe, expect, inject, it } from "vitest";
import * as Y from "yjs";
import { SMALL_UNITS_PER_BYTE, SMALL_UPDATE_BYTES } from "../../../../src/sync/room-core";
import { validateUpdate } from "../../../../src/sync/cost/update-check";
import { docItemUnits, itemUnits, updateCost } from "../../../../src/sync/cost/update-cost";
import { applyPatches, type SequentialTrace } from "../../../helpers/traces";
import { craftChain, craftUpdate, type Struct } from "../../../helpers/crafted-update";

const A = 1;
const M = 7;

/** Structs in the document's store (Items and GCs): what splits and new structs add to. */
function countStructs(doc: Y.Doc): number {
  let n = 0;
  for (const structs of doc.store.clients.values()) n += structs.length;
  return n;
}

/**
 * Applies `update` and returns what Yjs created, measured inside the transaction: at its end Yjs merges
 * neighbours back together, which would hide splits that did happen.
 */
function applyAndMeasure(doc: Y.Doc, update: Uint8Array): { newStructs: number; deleted: number } {
  const before = countStructs(doc);
  let newStructs = 0;
  let deleted = 0;
  Y.transact(doc, (tr) => {
    Y.applyUpdate(doc, update);
    newStructs = countStructs(doc) - before;
    for (const items of tr.deleteSet.clients.values()) deleted += items.length; // one entry per item deleted
  });
  return { newStructs, deleted };
}

const update = craftUpdate;
/** A one-character string struct; origin and right origin are [client, clock] or null. */
function char(origin: [number, number] | null, right: [number, number] | null): Struct {
  return (e) => {
    encoding.writeUint8(e, (origin ? 0x80 : 0) | (right ? 0x40 : 0) | 4);
    if (origin) origin.forEach((v) => encoding.writeVarUint(e, v));
    if (right) right.forEach((v) => encoding.writeVarUint(e, v));
    if (!origin && !right) {
      encoding.writeVarUint(e, 1);
      encoding.writeVarString(e, "t");
    }
    encoding.writeVarString(e, "z");
  };
}
const chain = (n: number, info: number, content: Struct) => craftChain(M, n, info, content);

function textDoc(chars: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = A;
  doc.getText("t").insert(0, "x".repeat(chars));
  return doc;
}
const everyOther = (ranges: number) => update([], [{ client: A, ranges: Array.from({ length: ranges }, (_, i): [number, number] => [2 * i + 1, 1]) }]);

function fingerprint(doc: Y.Doc) {
  return {
    stateVector: Array.from(Y.encodeStateVector(doc)),
    structs: countStructs(doc),
    roots: [...doc.share.keys()],
    texts: [...doc.share.keys()].map((k) => doc.getText(k).toString()),
    pending: [doc.store.pendingStructs, doc.store.pendingDs],
  };
}

const trace = inject("traces").friendsforever_flat as SequentialTrace;
function typed(upTo: number, doc = new Y.Doc(), from = 0): Y.Doc {
  const text = doc.getText("text");
  for (let i = from; i < upTo; i++) applyPatches(text, trace.txns[i]!.patches);
  return doc;
}
const copy = (doc: Y.Doc) => {
  const c = new Y.Doc();
  Y.applyUpdate(c, Y.encodeStateAsUpdate(doc));
  return c;
};

describe("updateCost", () => {
  it("counts the delete-set bomb: every other character of a 60k-character text is two splits per range, as Yjs does", () => {
    const doc = textDoc(60_000);
    const bomb = everyOther(29_999);
    validateUpdate(bomb);
    const cost = updateCost(doc, bomb);
    expect(cost).toMatchObject({ structs: 0, deleteRanges: 29_999, splits: 59_998, newlyDeleted: 29_999 });
    expect(itemUnits(cost)).toBe(59_998);
    expect(applyAndMeasure(doc, bomb)).toEqual({ newStructs: 59_998, deleted: 29_999 });
  });

  it("stops counting past a limit: refusing a huge update costs no more than counting one at the limit", () => {
    const doc = textDoc(60_000);
    const cost = updateCost(doc, everyOther(29_999), 5000);
    expect(itemUnits(cost)).toBeGreaterThan(5000);
    expect(cost.deleteRanges).toBeLessThan(4000);
  });

  it("counts nothing for the same delete set a second time: the ranges fall on deleted items", () => {
    const doc = textDoc(60_000);
    const bomb = everyOther(29_999);
    Y.applyUpdate(doc, bomb);
    const cost = updateCost(doc, bomb);
    expect(cost).toMatchObject({ structs: 0, deleteRanges: 29_999, splits: 0, newlyDeleted: 0 });
    expect(itemUnits(cost)).toBe(0);
    expect(applyAndMeasure(doc, bomb)).toEqual({ newStructs: 0, deleted: 0 });
  });

  it("counts nothing for an honest sync step 2 from a typed document the server already has, though it carries the whole delete set", () => {
    const client = typed(trace.txns.length);
    const server = copy(client);
    for (const step2 of [Y.encodeStateAsUpdate(client, Y.encodeStateVector(server)), Y.encodeStateAsUpdate(client)]) {
      const cost = updateCost(server, step2);
      expect(cost.deleteRanges).toBeGreaterThan(100);
      expect(cost).toMatchObject({ structs: 0, splits: 0, newlyDeleted: 0 });
      expect(itemUnits(cost)).toBe(0);
    }
  });

  it("counts an offline client's step 2 exactly: its new structs and the splits its deletions cause", () => {
    const n = trace.txns.length;
    const server = typed(Math.floor(n * 0.9));
    const client = typed(n, copy(server), Math.floor(n * 0.9));
    const step2 = Y.encodeStateAsUpdate(client, Y.encodeStateVector(server));
    const cost = updateCost(server, step2);
    expect(cost.structs).toBeGreaterThan(0);
    expect(cost.splits).toBeGreaterThan(0);
    expect(applyAndMeasure(server, step2).newStructs).toBe(cost.structs + cost.splits);
    expect(server.getText("text").toString()).toBe(trace.endContent);
  });

  it("counts a pure insert at the end as one struct and no split", () => {
    const server = textDoc(10);
    const peer = copy(server);
    const updates: Uint8Array[] = [];
    peer.on("update", (u: Uint8Array) => updates.push(u));
    peer.getText("t").insert(10, "!");
    const cost = updateCost(server, updates[0]!);
    expect(cost).toMatchObject({ structs: 1, deleteRanges: 0, newlyDeleted: 0 });
    expect(cost.splits).toBeLessThanOrEqual(1);
    expect(applyAndMeasure(server, updates[0]!).newStructs).toBe(cost.structs + cost.splits);
  });

  it("never changes the document: state vector, content, structs, root types and pending parts stay as they were", () => {
    const doc = textDoc(1000);
    const updates = [
      everyOther(400),
      update([{ client: M, structs: [char([A, 10], [A, 20]), char([A, 500], null)] }]),
      update([{ client: M, structs: [char(null, null)] }]),
      update([], [{ client: 99, ranges: [[0, 5]] }]),
      chain(5, 7, (e) => encoding.writeVarUint(e, 1)),
      Y.encodeStateAsUpdate(typed(200)),
    ];
    const before = fingerprint(doc);
    for (const u of updates) updateCost(doc, u);
    expect(fingerprint(doc)).toEqual(before);
  });

  it("counts splits by origins pointing inside items, and an origin in a struct not yet arrived as one", () => {
    const doc = textDoc(100);
    const u = update([{ client: M, structs: [char([A, 10], [A, 11]), char([A, 20], [A, 40]), char([A, 99], null), char([55, 3], null)] }]);
    const cost = updateCost(doc, u);
    // A:10|11 splits once (both ends agree), A:20|21 and A:39|40 once each, A:99 is the end, 55:3 not there yet.
    expect(cost).toMatchObject({ structs: 4, splits: 4 });
  });

  it("charges a delete range whose structs have not arrived when it comes, 2 splits each: Yjs keeps it pending and applies it later", () => {
    const doc = textDoc(10);
    const u = update(
      [],
      [
        {
          client: 99,
          ranges: [
            [1, 1],
            [3, 1],
            [5, 1],
          ],
        },
      ],
    );
    expect(updateCost(doc, u)).toMatchObject({ deleteRanges: 3, splits: 6, newlyDeleted: 0 });
    Y.applyUpdate(doc, u);
    expect(doc.store.pendingDs).not.toBeNull();
  });

  it("counts shared types, new root names (once each), subdocuments and the copying of mergeable runs", () => {
    const doc = textDoc(10);
    expect(
      updateCost(
        doc,
        chain(3, 7, (e) => encoding.writeVarUint(e, 1)),
      ),
    ).toMatchObject({ structs: 3, types: 3, roots: 1 });
    expect(updateCost(doc, update([{ client: M, structs: [char(null, null), char(null, null)] }]))).toMatchObject({ structs: 2, roots: 0 });
    const roots = update([
      {
        client: M,
        structs: ["b", "c", "b"].map(
          (name): Struct =>
            (e) => {
              encoding.writeUint8(e, 4);
              encoding.writeVarUint(e, 1);
              encoding.writeVarString(e, name);
              encoding.writeVarString(e, "z");
            },
        ),
      },
    ]);
    expect(updateCost(doc, roots)).toMatchObject({ structs: 3, roots: 2 });
    let g = 0;
    const subdocs = chain(4, 9, (e) => {
      encoding.writeVarString(e, `g${g++}`);
      encoding.writeUint8(e, 118);
      encoding.writeVarUint(e, 0);
    });
    const subCost = updateCost(doc, subdocs);
    expect(subCost).toMatchObject({ structs: 4, subdocs: 4 });
    expect(itemUnits(subCost)).toBe(4 + 7 * 4 + 2);
    // Ten one-element ContentAny structs in a run: Yjs merges them right to left, copying 2 + 3 + ... + 10.
    const run = chain(10, 8, (e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeUint8(e, 126);
    });
    expect(updateCost(doc, run)).toMatchObject({ structs: 10, mergeCopies: 54 });
    Y.applyUpdate(doc, run);
    expect(doc.store.clients.get(M)!.length).toBe(1); // merged into one item, as counted
  });

  it("no update of at most SMALL_UPDATE_BYTES allocates more than SMALL_UNITS_PER_BYTE units a byte (the room's bound for typing)", () => {
    const doc = textDoc(10_000);
    let g = 0;
    const dense: Uint8Array[] = [];
    for (let n = 1; n <= 40; n++) {
      dense.push(chain(n, 7, (e) => encoding.writeVarUint(e, 1))); // shared types (maps) in a chain
      dense.push(chain(n, 8, (e) => (encoding.writeVarUint(e, 1), encoding.writeUint8(e, 126)))); // a ContentAny run Yjs merges
      dense.push(
        chain(n, 9, (e) => {
          encoding.writeVarString(e, `g${g++}`);
          encoding.writeUint8(e, 118);
          encoding.writeVarUint(e, 0);
        }),
      ); // subdocuments
      dense.push(everyOther(n)); // delete ranges that split
      dense.push(update([{ client: M, structs: Array.from({ length: n }, (_, i) => char([A, 2 * i + 1], null)) }])); // inserts that split
      dense.push(
        update([
          {
            client: M,
            structs: Array.from({ length: n }, (_, i) => (e: encoding.Encoder) => {
              encoding.writeUint8(e, 7);
              encoding.writeVarUint(e, 1);
              encoding.writeVarString(e, `r${i}`); // a new root name each
              encoding.writeVarUint(e, 1);
            }),
          },
        ]),
      );
    }
    const small = dense.filter((u) => u.length <= SMALL_UPDATE_BYTES);
    expect(small.length).toBeGreaterThan(50);
    for (const u of small) {
      validateUpdate(u);
      expect(itemUnits(updateCost(doc, u)), `${u.length} bytes`).toBeLessThanOrEqual(SMALL_UNITS_PER_BYTE * u.length);
    }
  });

  it("docItemUnits counts a document's structs, weighted like itemUnits", () => {
    const doc = textDoc(100);
    expect(docItemUnits(doc)).toBe(1 + 2); // one struct, one root type
    const maps = chain(3, 7, (e) => encoding.writeVarUint(e, 1));
    const units = itemUnits(updateCost(doc, maps));
    const before = docItemUnits(doc);
    Y.applyUpdate(doc, maps);
    expect(docItemUnits(doc)).toBe(before + units);
    // Parts Yjs holds pending are charged while they wait: the update that unlocks them is not charged for them.
    const src = new Y.Doc();
    src.clientID = 99;
    src.getText("t").insert(0, "x");
    const sv = Y.encodeStateVector(src);
    src.getText("t").insert(1, "yz");
    src.getText("t").delete(0, 2);
    const orphan = Y.encodeStateAsUpdate(src, sv); // needs 99:0, which never comes
    const orphanUnits = itemUnits(updateCost(doc, orphan));
    const beforeOrphan = docItemUnits(doc);
    Y.applyUpdate(doc, orphan);
    expect(doc.store.pendingStructs).not.toBeNull();
    expect(docItemUnits(doc)).toBeGreaterThanOrEqual(beforeOrphan + orphanUnits);
  });

  describe("matches Yjs on random documents (fast-check, fixed seed)", () => {
    const edits = fc.array(fc.record({ pos: fc.nat(), del: fc.nat({ max: 4 }), text: fc.string({ minLength: 1, maxLength: 6 }) }), { maxLength: 25 });
    const ranges = fc.array(fc.record({ gap: fc.nat({ max: 4 }), len: fc.integer({ min: 1, max: 5 }) }), { maxLength: 20 });
    const origins = fc.array(fc.record({ origin: fc.option(fc.nat()), right: fc.option(fc.nat()) }), { minLength: 1, maxLength: 6 });
    const scenario = fc.record({
      base: edits,
      serverMore: edits,
      peerMore: edits,
      ranges,
      origins,
      kind: fc.constantFrom("ds", "step2", "step2+ds", "structs", "structs+ds"),
    });

    function edit(doc: Y.Doc, list: { pos: number; del: number; text: string }[]) {
      const text = doc.getText("t");
      for (const { pos, del, text: s } of list) {
        const p = pos % (text.length + 1);
        if (del > 0 && p < text.length) text.delete(p, Math.min(del, text.length - p));
        else text.insert(p, s);
      }
    }
    /** Ascending, disjoint ranges over each client's clocks, as Yjs writes a delete set. */
    function deleteSet(doc: Y.Doc, spec: { gap: number; len: number }[]): { client: number; ranges: [number, number][] }[] {
      return [...doc.store.clients.keys()].map((client) => {
        const state = Y.getState(doc.store, client);
        const out: [number, number][] = [];
        let clock = 0;
        for (const { gap, len } of spec) {
          clock += gap;
          if (clock >= state) break;
          out.push([clock, Math.min(len, state - clock)]);
          clock += len + 1;
        }
        return { client, ranges: out };
      });
    }
    type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
    function build(s: Scenario) {
      const server = new Y.Doc();
      server.clientID = A;
      edit(server, s.base);
      const peer = copy(server);
      peer.clientID = 3;
      edit(server, s.serverMore);
      edit(peer, s.peerMore);
      const parts: Uint8Array[] = [];
      if (s.kind.startsWith("step2")) parts.push(Y.encodeStateAsUpdate(peer, Y.encodeStateVector(server)));
      if (s.kind.startsWith("structs")) {
        const state = Y.getState(server.store, A);
        if (state > 0) {
          const at = (n: number | null): [number, number] | null => (n === null ? null : [A, n % state]);
          parts.push(update([{ client: M, structs: s.origins.map((o) => char(at(o.origin), at(o.right))) }]));
        }
      }
      if (s.kind.endsWith("ds")) parts.push(update([], deleteSet(server, s.ranges)));
      return { server, update: parts.length === 1 ? parts[0]! : Y.mergeUpdates(parts.length > 0 ? parts : [update([])]) };
    }

    it("structs + splits is the number of structs Yjs adds, and newlyDeleted the items it deletes", () => {
      let exact = 0; // runs with splits, nothing left pending: the exact comparison, not the bound
      fc.assert(
        fc.property(scenario, (s) => {
          const { server, update: u } = build(s);
          validateUpdate(u);
          const cost = updateCost(server, u);
          const got = applyAndMeasure(server, u);
          if (server.store.pendingStructs || server.store.pendingDs) {
            expect(got.newStructs).toBeLessThanOrEqual(cost.structs + cost.splits);
            return;
          }
          expect(got.newStructs).toBe(cost.structs + cost.splits);
          if (s.kind === "ds" || s.kind === "structs+ds") expect(got.deleted).toBe(cost.newlyDeleted);
          if (cost.splits > 0) exact++;
        }),
        { seed: 20261201, numRuns: 400 },
      );
      expect(exact).toBeGreaterThan(100);
    });

    it("is an upper bound when ranges come unsorted and overlapping (Yjs never writes them so)", () => {
      fc.assert(
        fc.property(edits, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 6 })), { minLength: 1, maxLength: 12 }), (base, raw) => {
          const server = new Y.Doc();
          server.clientID = A;
          edit(server, base);
          const state = Y.getState(server.store, A);
          if (state === 0) return;
          const u = update([], [{ client: A, ranges: raw.map(([c, len]): [number, number] => [c % state, len]) }]);
          const cost = updateCost(server, u);
          const got = applyAndMeasure(server, u);
          expect(got.newStructs).toBeLessThanOrEqual(cost.splits + cost.structs);
          expect(got.deleted).toBeLessThanOrEqual(cost.newlyDeleted);
        }),
        { seed: 20261202, numRuns: 400 },
      );
    });
  });
});
