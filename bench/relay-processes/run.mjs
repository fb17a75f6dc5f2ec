#!/usr/bin/env node
// W9's fan-out with the relays in a second process: (A) "one", every object in one `wrangler dev` (the
// normal setup), against (B) "two", the relays in a second `wrangler dev` (servers.mjs). Interleaved rounds
// (A B, B A, A B, ...: bench/lib/rounds.mjs), each round bench/lib/relay-room.mjs's relayRoomRound on a
// fresh document: `--clients` distinct users, the writer (on the document's object) at `--rate` updates/s
// for `--seconds`, every limit at its default (500 sockets on the document's object, 500 per relay).
//
//   node_modules/.bin/node bench/relay-processes/run.mjs [--clients=3000] [--rounds=3] [--seconds=30] [--rate=2]
//     [--setups=one,two[,entry]] [--port=18970] [--out=bench/results/2026-12-07-w9/processes] [--log]
//
// (C) "entry" is "two" with the relays' clients entering through the second process (servers.mjs).
//
// CPU per process (from /proc): each workerd of each setup, labelled "single/main/relays runtime/dev proxy",
// over the writing phase (ms per update, % of one core) and over the whole round (join and close included).
// Writes <stamp>-procs-<clients>.{json,md} and the progress lines as <stamp>-procs-<clients>.log.
import { execSync } from "node:child_process";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/wrangler-dev.mjs";
import { relayRoomRound } from "../lib/relay-room.mjs";
import { interleave, over } from "../lib/rounds.mjs";
import { round } from "../lib/workloads.mjs";
import { sleep } from "../lib/yws.mjs";
import { cpuDelta, setup } from "./servers.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
const CFG = {
  clients: Number(opt("clients", 3000)),
  rounds: Number(opt("rounds", 3)),
  seconds: Number(opt("seconds", 30)),
  rate: Number(opt("rate", 2)),
  warmClients: Number(opt("warm-clients", 600)),
};
const PORT = Number(opt("port", 18970));
/** The setups (servers.mjs), the first the baseline; each on its own ports (PORT + 2k, and + 1 for a second process). */
const SETUPS = opt("setups", "one,two").split(",");
const warmDoc = (s) => `procs-warm-${s.id}`;
const roundDoc = (s, r) => `procs-${s.id}-${CFG.clients}-${r}`;
const OUT = opt("out", join(ROOT, "bench", "results", "2026-12-07-w9", "processes"));
const STAMP = `${new Date().toISOString().slice(0, 19).replaceAll(":", "-")}-procs-${CFG.clients}${SETUPS.includes("entry") ? "-entry" : ""}${CFG.rate === 2 ? "" : `-rate${CFG.rate}`}`;
mkdirSync(OUT, { recursive: true });
const T0 = performance.now();
const log = (msg) => {
  const line = `[procs ${((performance.now() - T0) / 1000).toFixed(1).padStart(6)} s] ${msg}`;
  console.log(line);
  appendFileSync(join(OUT, `${STAMP}.log`), `${line}\n`);
};

/** One round on `s`, with CPU per labelled process: the writing phase (from the round's own meter) and the whole round. */
async function measured(s, docId, cfg) {
  await s.prepare(docId);
  const labels = new Map(s.processes().map((p) => [p.pid, p.label]));
  const before = s.cpu();
  const r = await relayRoomRound(s, cfg, docId);
  r.cpuRoundMs = cpuDelta(before, s.cpu());
  const writing = {};
  for (const p of r.server.perProcess) {
    const label = labels.get(p.pid) ?? `pid ${p.pid}`;
    writing[label] = (writing[label] ?? 0) + p.cpuMs;
  }
  const wallMs = cfg.seconds * 1000;
  r.cpuWriting = Object.fromEntries(
    Object.entries(writing).map(([k, ms]) => [k, { msPerUpdate: round(ms / r.updates, 2), pctOfCore: round((ms / wallMs) * 100, 1) }]),
  );
  return r;
}

const brief = (r) =>
  `fan-out p50 ${r.fanoutMs.p50} / p99 ${r.fanoutMs.p99} ms (object p50 ${r.directMs.p50}, relays p50 ${r.relayedMs.p50 ?? "-"}); ` +
  `relays ${r.relays}; ${r.delivered}/${r.expected} delivered, ${r.duplicates} twice; 1013s ${r.refusals[1013] ?? 0}; join ${r.joinSeconds} s; ` +
  `CPU while writing ${Object.entries(r.cpuWriting)
    .map(([k, v]) => `${k} ${v.pctOfCore}%`)
    .join(", ")}; generator ${r.generator.cpuPct}%`;

