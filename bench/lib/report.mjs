// Medians and ranges over rounds, the issue's targets with verdicts one run cannot flip, and the markdown.
import { over, spread, verdict } from "./rounds.mjs";

const num = (v) => {
  if (v === null || v === undefined || Number.isNaN(v)) return "n/a";
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 10) return String(Math.round(v * 10) / 10);
  return String(Math.round(v * 100) / 100);
};
/** "median (min–max)" of a spread, with a unit. */
const cell = (s, unit = "") => (s ? `${num(s.median)}${s.n > 1 ? ` (${num(s.min)}–${num(s.max)})` : ""}${unit ? ` ${unit}` : ""}` : "n/a");

const METRICS = {
  W1: {
    p50: (r) => r.latencyMs.p50,
    p99: (r) => r.latencyMs.p99,
    first: (r) => r.firstReceiverMs.p50,
    spread: (r) => r.spreadToLastMs.p50,
    cpu: (r) => r.serverCpuUsPerUpdate,
    genLag: (r) => r.generator.loopLagP99Ms,
  },
  W2: {
    cpu: (r) => r.serverCpuUsPerUpdate,
    runtimeCpu: (r) => r.runtimeCpuUsPerUpdate,
    ups: (r) => r.updatesPerSecond,
    done: (r) => r.allReadersDoneSeconds,
    msgs: (r) => r.messagesPerReader,
  },
  W3: {
    p50: (r) => r.latencyMs.p50,
    p99: (r) => r.latencyMs.p99,
    rss: (r) => r.rssPeakMB,
    cpu: (r) => r.serverCpuUsPerUpdate,
    genLag: (r) => r.generator.loopLagP99Ms,
  },
  W4: { cold: (r) => r.connectToSyncedMs, apply: (r) => r.clientApplyMs },
  W5: { all: (r) => r.allSyncedSeconds, p99: (r) => r.perClientConnectToSyncedMs?.p99 },
  W6: { cpu: (w) => w.cpuMs, runtimeCpu: (w) => w.runtimeCpuMs, pct: (w) => w.cpuPctOfOneCore, rss: (w) => w.rssMB, msgs: (w) => w.messagesToClients },
};

const roundsOf = (results, w, id) => (w === "W4" ? results.W4?.[id]?.rounds : w === "W6" ? results.W6?.[id]?.windows : results[w]?.[id]);

/** Per workload, per server, per metric: {median, min, max, n} over the rounds. */
export function summarize(results) {
  const out = {};
  for (const [w, metrics] of Object.entries(METRICS)) {
    if (!results[w]) continue;
    out[w] = {};
    for (const id of Object.keys(results[w])) {
      const rs = roundsOf(results, w, id);
      out[w][id] = Object.fromEntries(Object.entries(metrics).map(([m, get]) => [m, over(rs, get)]));
    }
  }
  out.targets = targets(results, out);
  return out;
}

const scaled = (s, k) => s && { ...s, median: s.median * k, min: s.min * k, max: s.max * k };

