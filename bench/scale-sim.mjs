#!/usr/bin/env node
// How far one document's audience can grow: the relay tree against a single object, by simulation.
//
//   node bench/scale-sim.mjs [--costs=w9-costs.json] [--audiences=1000,3000,10000,30000,100000] [--out=dir]
//                            [--writers=2] [--updates-per-writer=5] [--presence-per-writer=5] [--no-echoes]
//                            [--relay-after=500] [--per-relay=500] [--width=64] [--max-depth=4]
//                            [--hop=ms] [--commit=ms] [--seconds=60] [--seeds=3] [--no-sweep]
//
// No server runs: bench/lib/scale-model.mjs plans the tree for each audience and runs a discrete-event model of
// every object's thread (docs/SCALE.md). The costs it starts from are measured ones where a `--costs` file
// gives them (bench W9 writes one: `{ "sendUs": …, "hopMs": …, … }` or `{ "costs": { … } }`), the field notes'
// figures otherwise; the report names which is which. A hop or commit timed on one local workerd is not a
// production one: `--hop` and `--commit` set those two whatever the file says. Writes `<stamp>.md`, `<stamp>.json` and
// `<stamp>-scale.svg` into --out (default bench/results/<date>-scale/) and prints the markdown.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { resultsDir } from "./lib/paths.mjs";
import { DEFAULT_PARAMS, evaluate, mergeCosts, PRICING, planSingle, simulate } from "./lib/scale-model.mjs";
import { writeRun } from "./lib/typist.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return def;
  return args[i].includes("=") ? args[i].slice(args[i].indexOf("=") + 1) : args[i + 1];
};
const num = (name, def) => Number(opt(name, def));
const AUDIENCES = String(opt("audiences", "1000,3000,10000,30000,100000")).split(",").map(Number);
const GOAL = { audience: 10_000, p99Ms: 100 };
// W8 as measured (docs/PERFORMANCE.md, bench/results/2026-12-07-w8/2026-12-07T13-13-59.md): one object, wrangler dev,
// tmpfs, everyone in full presence, 1 writer at 2 updates/s and one cursor move a second. Medians of 2 rounds.
const W8 = [
  { people: 250, p50: 17.6, p99: 111, messagesPerSecond: 880, cpu: 0.116 },
  { people: 500, p50: 23, p99: 140, messagesPerSecond: 1636, cpu: 0.199 },
  { people: 990, p50: 40.9, p99: 180, messagesPerSecond: 3041, cpu: 0.444 },
];
const costsPath = opt("costs", undefined);
const costs = costsPath ? mergeCosts(JSON.parse(readFileSync(costsPath, "utf8")), costsPath) : mergeCosts({}, "");
for (const [flag, name] of [
  ["hop", "hopMs"],
  ["commit", "commitMs"],
]) {
  const v = opt(flag, undefined);
  if (v !== undefined) costs[name] = { value: Number(v), source: `set on the command line (--${flag})`, measured: true };
}
const params = {
  ...DEFAULT_PARAMS,
  relayAfter: num("relay-after", DEFAULT_PARAMS.relayAfter),
  perRelay: num("per-relay", DEFAULT_PARAMS.perRelay),
  width: num("width", DEFAULT_PARAMS.width),
  maxDepth: num("max-depth", DEFAULT_PARAMS.maxDepth),
  writers: num("writers", DEFAULT_PARAMS.writers),
  updatesPerWriter: num("updates-per-writer", DEFAULT_PARAMS.updatesPerWriter),
  presencePerWriter: num("presence-per-writer", DEFAULT_PARAMS.presencePerWriter),
  echoes: !args.includes("--no-echoes"),
  seconds: num("seconds", DEFAULT_PARAMS.seconds),
};
const SEEDS = num("seeds", 3);
const OUT = resolve(opt("out", resultsDir("scale")));
const T0 = performance.now();
const log = (msg) => console.log(`[scale ${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);

const int = (x) => Math.round(x).toLocaleString("en-US");
const ms = (x) => (!Number.isFinite(x) ? "—" : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`);
const pctOf = (x) => `${Math.round(x * 100)} %`;
const usd = (x) => `$${x < 1 ? x.toFixed(3) : x.toFixed(2)}`;
const withCost = (name, value) => ({ ...costs, [name]: { ...costs[name], value } });