/** Per setup: medians over rounds (with ranges); per setup but the first, its ratios to the first's (B/A). */
function summarize(out) {
  const ids = Object.keys(out.rounds);
  const stat = (rs) => ({
    fanoutP50: over(rs, (r) => r.fanoutMs.p50),
    fanoutP99: over(rs, (r) => r.fanoutMs.p99),
    directP50: over(rs, (r) => r.directMs.p50),
    relayedP50: over(rs, (r) => r.relayedMs.p50),
    relayedP99: over(rs, (r) => r.relayedMs.p99),
    hopGapP50: over(rs, (r) => r.hopGapMs?.p50),
    relays: over(rs, (r) => r.relays),
    refusals1013: over(rs, (r) => r.refusals[1013] ?? 0),
    missing: over(rs, (r) => r.expected - r.delivered),
    duplicates: over(rs, (r) => r.duplicates),
    joinSeconds: over(rs, (r) => r.joinSeconds),
    generatorCpuPct: over(rs, (r) => r.generator.cpuPct),
    cpuWriting: Object.fromEntries(
      [...new Set(rs.flatMap((r) => Object.keys(r.cpuWriting ?? {})))].map((k) => [
        k,
        { msPerUpdate: over(rs, (r) => r.cpuWriting[k]?.msPerUpdate), pctOfCore: over(rs, (r) => r.cpuWriting[k]?.pctOfCore) },
      ]),
    ),
  });
  const ratio = (a, b, get) => {
    const [x, y] = [over(a, get), over(b, get)];
    const pairs = a.map((ra, i) => b[i] && !ra.error && !b[i].error && get(b[i]) / get(ra)).filter((v) => Number.isFinite(v));
    return x && y
      ? {
          ofMedians: round(y.median / x.median, 2),
          pairwiseMin: round(pairs.length ? Math.min(...pairs) : null, 2),
          pairwiseMax: round(pairs.length ? Math.max(...pairs) : null, 2),
        }
      : null;
  };
  const base = out.rounds[ids[0]] ?? [];
  const ratios = {};
  for (const id of ids.slice(1)) {
    const rs = out.rounds[id];
    ratios[id] = Object.fromEntries(
      [
        ["fanoutP50", (r) => r.fanoutMs.p50],
        ["fanoutP99", (r) => r.fanoutMs.p99],
        ["directP50", (r) => r.directMs.p50],
        ["relayedP50", (r) => r.relayedMs.p50],
        ["relayedP99", (r) => r.relayedMs.p99],
      ].map(([k, get]) => [k, ratio(base, rs, get)]),
    );
  }
  return { baseline: ids[0], setups: Object.fromEntries(ids.map((id) => [id, stat(out.rounds[id])])), ratiosToBaseline: ratios };
}

