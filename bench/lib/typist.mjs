// A typist and an observer on one document, for benchmarks that ask "how long does the object pause its
// other work while X happens": the typist sends one keystroke every `intervalMs` through its socket, the
// observer's socket times each keystroke's round trip (sent by the typist → relayed to the observer).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import WebSocket from "ws";
import * as Y from "yjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const r1 = (x) => Math.round(x * 10) / 10;

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
export const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] };
};

/** y-websocket's sync update message (type 0, sub-type 2). */
function updateMessage(update) {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, 2);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

function openSocket(url, onUpdate) {
  return new Promise((res, rej) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.on("message", (data) => {
      const d = decoding.createDecoder(new Uint8Array(data));
      if (decoding.readVarUint(d) !== 0) return;
      const sub = decoding.readVarUint(d);
      if (sub === 1 || sub === 2) onUpdate?.(decoding.readVarUint8Array(d));
    });
    ws.once("open", () => res(ws));
    ws.once("error", rej);
  });
}

/** Fills root `body` with text through REST (`api(path, init)`, each update under MAX_UPDATE_BYTES) up to `bytes`; returns the size. */
export async function fillText(api, bytes) {
  const filler = new Y.Doc();
  const body = filler.getText("body");
  const chunk = "The quick brown fox jumps over the lazy dog. ".repeat(20_000).slice(0, 900 * 1024);
  while (Y.encodeStateAsUpdate(filler).length < bytes) {
    const sv = Y.encodeStateVector(filler);
    body.insert(body.length, chunk);
    const res = await api("/update", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: Y.encodeStateAsUpdate(filler, sv) });
    if (res.status !== 200) throw new Error(`fill: ${res.status} ${await res.text()}`);
  }
  return Y.encodeStateAsUpdate(filler).length;
}

/** Opens the typist and the observer on `url` (a sync URL with its token); `type(keys, intervalMs)` returns that many round trips. */
export async function typistPair(url) {
  const typist = new Y.Doc();
  const keys = typist.getText("typing");
  const seen = new Y.Doc();
  const sentAt = [];
  const latencies = [];
  const observer = await openSocket(url, (u) => {
    Y.applyUpdate(seen, u);
    const n = seen.getText("typing").length;
    const at = performance.now();
    while (latencies.length < n && latencies.length < sentAt.length) latencies.push(at - sentAt[latencies.length]);
  });
  const writer = await openSocket(url);
  await sleep(500);
  return {
    async type(n, intervalMs) {
      const first = latencies.length;
      for (let i = 0; i < n; i++) {
        const sv = Y.encodeStateVector(typist);
        keys.insert(keys.length, "k");
        sentAt.push(performance.now());
        writer.send(updateMessage(Y.encodeStateAsUpdate(typist, sv)));
        await sleep(intervalMs);
      }
      const until = Date.now() + 30_000;
      while (latencies.length < sentAt.length && Date.now() < until) await sleep(5);
      if (latencies.length < sentAt.length) throw new Error("keystrokes lost");
      return latencies.slice(first);
    },
    close() {
      observer.close();
      writer.close();
    },
  };
}

/** Writes a run's JSON and markdown under `out` (and the markdown as latest.md), and prints the markdown. */
export function writeRun(out, at, data, md) {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${at}.json`), JSON.stringify(data, null, 2));
  writeFileSync(join(out, `${at}.md`), md);
  writeFileSync(join(out, "latest.md"), md);
  console.log(`\n${md}`);
}
