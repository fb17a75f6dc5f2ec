// The run's schedule: start every server, warm each, then each workload as interleaved rounds over the
// servers it applies to. Servers stay up between workloads; W4 and W7 restart the persisting ones last.
import { loadBigDoc, syncBigDoc } from "./big-doc.mjs";
import { bigRoomRound } from "./big-room.mjs";
import { floorIngest } from "./floor.mjs";
import { idleRooms } from "./idle.mjs";
import { interleave } from "./rounds.mjs";
import { closeTyping, coldLoad, openTyping, populate, storedBytes, stormRound, typingRound, w2, writeAndConfirm } from "./workloads.mjs";
import { pool } from "./yws.mjs";

const isFloor = (s) => s.peer === "floor";
const isLattice = (s) => s.peer.startsWith("lattice");

/** Every document id any workload uses (Lattice's catalog must know them before they are opened). */
export function documentIds(cfg) {
  const n = (prefix, k) => Array.from({ length: k }, (_, i) => `${prefix}-${i}`);
  const w8 = cfg.W8.sizes.flatMap((size) => n(`w8-${size}`, cfg.rounds));
  return ["warm", "warm-w2", "w1", "w4-warm", "w5", "w7", ...n("w2", cfg.rounds), ...n("w3", cfg.W3.docs), ...n("w4", cfg.rounds), ...n("w6", cfg.W6.docs), ...w8];
}

/** Starts the servers three at a time (each start is a few seconds of CPU); a server that fails is left out. */
async function startAll(servers, docs, log, fresh = true) {
  const up = [];
  const failures = [];
  await pool(servers, 3, async (s) => {
    const t0 = performance.now();
    try {
      // Two wrangler dev of one folder starting at once can collide; one retry, a moment later.
      await s.start({ docs, fresh }).catch(async (e) => {
        log(`${s.id}: start failed (${String(e?.message ?? e).split("\n")[0]}); retrying once`);
        await s.stop({ keep: !fresh }).catch(() => {});
        await new Promise((r) => setTimeout(r, 2_000));
        await s.start({ docs, fresh });
      });
      up.push(s);
      log(`${s.id}: up in ${((performance.now() - t0) / 1000).toFixed(1)} s (${s.runtime})`);
    } catch (e) {
      failures.push({ server: s.id, phase: fresh ? "start" : "restart", error: String(e?.message ?? e).slice(0, 2000) });
      log(`${s.id}: FAILED to start: ${String(e?.message ?? e).split("\n")[0]}`);
    }
  });
  return { up: servers.filter((s) => up.includes(s)), failures };
}

/** A little of W1 and W2 on every server, all at once (nothing is measured), so no round meets a cold JIT or a first object. */
async function warm(servers, traces, log) {
  await Promise.all(
    servers.map(async (s) => {
      const session = await openTyping(s, { docs: ["warm"], clientsPerDoc: 10, writersPerDoc: 2 });
      await typingRound(session, { rate: 10, seconds: 2 });
      await closeTyping(session);
      const short = { ...traces.ff, updates: traces.ff.updates.slice(0, 1_000) };
      if (isFloor(s)) await floorIngest(s, short, "warm-floor");
      else await writeAndConfirm(s, "warm-w2", short.updates);
    }),
  );
  log(`${servers.length} servers warm`);
}

