// Editing traces (test/fixtures/traces, see its README) turned into Yjs updates.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import * as Y from "yjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const CANDIDATES = [process.env.LATTICE_TRACES, resolve(HERE, "..", "..", "test", "fixtures", "traces")].filter(Boolean);

export function tracesDir() {
  const dir = CANDIDATES.find((d) => existsSync(join(d, "friendsforever_flat.json.gz")));
  if (!dir) throw new Error(`editing traces not found (looked in ${CANDIDATES.join(", ")}); set LATTICE_TRACES`);
  return dir;
}

export function loadTrace(name) {
  return JSON.parse(gunzipSync(readFileSync(join(tracesDir(), `${name}.json.gz`))).toString("utf8"));
}

/** Text root every workload edits. */
export const TEXT = "text";
/** Map root holding the end-of-stream marker a writer sets after its last update. */
export const MARK = "bench";

function applyTxn(text, txn) {
  for (const [pos, del, ins] of txn.patches) {
    if (del > 0) text.delete(pos, del);
    if (ins) text.insert(pos, ins);
  }
}

/**
 * Replays `trace` into a fresh Y.Doc, `perUpdate` txns per Yjs update (1 = keystroke by keystroke),
 * then sets the end marker. Returns the updates (marker last), the marker's Yjs id, the final doc.
 */
export function traceUpdates(trace, { perUpdate = 1, limit = Infinity, clientID } = {}) {
  const doc = new Y.Doc();
  if (clientID !== undefined) doc.clientID = clientID;
  const text = doc.getText(TEXT);
  const updates = [];
  doc.on("update", (u) => updates.push(u));
  const n = Math.min(limit, trace.txns.length);
  for (let i = 0; i < n; i += perUpdate) {
    doc.transact(() => {
      for (let k = i; k < Math.min(n, i + perUpdate); k++) applyTxn(text, trace.txns[k]);
    });
  }
  const markerClock = Y.getState(doc.store, doc.clientID);
  doc.getMap(MARK).set("done", updates.length);
  const endContent = text.toString();
  if (n === trace.txns.length && endContent !== trace.endContent) throw new Error("trace replay does not reach endContent");
  return { updates, marker: { client: doc.clientID, clock: markerClock }, doc, endContent, txns: n };
}

const CACHE = resolve(HERE, "..", ".cache");

/**
 * traceUpdates(loadTrace(name), opts), cached under bench/.cache (building automerge-paper costs
 * seconds). The final doc is rebuilt from the updates on first use.
 */
export function cachedTraceUpdates(name, opts = {}) {
  const key = `${name}-${opts.perUpdate ?? 1}-${opts.limit ?? "all"}-yjs13.json.gz`.replaceAll("Infinity", "all");
  const file = join(CACHE, key);
  if (existsSync(file)) {
    try {
      const c = JSON.parse(gunzipSync(readFileSync(file)).toString("utf8"));
      const updates = c.updates.map((b) => new Uint8Array(Buffer.from(b, "base64")));
      let doc;
      return {
        updates,
        marker: c.marker,
        endContent: c.endContent,
        txns: c.txns,
        get doc() {
          if (!doc) {
            doc = new Y.Doc();
            Y.transact(doc, () => {
              for (const u of updates) Y.applyUpdate(doc, u);
            });
          }
          return doc;
        },
      };
    } catch {
      // unreadable cache: rebuild
    }
  }
  const r = traceUpdates(loadTrace(name), opts);
  mkdirSync(CACHE, { recursive: true });
  const body = { updates: r.updates.map((u) => Buffer.from(u).toString("base64")), marker: r.marker, endContent: r.endContent, txns: r.txns };
  writeFileSync(file, gzipSync(JSON.stringify(body)));
  return r;
}