function targets(results, S) {
  const rows = [];
  const ids = Object.keys(results.servers);
  const pairs = ids
    .filter((id) => id.startsWith("lattice/"))
    .map((id) => [id, id.replace(/^lattice\//, "y-partyserver/")])
    .filter(([, p]) => ids.includes(p));
  const where = (id) => id.split("/").slice(1).join(", ");
  const compare = (name, a, b, unit, k = 1) =>
    rows.push({ name, lattice: cell(a, unit), goal: `≤ ${k === 1 ? "" : `${k} × `}${cell(b, unit)}`, verdict: verdict(a, scaled(b, k)) });
  for (const [l, p] of pairs) {
    compare(`W1 p50 ≤ y-partyserver's (${where(l)})`, S.W1?.[l]?.p50, S.W1?.[p]?.p50, "ms");
    compare(`W1 p99 ≤ y-partyserver's (${where(l)})`, S.W1?.[l]?.p99, S.W1?.[p]?.p99, "ms");
  }
  for (const [l, p] of pairs.filter(([l]) => l.endsWith("/tmpfs"))) compare(`W3 p99 ≤ y-partyserver's (${where(l)})`, S.W3?.[l]?.p99, S.W3?.[p]?.p99, "ms");
  const disk = ids.find((id) => id === "lattice/wrangler/disk");
  const tmp = ids.find((id) => id === "lattice/wrangler/tmpfs");
  if (disk && tmp && S.W3?.[disk] && results.fsync?.disk) {
    const d = S.W3[disk];
    const t = S.W3[tmp];
    rows.push({
      name: "W3 on disk: what the fsync costs per update (one commit per update here)",
      lattice: `fsync p50 ${num(results.fsync.disk.us.p50)} µs, p99 ${num(results.fsync.disk.us.p99)} µs (tmpfs ${num(results.fsync.tmpfs?.us.p50)} µs); W3 p50 disk − tmpfs ${num(d.p50.median - t.p50.median)} ms, p99 ${num(d.p99.median - t.p99.median)} ms`,
      goal: "reported",
      verdict: "reported",
    });
  }
  for (const id of ids.filter((x) => x.startsWith("lattice/"))) {
    const runtime = id.split("/")[1];
    const floor = S.W2?.[`floor/${runtime}/none`];
    compare(`W2 server CPU per update ≤ 1.5 × the runtime floor (${where(id)}, all processes)`, S.W2?.[id]?.cpu, floor?.cpu, "µs", 1.5);
  }
  for (const [l, p] of pairs) if (S.W6?.[l]) compare(`W6 idle CPU per window ≤ y-partyserver's (${where(l)})`, S.W6[l].cpu, S.W6[p]?.cpu, "ms");
  for (const [l, p] of pairs) if (S.W4?.[l]) compare(`W4 cold load ≤ 0.5 × y-partyserver's (${where(l)})`, S.W4[l].cold, S.W4[p]?.cold, "ms", 0.5);
  return rows;
}

function table(head, rows) {
  return [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

const label = (results, id) => results.servers[id]?.label ?? id;

function workloadTables(results) {
  const S = results.summary;
  const parts = [];
  const rowsFor = (w, fn) => Object.keys(S[w] ?? {}).map((id) => [label(results, id), ...fn(S[w][id], id)]);
  if (S.W1)
    parts.push(
      "### W1 fan-out (ms; the wire split: first receiver = one trip through the server, spread = first to last receiver of the same update)",
      table(
        ["server", "p50", "p99", "first receiver p50", "spread to last p50", "server CPU µs/update", "converged"],
        rowsFor("W1", (m, id) => [cell(m.p50), cell(m.p99), cell(m.first), cell(m.spread), cell(m.cpu), String(results.W1close?.[id]?.converged ?? "n/a")]),
      ),
    );
  if (S.W2)
    parts.push(
      "### W2 ingest (floor: the writer alone into a no-op object)",
      table(
        ["server", "CPU µs/update, all processes", "without wrangler's dev proxy", "updates/s to the last reader", "all readers done (s)", "messages per reader"],
        rowsFor("W2", (m) => [cell(m.cpu), cell(m.runtimeCpu), cell(m.ups), cell(m.done), cell(m.msgs)]),
      ),
    );
  if (S.W3)
    parts.push(
      "### W3 many documents (ms)",
      table(
        ["server", "p50", "p99", "server RSS peak (MB)", "server CPU µs/update"],
        rowsFor("W3", (m) => [cell(m.p50), cell(m.p99), cell(m.rss), cell(m.cpu)]),
      ),
    );
  if (S.W4)
    parts.push(
      "### W4 cold load after a restart (each round a document not opened since)",
      table(
        ["server", "connect → synced (ms)", "client apply, not in the figure (ms)", "stored blob bytes / encoded state"],
        rowsFor("W4", (m, id) => {
          const st = results.W4[id].stored;
          const enc = results.raw?.coldLoad?.encodedStateBytes;
          return [cell(m.cold), cell(m.apply), st?.blobBytes && enc ? num(st.blobBytes / enc) : "n/a"];
        }),
      ),
    );
  if (S.W5)
    parts.push(
      "### W5 reconnect storm",
      table(
        ["server", "all synced (s)", "per-client connect → synced p99 (ms)"],
        rowsFor("W5", (m) => [cell(m.all), cell(m.p99)]),
      ),
    );
  if (S.W6)
    parts.push(
      `### W6 idle rooms (${results.config.W6.clients} clients over ${results.config.W6.docs} documents, awareness renewed every 15 s, a text ping every ${results.config.W6.pingMs / 1000} s; rounds are ${results.config.W6.windows} windows of ${results.config.W6.seconds / results.config.W6.windows} s, all servers idle at once)`,
      table(
        [
          "server",
          "CPU per window (ms)",
          "without a dev proxy (ms)",
          "CPU % of one core",
          "RSS (MB)",
          "messages to clients per window",
          "object wake-ups (distinct objects)",
          "sockets closed while idle",
          "pongs",
        ],
        rowsFor("W6", (m, id) => {
          const r = results.W6[id];
          let wakeups = r.wakeups ? `${r.wakeups.opens} (${r.wakeups.objects})` : "n/a";
          if (r.counted) wakeups += `; own count ${r.counted.wakeups} in ${r.counted.seconds} s (${r.counted.total} since the server started)`;
          return [cell(m.cpu), cell(m.runtimeCpu), cell(m.pct), cell(m.rss), cell(m.msgs), wakeups, String(r.closedDuringIdle), String(r.pongs)];
        }),
      ),
    );
  if (results.W7 && Object.keys(results.W7).length)
    parts.push(
      `### W7 a document at the cap (${Object.values(results.W7)[0].load?.bytes?.toLocaleString("en-US")} bytes of updates, ${results.config.W7.bytes.toLocaleString("en-US")} at most)`,
      table(
        [
          "server",
          "load (s)",
          "RSS before → peak while loading (MB)",
          "fresh client sync, warm (ms)",
          "after a restart: cold sync (ms)",
          "RSS before → peak, cold (MB)",
          "complete",
        ],
        Object.entries(results.W7).map(([id, r]) => [
          label(results, id),
          r.load?.error ?? num(r.load?.seconds),
          r.load?.rssPeakMB ? `${num(r.load.rssBeforeMB)} → ${num(r.load.rssPeakMB)}` : "n/a",
          num(r.warmSync?.connectToSyncedMs),
          r.coldSync?.error ?? num(r.coldSync?.connectToSyncedMs),
          r.coldSync?.rssPeakMB ? `${num(r.coldSync.rssBeforeMB)} → ${num(r.coldSync.rssPeakMB)}` : "n/a",
          String(Boolean(r.warmSync?.complete && r.coldSync?.complete)),
        ]),
      ),
    );
  if (results.W8) parts.push(bigRoomTable(results));
  return parts.join("\n\n");
}

/** W8 per audience and server: medians (ranges) over rounds, and the p99 as a ratio to the Node reference's. */
export function bigRoomSummary(results) {
  const out = [];
  const ref = Object.keys(results.W8).find((id) => results.servers[id]?.peer === "y-websocket-server");
  for (const [id, bySize] of Object.entries(results.W8)) {
    for (const [size, rs] of Object.entries(bySize)) {
      const refP99 = ref ? over(results.W8[ref][size], (r) => r.fanoutMs.p99) : null;
      const p99 = over(rs, (r) => r.fanoutMs.p99);
      out.push({
        id,
        size: Number(size),
        p50: over(rs, (r) => r.fanoutMs.p50),
        p99,
        ratio: refP99 && p99 ? { median: p99.median / refP99.median, n: 1 } : null,
        cursorP99: over(rs, (r) => r.cursorMs.p99),
        cursorObserversP99: over(rs, (r) => r.cursorObserversMs?.p99),
        cursorFirstP50: over(rs, (r) => r.cursorFirstMs?.p50),
        msgs: over(rs, (r) => r.messagesPerSecond),
        missing: over(rs, (r) => r.missingPeersAtEnd),
        worstMissing: over(rs, (r) => r.worstMissingPeers),
        closed: over(rs, (r) => r.closedByServer),
        unsynced: over(rs, (r) => r.unsynced),
        cpu: over(rs, (r) => r.serverCpuPct),
        genCpu: over(rs, (r) => r.generator.cpuPct),
        join: over(rs, (r) => r.joinSeconds),
      });
    }
  }
  return out;
}

function bigRoomTable(results) {
  const c = results.config.W8;
  return [
    `### W8 a big room (stock-behaving clients, one user each, echo included; awareness renewed every 15 s; 1 writer at ${c.rate} updates/s; ${c.seconds} s per round)`,
    "",
    table(
      [
        "server",
        "people",
        "fan-out p50 (ms)",
        "fan-out p99 (ms)",
        "p99 ÷ Node reference",
        "cursor move p99, everyone (ms)",
        "cursor move p99, observers (ms)",
        "cursor move first arrival p50 (ms)",
        "messages delivered /s",
        "missing peers at end (worst)",
        "closed",
        "never synced",
        "server CPU %",
        "generator CPU %",
        "all see all after (s)",
      ],
      bigRoomSummary(results).map((r) => [
        label(results, r.id),
        String(r.size),
        cell(r.p50),
        cell(r.p99),
        r.ratio ? num(r.ratio.median) : "n/a",
        cell(r.cursorP99),
        cell(r.cursorObserversP99),
        cell(r.cursorFirstP50),
        cell(r.msgs),
        `${cell(r.missing)} (${cell(r.worstMissing)})`,
        cell(r.closed),
        cell(r.unsynced),
        cell(r.cpu),
        cell(r.genCpu),
        cell(r.join),
      ]),
    ),
  ].join("\n");
}

function generatorTable(results) {
  const rows = [];
  for (const w of ["W1", "W2", "W3", "W5"]) {
    for (const [id, rs] of Object.entries(results[w] ?? {})) {
      const ok = rs.filter((r) => r.generator);
      if (!ok.length) continue;
      rows.push([label(results, id), w, cell(spread(ok.map((r) => r.generator.cpuPct)), "%"), cell(spread(ok.map((r) => r.generator.loopLagP99Ms)), "ms")]);
    }
  }
  return table(["server", "workload", "generator CPU (% of one core)", "generator event-loop lag p99"], rows);
}

export function renderMarkdown(results) {
  const m = results.machine;
  const S = results.summary;
  const fs = results.fsync ?? {};
  return [
    `## Benchmark ${results.date} (${results.mode}, ${results.config.rounds} interleaved rounds)`,
    "",
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memGB} GB RAM, Node ${m.node}; load average ${m.loadAvgAtStart[0]} at start, ${m.loadAvgAtEnd?.[0]} at end. ` +
      "A shared machine: other work ran at the same time, so only ratios within this run mean anything, and every figure is the median over rounds with the range in brackets. " +
      `Lattice from commit ${results.source?.commit}${results.source?.uncommittedSrcFiles ? ` with ${results.source.uncommittedSrcFiles} uncommitted files under src/ (other work in the shared checkout)` : ""}. ` +
      "All servers were up at once (each on its own port), warmed, then every workload ran as interleaved rounds, the order reversed every other round; one load generator (this process) on loopback.",
    "",
    `Storage media: ${Object.entries(fs)
      .map(([k, v]) => `${k} (${v.type}, fsync of a page p50 ${num(v.us.p50)} µs, p99 ${num(v.us.p99)} µs)`)
      .join("; ")}. Miniflare: the Workers through Miniflare's API, no wrangler dev and no dev proxy.`,
    "",
    "### Targets (verdicts: met / not met only when every round agrees; otherwise within noise, with the side the medians fall on)",
    "",
    table(
      ["target", "Lattice", "goal (y-partyserver or floor)", "verdict"],
      (S.targets ?? []).map((t) => [t.name, t.lattice, t.goal, t.verdict]),
    ),
    "",
    workloadTables(results),
    "",
    "### Load generator (near 100% of one core or a large lag would make a figure the generator's)",
    "",
    generatorTable(results),
    "",
    `Raw Yjs (the limit): ${results.raw.ingest.applyUsPerUpdate} µs per apply; cold load of automerge-paper ${results.raw.coldLoad.coldLoadMs} ms.`,
    ...results.failures.map((f) => `- FAILED ${f.server} (${f.phase}): ${f.error.split("\n")[0]}`),
    "",
  ].join("\n");
}