/**
 * One case run with SEEDS different random streams: the run whose tree p99 is the median, with the range of
 * both p99s across the runs (as the bench reports medians with their range).
 */
function evaluateSeeds(audience, p, c) {
  const runs = Array.from({ length: SEEDS }, (_, i) => evaluate(audience, { ...p, seed: i + 1 }, c));
  const range = (f) => [Math.min(...runs.map(f)), Math.max(...runs.map(f))];
  const mid = [...runs].sort((a, b) => a.tree.p99 - b.tree.p99)[Math.floor(runs.length / 2)];
  return { ...mid, range: { tree: range((r) => r.tree.p99), single: range((r) => r.single.p99) } };
}
const scaledCpu = (k) => Object.fromEntries(Object.entries(costs).map(([n, v]) => [n, n.endsWith("Us") ? { ...v, value: v.value * k } : v]));
const withRange = (x, [lo, hi]) => (SEEDS > 1 ? `${ms(x)} (${ms(lo)}–${ms(hi)})` : ms(x));

function main() {
  const rows = [];
  for (const audience of AUDIENCES) {
    const r = evaluateSeeds(audience, params, costs);
    rows.push(r);
    log(
      `${int(audience)} viewers: tree depth ${r.tree.depth}, ${r.tree.objects} objects, p99 ${ms(r.tree.p99)} (last socket ${ms(r.tree.lastP99)}); ` +
        `single object p99 ${ms(r.single.p99)}, ${int(r.single.refused)} refused`,
    );
  }
  const sweep = args.includes("--no-sweep") ? [] : sensitivity();
  const w8 = args.includes("--no-sweep") ? [] : checkAgainstW8();
  const at = new Date().toISOString().replace(/:/g, "-").slice(0, 19);
  const data = { at, params, costs, pricing: PRICING, goal: GOAL, rows, sweep, w8 };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, `${at}-scale.svg`), svg(rows));
  writeRun(OUT, at, data, markdown(data));
  log(`wrote ${OUT}/${at}.{md,json} and ${at}-scale.svg`);
}

/** The goal's audience again, one input changed at a time, and the same tree on one local thread. */
function sensitivity() {
  const a = GOAL.audience;
  const cases = [
    ["defaults", params, costs],
    ...[1, 10, 20].map((v) => [`hop ${v} ms`, params, withCost("hopMs", v)]),
    ...[20, 50, 70].map((v) => [`send ${v} µs`, params, withCost("sendUs", v)]),
    ...[1, 30].map((v) => [`commit ${v} ms`, params, withCost("commitMs", v)]),
    ...[1, 15, 30].map((v) => [`${params.writers} writers × ${v} updates/s`, { ...params, updatesPerWriter: v, presencePerWriter: v }, costs]),
    ...[250, 1000].map((v) => [`${v} sockets per relay`, { ...params, perRelay: v }, costs]),
    ["width 8 (two levels of relays)", { ...params, width: 8 }, costs],
    ["presence message received 136 µs (W8's many-state echoes)", params, withCost("echoUs", 136)],
    ["every CPU cost × 2", params, scaledCpu(2)],
    ["every CPU cost × 2, 250 sockets per relay", { ...params, perRelay: 250 }, scaledCpu(2)],
    ["every CPU cost × 2, 250 sockets per object (authority and relays)", { ...params, relayAfter: 250, perRelay: 250 }, scaledCpu(2)],
    ["no presence echoes (non-stock clients)", { ...params, echoes: false }, costs],
    ["no presence traffic at all", { ...params, presence: false }, costs],
  ];
  const out = [];
  for (const [label, p, c] of cases) {
    const r = evaluateSeeds(a, p, c);
    out.push({ label, audience: a, tree: r.tree, single: r.single, range: r.range });
    log(`sweep at ${int(a)}: ${label}: tree p99 ${ms(r.tree.p99)}, single p99 ${ms(r.single.p99)}`);
  }
  // One local workerd: every object on one thread, hops in-process, commits on tmpfs.
  const local = { ...costs, hopMs: { ...costs.hopMs, value: 0.2 }, commitMs: { ...costs.commitMs, value: 0.35 } };
  for (const audience of [1_000, 3_000, 10_000]) {
    const r = evaluateSeeds(audience, { ...params, sharedThread: true }, local);
    out.push({ label: "local: one thread, hop 0.2 ms, commit 0.35 ms", audience, tree: r.tree, single: r.single, range: r.range });
    log(`local at ${int(audience)}: tree p99 ${ms(r.tree.p99)}, the one thread ${pctOf(r.tree.busiestThread)} busy`);
  }
  return out;
}

