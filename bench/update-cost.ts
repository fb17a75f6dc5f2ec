// `npx tsx bench/update-cost.ts`: the worst update of each kind the validator accepts, and what it costs a
// Y.Doc: wire bytes, the cost `updateCost` predicts (src/sync/update-cost.ts), heap after apply, apply time.
// Prints a markdown table (docs/update-cost-table.md). Each case runs in a fresh Node process with
// --expose-gc, applied three times to a fresh document: the median of `heapUsed` after a full GC
// (after minus before the apply) and of the apply time.
// `npx tsx bench/update-cost.ts <case>` runs one case and prints its JSON line.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { gunzipSync } from "node:zlib";
import * as encoding from "lib0/encoding";
import * as Y from "yjs";
import { validateUpdate } from "../src/sync/cost/update-check";
import { docItemUnits, itemUnits, updateCost } from "../src/sync/cost/update-cost";
import { craftChain, craftUpdate, type Struct } from "../test/helpers/crafted-update";

/** The proposed limit (RoomLimits.maxDocItemUnits): a document plus the update it receives, in item units. */
const MAX_DOC_ITEM_UNITS = 150_000;
/** RoomLimits.maxMergeStepsPerUpdate: steps of Yjs conflict resolution one update may cost (src/sync/merge-work.ts). */
const MAX_MERGE_STEPS_PER_UPDATE = 100_000;
const MAX_DOC_BYTES = 8 * 1024 * 1024;
// Frames may be 32 MiB (MAX_FRAME_BYTES): what bounds one update's bytes is MAX_DOC_BYTES.
const TEXT_CHARS = 600_000;
const A = 1; // the client that typed the text
const M = 7; // the attacker's client id (above A: Yjs puts its concurrent items after A's)
const AUTHOR = 2_000_000_000; // the traces' author

// ---- crafted v1 updates, as a hostile client writes them ----

const update = craftUpdate;
const id = (e: encoding.Encoder, client: number, clock: number) => {
  encoding.writeVarUint(e, client);
  encoding.writeVarUint(e, clock);
};
const chain = (n: number, info: number, content: Struct) => craftChain(M, n, info, content);
/** Every other character of client A's text deleted: `ranges` one-character ranges. */
const everyOther = (ranges: number) => update([], [{ client: A, ranges: Array.from({ length: ranges }, (_, i): [number, number] => [2 * i + 1, 1]) }]);

function textDoc(chars = TEXT_CHARS): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = A;
  doc.getText("t").insert(0, "x".repeat(chars));
  return doc;
}

// ---- editing traces: the repository's copy (test/fixtures/traces), or LATTICE_TRACES ----

const HERE = fileURLToPath(new URL(".", import.meta.url));
function loadTrace(name: string): { txns: { patches: [number, number, string][] }[] } {
  const dirs = [process.env.LATTICE_TRACES, join(HERE, "..", "test", "fixtures", "traces")];
  const dir = dirs.find((d) => d && existsSync(join(d, `${name}.json.gz`)));
  if (!dir) throw new Error(`${name}.json.gz not found in ${dirs.filter(Boolean).join(", ")} (set LATTICE_TRACES)`);
  return JSON.parse(gunzipSync(readFileSync(join(dir, `${name}.json.gz`))).toString("utf8"));
}
/**
 * Replays txns [from, to) into `doc`. Client ids are varints, so sizes depend on them: a fixed id the size
 * of a typical random one (Yjs draws 32-bit ids: 5 bytes almost always).
 */
function replay(trace: ReturnType<typeof loadTrace>, from: number, to: number, doc = withClientId(new Y.Doc(), AUTHOR)): Y.Doc {
  const text = doc.getText("text");
  for (let i = from; i < to; i++) {
    doc.transact(() => {
      for (const [pos, del, ins] of trace.txns[i]!.patches) {
        if (del > 0) text.delete(pos, del);
        if (ins) text.insert(pos, ins);
      }
    });
  }
  return doc;
}

function withClientId(doc: Y.Doc, clientId: number): Y.Doc {
  doc.clientID = clientId;
  return doc;
}

// ---- the cases ----

interface Case {
  kind: string;
  /** The document the update is applied to. */
  doc: () => Y.Doc;
  update: () => Uint8Array;
  note?: string;
  /** Also time a one-character edit after the apply (what every later update pays). */
  keystrokeAfter?: boolean;
  /** Report the whole heap after the apply, not only what the apply added. */
  total?: boolean;
  /** Only count: the update is refused, and applying it would take gigabytes. */
  costOnly?: boolean;
}

/**
 * The largest `make(n)` the bound lets into `doc`: document and update together at most
 * MAX_DOC_ITEM_UNITS, as the room counts them (`docItemUnits` + `itemUnits(updateCost(...))`).
 */
