// W9, a crowd beyond one object: 1,000 to 3,000 y-websocket clients on one document, at the default limits
// (the document's object holds 500 sockets, relays {doc}#r{k} 500 each: src/relay), beside every socket
// on one object (RELAY_AFTER_CONNECTIONS=1000) at 1,000. Under wrangler dev on tmpfs, as W8.
//
// Each client is a distinct user speaking the sync protocol (bench/lib/yws.mjs: no Y.Doc per receiver,
// no awareness, so the document-update path is what is measured; W8 measures presence). A client refused
// with 1013 (a full relay picked at random, or a routing record not yet published) retries with the stock
// provider's backoff (100 ms × 2^attempt, at most 2.5 s); refusals are counted. One writer, on the
// document's object (the first client, connected alone), types at `rate` updates/s. Measured per round:
// - fan-out: writer's send → each receiver's arrival (ms percentiles), overall and split by where the
//   receiver is (the document's object or a relay), and per update the spread from its first to its last
//   arrival at each object (that object's fan-out time, as the clients see it);
// - where the sockets are: read server-side from the document's object's relay_roster table in local
//   storage (bench/lib/relay-roster.mjs; nothing in src/ exposes per-object counts). Sends per update:
//   the document's object sends each update to each of its own sockets and once down each relay's link;
//   a relay sends it to each of its sockets. Checked at the clients: every receiver got every update once;
// - server CPU per update (the runtime workerd, all objects together: one process runs them all, so
//   per-object CPU is not measurable here), and the generator's own CPU.
import { join } from "node:path";
import { relayRoster } from "./relay-roster.mjs";
import { latticeTarget } from "./targets.mjs";
import { TEXT } from "./traces.mjs";
import { generatorMeter, newWriterDoc, round, serverMeter, withTimeout } from "./workloads.mjs";
import { percentiles, pool, sleep, updateRanges, YwsClient } from "./yws.mjs";
import * as Y from "yjs";
import { interleave, over } from "./rounds.mjs";

/** The stock provider's backoff after a close: 100 ms × 2^attempts, at most 2.5 s (y-websocket maxBackoffTime). */
const backoff = (attempt) => Math.min(100 * 2 ** attempt, 2_500);
/** How long one client may keep retrying before it is counted as not connected. */
const CONNECT_DEADLINE_MS = 180_000;
/** How long one attempt may wait for the server's sync step 2 before it counts as failed (close code 0). */
const SYNC_TIMEOUT_MS = 60_000;

/**
 * A client that connects as the stock provider does: retried after any close before it synced (1013 for a
 * full relay, most often), counted. `url()` gives a fresh URL per attempt (a fresh token). Once synced, a
 * close is final (`closedCode`): the bench and the crowd script count those.
 */
export class RetryingClient {
  constructor(url, opts = {}) {
    this.url = url;
    this.opts = opts;
    this.refusals = new Map(); // close code -> count, before sync
    this.attempts = 0;
    this.c = undefined;
    this.closedCode = undefined;
    this.onFinalClose = undefined;
  }

  /** Resolves once synced; rejects after CONNECT_DEADLINE_MS of refusals. */
  async connect(deadline = performance.now() + CONNECT_DEADLINE_MS) {
    for (;;) {
      const c = new YwsClient(await this.url(), this.opts);
      this.attempts++;
      let code = 0;
      let closed;
      const gone = new Promise((r) => (closed = r));
      c.onClose = (k) => {
        code = k;
        closed();
        if (c.tSynced) {
          this.closedCode = k;
          this.onFinalClose?.(k);
        }
      };
      try {
        await c.connect();
        await withTimeout(c.synced, SYNC_TIMEOUT_MS, "sync");
        this.c = c;
        return this;
      } catch {
        // Closed (or failed, or silent) before sync: as the stock provider, back off and try again.
        if (!c.closed) c.ws?.terminate();
        await withTimeout(gone, 5_000, "close").catch(() => undefined);
        this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
        if (performance.now() > deadline) throw new Error(`not connected after ${this.attempts} attempts (last close ${code})`);
        await sleep(backoff(this.attempts - 1));
      }
    }
  }