export async function runWorkloads({ servers, workloads, cfg, traces, log }) {
  const out = { failures: [] };
  const docs = documentIds(cfg);
  const started = await startAll(servers, docs, log);
  out.failures.push(...started.failures);
  let up = started.up;
  const R = cfg.rounds;
  const phase = (w) => (msg) => log(`${w} ${msg}`);
  const ms = (x) => `${x} ms`;
  try {
    await warm(up, traces, log);

    if (workloads.has("W1")) {
      const sessions = new Map();
      for (const s of up) sessions.set(s.id, await openTyping(s, { docs: ["w1"], clientsPerDoc: cfg.W1.clients, writersPerDoc: cfg.W1.writers }));
      log(`W1: ${cfg.W1.clients} clients on each of ${up.length} servers; ${cfg.W1.writers} writers × ${cfg.W1.rate} ops/s for ${cfg.W1.seconds} s per round`);
      out.W1 = Object.fromEntries(
        await interleave(
          up,
          R,
          (s) => typingRound(sessions.get(s.id), cfg.W1),
          phase("W1"),
          (_, r) => `p50 ${ms(r.latencyMs.p50)} / p99 ${ms(r.latencyMs.p99)}; first receiver p50 ${ms(r.firstReceiverMs.p50)}`,
        ),
      );
      out.W1close = {};
      for (const s of up) out.W1close[s.id] = await closeTyping(sessions.get(s.id));
    }

    if (workloads.has("W3")) {
      const w3servers = up.filter((s) => !isFloor(s) && s.peer !== "y-websocket-server");
      const docIds = Array.from({ length: cfg.W3.docs }, (_, i) => `w3-${i}`);
      const sessions = new Map();
      for (const s of w3servers) sessions.set(s.id, await openTyping(s, { docs: docIds, clientsPerDoc: cfg.W3.clientsPerDoc, writersPerDoc: 1 }));
      log(
        `W3: ${cfg.W3.docs} docs × ${cfg.W3.clientsPerDoc} clients on each of ${w3servers.length} servers; 1 writer each at ${cfg.W3.rate} ops/s for ${cfg.W3.seconds} s per round`,
      );
      out.W3 = Object.fromEntries(
        await interleave(
          w3servers,
          R,
          (s) => typingRound(sessions.get(s.id), cfg.W3),
          phase("W3"),
          (_, r) => `p50 ${ms(r.latencyMs.p50)} / p99 ${ms(r.latencyMs.p99)}; RSS peak ${r.rssPeakMB} MB`,
        ),
      );
      out.W3close = {};
      for (const s of w3servers) out.W3close[s.id] = await closeTyping(sessions.get(s.id));
    }

    if (workloads.has("W2")) {
      log(`W2: a writer replays ${traces.ff.updates.length} updates to ${cfg.W2.readers} readers (the floor: to none), ${R} rounds`);
      out.W2 = Object.fromEntries(
        await interleave(
          up,
          R,
          (s, r) => (isFloor(s) ? floorIngest(s, traces.ff, `w2-floor-${r}`) : w2(s, cfg.W2, traces.ff, `w2-${r}`)),
          phase("W2"),
          (_, r) =>
            `server CPU ${r.serverCpuUsPerUpdate} µs/update (${r.runtimeCpuUsPerUpdate} without a dev proxy)${r.updatesPerSecond ? `; ${r.updatesPerSecond} updates/s` : ""}`,
        ),
      );
    }

    if (workloads.has("W5")) {
      const w5servers = up.filter((s) => !isFloor(s) && s.medium !== "disk");
      for (const s of w5servers) await populate(s, "w5", traces.seph);
      log(`W5: ${cfg.W5.clients} clients reconnect within ${cfg.W5.windowMs} ms to a ${traces.seph.txns}-txn seph-blog1 doc`);
      out.W5 = Object.fromEntries(
        await interleave(
          w5servers,
          R,
          (s) => stormRound(s, cfg.W5, traces.seph, "w5"),
          phase("W5"),
          (_, r) => `${r.synced}/${r.clients} synced in ${r.allSyncedSeconds} s`,
        ),
      );
    }

    if (workloads.has("W6")) {
      const w6servers = up.filter((s) => !isFloor(s) && s.peer !== "y-websocket-server" && s.medium !== "disk");
      log(`W6: ${cfg.W6.clients} idle clients over ${cfg.W6.docs} docs on each of ${w6servers.length} servers at once, ${cfg.W6.seconds} s`);
      out.W6 = Object.fromEntries(await idleRooms(w6servers, cfg.W6, phase("W6")));
    }

    if (workloads.has("W8")) {
      // Under wrangler dev (what a user runs), on tmpfs, beside the Node reference server.
      // A baseline (lattice-base) only when named: before issue 21 the 18th stock client of a document was closed for good.
      const w8servers = up.filter((s) => !isFloor(s) && s.peer !== "hocuspocus" && s.medium !== "disk" && s.runtime !== "miniflare");
      out.W8 = {};
      for (const size of cfg.W8.sizes) {
        log(
          `W8: ${size} stock-behaving clients in one document on each of ${w8servers.length} servers; 1 writer at ${cfg.W8.rate}/s, ${cfg.W8.seconds} s per round`,
        );
        const rounds = await interleave(
          w8servers,
          R,
          (s, r) => bigRoomRound(s, { clients: size, seconds: cfg.W8.seconds, rate: cfg.W8.rate }, `w8-${size}-${r}`),
          phase(`W8 ${size}`),
          (_, r) =>
            `fan-out p50 ${ms(r.fanoutMs.p50)} / p99 ${ms(r.fanoutMs.p99)}; cursor p99 ${ms(r.cursorMs.p99)} (observers ${ms(r.cursorObserversMs.p99)}, first p50 ${ms(r.cursorFirstMs.p50)}); ${r.messagesPerSecond} msgs/s; missing peers ${r.missingPeersAtEnd} (worst ${r.worstMissingPeers}); closed ${r.closedByServer}; server CPU ${r.serverCpuPct}%`,
        );
        for (const [id, rs] of rounds) (out.W8[id] ??= {})[size] = rs;
      }
    }

    if (workloads.has("W4") || workloads.has("W7")) {
      const persisting = up.filter((s) => s.persistent);
      const bigDoc = persisting.filter((s) => isLattice(s) && workloads.has("W7"));
      out.W7 = {};
      if (workloads.has("W4")) {
        log(`W4: storing automerge-paper (${traces.paper.updates.length} updates) into ${R} docs on each of ${persisting.length} servers`);
        const w4docs = ["w4-warm", ...Array.from({ length: R }, (_, r) => `w4-${r}`)];
        await Promise.all(persisting.map((s) => Promise.all(w4docs.map((d) => populate(s, d, traces.paper)))));
      }
      for (const s of bigDoc) {
        const load = await loadBigDoc(s, "w7", traces.big).catch((e) => ({ error: String(e?.message ?? e) }));
        const warmSync = load.error ? undefined : await syncBigDoc(s, "w7", traces.big);
        out.W7[s.id] = { load, warmSync };
        log(
          `W7 ${s.id}: ${load.error ?? `${traces.big.bytes} B loaded in ${load.seconds} s (RSS peak ${load.rssPeakMB} MB); warm sync ${warmSync.connectToSyncedMs} ms`}`,
        );
      }
      // y-partyserver saves 2 s after the last edit (10 s at most) and when the room empties.
      await new Promise((r) => setTimeout(r, 3_000));
      log(`W4/W7: restarting ${persisting.length} servers on their stored state`);
      await Promise.all(persisting.map((s) => s.stop({ keep: true })));
      const stored = {};
      if (workloads.has("W4")) for (const s of persisting) stored[s.id] = await storedBytes(s.storeDir, "w4-0");
      const restarted = await startAll(persisting, docs, log, false);
      out.failures.push(...restarted.failures);
      up = up.filter((s) => !s.persistent || restarted.up.includes(s));
      for (const s of restarted.up.filter((x) => bigDoc.includes(x))) {
        out.W7[s.id].coldSync = await syncBigDoc(s, "w7", traces.big).catch((e) => ({ error: String(e?.message ?? e) }));
        log(`W7 ${s.id}: cold sync ${out.W7[s.id].coldSync.connectToSyncedMs ?? out.W7[s.id].coldSync.error} ms, RSS peak ${out.W7[s.id].coldSync.rssPeakMB} MB`);
      }
      if (workloads.has("W4")) {
        // Each server loads one stored document unmeasured first (the isolate, its code paths and the
        // catalog warm), then each round loads a document no one has opened since the restart.
        for (const s of restarted.up) await coldLoad(s, "w4-warm", traces.paper).catch(() => {});
        const rounds = await interleave(
          restarted.up,
          R,
          (s, r) => coldLoad(s, `w4-${r}`, traces.paper),
          phase("W4"),
          (_, r) => `cold connect → synced ${ms(r.connectToSyncedMs)} (content ok: ${r.contentMatches})`,
        );
        out.W4 = Object.fromEntries([...rounds].map(([id, rs]) => [id, { rounds: rs, stored: stored[id] }]));
      }
    }
  } finally {
    await Promise.all(up.map((s) => s.stop().catch(() => {})));
  }
  return out;
}
