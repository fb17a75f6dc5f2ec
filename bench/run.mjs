#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --targets=lattice,y-partyserver,hocuspocus,y-websocket-server,floor]
//   [-- --media=disk,tmpfs] [-- --runtimes=wrangler,miniflare] [-- --workloads=W1,...,W8] [-- --w8-sizes=250,500,990] [-- --rounds=N] [-- --out=dir]`
// `npm run bench -- --workloads=W9 [-- --quick] [-- --w9-sizes=1000,2000,3000] [-- --w9-rounds=N] [-- --out=dir]`: W9 (relays,
//   bench/lib/relay-room.mjs) runs on servers of its own, after the others if any; it writes <stamp>-w9.{json,md,svg} and costs.json.
// `npm run bench -- --render=bench/results/<date>-<name>/<stamp>.json` re-renders that run's markdown.
//
// Starts every server of the run at once (bench/lib/matrix.mjs), warms each, then runs every workload as
// interleaved rounds (bench/lib/rounds.mjs) with one y-websocket load generator in this process. Raw Yjs
// in this process and a no-op Durable Object on each runtime are the limits. Writes bench/results/<date>-bench/
// (a --quick run: bench/results/tmp/, git-ignored).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { bigDocTrace } from "./lib/big-doc.mjs";
import { fsyncCost } from "./lib/fsync.mjs";
import { serverMatrix } from "./lib/matrix.mjs";
import { BENCH, mediumType, resultsDir } from "./lib/paths.mjs";
import { rawColdLoad, rawIngest, rawIngestFresh, rawStorm } from "./lib/raw.mjs";
import { bigRoomSvg } from "./lib/big-room.mjs";
import { relayRoomMarkdown, relayRoomSeries, runRelayRoom } from "./lib/relay-room.mjs";
import { bigRoomSummary, renderMarkdown, summarize } from "./lib/report.mjs";
import { runWorkloads } from "./lib/schedule.mjs";
import { ensurePeersInstalled } from "./lib/targets.mjs";
import { cachedTraceUpdates } from "./lib/traces.mjs";

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const opt = (name, def) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
const list = (name, def) => opt(name, def).split(",").filter(Boolean);
const quick = flag("quick");
const T0 = performance.now();
const log = (msg) => console.log(`[bench ${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);

const MAX_DOC_BYTES = 8 * 2 ** 20; // wrangler.toml's default

/** The commit the run measured, and the files under src/ that differed from it (a shared checkout moves). */
function sourceState() {
  const git = (...a) => spawnSync("git", a, { cwd: join(BENCH, ".."), encoding: "utf8" }).stdout.trim();
  return { commit: git("rev-parse", "--short", "HEAD"), uncommittedSrcFiles: git("status", "--porcelain", "--", "src").split("\n").filter(Boolean).length };
}

const CFG = quick
  ? {
      rounds: 2,
      W1: { clients: 50, writers: 5, rate: 10, seconds: 2 },
      W2: { readers: 10, txns: 1_500 },
      W3: { docs: 10, clientsPerDoc: 4, rate: 5, seconds: 2 },
      W4: { perUpdate: 10_000 },
      W5: { clients: 50, windowMs: 500, perUpdate: 10_000 },
      W6: { clients: 100, docs: 10, seconds: 6, windows: 2, pingMs: 3_000, settleMs: 1_000 },
      W7: { bytes: 2 * 2 ** 20 },
      W8: { sizes: [50, 100], seconds: 10, rate: 2 },
      W9: { sizes: [1000, 2000], rounds: 1, seconds: 10, rate: 2 },
    }
  : {
      rounds: 3,
      W1: { clients: 50, writers: 5, rate: 10, seconds: 5 },
      W2: { readers: 10, txns: 8_000 },
      W3: { docs: 100, clientsPerDoc: 4, rate: 5, seconds: 5 },
      W4: { perUpdate: 250 },
      W5: { clients: 250, windowMs: 1000, perUpdate: 250 },
      W6: { clients: 1000, docs: 100, seconds: 120, windows: 3, pingMs: 30_000, settleMs: 5_000 },
      W7: { bytes: MAX_DOC_BYTES - 64 * 1024 },
      W8: { sizes: [250, 500, 990], seconds: 40, rate: 2 },
      W9: { sizes: [1000, 2000, 3000], rounds: 3, seconds: 30, rate: 2 },
    };
CFG.rounds = Number(opt("rounds", CFG.rounds));
CFG.W8.sizes = list("w8-sizes", CFG.W8.sizes.join(",")).map(Number);
CFG.W9.sizes = list("w9-sizes", CFG.W9.sizes.join(",")).map(Number);
CFG.W9.rounds = Number(opt("w9-rounds", CFG.W9.rounds));

/** W9 on its own two servers (bench/lib/relay-room.mjs): its JSON, tables, SVG and the scale simulation's costs.json in `dir`. */
async function relayRoom(dir, stamp) {
  const w9 = await runRelayRoom({ ...CFG.W9, log });
  w9.date = new Date().toISOString();
  w9.machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadAvgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) };
  w9.source = sourceState();
  mkdirSync(dir, { recursive: true });
  const md = relayRoomMarkdown(w9);
  writeFileSync(join(dir, `${stamp}-w9.json`), `${JSON.stringify(w9, null, 2)}\n`);
  writeFileSync(join(dir, `${stamp}-w9.md`), md);
  writeFileSync(join(dir, "costs.json"), `${JSON.stringify({ source: `${stamp}-w9.json`, ...w9.costs }, null, 2)}\n`);
  const svg = bigRoomSvg(relayRoomSeries(w9), { title: "W9: edit fan-out against audience, relays (wrangler dev, tmpfs)" });
  writeFileSync(join(dir, `${stamp}-w9.svg`), svg.replace("edit fan-out p99 (log)", "edit fan-out, p50 and p99 (log)"));
  console.log(`\n${md}`);
  log(`wrote ${join(dir, stamp)}-w9.json, .md, .svg and costs.json`);
  return w9;
}

async function main() {
  const render = opt("render");
  if (render) {
    // Re-renders the markdown of an earlier results file without running anything.
    const earlier = JSON.parse(readFileSync(render, "utf8"));
    if (!earlier.servers) throw new Error(`${render} was written by the bench before interleaved rounds (issue 16): render it with that commit's bench`);
    const md = renderMarkdown(earlier);
    writeFileSync(render.replace(/\.json$/, ".md"), md);
    console.log(md);
    return;
  }
  const peers = list("targets", quick ? "lattice,y-partyserver,floor" : "lattice,y-partyserver,hocuspocus,y-websocket-server,floor");
  const media = list("media", quick ? "tmpfs" : "disk,tmpfs");
  const runtimes = list("runtimes", quick ? "miniflare" : "wrangler,miniflare");
  const workloads = new Set(list("workloads", "W1,W2,W3,W4,W5,W6,W7,W8").map((w) => w.toUpperCase()));
  if (workloads.delete("W9") && workloads.size === 0) {
    const dir = resolve(opt("out", quick ? join(BENCH, "results", "tmp") : resultsDir("bench")));
    const w9 = await relayRoom(dir, new Date().toISOString().replace(/:/g, "-").replace(/\..*$/, "") + (quick ? "-quick" : ""));
    process.exitCode = w9.failures.length > 0 ? 1 : 0;
    return;
  }
  const withW9 = args.some((a) => a.startsWith("--workloads=") && a.toUpperCase().includes("W9"));
  log(`mode ${quick ? "quick" : "full"}; ${CFG.rounds} rounds; peers ${peers.join(", ")}; media ${media.join(", ")}; runtimes ${runtimes.join(", ")}`);
  if (peers.some((p) => !p.startsWith("lattice"))) ensurePeersInstalled(log);

  log("building trace updates (friendsforever_flat, seph-blog1, automerge-paper) and the W7 document ...");
  const traces = {
    ff: cachedTraceUpdates("friendsforever_flat", { perUpdate: 1, limit: CFG.W2.txns }),
    seph: cachedTraceUpdates("seph-blog1", { perUpdate: CFG.W5.perUpdate }),
    paper: cachedTraceUpdates("automerge-paper", { perUpdate: CFG.W4.perUpdate }),
    big: bigDocTrace(CFG.W7.bytes),
  };
  log("raw Yjs baselines and each medium's fsync ...");
  const raw = { ingest: rawIngest(traces.ff), coldLoad: rawColdLoad(traces.paper), storm: rawStorm(traces.seph, CFG.W5.clients) };
  const fsync = Object.fromEntries(media.map((m) => [m, { type: mediumType(m), ...fsyncCost(m) }]));
  log(`raw Yjs: ${raw.ingest.applyUsPerUpdate} µs apply per update; fsync p50 ${media.map((m) => `${m} ${fsync[m].us.p50} µs`).join(", ")}`);

  const servers = serverMatrix({ peers, media, runtimes });
  const results = {
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memGB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: process.platform,
      loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    source: sourceState(),
    config: CFG,
    raw,
    fsync,
    servers: Object.fromEntries(servers.map((s) => [s.id, { label: s.label, peer: s.peer, runtime: s.runtime, medium: s.medium, durable: s.durable }])),
  };
  Object.assign(results, await runWorkloads({ servers, workloads, cfg: CFG, traces, log }));

  // The limit once more, now that the servers are gone, here and in three fresh processes: a Node process
  // here sometimes runs Yjs at half speed for its whole life. The best is the limit; all are kept.
  const again = rawIngest(traces.ff);
  const fresh = rawIngestFresh("friendsforever_flat", { perUpdate: 1, limit: CFG.W2.txns });
  raw.ingestRuns = [
    { where: "this process, first", ...raw.ingest },
    { where: "this process, last", ...again },
    ...fresh.map((f) => ({ where: "fresh process", ...f })),
  ];
  raw.ingest = [again, ...fresh].reduce((best, r) => (r.applyUsPerUpdate < best.applyUsPerUpdate ? r : best), raw.ingest);
  results.machine.loadAvgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  results.elapsedSeconds = Math.round((performance.now() - T0) / 100) / 10;
  results.summary = summarize(results);
  const md = renderMarkdown(results);
  // A quick run is a smoke test, not a run of record: it goes to the git-ignored tmp/, never over the
  // committed results (latest.md included), so it leaves the working tree clean.
  const dir = resolve(opt("out", quick ? join(BENCH, "results", "tmp") : resultsDir("bench")));
  mkdirSync(dir, { recursive: true });
  const stamp = results.date.replace(/:/g, "-").replace(/\..*$/, "") + (quick ? "-quick" : "");
  writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, `${stamp}.md`), md);
  writeFileSync(join(dir, "latest.md"), md);
  if (results.W8) {
    const rows = bigRoomSummary(results);
    const series = Object.keys(results.W8).map((id) => ({
      label: results.servers[id]?.label ?? id,
      points: rows.filter((r) => r.id === id && r.p99).map((r) => ({ x: r.size, y: r.p99.median, lo: r.p99.min, hi: r.p99.max })),
      // Sizes at which no edit could be measured: the room did not let the writer sync.
      failedAt: rows.filter((r) => r.id === id && !r.p99).map((r) => r.size),
    }));
    writeFileSync(join(dir, `${stamp}-w8.svg`), bigRoomSvg(series, { title: "W8: edit fan-out p99 against audience (wrangler dev, tmpfs)" }));
    log(`wrote ${join(dir, stamp)}-w8.svg`);
  }
  console.log(`\n${md}`);
  log(`wrote ${join(dir, stamp)}.json and .md (${results.elapsedSeconds} s)`);
  if (withW9) results.failures.push(...(await relayRoom(dir, stamp)).failures);
  process.exitCode = results.failures.length > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