  send(m) {
    this.c?.send(m);
  }
  sendUpdate(u) {
    this.c?.sendUpdate(u);
  }
  close() {
    return this.c ? this.c.close() : Promise.resolve();
  }
}

/** Refusals over clients, by close code ({1013: n, ...}). */
export function refusalsOf(clients) {
  const out = {};
  for (const c of clients) for (const [code, n] of c.refusals) out[code] = (out[code] ?? 0) + n;
  return out;
}

/**
 * Where the clients are (by their user ids `user-{i}`): `on[i]` is -1 for the document's object, else the
 * relay index; `objects` the socket count per object ("authority", "r0", ...).
 */
async function placement(target, docId, n, userOf) {
  const persistDir = join(target.storeDir, "..", "..");
  const roster = await relayRoster(persistDir, docId);
  const on = Array.from({ length: n }, (_, i) => roster?.userLink.get(userOf(i)) ?? -1);
  const objects = { authority: on.filter((k) => k === -1).length };
  for (const [k, count] of roster?.byLink ?? []) objects[`r${k}`] = count;
  return { on, objects, relays: roster?.byLink.size ?? 0 };
}

/** Per update: the spread from the first to the last arrival among the receivers in `who` (ms). */
function spreads(arrivals, who) {
  const out = [];
  for (const times of arrivals) {
    let first = Infinity;
    let last = -Infinity;
    for (const i of who) {
      const t = times[i];
      if (t === undefined) continue;
      if (t < first) first = t;
      if (t > last) last = t;
    }
    if (last >= first) out.push(last - first);
  }
  return percentiles(out);
}

/** Per update: the first arrival among `later` minus the last among `earlier` (ms): one relay hop, seen at the clients. */
function gaps(arrivals, earlier, later) {
  const out = [];
  for (const times of arrivals) {
    let last = -Infinity;
    let first = Infinity;
    for (const i of earlier) if (times[i] && times[i] > last) last = times[i];
    for (const i of later) if (times[i] && times[i] < first) first = times[i];
    if (first < Infinity && last > -Infinity) out.push(first - last);
  }
  return percentiles(out);
}

