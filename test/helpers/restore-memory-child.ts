/**
 * Run by test/e2e/restore-memory.e2e.ts in a Node limited to the isolate's 128 MB heap
 * (`node --max-old-space-size=128 --expose-gc --import tsx`): a document of embeds (items that never
 * merge: the most heap per stored byte), a version of it, one
 * keystroke more, then a restore the way the room does (RoomCore.restoreEdit: the live document out of
 * memory while the copy exists). Prints one JSON line; exits non-zero if the heap runs out.
 */
import * as Y from "yjs";
import { DEFAULT_LIMITS } from "../../src/sync/ports";
import { RESTORE_UNITS_FACTOR, RoomCore } from "../../src/sync/room-core";
import { validateUpdate } from "../../src/sync/cost/update-check";
import { MemoryStore, MemoryTransport, type TestConn } from "./memory-room";
import { restoreOnCopy } from "../../src/versions/restore";

/**
 * `fits`: the largest restore the limits allow, a document and a version of the same size together at
 * RESTORE_UNITS_FACTOR documents; `at-cap`: both near the cap (refused up front); `cap-to-small`: a
 * document near the cap back to a version of a few items.
 */
const mode = process.argv[2];
const CAP = DEFAULT_LIMITS.maxDocItemUnits;
const ITEMS = mode === "fits" ? Math.floor((RESTORE_UNITS_FACTOR * CAP) / 2) - 100 : mode === "at-cap" ? 140_000 : 1_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const heapMB = () => {
  gc();
  return Math.round(process.memoryUsage().heapUsed / 2 ** 20);
};

/**
 * 140,000 embeds appended to a text: each its own item (an embed never merges with its neighbour), and no
 * conflict to resolve (each names the last item as its origin).
 */
function worstDocument(items: number, root = "t"): Uint8Array {
  const d = new Y.Doc();
  const t = d.getText(root);
  t.applyDelta(Array.from({ length: items }, (_, i) => ({ insert: { n: i % 10 } })));
  const u = Y.encodeStateAsUpdate(d);
  d.destroy();
  return u;
}

/** One more character at the start, by another client, as a raw v1 update (no replica needed). */
function keystroke(): Uint8Array {
  const d = new Y.Doc();
  d.clientID = 3;
  d.getText("t").insert(0, "y");
  const u = Y.encodeStateAsUpdate(d);
  d.destroy();
  return u;
}

const base = heapMB();
const store = new MemoryStore();
const transport = new MemoryTransport(store);
const core = new RoomCore<TestConn>(store, transport, DEFAULT_LIMITS);
const write = (u: Uint8Array) => {
  const r = core.applyUpdate(u, validateUpdate(u), {});
  transport.flush();
  if (!r.ok) throw new Error(`refused: ${r.message}`);
};
write(worstDocument(ITEMS));
const versionState = core.encodeState();
write(keystroke());
// cap-to-small: the document then grows to near the cap in another root, which the version does not have.
if (mode === "cap-to-small") write(worstDocument(139_000, "u"));
core.discardMemory();
void core.doc.share; // load the live document, as a room holding it in memory does
const docMB = heapMB() - base;
const version = new Y.Doc();
Y.applyUpdate(version, versionState);
const edit = core.restoreEdit(version, restoreOnCopy);
version.destroy();
if (!edit.ok) {
  console.log(JSON.stringify({ mode, docMB, refused: edit.message, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  process.exit(0);
}
write(edit.update);
const delta = core.doc.getText("t").toDelta() as { insert: unknown }[];
const restored = delta.length === ITEMS && delta.every((op) => typeof op.insert === "object") && core.doc.getText("u").length === 0;
console.log(
  JSON.stringify({ mode, docMB, encodedKB: Math.round(versionState.length / 1024), restored, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }),
);
