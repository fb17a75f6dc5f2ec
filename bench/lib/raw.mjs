// The limit: the same updates handled by raw Yjs in this one process (no network, no storage).
import * as Y from "yjs";
import { TEXT } from "./traces.mjs";
import { updateMessage } from "./yws.mjs";

const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** W1–W3: apply each update to one doc and encode the broadcast message, as a server must. */
export function rawIngest(trace) {
  // warm-up on a throwaway doc so the JIT is not measured
  const warm = new Y.Doc();
  for (const u of trace.updates.slice(0, 2000)) Y.applyUpdate(warm, u);
  const doc = new Y.Doc();
  let t0 = performance.now();
  for (const u of trace.updates) Y.applyUpdate(doc, u);
  const applyMs = performance.now() - t0;
  const doc2 = new Y.Doc();
  t0 = performance.now();
  for (const u of trace.updates) {
    Y.applyUpdate(doc2, u);
    updateMessage(u);
  }
  const applyEncodeMs = performance.now() - t0;
  if (doc2.getText(TEXT).toString() !== trace.endContent) throw new Error("raw ingest diverged");
  const n = trace.updates.length;
  return {
    updates: n,
    applyUsPerUpdate: round((applyMs * 1000) / n, 1),
    applyEncodeUsPerUpdate: round((applyEncodeMs * 1000) / n, 1),
    updatesPerSecond: Math.round(n / (applyEncodeMs / 1000)),
    allDoneSeconds: round(applyEncodeMs / 1000, 3),
  };
}

/** W4: a cold load from the encoded state: apply it to an empty doc and encode sync step 2. */
export function rawColdLoad(trace) {
  const state = Y.encodeStateAsUpdate(trace.doc);
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const d = new Y.Doc();
    Y.applyUpdate(d, state);
    Y.encodeStateAsUpdate(d, new Uint8Array([0]));
    runs.push(performance.now() - t0);
  }
  return { encodedStateBytes: state.length, coldLoadMs: round(Math.min(...runs)), storedToEncoded: 1 };
}

/** W5: answering N fresh clients' sync step 1 with the whole state, one process, no network. */
export function rawStorm(trace, clients) {
  const t0 = performance.now();
  for (let i = 0; i < clients; i++) Y.encodeStateAsUpdate(trace.doc, new Uint8Array([0]));
  return { clients, allSyncedSeconds: round((performance.now() - t0) / 1000, 3) };
}
