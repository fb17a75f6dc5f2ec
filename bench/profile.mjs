#!/usr/bin/env node
// `node bench/profile.mjs [--out=dir] [--rounds=N]`: where W1's fan-out latency and W2's CPU go on workerd.
// Runs W1 (1 doc, 50 clients, 5 writers × 10 ops/s) in interleaved rounds against the Node reference
// server, the relay floor, Lattice and y-partyserver on both workerd runtimes (wrangler dev and
// Miniflare, state on tmpfs). Reports, per server: latency, the wire split (first receiver,
// first-to-last spread) and server CPU per update; then one more round per server with perf sampling
// its processes (CPU by binary: kernel, workerd, JIT code) and, on Miniflare, a V8 CPU profile through
// the inspector (JavaScript time by function). Profiled rounds are not in the latency figures. Last,
// W2's writer (friendsforever_flat, 8,000 updates, 10 readers) into Lattice on Miniflare, V8-profiled:
// what Lattice's CPU per update is spent on above the runtime floor.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { floorTarget, latticeTarget, partyserverTarget, yWebsocketServerTarget } from "./lib/targets.mjs";
import { interleave, over } from "./lib/rounds.mjs";
import { documentIds } from "./lib/schedule.mjs";
import { cpuProfileWhile } from "./lib/inspector.mjs";
import { canPerf, perfWhile } from "./lib/perf.mjs";
import { cachedTraceUpdates } from "./lib/traces.mjs";
import { closeTyping, openTyping, typingRound, w2 } from "./lib/workloads.mjs";
import { resultsDir } from "./lib/paths.mjs";

const opt = (name, def) =>
  process.argv
    .slice(2)
    .find((a) => a.startsWith(`--${name}=`))
    ?.split("=")[1] ?? def;
const T0 = performance.now();
const log = (msg) => console.log(`[profile ${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const W1 = { clients: 50, writers: 5, rate: 10, seconds: 5 };
const rounds = Number(opt("rounds", 3));

const servers = [
  yWebsocketServerTarget({ port: 18870 }),
  floorTarget({ port: 18871, runtime: "miniflare", inspectorPort: 19871 }),
  latticeTarget({ port: 18872, runtime: "miniflare", medium: "tmpfs", inspectorPort: 19872 }),
  partyserverTarget({ port: 18873, runtime: "miniflare", medium: "tmpfs", inspectorPort: 19873 }),
  floorTarget({ port: 18874, runtime: "wrangler" }),
  latticeTarget({ port: 18875, runtime: "wrangler", medium: "tmpfs" }),
  partyserverTarget({ port: 18876, runtime: "wrangler", medium: "tmpfs" }),
];

async function main() {
  if (!canPerf()) throw new Error("perf is not installed");
  const docs = documentIds({ rounds: 3, W3: { docs: 0 }, W6: { docs: 0 } });
  for (const s of servers) {
    await s.start({ docs });
    log(`${s.id}: up`);
  }
  const out = {};
  try {
    const sessions = new Map();
    for (const s of servers) {
      const warm = await openTyping(s, { docs: ["warm"], clientsPerDoc: 10, writersPerDoc: 2 });
      await typingRound(warm, { rate: 10, seconds: 2 });
      await closeTyping(warm);
      sessions.set(s.id, await openTyping(s, { docs: ["w1"], clientsPerDoc: W1.clients, writersPerDoc: W1.writers }));
    }
    log(`W1 on ${servers.length} servers, ${rounds} interleaved rounds`);
    const results = await interleave(
      servers,
      rounds,
      (s) => typingRound(sessions.get(s.id), W1),
      log,
      (_, r) => `p50 ${r.latencyMs.p50} ms, first receiver ${r.firstReceiverMs.p50} ms, spread ${r.spreadToLastMs.p50} ms; ${r.serverCpuUsPerUpdate} µs CPU/update`,
    );
    const profiles = new Map();
    for (const s of servers) {
      const round = () => typingRound(sessions.get(s.id), W1);
      const [inner, perf] = await perfWhile(s.serverPids(), () => (s.inspectorPort ? cpuProfileWhile(s.inspectorPort, "bench", round) : round()));
      profiles.set(s.id, { perf, js: s.inspectorPort ? inner[1] : undefined });
      log(`${s.id}: profiled`);
    }
    const lattice = servers.find((s) => s.id === "lattice/miniflare/tmpfs");
    const ff = cachedTraceUpdates("friendsforever_flat", { perUpdate: 1, limit: 8_000 });
    const [ingest, js] = await cpuProfileWhile(lattice.inspectorPort, "bench", () => w2(lattice, { readers: 10 }, ff, "w2-0"));
    out.W2 = { serverCpuUsPerUpdate: ingest.serverCpuUsPerUpdate, updates: ingest.updates, js };
    log(`W2 into ${lattice.id}, V8-profiled: ${ingest.serverCpuUsPerUpdate} µs CPU per update`);
    for (const s of servers) {
      const rs = results.get(s.id);
      out[s.id] = {
        p50: over(rs, (r) => r.latencyMs.p50),
        p99: over(rs, (r) => r.latencyMs.p99),
        first: over(rs, (r) => r.firstReceiverMs.p50),
        spread: over(rs, (r) => r.spreadToLastMs.p50),
        cpuUsPerUpdate: over(rs, (r) => r.serverCpuUsPerUpdate),
        ...profiles.get(s.id),
      };
      await closeTyping(sessions.get(s.id));
    }
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
  }
  const dir = resolve(opt("out", resultsDir("profile")));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `profile-${new Date().toISOString().replace(/:/g, "-").replace(/\..*$/, "")}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  const c = (s) => (s ? `${s.median} (${s.min}–${s.max})` : "n/a");
  const lines = [
    `## W1 profile ${new Date().toISOString()} (${rounds} interleaved rounds, then one profiled round per server)`,
    "",
    "| server | p50 ms | first receiver p50 ms | spread to last p50 ms | server CPU µs per update | CPU by binary (profiled round) |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const [id, r] of Object.entries(out).filter(([id]) => id !== "W2")) {
    const dso = (r.perf?.byDso ?? []).slice(0, 4).map(([d, p]) => `${d} ${p}%`);
    lines.push(`| ${id} | ${c(r.p50)} | ${c(r.first)} | ${c(r.spread)} | ${c(r.cpuUsPerUpdate)} | ${dso.join(", ")} |`);
  }
  for (const [id, r] of Object.entries(out).filter(([id]) => id !== "W2")) {
    lines.push("", `${id}: hottest symbols (perf, % of the server's samples)`, "");
    for (const [sym, dso, pct] of r.perf?.topSymbols.slice(0, 8) ?? []) lines.push(`- ${pct}% ${dso} ${sym.slice(0, 120)}`);
    if (!r.js) continue;
    lines.push("", `${id}: JavaScript self time (V8 profile through the inspector), ${r.js.totalMs} ms sampled in the round`, "");
    for (const [fn, ms, pct] of r.js.top.slice(0, 12)) lines.push(`- ${pct}% ${ms} ms ${fn}`);
  }
  lines.push(
    "",
    `W2 into lattice/miniflare/tmpfs (${out.W2.updates} updates, ${out.W2.serverCpuUsPerUpdate} µs CPU per update under the profiler): JavaScript self time, ${out.W2.js.totalMs} ms sampled`,
    "",
  );
  for (const [fn, ms, pct] of out.W2.js.top.slice(0, 15)) lines.push(`- ${pct}% ${ms} ms ${fn}`);
  const md = `${lines.join("\n")}\n`;
  writeFileSync(file.replace(/\.json$/, ".md"), md);
  console.log(md);
  log(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