/** The model fed W8's workload on one local object, beside what W8 measured. */
function checkAgainstW8() {
  const local = { ...costs, commitMs: { ...costs.commitMs, value: 0.35 } };
  return W8.map((m) => {
    const runs = Array.from({ length: SEEDS }, (_, i) =>
      simulate(planSingle(m.people, { relayAfter: m.people }), { ...params, writers: 1, updatesPerWriter: 2, presencePerWriter: 1, seed: i + 1 }, local),
    );
    const mid = [...runs].sort((a, b) => a.p99 - b.p99)[Math.floor(runs.length / 2)];
    log(`W8 check at ${m.people}: model p99 ${ms(mid.p99)}, measured ${ms(m.p99)}`);
    return { measured: m, model: { p50: mid.p50, p99: mid.p99, messagesPerSecond: mid.perObject[0].sendsPerSecond, busy: mid.perObject[0].busy } };
  });
}

function markdown({ at, params: p, costs: c, rows, sweep, w8 }) {
  const goalRow = rows.find((r) => r.audience === GOAL.audience);
  const met = goalRow && goalRow.tree.refused === 0 && goalRow.tree.p99 <= GOAL.p99Ms;
  const lines = [
    `# Scale simulation ${at}`,
    "",
    `A model, not a measurement: \`node bench/scale-sim.mjs\` (bench/lib/scale-model.mjs; docs/SCALE.md explains it). ` +
      `${p.seconds} s simulated per case after ${p.warmup} s of warm-up; each case run with ${SEEDS} random seed${SEEDS === 1 ? "" : "s"}${SEEDS > 1 ? ": the median run, p99 ranges in brackets" : ""}.`,
    "",
    goalRow
      ? `**Goal: ${int(GOAL.audience)} viewers of one document, fan-out p99 ≤ ${GOAL.p99Ms} ms, nobody refused: ${met ? "met" : "not met"} in this model** ` +
        `(p99 ${ms(goalRow.tree.p99)}, the last socket's p99 ${ms(goalRow.tree.lastP99)}, ${int(goalRow.tree.refused)} refused; ` +
        `one object: p99 ${ms(goalRow.single.p99)}).`
      : "",
    "",
    "## Inputs",
    "",
    "| cost | value | from |",
    "| --- | --- | --- |",
    ...Object.entries(c).map(([k, v]) => `| ${k} | ${v.value} | ${v.measured ? v.source : `default: ${v.source}`} |`),
    "",
    `Tree: the authority keeps ${p.relayAfter} sockets, relays ${p.perRelay} each, at most ${p.width} child relays per object, ` +
      `${p.maxDepth} levels of relays. Traffic: ${p.writers} writers × ${p.updatesPerWriter} updates/s (Poisson), each moving its cursor ` +
      `${p.presencePerWriter} times a second; every viewer renews presence every ${p.renewalEveryMs / 1000} s; relays send the viewer count ` +
      `every ${p.countEveryMs / 1000} s; clients ${p.echoes ? "echo every presence message (the stock y-websocket provider)" : "do not echo presence"}.`,
    "",
    "## The tree against one object",
    "",
    "Fan-out: from an update's arrival at the writer's object to each socket's send, over every socket and update; " +
      "*last socket*: each update's slowest socket. *Floor*: a lone update's last socket with nothing queued.",
    "",
    "| viewers | relay levels (most children of one object) | objects (relays per level) | floor | p50 | p99 | last socket p99 | writer on a relay: p99 | one object: floor | p50 | p99 | refused |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${int(r.audience)} | ${r.tree.depth} (${r.tree.widthUsed}) | ${r.tree.objects} (${
          r.tree.levels
            .slice(1)
            .map((l) => l.objects)
            .join(" + ") || "—"
        }) | ${ms(r.tree.floorMs)} | ${ms(r.tree.p50)} | **${withRange(r.tree.p99, r.range.tree)}** | ${ms(r.tree.lastP99)} | ${ms(
          r.tree.writerOnLeafP99,
        )} | ${ms(r.single.floorMs)} | ${ms(r.single.p50)} | **${withRange(r.single.p99, r.range.single)}** | ${int(r.single.refused)} |`,
    ),
    "",
    "## Per object",
    "",
    "Sends per update: one per child link and one per socket. CPU per update: a lone update's, in ms. Busy: the share of the " +
      "object's thread in use, all traffic included. Received: messages in per second (updates, links, renewals, echoes).",
    "",
    "| viewers | authority: sends / CPU per update | busy | received /s | largest relay: sends / CPU per update | busy | received /s | one object: sends / CPU per update | busy | received /s |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => {
      const a = r.tree.authority;
      const x = r.tree.relayMax;
      const s = r.single.object;
      return (
        `| ${int(r.audience)} | ${int(a.sendsPerUpdate)} / ${a.cpuPerUpdateMs.toFixed(1)} | ${pctOf(a.busy)} | ${int(a.receivedPerSecond)} | ` +
        (r.tree.depth > 0 ? `${int(x.sendsPerUpdate)} / ${x.cpuPerUpdateMs.toFixed(1)} | ${pctOf(x.busy)} | ${int(x.receivedPerSecond)} | ` : "— | — | — | ") +
        `${int(s.sendsPerUpdate)} / ${s.cpuPerUpdateMs.toFixed(1)} | ${pctOf(s.busy)} | ${int(s.receivedPerSecond)} |`
      );
    }),
    "",
    "## Cost per hour of a live document",
    "",
    `List prices, no free allowance (${PRICING.source}). Relays hold the client end of their link, which cannot hibernate: each is ` +
      "billed for the whole hour at 128 MB. The authority and the single object are billed while busy and while their output gate waits.",
    "",
    "| viewers | tree: GB-s | requests | cost | one object: GB-s | requests | cost |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${int(r.audience)} | ${int(r.tree.cost.gbS)} | ${int(r.tree.cost.requests)} | ${usd(r.tree.cost.usd)} | ${int(r.single.cost.gbS)} | ${int(
          r.single.cost.requests,
        )} | ${usd(r.single.cost.usd)} |`,
    ),
    "",
  ];
  if (sweep.length > 0) {
    lines.push(
      "## What the result depends on",
      "",
      `${int(GOAL.audience)} viewers, one input changed at a time; the last rows put every object on one thread, as one local workerd does.`,
      "",
      "| case | viewers | tree p99 | last socket p99 | busiest thread | most messages in /s | one object p99 | tree cost /h |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
      ...sweep.map(
        (s) =>
          `| ${s.label} | ${int(s.audience)} | ${withRange(s.tree.p99, s.range.tree)} | ${ms(s.tree.lastP99)} | ${pctOf(s.tree.busiestThread)} | ${int(
            Math.max(s.tree.authority.receivedPerSecond, s.tree.relayMax.receivedPerSecond),
          )} | ${ms(s.single.p99)} | ${usd(s.tree.cost.usd)} |`,
      ),
      "",
    );
  }
  if (w8.length > 0) {
    lines.push(
      "## Check against W8 (one object, measured)",
      "",
      "The model fed W8's workload (everyone in full presence, 1 writer at 2 updates/s, one cursor move a second, commit 0.35 ms) " +
        "beside W8's run of record on wrangler dev, whose figures include the dev proxy (+60 % CPU per update in W1), the load generator " +
        "on the same two cores, and echoes carrying hundreds of states.",
      "",
      "| people | model p50 / p99 | measured p50 / p99 | model messages out /s | measured | model busy | measured server CPU |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...w8.map(
        ({ measured: m, model: x }) =>
          `| ${m.people} | ${ms(x.p50)} / ${ms(x.p99)} | ${ms(m.p50)} / ${ms(m.p99)} | ${int(x.messagesPerSecond)} | ${int(m.messagesPerSecond)} | ${pctOf(x.busy)} | ${pctOf(m.cpu)} |`,
      ),
      "",
    );
  }
  return lines.join("\n");
}

