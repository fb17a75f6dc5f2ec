#!/usr/bin/env node
// Taking a version of an 8 MiB document: how long does the document's object pause its other work?
//
//   node_modules/.bin/node bench/versions.mjs [--rounds=10] [--keys=120] [--out=dir; default bench/results/<date>-versions]
//
// One `wrangler dev` (the default limits, except MAX_DOC_BYTES raised to hold 8 MiB of text and no automatic
// versions: VERSION_INTERVAL_SECONDS is huge, so every version is one this script asks for). A typist socket
// sends one keystroke every 12 ms into the document; an observer socket times each keystroke's round trip
// (sent by the typist → relayed to the observer). Rounds alternate between "versions" (a named version is
// taken 300 ms into the round, then deleted after it) and "baseline" (none), in ABBA order so drift hits
// both alike. The object is single-threaded: while it encodes and stores the version, keystrokes wait, and
// the p99 / max of the versions rounds show that pause. Results go to --out as JSON and markdown.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, ROOT, startWranglerDev } from "../scripts/lib/wrangler-dev.mjs";
import { resultsDir } from "./lib/paths.mjs";
import { fillText, r1, sleep, stats, typistPair, writeRun } from "./lib/typist.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
const ROUNDS = Number(opt("rounds", 10));
const KEYS = Number(opt("keys", 120));
const KEY_INTERVAL_MS = 12;
const VERSION_AT_MS = 300;
const OUT = resolve(ROOT, opt("out", resultsDir("versions")));
const DOC_BYTES = 8 * 2 ** 20;
const SECRET = "sk_demo_dev_only_not_secret"; // the dev-mode demo project's public key (src/routes/dev.ts)
const T0 = performance.now();
const log = (msg) => console.log(`[versions ${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
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
    const docBytes = await fillText(api, DOC_BYTES);
    log(`document filled: ${(docBytes / 2 ** 20).toFixed(2)} MiB`);
    const pair = await typistPair(`${base.replace(/^http/, "ws")}/v1/sync/${docId}?token=${encodeURIComponent(token)}`);

    async function round(kind) {
      let version;
      const versionCall = (async () => {
        if (kind !== "versions") return;
        await sleep(VERSION_AT_MS);
        const t = performance.now();
        const res = await api("/versions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "bench" }) });
        version = { ms: performance.now() - t, status: res.status, ...(await res.json()) };
      })();
      const latencies = await pair.type(KEYS, KEY_INTERVAL_MS);
      await versionCall;
      if (version) {
        if (version.status !== 201) throw new Error(`version: ${version.status} ${JSON.stringify(version)}`);
        await api(`/versions/${version.id}`, { method: "DELETE" });
      }
      return { kind, latencies, versionMs: version?.ms, versionBytes: version?.sizeBytes };
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
    pair.close();

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
    const runData = { meta, summary, rounds: results.map((r) => ({ ...r, latencies: r.latencies.map(r1) })) };
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
    writeRun(OUT, at, runData, md);
  } finally {
    await dev.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

await main();