function fit(doc: Y.Doc, make: (n: number) => Uint8Array): Uint8Array {
  const room = MAX_DOC_ITEM_UNITS - docItemUnits(doc);
  const fits = (n: number) => {
    const u = make(n);
    return u.length <= MAX_DOC_BYTES && itemUnits(updateCost(doc, u)) <= room;
  };
  let lo = 1;
  let hi = room;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return make(lo);
}

/** n one-character inserts spread through client A's text, each splitting the item it lands in. */
function scatteredInserts(n: number): Uint8Array {
  const structs: Struct[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(((i + 0.5) * TEXT_CHARS) / n);
    structs.push((e) => {
      encoding.writeUint8(e, 0xc4); // origin, right origin, string
      id(e, A, k);
      id(e, A, k + 1);
      encoding.writeVarString(e, "y");
    });
  }
  return update([{ client: M, structs }]);
}
const maps = (n: number) => chain(n, 7, (e) => encoding.writeVarUint(e, 1)); // typeRef 1: Y.Map
function roots(n: number): Uint8Array {
  const structs: Struct[] = [];
  for (let i = 0; i < n; i++) {
    structs.push((e) => {
      encoding.writeUint8(e, 4);
      encoding.writeVarUint(e, 1);
      encoding.writeVarString(e, i.toString(36));
      encoding.writeVarString(e, "y");
    });
  }
  return update([{ client: M, structs }]);
}
function subdocs(n: number): Uint8Array {
  let i = 0;
  return chain(n, 9, (e) => {
    encoding.writeVarString(e, `g${i++}`);
    encoding.writeUint8(e, 118); // options: {}
    encoding.writeVarUint(e, 0);
  });
}
const anyRun = (n: number) =>
  chain(n, 8, (e) => {
    encoding.writeVarUint(e, 1);
    encoding.writeUint8(e, 126); // null
  });

/** Bulk text filling MAX_DOC_BYTES but `room` bytes, and the 600k-char text of the other cases. */
function fullDoc(room: number): Y.Doc {
  const doc = textDoc();
  doc.getText("bulk").insert(0, "abcdefghij".repeat(Math.floor((MAX_DOC_BYTES - TEXT_CHARS - room) / 10)));
  return doc;
}

const CASES: Record<string, Case> = {
  "ds-bound": {
    kind: "delete set: every other character of a 600k-char text, at the bound",
    doc: textDoc,
    update: () => fit(textDoc(), everyOther),
  },
  "ds-issue": {
    kind: "delete set: the issue's 240,000 ranges (refused)",
    doc: textDoc,
    update: () => everyOther(240_000),
  },
  "ds-8mib": {
    kind: "delete set: every other character of a 4M-character text, 8 MiB of ranges (refused; not applied: what refusing it costs)",
    doc: () => textDoc(4_000_000),
    update: () => everyOther(1_850_000),
    costOnly: true,
  },
  "inserts-bound": {
    kind: "one-character inserts scattered through a 600k-char text (each splits an item), at the bound",
    doc: textDoc,
    update: () => fit(textDoc(), scatteredInserts),
  },
  "types-bound": {
    kind: "shared types (a Y.Map each, chained), at the bound",
    doc: textDoc,
    update: () => fit(textDoc(), maps),
  },
  "roots-bound": {
    kind: "root types (a new root name per struct), at the bound",
    doc: textDoc,
    update: () => fit(textDoc(), roots),
  },
  "subdocs-bound": {
    kind: "subdocuments (ContentDoc, chained), at the bound",
    doc: textDoc,
    update: () => fit(textDoc(), subdocs),
  },
  "merge-bound": {
    kind: "a run of one-element ContentAny structs Yjs merges (quadratic copying), at the bound",
    doc: textDoc,
    update: () => fit(textDoc(), anyRun),
  },
  "merge-20k": {
    kind: "the same run, 20,000 structs (refused)",
    doc: textDoc,
    update: () => anyRun(20_000),
  },
  "clients-64": {
    kind: "64 new client ids (the per-connection cap), one character each",
    doc: textDoc,
    keystrokeAfter: true,
    update: () =>
      update(
        Array.from({ length: 64 }, (_, i) => ({
          client: 1000 + i,
          structs: [
            (e: encoding.Encoder) => {
              encoding.writeUint8(e, 0xc4);
              id(e, A, 1000 * (i + 1));
              id(e, A, 1000 * (i + 1) + 1);
              encoding.writeVarString(e, "y");
            },
          ],
        })),
      ),
  },
  "bulk-8mib": {
    kind: "bulk text: one 8 MiB insert (MAX_DOC_BYTES) into an empty document",
    doc: () => new Y.Doc(),
    update: () => {
      const src = new Y.Doc();
      src.getText("t").insert(0, "abcdefghij".repeat(MAX_DOC_BYTES / 10));
      return Y.encodeStateAsUpdate(src);
    },
  },
  "paper-empty": {
    kind: "honest: automerge-paper's whole state as a sync step 2, into an empty document",
    doc: () => new Y.Doc(),
    update: () => paperState(),
  },
  "paper-again": {
    kind: "honest: the same step 2 into a document that has it (its whole delete set, nothing new)",
    doc: () => {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, paperState());
      return doc;
    },
    update: () => paperState(),
  },
  "paper-offline": {
    kind: "honest: a client offline for the second half of automerge-paper syncs (step 2 against the server's state)",
    doc: () => {
      // A fresh copy each round: the apply must not change the state the step 2 was computed against.
      const doc = new Y.Doc();
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(paperHalf().server));
      return doc;
    },
    update: () => {
      const { server, client } = paperHalf();
      return Y.encodeStateAsUpdate(client, Y.encodeStateVector(server));
    },
  },
  "worst-doc": {
    kind: "a full document: MAX_DOC_BYTES of text (bulk, and the 600k-char text), then shared types up to the bound",
    doc: () => fullDoc(600_000),
    update: () => fit(fullDoc(600_000), maps),
    total: true,
  },
  "scan-open": {
    kind: "conflict-resolution walk: 2,000 inserts each claiming to end the text (no right origin), origins descending (refused for its merge steps, not its units)",
    doc: textDoc,
    update: () => {
      const n = 2000;
      const structs: Struct[] = [];
      for (let i = n - 1; i >= 0; i--) {
        const k = Math.floor(((i + 0.5) * TEXT_CHARS) / n);
        structs.push((e) => {
          encoding.writeUint8(e, 0x84); // origin only
          id(e, A, k);
          encoding.writeVarString(e, "y");
        });
      }
      return update([{ client: 2, structs }]);
    },
  },
};

