#!/usr/bin/env node
// Reads of a heavy document against a writer: how much of the object's thread can a read token take?
//
//   node_modules/.bin/node bench/read-load.mjs [--rounds=6] [--keys=150] [--rate=10] [--out=dir; default bench/results/<date>-read-load]
//
// One `wrangler dev` with the default limits. A 4 MiB text document; a typist socket sends a keystroke every
// 12 ms and an observer times each round trip (bench/lib/typist.mjs). Rounds, interleaved ABC/CBA:
// - baseline: nothing else happens;
// - read token: a client token (one user) asks `GET …/json` `--rate` times a second, as issue 22 did. Its
//   reads are charged to its user's byte allowance (4 × the stored bytes each): past it, 429;
// - secret key: the application's own key asks the same, unbudgeted: what the budget prevents.
// The typist's p99 in each kind, and how many reads were answered 200 or 429, go to --out.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, ROOT, startWranglerDev } from "../scripts/lib/wrangler-dev.mjs";
import { resultsDir } from "./lib/paths.mjs";
import { fillText, r1, sleep, stats, typistPair, writeRun } from "./lib/typist.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
const ROUNDS = Number(opt("rounds", 6));
const KEYS = Number(opt("keys", 150));
const RATE = Number(opt("rate", 10));
const KEY_INTERVAL_MS = 12;
const OUT = resolve(ROOT, opt("out", resultsDir("read-load")));
const DOC_BYTES = 4 * 2 ** 20;
const SECRET = "sk_demo_dev_only_not_secret"; // the dev-mode demo project's public key (src/routes/dev.ts)
const KINDS = ["baseline", "read token", "secret key"];
const T0 = performance.now();
const log = (msg) => console.log(`[read-load ${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);

async function main() {
  const persistTo = mkdtempSync(join(tmpdir(), "lattice-bench-reads-"));
  process.env.WRANGLER_REGISTRY_PATH = join(persistTo, "dev-registry");
  const port = await freePort();
  const dev = await startWranglerDev({
    port,
    persistTo,
    vars: { DEV_MODE: "true", ADMIN_TOKEN: "bench-admin-token-0123456789abcdef-0123", TOKEN_SECRET: "bench-token-secret-0123456789abcdef" },
  });
  try {
    const base = dev.url;
    const docId = `reads-bench-${Date.now().toString(36)}`;
    const mint = async (userId, access) => {
      const res = await fetch(`${base}/dev/docs/${docId}/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ userId, access }),
      });
      if (res.status !== 201) throw new Error(`token: ${res.status} ${await res.text()}`);
      return (await res.json()).token;
    };
    const typistToken = await mint("typist", "write");
    const readToken = await mint("scraper", "read");
    const api = (path, init = {}, key = SECRET) =>
      fetch(`${base}/v1/docs/${docId}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });
    const docBytes = await fillText(api, DOC_BYTES);
    log(`document filled: ${(docBytes / 2 ** 20).toFixed(2)} MiB`);
    const pair = await typistPair(`${base.replace(/^http/, "ws")}/v1/sync/${docId}?token=${encodeURIComponent(typistToken)}`);

    async function round(kind) {
      const statuses = {};
      let reading = kind !== "baseline";
      const reads = (async () => {
        const key = kind === "read token" ? readToken : SECRET;
        while (reading) {
          const t = performance.now();
          const res = await api("/json", {}, key);
          await res.arrayBuffer();
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          await sleep(Math.max(0, 1000 / RATE - (performance.now() - t)));
        }
      })();
      const latencies = await pair.type(KEYS, KEY_INTERVAL_MS);
      reading = false;
      await reads;
      return { kind, latencies, statuses };
    }

    await round("baseline"); // warm-up, not recorded
    const results = [];
    for (let i = 0; i < ROUNDS; i++) {
      for (const kind of i % 2 === 0 ? KINDS : [...KINDS].reverse()) {
        const r = await round(kind);
        results.push(r);
        const s = stats(r.latencies);
        log(`round ${i + 1} ${kind.padEnd(10)} p50 ${r1(s.p50)} ms  p99 ${r1(s.p99)} ms  max ${r1(s.max)} ms  reads ${JSON.stringify(r.statuses)}`);
      }
    }
    pair.close();

    const summary = {};
    for (const kind of KINDS) {
      const of = results.filter((r) => r.kind === kind);
      const s = stats(of.flatMap((r) => r.latencies));
      const statuses = {};
      for (const r of of) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
      summary[kind] = { keystrokes: s.n, p50Ms: r1(s.p50), p99Ms: r1(s.p99), maxMs: r1(s.max), reads: statuses };
    }
    const at = new Date().toISOString().replace(/:/g, "-").slice(0, 19);
    const meta = { at, docBytes, rounds: ROUNDS, keysPerRound: KEYS, keyIntervalMs: KEY_INTERVAL_MS, readRate: RATE, cpus: cpus().length, cpu: cpus()[0]?.model };
    const runData = { meta, summary, rounds: results.map((r) => ({ ...r, latencies: r.latencies.map(r1) })) };
    const md = [
      `# Reads of a ${(docBytes / 2 ** 20).toFixed(1)} MiB document against a typist`,
      "",
      `${at} · \`node_modules/.bin/node bench/read-load.mjs --rounds=${ROUNDS}\` · wrangler dev (local workerd), default limits · ${meta.cpus} × ${meta.cpu}`,
      "",
      `A typist sends a keystroke every ${KEY_INTERVAL_MS} ms (${KEYS} per round); its round trip is the time until a second socket receives it.`,
      `In the other kinds, \`GET …/json\` is asked ${RATE} times a second (the next once the last is answered) by a read token (budgeted) or the secret key (not).`,
      `${ROUNDS} interleaved rounds of each kind.`,
      "",
      "| rounds | keystrokes | p50 | p99 | max | reads answered |",
      "| --- | ---: | ---: | ---: | ---: | --- |",
      ...KINDS.map(
        (k) =>
          `| ${k} | ${summary[k].keystrokes} | ${summary[k].p50Ms} ms | ${summary[k].p99Ms} ms | ${summary[k].maxMs} ms | ${
            Object.entries(summary[k].reads)
              .map(([s, n]) => `${n} × ${s}`)
              .join(", ") || "—"
          } |`,
      ),
      "",
    ].join("\n");
    writeRun(OUT, at, runData, md);
  } finally {
    await dev.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

await main();