/** Fan-out p99 against audience, both axes logarithmic: the tree, its last socket, one object, and the goal. */
function svg(rows) {
  // Width, height, and the plot's left, right, top and bottom margins.
  const [W, H, L, R, T, B] = [760, 420, 70, 230, 44, 56];
  const xs = rows.map((r) => r.audience);
  const [x0, x1] = [Math.log10(Math.min(...xs) / 1.3), Math.log10(Math.max(...xs) * 1.3)];
  const ys = rows.flatMap((r) => [r.tree.p99, r.tree.lastP99, r.single.p99]).filter((y) => y > 0);
  const y0 = Math.floor(Math.log10(Math.min(10, ...ys)));
  const y1 = Math.ceil(Math.log10(Math.max(1000, ...ys)));
  const px = (x) => L + ((Math.log10(x) - x0) / (x1 - x0)) * (W - L - R);
  const py = (y) => T + (1 - (Math.log10(y) - y0) / (y1 - y0)) * (H - T - B);
  const f = (v) => v.toFixed(1);
  const title = "Fan-out p99 against audience: relay tree vs one object (model)";
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${title}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${f((L + W - R) / 2)}" y="24" text-anchor="middle" font-size="14">${title}</text>`,
  ];
  for (let e = y0; e <= y1; e++) {
    const v = 10 ** e;
    out.push(`<line x1="${L}" x2="${W - R}" y1="${f(py(v))}" y2="${f(py(v))}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${f(py(v) + 4)}" text-anchor="end">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`);
  }
  for (const x of xs) {
    out.push(`<line x1="${f(px(x))}" x2="${f(px(x))}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${f(px(x))}" y="${H - B + 18}" text-anchor="middle">${x.toLocaleString("en-US")}</text>`);
  }
  const limit = px(32_768);
  out.push(
    `<line x1="${f(limit)}" x2="${f(limit)}" y1="${T}" y2="${H - B}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<text x="${f(limit - 4)}" y="${T + 12}" text-anchor="end" fill="#666">one object's socket limit (32,768)</text>`,
    `<line x1="${L}" x2="${W - R}" y1="${f(py(GOAL.p99Ms))}" y2="${f(py(GOAL.p99Ms))}" stroke="#2ca02c" stroke-dasharray="6 3"/>`,
    `<text x="${L + 6}" y="${f(py(GOAL.p99Ms) - 5)}" fill="#2ca02c">goal: p99 ≤ ${GOAL.p99Ms} ms at ${GOAL.audience.toLocaleString("en-US")}</text>`,
    `<text x="${f((L + W - R) / 2)}" y="${H - 14}" text-anchor="middle">viewers of one document (log)</text>`,
    `<text x="16" y="${f((T + H - B) / 2)}" text-anchor="middle" transform="rotate(-90 16 ${f((T + H - B) / 2)})">update fan-out p99 (log)</text>`,
  );
  const series = [
    { label: "relay tree: p99", color: "#1f77b4", dash: "", y: (r) => r.tree.p99 },
    { label: "relay tree: last socket p99", color: "#1f77b4", dash: "5 3", y: (r) => r.tree.lastP99 },
    { label: "one object, no relays: p99", color: "#d62728", dash: "", y: (r) => r.single.p99 },
  ];
  series.forEach((s, i) => {
    const pts = rows.filter((r) => s.y(r) > 0).map((r) => `${f(px(r.audience))},${f(py(s.y(r)))}`);
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}" ` : ""}points="${pts.join(" ")}"/>`);
    for (const pt of pts) {
      const [cx, cy] = pt.split(",");
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
    out.push(
      `<line x1="${W - R + 14}" x2="${W - R + 36}" y1="${T + i * 22}" y2="${T + i * 22}" stroke="${s.color}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ""}/>`,
      `<text x="${W - R + 42}" y="${T + i * 22 + 4}">${s.label}</text>`,
    );
  });
  for (const r of rows.filter((x) => x.single.refused > 0)) {
    out.push(
      `<text x="${f(px(r.audience))}" y="${f(py(r.single.p99) + 18)}" text-anchor="end" fill="#d62728">${r.single.refused.toLocaleString("en-US")} refused</text>`,
    );
  }
  const depths = rows.map((r) => `${r.audience.toLocaleString("en-US")}: ${r.tree.objects} objects, ${r.tree.depth} relay level(s)`);
  depths.forEach((d, i) => {
    out.push(`<text x="${W - R + 14}" y="${T + 90 + i * 18}" fill="#555">${d}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

main();