let paperCache: Uint8Array | undefined;
function paperState(): Uint8Array {
  if (!paperCache) {
    const trace = loadTrace("automerge-paper");
    paperCache = Y.encodeStateAsUpdate(replay(trace, 0, trace.txns.length));
  }
  return paperCache;
}
let halfCache: { server: Y.Doc; client: Y.Doc } | undefined;
function paperHalf(): { server: Y.Doc; client: Y.Doc } {
  if (!halfCache) {
    const trace = loadTrace("automerge-paper");
    const half = Math.floor(trace.txns.length / 2);
    const server = replay(trace, 0, half);
    const client = withClientId(new Y.Doc(), AUTHOR + 1);
    Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
    replay(trace, half, trace.txns.length, client);
    halfCache = { server, client };
  }
  return halfCache;
}

// ---- one case, in this process ----

interface Result {
  name: string;
  kind: string;
  wire: number;
  units: number;
  cost: ReturnType<typeof updateCost>;
  accepted: boolean;
  costMs: number;
  applyMs: number | null;
  heapBefore: number;
  heapDelta: number | null;
  keystrokeMsBefore?: number;
  keystrokeMsAfter?: number;
  total?: boolean;
}

// With --expose-gc (how the cases are spawned) or, run by hand without it, V8's flag set at run time.
const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (setFlagsFromString("--expose-gc"), runInNewContext("gc") as () => void);

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Mean time of 200 one-character remote edits (each its own update) at the end of the text. */
function keystrokeMs(doc: Y.Doc): number {
  const src = new Y.Doc(); // a fresh client id each time: Yjs renames a doc that meets its own id in an update
  Y.applyUpdate(src, Y.encodeStateAsUpdate(doc));
  const updates: Uint8Array[] = [];
  src.on("update", (u: Uint8Array) => updates.push(u));
  const text = src.getText("t");
  for (let i = 0; i < 200; i++) text.insert(text.length, "k");
  const t0 = performance.now();
  for (const u of updates) Y.applyUpdate(doc, u);
  return (performance.now() - t0) / updates.length;
}

function warmUp(): void {
  // Let V8 compile Yjs' hot paths first, as a long-lived object would have.
  const src = new Y.Doc();
  const text = src.getText("t");
  for (let i = 0; i < 5000; i++) text.insert((i * 7) % (text.length + 1), "ab");
  for (let i = 0; i < 1000; i++) text.delete((i * 13) % (text.length - 1), 1);
  const state = Y.encodeStateAsUpdate(src);
  for (let i = 0; i < 3; i++) {
    const d = new Y.Doc();
    updateCost(d, state);
    Y.applyUpdate(d, state);
    updateCost(d, state);
  }
}

const ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One case: counted, then applied ROUNDS times to a fresh document; the median time and heap. */
function runCase(name: string): Result {
  const c = CASES[name];
  if (!c) throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(", ")}`);
  warmUp();
  const u = c.update();
  validateUpdate(u); // the validator accepts it: the cost is all that can refuse it
  const times: number[] = [];
  const costTimes: number[] = [];
  const heaps: number[] = [];
  let heapBefore = 0;
  let docUnits = 0;
  let keystrokeMsBefore: number | undefined;
  let keystrokeMsAfter: number | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    let doc: Y.Doc | undefined = c.doc();
    docUnits = docItemUnits(doc);
    if (c.keystrokeAfter) keystrokeMs(doc); // once to warm up
    if (c.keystrokeAfter) keystrokeMsBefore = keystrokeMs(doc);
    // Timed as the room runs it: stopping once past the limit.
    let t0 = performance.now();
    updateCost(doc, u, MAX_DOC_ITEM_UNITS - docUnits, MAX_MERGE_STEPS_PER_UPDATE);
    costTimes.push(performance.now() - t0);
    if (!c.costOnly) {
      heapBefore = heapAfterGc();
      t0 = performance.now();
      Y.applyUpdate(doc, u);
      times.push(performance.now() - t0);
      heaps.push(heapAfterGc() - heapBefore);
      if (c.keystrokeAfter) keystrokeMsAfter = keystrokeMs(doc);
    }
    doc.destroy();
    doc = undefined;
  }
  const cost = updateCost(c.doc(), u); // counted whole, for the table
  const units = itemUnits(cost);
  return {
    name,
    kind: c.kind,
    wire: u.length,
    units,
    cost,
    accepted: docUnits + units <= MAX_DOC_ITEM_UNITS && cost.mergeSteps <= MAX_MERGE_STEPS_PER_UPDATE,
    costMs: median(costTimes),
    applyMs: c.costOnly ? null : median(times),
    heapBefore,
    heapDelta: c.costOnly ? null : median(heaps),
    keystrokeMsBefore,
    keystrokeMsAfter,
    total: c.total,
  };
}

// ---- all cases, one process each ----

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const kb = (b: number) => (b >= 1e6 ? `${(b / 1048576).toFixed(2)} MiB` : `${(b / 1000).toFixed(1)} KB`);
const ms = (t: number) => (t >= 1000 ? `${(t / 1000).toFixed(1)} s` : `${t.toFixed(t < 10 ? 1 : 0)} ms`);

const only = process.argv[2];
if (only) {
  console.log(JSON.stringify(runCase(only)));
} else {
  const self = fileURLToPath(import.meta.url);
  const rows: Result[] = [];
  for (const name of Object.keys(CASES)) {
    const run = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, self, name], { encoding: "utf8", maxBuffer: 1 << 24 });
    if (run.status !== 0) {
      console.error(`case ${name} failed:\n${run.stderr}`);
      process.exitCode = 1;
      continue;
    }
    const r = JSON.parse(run.stdout.trim().split("\n").pop()!) as Result;
    rows.push(r);
    const applied = r.heapDelta === null || r.applyMs === null ? "not applied" : `${mb(r.heapDelta)}, ${ms(r.applyMs)}`;
    console.error(`${name}: ${kb(r.wire)} → ${applied} (${r.units} units)`);
  }
  console.log(
    `Item units bound: ${MAX_DOC_ITEM_UNITS.toLocaleString("en-US")} (document + update); merge steps: ${MAX_MERGE_STEPS_PER_UPDATE.toLocaleString("en-US")} per update. Node ${process.version}.\n`,
  );
  console.log("| update | wire bytes | structs / ranges / splits | item units | merge steps | verdict | heap after apply | apply time | `updateCost` time |");
  console.log("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
  for (const r of rows) {
    const k = r.cost;
    let kind = r.kind;
    const us = (t: number) => `${(t * 1000).toFixed(0)} µs`;
    if (r.keystrokeMsBefore !== undefined) kind += `; a keystroke before → after: ${us(r.keystrokeMsBefore)} → ${us(r.keystrokeMsAfter!)}`;
    if (r.total) kind += ` (whole heap after: ${mb(r.heapBefore + (r.heapDelta ?? 0))})`;
    const verdict = r.accepted ? "accepted" : "**refused**";
    console.log(
      `| ${kind} | ${kb(r.wire)} | ${k.structs.toLocaleString("en-US")} / ${k.deleteRanges.toLocaleString("en-US")} / ${k.splits.toLocaleString("en-US")} | ${r.units.toLocaleString("en-US")} | ${k.mergeSteps.toLocaleString("en-US")} | ${verdict} | ${r.heapDelta === null ? "—" : `${r.heapDelta >= 0 ? "+" : ""}${mb(r.heapDelta)}`} | ${r.applyMs === null ? "—" : ms(r.applyMs)} | ${ms(r.costMs)} |`,
    );
  }
}
