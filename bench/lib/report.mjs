// Markdown table and target check from a results object.

const fmt = (v, unit = "", d = 1) => {
  if (v === null || v === undefined) return "n/a";
  if (typeof v === "boolean") return v ? "yes" : "**no**";
  if (typeof v === "string") return v;
  const s =
    Math.abs(v) >= 100
      ? Math.round(v).toLocaleString("en-US")
      : Math.abs(v) >= 1 || v === 0
        ? String(Math.round(v * 10 ** d) / 10 ** d)
        : String(Number(v.toPrecision(2)));
  return unit ? `${s} ${unit}` : s;
};

const ratio = (a, b) => {
  if (typeof a !== "number" || typeof b !== "number" || b === 0) return "";
  const r = a / b;
  return ` (${r >= 10 ? Math.round(r) : Math.round(r * 100) / 100}×)`;
};

/** Rows: [label, raw getter, target getter, unit, better: "lower"|"higher"]. */
const ROWS = [
  ["W1 fan-out latency p50", (r) => r.raw?.ingest?.applyEncodeUsPerUpdate / 1000, (t) => t.W1?.latencyMs?.p50, "ms"],
  ["W1 latency p95", null, (t) => t.W1?.latencyMs?.p95, "ms"],
  ["W1 latency p99", null, (t) => t.W1?.latencyMs?.p99, "ms"],
  ["W1 latency max", null, (t) => t.W1?.latencyMs?.max, "ms"],
  ["W1 converged (all delivered, same text)", null, (t) => t.W1?.converged, ""],
  ["W2 ingest, updates/s (to the last reader)", (r) => r.raw?.ingest?.updatesPerSecond, (t) => t.W2?.updatesPerSecond, "/s"],
  ["W2 all 10 readers have endContent", (r) => r.raw?.ingest?.allDoneSeconds, (t) => t.W2?.allReadersDoneSeconds, "s"],
  ["W2 server CPU per update", (r) => r.raw?.ingest?.applyUsPerUpdate, (t) => t.W2?.serverCpuUsPerUpdate, "µs"],
  ["W2 server CPU per update, without wrangler dev's proxy process", null, (t) => t.W2?.runtimeCpuUsPerUpdate ?? t.W2?.serverCpuUsPerUpdate, "µs"],
  [
    "W2 runtime floor: CPU per message into a no-op Durable Object (all processes / runtime only)",
    (r) => (r.raw?.floor ? `${fmt(r.raw.floor.cpuUsPerMessage)} / ${fmt(r.raw.floor.runtimeCpuUsPerMessage)}` : undefined),
    () => "",
    "µs",
  ],
  ["W2 every update durable before broadcast", null, (t) => (t.W2 ? t.durable : undefined), ""],
  ["W3 latency p50", null, (t) => t.W3?.latencyMs?.p50, "ms"],
  ["W3 latency p99", null, (t) => t.W3?.latencyMs?.p99, "ms"],
  ["W3 server RSS, idle → peak", null, (t) => (t.W3 ? `${fmt(t.W3.rssMB.idleBefore)} → ${fmt(t.W3.rssMB.peak)}` : undefined), "MB", (t) => t.W3?.rssMB?.peak],
  ["W4 cold load, connect → synced", (r) => r.raw?.coldLoad?.coldLoadMs, (t) => (t.W4?.skipped ? "n/a (no persistence)" : t.W4?.connectToSyncedMs), "ms"],
  ["W4 then the client applies what it got (same work for every server; not in the figure above)", null, (t) => (t.W4?.skipped ? "n/a" : t.W4?.clientApplyMs), "ms"],
  ["W4 stored bytes / encoded state", (r) => r.raw?.coldLoad?.storedToEncoded, (t) => (t.W4?.skipped ? "n/a" : t.W4?.storedToEncoded), "×"],
  ["W5 reconnect storm, all synced", (r) => r.raw?.storm?.allSyncedSeconds, (t) => t.W5?.allSyncedSeconds, "s"],
  ["W5 per-client connect → synced p99", null, (t) => t.W5?.perClientConnectToSyncedMs?.p99, "ms"],
];