/** One W9 round: `clients` on `docId` of `target`, one writer at `rate` for `seconds`. */
export async function relayRoomRound(target, { clients: n, seconds, rate }, docId) {
  const writerDoc = newWriterDoc();
  const sentAt = new Map(); // writer clock -> [update index, send time]
  const arrivals = []; // per update: Float64Array(n) arrival times (0: not yet)
  const lat = []; // per receiver: latencies
  let dupes = 0;
  const onUpdate = (i) => (update, _kind, now) => {
    for (const [client, from, to] of updateRanges(update)) {
      if (client !== writerDoc.clientID) continue;
      for (let k = from; k < to; k++) {
        const s = sentAt.get(k);
        if (!s) continue;
        const row = arrivals[s[0]];
        if (row[i]) {
          dupes++;
          continue;
        }
        row[i] = now;
        (lat[i] ??= []).push(now - s[1]);
      }
    }
  };
  const t0 = performance.now();
  const people = Array.from(
    { length: n },
    (_, i) => new RetryingClient(() => target.wsUrl(docId, i), { doc: i === 0 ? writerDoc : undefined, onUpdate: i === 0 ? undefined : onUpdate(i) }),
  );
  // The writer first, alone: it is on the document's object. Then everyone else, 50 at a time.
  const failed = [];
  const connect = (p, i) =>
    p.connect().catch((e) => {
      failed.push([i, String(e?.message ?? e)]);
    });
  await connect(people[0], 0);
  await pool(people.slice(1), 50, (p, k) => connect(p, k + 1));
  const joinSeconds = round((performance.now() - t0) / 1000, 1);
  const where = await placement(target, docId, n, (i) => `user-${i}`);
  const refusals = refusalsOf(people);
  const closedByServer = () => people.filter((p) => p.closedCode !== undefined).length;

  let pending;
  writerDoc.on("update", (u) => (pending = u));
  const text = writerDoc.getText(TEXT);
  const gen = generatorMeter();
  const srv = serverMeter(target);
  const start = performance.now();
  let ops = 0;
  for (let k = 0; performance.now() - start < seconds * 1000; k++) {
    const wait = start + (k * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const clock = Y.getState(writerDoc.store, writerDoc.clientID);
    text.insert(text.length, String.fromCharCode(97 + (k % 26)));
    arrivals.push(new Float64Array(n));
    sentAt.set(clock, [ops, performance.now()]);
    people[0].sendUpdate(pending);
    ops++;
  }
  const server = srv();
  const generator = gen();
  const receivers = people.length - 1 - failed.length;
  const expected = ops * receivers;
  const delivered = () => lat.reduce((s, l) => s + (l?.length ?? 0), 0);
  const until = performance.now() + 20_000;
  while (delivered() < expected && performance.now() < until) await sleep(100);

  const ids = people.map((_, i) => i).filter((i) => i > 0 && lat[i]);
  const direct = ids.filter((i) => where.on[i] === -1);
  const relayed = ids.filter((i) => where.on[i] !== -1);
  const pick = (who) => percentiles(who.flatMap((i) => lat[i]));
  const relayIds = [...new Set(relayed.map((i) => where.on[i]))].sort((a, b) => a - b);
  const runtime = server.perProcess.filter((p) => p.role === "runtime").reduce((s, p) => s + p.cpuMs, 0);
  const result = {
    clients: n,
    connected: n - failed.length,
    failed: failed.slice(0, 5),
    joinSeconds,
    refusals,
    attempts: people.reduce((s, p) => s + p.attempts, 0),
    objects: where.objects,
    relays: where.relays,
    updates: ops,
    fanoutMs: pick(ids),
    directMs: pick(direct),
    relayedMs: pick(relayed),
    // Per update: how long each object's fan-out took, first arrival to last, as seen at the clients.
    authoritySpreadMs: spreads(arrivals, direct),
    relaySpreadMs: relayIds.length
      ? spreads(
          arrivals,
          relayed.filter((i) => where.on[i] === relayIds[0]),
        )
      : null,
    // Per update: first arrival on any relay minus last arrival on the document's object (its sockets are
    // sent to before the feed goes down the links): the hop itself, link and relay included.
    hopGapMs: relayIds.length ? gaps(arrivals, direct, relayed) : null,
    // Sends per update: the document's object to its own sockets but the writer's, and once down each
    // relay's link; each relay to its sockets.
    sends: {
      authority: where.objects.authority - 1 + where.relays,
      perRelay: percentiles(relayIds.map((k) => where.objects[`r${k}`])),
      total: where.objects.authority - 1 + where.relays + relayIds.reduce((s, k) => s + where.objects[`r${k}`], 0),
    },
    delivered: delivered(),
    expected,
    duplicates: dupes,
    closedByServer: closedByServer(),
    serverCpuMsPerUpdate: round(runtime / ops, 2),
    serverCpuPct: server.cpuPctOfOneCore,
    generator,
    server,
  };
  await withTimeout(Promise.all(people.map((p) => p.close())), 60_000, "close").catch(() => undefined);
  return result;
}

/** The two servers of W9: every limit at its default, and one object holding 1,000 sockets. */
export function relayRoomTargets(port) {
  return {
    relays: latticeTarget({ port, runtime: "wrangler", medium: "tmpfs", peer: "lattice", label: "Lattice, relays (defaults: 500 + 500 per relay)" }),
    single: latticeTarget({
      port: port + 1,
      runtime: "wrangler",
      medium: "tmpfs",
      peer: "lattice-one-object",
      label: "Lattice, one object (RELAY_AFTER_CONNECTIONS=1000)",
      vars: { RELAY_AFTER_CONNECTIONS: "1000", MAX_CONNECTIONS_PER_DOC: "1000" },
    }),
  };
}

/** Runs W9: both servers at 1,000 (interleaved rounds), the relays alone beyond. */
export async function runRelayRoom({ sizes, rounds, seconds, rate, port = 18900, log }) {
  const { relays, single } = relayRoomTargets(port);
  const docs = sizes.flatMap((size) => Array.from({ length: rounds }, (_, r) => `w9-${size}-${r}`));
  const out = { config: { sizes, rounds, seconds, rate }, servers: {}, rounds: {}, failures: [] };
  const up = [];
  try {
    for (const s of [relays, single]) {
      if (!sizes.some((size) => s === relays || size <= 1000)) continue;
      await s.start({ docs: [...docs, "w9-warm"] });
      up.push(s);
      out.servers[s.id] = { label: s.label };
      log(`W9 ${s.id}: up`);
    }
    for (const size of sizes) {
      const servers = up.filter((s) => s === relays || size <= 1000);
      log(`W9: ${size} clients in one document on ${servers.map((s) => s.id).join(" and ")}; 1 writer at ${rate}/s, ${seconds} s per round`);
      const res = await interleave(
        servers,
        rounds,
        (s, r) => relayRoomRound(s, { clients: size, seconds, rate }, `w9-${size}-${r}`),
        (m) => log(`W9 ${size} ${m}`),
        (_, r) =>
          `fan-out p50 ${r.fanoutMs.p50} / p99 ${r.fanoutMs.p99} ms (direct p50 ${r.directMs.p50}, relayed p50 ${r.relayedMs.p50 ?? "-"}); ` +
          `objects ${JSON.stringify(r.objects)}; sends/update authority ${r.sends.authority}, relay p50 ${r.sends.perRelay.p50 ?? "-"}; ` +
          `${r.delivered}/${r.expected} delivered, ${r.duplicates} twice; refusals ${JSON.stringify(r.refusals)}; join ${r.joinSeconds} s; ` +
          `CPU ${r.serverCpuMsPerUpdate} ms/update`,
      );
      for (const [id, rs] of res) (out.rounds[id] ??= {})[size] = rs;
    }
  } catch (e) {
    out.failures.push(String(e?.message ?? e));
    log(`W9 FAILED: ${e?.message ?? e}`);
  } finally {
    await Promise.all(up.map((s) => s.stop().catch(() => {})));
  }
  out.costs = relayCosts(out, single.id, relays.id);
  return out;
}

/**
 * What the scale simulation (bench/scale-sim.mjs --costs) takes: the cost of one socket send at one
 * object (its fan-out time over 1,000 sockets, first to last arrival, ÷ the sockets) and of one relay hop
 * (relay receivers' latency minus the document's object's receivers', same rounds, medians over rounds).
 */
export function relayCosts(w9, singleId, relaysId) {
  const single = w9.rounds[singleId]?.[1000];
  const perSend = over(single, (r) => r.authoritySpreadMs.p50 / (r.objects.authority - 1));
  const perSendP99 = over(single, (r) => r.authoritySpreadMs.p99 / (r.objects.authority - 1));
  const r2 = (x) => x && { ...x, median: round(x.median), min: round(x.min), max: round(x.max) };
  const hops = {};
  for (const [size, rs] of Object.entries(w9.rounds[relaysId] ?? {})) {
    hops[size] = {
      p50: r2(over(rs, (r) => (r.relayedMs.p50 ?? NaN) - r.directMs.p50)),
      p99: r2(over(rs, (r) => (r.relayedMs.p99 ?? NaN) - r.directMs.p99)),
    };
  }
  const hop1000 = hops[1000] ?? Object.values(hops)[0];
  const gap = over(w9.rounds[relaysId]?.[1000] ?? [], (r) => r.hopGapMs?.p50);
  return {
    perSendMs: perSend?.median ?? null,
    perSendMsP99: perSendP99?.median ?? null,
    perHopMs: hop1000?.p50?.median ?? null,
    perHopMsP99: hop1000?.p99?.median ?? null,
    hopGapMs: gap?.median ?? null,
    derivation: {
      perSendMs:
        "one object holding 1,000 sockets (RELAY_AFTER_CONNECTIONS=1000): per update, last arrival minus first arrival over its receivers (p50 over updates), ÷ its receivers; median over rounds. Seen at the clients, so it includes the generator's receive cost.",
      perHopMs:
        "default limits at 1,000 clients (500 on the document's object, 500 on relays): relay receivers' fan-out p50 minus the document's object's receivers' p50, same rounds; median over rounds. Includes the part of the object's own fan-out that runs before the feed goes down the links (sockets first, then links).",
      hopGapMs:
        "default limits at 1,000 clients: per update, the first arrival on any relay minus the last arrival on the document's object (p50 over updates); median over rounds. The hop alone (link, relay's apply and first send), without the object's own fan-out.",
    },
    perHopBySize: hops,
    perSendSpread: perSend && { ...perSend, min: round(perSend.min, 4), max: round(perSend.max, 4) },
  };
}

/** W9's tables, markdown. */
export function relayRoomMarkdown(w9) {
  const c = w9.config;
  const cell = (s, d = 1) => (s ? `${round(s.median, d)}${s.n > 1 ? ` (${round(s.min, d)}–${round(s.max, d)})` : ""}` : "n/a");
  const rows = [];
  for (const [id, bySize] of Object.entries(w9.rounds)) {
    for (const [size, rs] of Object.entries(bySize)) {
      rows.push(
        `| ${w9.servers[id]?.label ?? id} | ${size} | ${cell(over(rs, (r) => r.fanoutMs.p50))} | ${cell(over(rs, (r) => r.fanoutMs.p99))} | ` +
          `${cell(over(rs, (r) => r.directMs.p50))} / ${cell(over(rs, (r) => r.relayedMs.p50))} | ${cell(
            over(rs, (r) => r.relays),
            0,
          )} | ` +
          `${cell(
            over(rs, (r) => r.sends.authority),
            0,
          )} | ${cell(
            over(rs, (r) => r.sends.perRelay.p50),
            0,
          )} (max ${cell(
            over(rs, (r) => r.sends.perRelay.max),
            0,
          )}) | ` +
          `${cell(over(rs, (r) => r.authoritySpreadMs.p50))} / ${cell(over(rs, (r) => r.relaySpreadMs?.p50))} | ${cell(over(rs, (r) => r.hopGapMs?.p50))} | ` +
          `${cell(
            over(rs, (r) => r.serverCpuMsPerUpdate),
            2,
          )} | ${cell(
            over(rs, (r) => r.refusals[1013] ?? 0),
            0,
          )} | ` +
          `${cell(
            over(rs, (r) => r.expected - r.delivered),
            0,
          )} / ${cell(
            over(rs, (r) => r.duplicates),
            0,
          )} | ${cell(over(rs, (r) => r.joinSeconds))} |`,
      );
    }
  }
  const k = w9.costs;
  return [
    `### W9 a crowd beyond one object (${c.rounds} interleaved round(s); 1 writer on the document's object at ${c.rate} updates/s; ${c.seconds} s per round; wrangler dev, tmpfs)`,
    "",
    "| server | clients | fan-out p50 (ms) | fan-out p99 (ms) | p50 on the object / on relays (ms) | relays | sends per update at the object | sends per update per relay, p50 | fan-out time per update, object / one relay (ms, p50) | hop: first on a relay − last on the object (ms, p50) | server CPU per update (ms) | 1013 refusals (retried) | missing / twice | join (s) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    "Medians over rounds, range in brackets. Where sockets are: the document's object's relay_roster table, read from local storage; sends per update at the object = its own sockets (the writer's excepted) + one per relay link; at a relay = its sockets. Server CPU: the runtime workerd, every object together (one process runs them all).",
    "",
    `Costs for the scale simulation (costs.json): ${k.perSendMs ?? "n/a"} ms per socket send at one object (p99 ${k.perSendMsP99 ?? "n/a"}), ${k.perHopMs ?? "n/a"} ms per relay hop as relay p50 − object p50 (p99 ${k.perHopMsP99 ?? "n/a"}); the hop alone, first on a relay − last on the object: ${k.hopGapMs ?? "n/a"} ms.`,
    "",
  ].join("\n");
}

/** SVG series of fan-out p99 (and p50) against audience, one line per server, for bigRoomSvg. */
export function relayRoomSeries(w9) {
  const series = [];
  for (const [id, bySize] of Object.entries(w9.rounds)) {
    for (const q of ["p99", "p50"]) {
      const points = Object.entries(bySize)
        .map(([size, rs]) => ({ x: Number(size), s: over(rs, (r) => r.fanoutMs[q]) }))
        .filter((p) => p.s)
        .map((p) => ({ x: p.x, y: p.s.median, lo: p.s.min, hi: p.s.max }));
      // Short: bigRoomSvg's legend is 200 px wide.
      series.push({ label: `${q}, ${id.includes("one-object") ? "one object" : "relays"}`.replace(",", ""), points });
    }
  }
  return series;
}