function markdown(out) {
  const s = out.summary;
  const ids = Object.keys(s.setups);
  const others = ids.slice(1);
  const cell = (x, d = 1) => (x ? `${round(x.median, d)} (${round(x.min, d)}–${round(x.max, d)})` : "n/a");
  const rat = (x) => (x ? `${x.ofMedians} (${x.pairwiseMin}–${x.pairwiseMax})` : "");
  const rows = [
    ["fan-out p50 (ms)", "fanoutP50"],
    ["fan-out p99 (ms)", "fanoutP99"],
    ["p50 on the document's object (ms)", "directP50"],
    ["p50 on relays (ms)", "relayedP50"],
    ["p99 on relays (ms)", "relayedP99"],
    ["hop: first on a relay − last on the object (ms, p50)", "hopGapP50"],
    ["relays", "relays", 0],
    ["1013 refusals (retried)", "refusals1013", 0],
    ["missing", "missing", 0],
    ["received twice", "duplicates", 0],
    ["join (s)", "joinSeconds"],
    ["load generator CPU (% of one core, writing phase)", "generatorCpuPct"],
  ];
  const lines = [
    `### Relays in a second process: ${out.config.clients} clients, 1 writer at ${out.config.rate} updates/s, ${out.config.seconds} s per round, ${out.config.rounds} interleaved rounds each`,
    "",
    `Machine: ${out.machine.cpus} × ${out.machine.cpuModel}; load average at start ${out.machine.loadAvgAtStart.join(" ")}, at end ${out.machine.loadAvgAtEnd.join(" ")}. Commit ${out.commit}.`,
    "",
    ...ids.map((id) => `- ${id}: ${out.servers[id]?.label ?? id}`),
    "",
    `| | ${ids.join(" | ")} | ${others.map((id) => `${id} / ${ids[0]} (medians; range over paired rounds)`).join(" | ")} |`,
    `| --- | ${ids.map(() => "---").join(" | ")} | ${others.map(() => "---").join(" | ")} |`,
  ];
  for (const [name, key, d = 1] of rows) {
    lines.push(`| ${name} | ${ids.map((id) => cell(s.setups[id][key], d)).join(" | ")} | ${others.map((id) => rat(s.ratiosToBaseline[id][key])).join(" | ")} |`);
  }
  lines.push(
    "",
    "CPU per process while the writer types (from /proc; ms per update, and % of one core):",
    "",
    "| setup | process | ms per update | % of one core |",
    "| --- | --- | --- | --- |",
  );
  for (const id of ids) {
    for (const [label, v] of Object.entries(s.setups[id].cpuWriting)) lines.push(`| ${id} | ${label} | ${cell(v.msPerUpdate, 2)} | ${cell(v.pctOfCore)} |`);
  }
  lines.push("", "Medians over rounds, range in brackets. Per round: bench/lib/relay-room.mjs relayRoomRound; setups: bench/relay-processes/servers.mjs.", "");
  return lines.join("\n");
}

async function main() {
  // "entry": the routing record its catalog holds from the start, what the document's object publishes for
  // that audience in the end (src/sync/relay-plan.ts: relays about three quarters full).
  const relays = Math.ceil((CFG.clients - 500 + 1) / (0.75 * 500));
  const all = SETUPS.map((kind, k) => setup(kind, { port: PORT + 2 * k, log: args.includes("--log"), relays }));
  const out = {
    config: CFG,
    commit: execSync("git rev-parse --short HEAD", { cwd: ROOT, encoding: "utf8" }).trim(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadAvgAtStart: loadavg().map((x) => round(x)) },
    servers: {},
    rounds: {},
    failures: [],
  };
  const up = [];
  try {
    for (const s of all) {
      log(`${s.id}: starting (${s.label}) ...`);
      await s.start({ docs: [warmDoc(s), ...Array.from({ length: CFG.rounds }, (_, r) => roundDoc(s, r))] });
      up.push(s);
      out.servers[s.id] = { label: s.label, processes: s.processes().map((p) => p.label) };
      log(
        `${s.id}: up: ${s
          .processes()
          .map((p) => `${p.label} (pid ${p.pid})`)
          .join(", ")}`,
      );
    }
    for (const s of up) {
      log(`${s.id}: warm-up round, ${CFG.warmClients} clients, 5 s (not counted) ...`);
      const r = await measured(s, warmDoc(s), { clients: CFG.warmClients, seconds: 5, rate: CFG.rate });
      log(`${s.id}: warm-up: ${brief(r)}`);
    }
    log(`${CFG.clients} clients per round, ${CFG.rounds} rounds each, interleaved; 1 writer at ${CFG.rate}/s for ${CFG.seconds} s`);
    const res = await interleave(
      up,
      CFG.rounds,
      async (s, r) => {
        await sleep(10_000); // the previous round's closes and idle links settle
        log(`round ${r + 1}/${CFG.rounds} ${s.id}: connecting ...`);
        return measured(s, roundDoc(s, r), CFG);
      },
      log,
      (_, r) => brief(r),
    );
    for (const [id, rs] of res) out.rounds[id] = rs;
  } catch (e) {
    out.failures.push(String(e?.stack ?? e));
    log(`FAILED: ${e?.stack ?? e}`);
    for (const s of up) log(s.output());
  } finally {
    for (const s of up) await s.stop();
  }
  out.machine.loadAvgAtEnd = loadavg().map((x) => round(x));
  out.summary = summarize(out);
  const md = markdown(out);
  writeFileSync(join(OUT, `${STAMP}.json`), `${JSON.stringify(out, null, 1)}\n`);
  writeFileSync(join(OUT, `${STAMP}.md`), md);
  console.log(`\n${md}`);
  log(`wrote ${join(OUT, STAMP)}.{json,md,log}`);
}

main();