export function markdownTable(results) {
  const names = Object.keys(results.targets);
  const head = ["workload", "raw Yjs (limit)", ...names.map((n) => results.targets[n].label ?? n)];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  const base = results.targets.lattice;
  for (const [label, rawGet, get, unit, numGet] of ROWS) {
    const raw = rawGet ? rawGet(results) : undefined;
    const rawCell = typeof raw === "string" ? `${raw} ${unit}` : fmt(raw, unit, unit === "×" ? 2 : 1);
    const cells = [label, rawGet ? rawCell : ""];
    for (const n of names) {
      const t = results.targets[n];
      if (t.error && !t.W1 && !t.W2) {
        cells.push("failed");
        continue;
      }
      const v = get(t);
      const num = numGet ? numGet(t) : v;
      let cell = typeof v === "string" ? `${v}${unit && v !== "" && !v.startsWith("n/a") ? ` ${unit}` : ""}` : fmt(v, unit, unit === "×" ? 2 : 1);
      if (n === "lattice") {
        if (rawGet && typeof num === "number" && typeof raw === "number") cell += ratio(num, raw).replace("×)", "× raw)");
      } else if (base && typeof num === "number") {
        const b = numGet ? numGet(base) : get(base);
        cell += ratio(num, b).replace("×)", "× Lattice)");
      }
      cells.push(cell);
    }
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The issue's targets, with the distance. */
export function targetChecks(results) {
  const L = results.targets.lattice ?? {};
  const P = results.targets["y-partyserver"];
  const raw = results.raw ?? {};
  const out = [];
  const add = (name, value, goal, met, note = "") => out.push({ name, value, goal, met, note });
  const lp99 = L.W1?.latencyMs?.p99;
  const pp99 = P?.W1?.latencyMs?.p99;
  add(
    "W1 p99 ≤ y-partyserver p99",
    lp99 != null ? `${lp99} ms` : "n/a",
    pp99 != null ? `≤ ${pp99} ms` : "y-partyserver not run",
    lp99 != null && pp99 != null ? lp99 <= pp99 : null,
  );
  const ups = L.W2?.updatesPerSecond;
  add("W2 ≥ 1,000 updates/s, every update durable", ups != null ? `${ups} /s` : "n/a", "≥ 1,000 /s", ups != null ? ups >= 1000 && L.durable : null);
  const cpu = L.W2?.serverCpuUsPerUpdate;
  const rawApply = raw.ingest?.applyUsPerUpdate;
  const times = (x) => (rawApply ? `${Math.round((x / rawApply) * 10) / 10}×` : "?×");
  const floor = raw.floor;
  add(
    "W2 server CPU per update ≤ 5× raw Yjs apply",
    cpu != null
      ? `${cpu} µs (${times(cpu)} raw); ${L.W2.runtimeCpuUsPerUpdate ?? "?"} µs (${times(L.W2.runtimeCpuUsPerUpdate)}) without the dev proxy` +
          (floor ? `; the runtime floor alone is ${floor.cpuUsPerMessage} µs (${times(floor.cpuUsPerMessage)})` : "")
      : "n/a",
    rawApply ? `≤ ${Math.round(rawApply * 5 * 10) / 10} µs` : "n/a",
    cpu != null && rawApply ? cpu <= rawApply * 5 : null,
  );
  const cold = L.W4?.connectToSyncedMs;
  add("W4 cold load ≤ 100 ms", cold != null ? `${cold} ms` : "n/a", "≤ 100 ms", cold != null ? cold <= 100 : null);
  const st = L.W4?.storedToEncoded;
  add("W4 stored bytes ≤ 1.2× encoded state", st != null ? `${st}×` : "n/a", "≤ 1.2×", st != null ? st <= 1.2 : null);
  const storm = L.W5?.allSyncedSeconds;
  add(`W5 ${L.W5?.clients ?? "?"} clients all synced ≤ 5 s`, storm != null ? `${storm} s` : "n/a", "≤ 5 s", storm != null ? storm <= 5 : null);
  return out;
}

export function targetsTable(checks) {
  const lines = ["| target | measured | goal | met |", "| --- | --- | --- | --- |"];
  for (const c of checks) lines.push(`| ${c.name} | ${c.value} | ${c.goal} | ${c.met === null ? "not measured" : c.met ? "yes" : "**no**"} |`);
  return lines.join("\n");
}

export function generatorTable(results) {
  const lines = [
    "| target | workload | generator CPU (% of 1 core) | generator event-loop lag p99 | server CPU (% of 1 core) | server CPU user / system ms |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const [n, t] of Object.entries(results.targets)) {
    for (const w of ["W1", "W2", "W3", "W5"]) {
      const r = t[w];
      if (!r?.generator) continue;
      lines.push(
        `| ${t.label ?? n} | ${w} | ${r.generator.cpuPct}% | ${r.generator.loopLagP99Ms} ms | ${r.server?.cpuPctOfOneCore ?? "n/a"}% | ${r.server?.userMs ?? "?"} / ${r.server?.systemMs ?? "?"} |`,
      );
    }
  }
  return lines.join("\n");
}

export function renderMarkdown(results) {
  const m = results.machine;
  const c = results.config;
  return [
    `## Benchmark ${results.date} (${results.mode})`,
    "",
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memGB} GB RAM, Node ${m.node}, load average ${m.loadAvgAtStart[0]} at start, ${m.loadAvgAtEnd[0]} at end ` +
      `(above ${m.cpus} means other work shared the cores and the figures are noisy). Everything on loopback; each server alone on the machine; ` +
      `one load generator (this process). Lattice cells show the ratio to raw Yjs, peer cells the ratio to Lattice.`,
    "",
    `W1: 1 doc, ${c.W1.clients} clients, ${c.W1.writers} writers × ${c.W1.rate} ops/s for ${c.W1.seconds} s. ` +
      `W2: friendsforever_flat (${results.raw.ingest.updates} updates), ${c.W2.readers} readers. ` +
      `W3: ${c.W3.docs} docs × ${c.W3.clientsPerDoc} clients, 1 writer each at ${c.W3.rate} ops/s for ${c.W3.seconds} s. ` +
      `W4: automerge-paper sent as updates of ${c.W4.perUpdate} txns, server restarted. ` +
      `W5: ${c.W5.clients} clients on seph-blog1 reconnect within ${c.W5.windowMs} ms.`,
    "",
    markdownTable(results),
    "",
    "Targets (issue 4):",
    "",
    targetsTable(results.targetChecks),
    "",
    "Load generator (is it the bottleneck? near 100% of one core or a large lag means the figures are the generator's):",
    "",
    generatorTable(results),
    "",
    ...Object.entries(results.targets)
      .filter(([, t]) => t.error)
      .map(([n, t]) => `- ${n} failed: ${t.error.split("\n")[0]}`),
    "",
  ].join("\n");
}
