#!/usr/bin/env node
// Taking a version of an 8 MiB document: how long does the document's object pause its other work?
//
//   node_modules/.bin/node bench/versions.mjs [--rounds=10] [--keys=120] [--out=bench/results/2026-12-01-versions]
//
// One `wrangler dev` (the default limits, except MAX_DOC_BYTES raised to hold 8 MiB of text and no automatic
// versions: VERSION_INTERVAL_SECONDS is huge, so every version is one this script asks for). A typist socket
// sends one keystroke every 12 ms into the document; an observer socket times each keystroke's round trip
// (sent by the typist → relayed to the observer). Rounds alternate between "versions" (a named version is
// taken 300 ms into the round, then deleted after it) and "baseline" (none), in ABBA order so drift hits
// both alike. The object is single-threaded: while it encodes and stores the version, keystrokes wait, and
// the p99 / max of the versions rounds show that pause. Results go to --out as JSON and markdown.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import WebSocket from "ws";
import * as Y from "yjs";
import { freePort, ROOT, startWranglerDev } from "../scripts/lib/wrangler-dev.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
const ROUNDS = Number(opt("rounds", 10));
const KEYS = Number(opt("keys", 120));
const KEY_INTERVAL_MS = 12;
const VERSION_AT_MS = 300;
const OUT = resolve(ROOT, opt("out", "bench/results/2026-12-01-versions"));
const DOC_BYTES = 8 * 2 ** 20;
const SECRET = "sk_demo_dev_only_not_secret"; // the dev-mode demo project's public key (src/routes/dev.ts)
const T0 = performance.now();
const log = (msg) => console.log(`[versions ${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] };
};
const r1 = (x) => Math.round(x * 10) / 10;

async function main() {
  const persistTo = mkdtempSync(join(tmpdir(), "lattice-bench-versions-"));
  process.env.WRANGLER_REGISTRY_PATH = join(persistTo, "dev-registry");
  const port = await freePort();
  const dev = await startWranglerDev({
    port,
    persistTo,
    vars: {
      DEV_MODE: "true",
      ADMIN_TOKEN: "bench-admin-token-0123456789abcdef-0123",
      TOKEN_SECRET: "bench-token-secret-0123456789abcdef",
      MAX_DOC_BYTES: String(32 * 2 ** 20),
      VERSION_INTERVAL_SECONDS: String(10 ** 9),
    },
  });
  try {
    const base = dev.url;
    const docId = `versions-bench-${Date.now().toString(36)}`;
    const tok = await fetch(`${base}/dev/docs/${docId}/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "typist" }),
    });
    const { token } = await tok.json();
    const api = (path, init = {}) => fetch(`${base}/v1/docs/${docId}${path}`, { ...init, headers: { authorization: `Bearer ${SECRET}`, ...init.headers } });

    // 8 MiB of text through REST (each update under MAX_UPDATE_BYTES).
    const filler = new Y.Doc();
    const body = filler.getText("body");
    const chunk = "The quick brown fox jumps over the lazy dog. ".repeat(20_000).slice(0, 900 * 1024);
    while (Y.encodeStateAsUpdate(filler).length < DOC_BYTES) {
      const sv = Y.encodeStateVector(filler);
      body.insert(body.length, chunk);
      const res = await api("/update", { method: "POST", headers: { "content-type": "application/octet-stream" }, body: Y.encodeStateAsUpdate(filler, sv) });
      if (res.status !== 200) throw new Error(`fill: ${res.status} ${await res.text()}`);
    }
    const docBytes = Y.encodeStateAsUpdate(filler).length;
    log(`document filled: ${(docBytes / 2 ** 20).toFixed(2)} MiB`);

    const typist = new Y.Doc();
    const keys = typist.getText("typing");
    const seen = new Y.Doc();
    const sentAt = [];
    const latencies = [];
    const url = `${base.replace(/^http/, "ws")}/v1/sync/${docId}?token=${encodeURIComponent(token)}`;
    const observer = await openSocket(url, (u) => {
      Y.applyUpdate(seen, u);
      const n = seen.getText("typing").length;
      const at = performance.now();
      while (latencies.length < n && latencies.length < sentAt.length) latencies.push(at - sentAt[latencies.length]);
    });
    const writer = await openSocket(url);
    await sleep(500);

    async function round(kind) {
      const first = latencies.length;
      let version;
      const versionCall = (async () => {
        if (kind !== "versions") return;
        await sleep(VERSION_AT_MS);
        const t = performance.now();
        const res = await api("/versions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "bench" }) });
        version = { ms: performance.now() - t, status: res.status, ...(await res.json()) };
      })();
      for (let i = 0; i < KEYS; i++) {
        const sv = Y.encodeStateVector(typist);
        keys.insert(keys.length, "k");
        sentAt.push(performance.now());
        writer.send(updateMessage(Y.encodeStateAsUpdate(typist, sv)));
        await sleep(KEY_INTERVAL_MS);
      }
      await versionCall;
      const until = Date.now() + 30_000;
      while (latencies.length < sentAt.length && Date.now() < until) await sleep(5);
      if (latencies.length < sentAt.length) throw new Error("keystrokes lost");
      if (version) {
        if (version.status !== 201) throw new Error(`version: ${version.status} ${JSON.stringify(version)}`);
        await api(`/versions/${version.id}`, { method: "DELETE" });
      }
      return { kind, latencies: latencies.slice(first), versionMs: version?.ms, versionBytes: version?.sizeBytes };
    }

    await round("baseline"); // warm-up, not recorded
    const results = [];
    for (let i = 0; i < ROUNDS; i++) {
      const order = i % 2 === 0 ? ["versions", "baseline"] : ["baseline", "versions"];
      for (const kind of order) {
        const r = await round(kind);
        results.push(r);
        const s = stats(r.latencies);
        log(
          `round ${i + 1} ${kind.padEnd(8)} p50 ${r1(s.p50)} ms  p99 ${r1(s.p99)} ms  max ${r1(s.max)} ms${r.versionMs ? `  (version call ${r1(r.versionMs)} ms)` : ""}`,
        );
      }
    }
    observer.close();
    writer.close();

    const of = (kind) => results.filter((r) => r.kind === kind);
    const summary = {};
    for (const kind of ["baseline", "versions"]) {
      const all = of(kind).flatMap((r) => r.latencies);
      const s = stats(all);
      summary[kind] = { keystrokes: s.n, p50Ms: r1(s.p50), p99Ms: r1(s.p99), maxMs: r1(s.max) };
    }
    const calls = stats(of("versions").map((r) => r.versionMs));
    summary.versionCall = { p50Ms: r1(calls.p50), maxMs: r1(calls.max), versionBytes: of("versions")[0]?.versionBytes };
    const at = new Date().toISOString().replace(/:/g, "-").slice(0, 19);
    const meta = { at, docBytes, rounds: ROUNDS, keysPerRound: KEYS, keyIntervalMs: KEY_INTERVAL_MS, cpus: cpus().length, cpu: cpus()[0]?.model };
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, `${at}.json`), JSON.stringify({ meta, summary, rounds: results.map((r) => ({ ...r, latencies: r.latencies.map(r1) })) }, null, 2));
    const md = [
      `# Versions: the object's pause while a version of an ${(docBytes / 2 ** 20).toFixed(1)} MiB document is taken`,
      "",
      `${at} · \`node_modules/.bin/node bench/versions.mjs --rounds=${ROUNDS}\` · wrangler dev (local workerd) · ${meta.cpus} × ${meta.cpu}`,
      "",
      `A typist sends a keystroke every ${KEY_INTERVAL_MS} ms (${KEYS} per round); its round trip is the time until a second socket`,
      `receives it. ${ROUNDS} interleaved rounds of each kind; in a "versions" round a named version is taken ${VERSION_AT_MS} ms in.`,
      "",
      "| rounds | keystrokes | p50 | p99 | max |",
      "| --- | ---: | ---: | ---: | ---: |",
      ...["baseline", "versions"].map((k) => `| ${k} | ${summary[k].keystrokes} | ${summary[k].p50Ms} ms | ${summary[k].p99Ms} ms | ${summary[k].maxMs} ms |`),
      "",
      `The version call itself (POST …/versions, answered once the version is stored): p50 ${summary.versionCall.p50Ms} ms, max ${summary.versionCall.maxMs} ms, ${summary.versionCall.versionBytes} bytes.`,
      "",
    ].join("\n");
    writeFileSync(join(OUT, `${at}.md`), md);
    writeFileSync(join(OUT, "latest.md"), md);
    console.log(`\n${md}`);
  } finally {
    await dev.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

await main();
