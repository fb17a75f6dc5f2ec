// W6: idle rooms. Many clients stay connected to many documents and edit nothing; each renews its
// awareness state every 15 s as y-protocols' Awareness does (the same state, clock + 1) and sends a text
// `ping` now and then. Every server of the run is idle at the same time, in the same windows; each
// window's CPU time and the memory come from /proc of the server's own processes.
import { cpuMs, processRole, rssBytes } from "./proc.mjs";
import { client, connectAll, closeAll, mb, round } from "./workloads.mjs";
import { canTrace, countedWakeups, countWakeups } from "./wakeups.mjs";
import { awarenessMessage, sleep } from "./yws.mjs";

const AWARENESS_RENEW_MS = 15_000; // y-protocols: outdatedTimeout (30 s) / 2

/** Connects `cfg.clients` clients over `cfg.docs` documents of `target`, each with an awareness state. */
async function openRoom(target, cfg) {
  const clients = [];
  for (let i = 0; i < cfg.clients; i++) clients.push(await client(target, [`w6-${i % cfg.docs}`, i], { keepalive: false }));
  await connectAll(clients, 100);
  const states = clients.map((c, i) => ({ c, id: 1_000_000 + i, clock: 0, state: { user: { name: `idle-${i}`, color: "#5b5bd6" } } }));
  const renew = (s) => s.c.send(awarenessMessage(s.id, s.clock++, s.state, s.c.address));
  for (const s of states) renew(s);
  // Phase-shifted timers, as independent browser tabs would be.
  const timers = states.flatMap((s) => {
    const a = setTimeout(() => (s.timer = setInterval(() => renew(s), AWARENESS_RENEW_MS)), Math.random() * AWARENESS_RENEW_MS);
    if (target.textPings === false) return [a];
    const p = setTimeout(() => (s.pinger = setInterval(() => s.c.ws.readyState === 1 && s.c.ws.send("ping"), cfg.pingMs)), Math.random() * cfg.pingMs);
    return [a, p];
  });
  const stop = async () => {
    for (const t of timers) clearTimeout(t);
    for (const s of states) {
      clearInterval(s.timer);
      clearInterval(s.pinger);
    }
    await closeAll(clients);
  };
  return { target, clients, stop };
}

/**
 * W6 on every target at once: connect, settle, then `cfg.windows` windows of `cfg.seconds / cfg.windows`
 * each, then one more window in which object wake-ups are counted. Returns Map(target.id -> {windows:
 * [{cpuMs, cpuPctOfOneCore, runtimeCpuMs, rssMB}], wakeups, ...}); wakeups (workerd targets, when strace
 * is there): object constructions in that last window.
 */
export async function idleRooms(targets, cfg, log) {
  const rooms = [];
  for (const t of targets) {
    const t0 = performance.now();
    rooms.push(await openRoom(t, cfg));
    log(`${t.id}: ${cfg.clients} clients on ${cfg.docs} docs connected in ${round((performance.now() - t0) / 1000, 1)} s`);
  }
  await sleep(cfg.settleMs);
  const out = new Map(rooms.map((r) => [r.target.id, { windows: [] }]));
  // Lattice counts its own wake-ups (DEBUG_WAKEUPS): over the whole idle period, CPU windows included.
  const counted = new Map();
  for (const r of rooms) if (r.target.peer?.startsWith("lattice")) counted.set(r.target.id, await countedWakeups(r.target.storeDir));
  const windowMs = (cfg.seconds * 1000) / cfg.windows;
  for (let w = 0; w < cfg.windows; w++) {
    const before = rooms.map((r) => r.target.serverPids().map((pid) => ({ pid, cpu: cpuMs([pid]) })));
    const messagesBefore = rooms.map((r) => r.clients.reduce((n, c) => n + c.messagesIn + c.textIn, 0));
    const t0 = performance.now();
    await sleep(windowMs);
    const wall = performance.now() - t0;
    rooms.forEach((r, k) => {
      // A process that ended (or a new one) in the window makes its CPU time meaningless: no figure then.
      const pids = r.target.serverPids();
      if (pids.length !== before[k].length || before[k].some(({ pid }) => !pids.includes(pid))) {
        out.get(r.target.id).windows.push({ seconds: round(wall / 1000, 1), restarted: true });
        return;
      }
      const per = before[k].map(({ pid, cpu }) => ({ role: processRole(pid, r.target), cpuMs: cpuMs([pid]) - cpu }));
      const total = per.reduce((s, p) => s + p.cpuMs, 0);
      const runtime = per.filter((p) => p.role !== "dev proxy").reduce((s, p) => s + p.cpuMs, 0);
      out.get(r.target.id).windows.push({
        seconds: round(wall / 1000, 1),
        cpuMs: round(total, 0),
        runtimeCpuMs: round(runtime, 0),
        cpuPctOfOneCore: round((total / wall) * 100, 2),
        rssMB: mb(rssBytes(r.target.serverPids())),
        messagesToClients: r.clients.reduce((n, c) => n + c.messagesIn + c.textIn, 0) - messagesBefore[k],
      });
    });
    const shown = (r) => out.get(r.target.id).windows[w].cpuMs ?? "n/a (a server process restarted)";
    log(`window ${w + 1}/${cfg.windows}: ${rooms.map((r) => `${r.target.id} ${shown(r)} ms CPU`).join(", ")}`);
  }
  // Wake-ups in one more window, traced: strace attached to a running process stops it on every
  // syscall (its seccomp filter works only for processes it starts), so no CPU figure comes from it.
  const traced = canTrace() ? rooms.filter((r) => r.target.runtime.startsWith("workerd")) : [];
  const counters = new Map(traced.map((r) => [r.target.id, countWakeups(r.target)]));
  await sleep(windowMs);
  for (const [id, counter] of counters) out.get(id).wakeups = { ...(await counter.stop()), seconds: round(windowMs / 1000, 1) };
  for (const r of rooms) {
    if (!counted.has(r.target.id)) continue;
    const seconds = round((cfg.seconds * 1000 + windowMs) / 1000, 1);
    const total = await countedWakeups(r.target.storeDir);
    out.get(r.target.id).counted = { wakeups: total - counted.get(r.target.id), total, seconds };
  }
  for (const r of rooms) {
    const o = out.get(r.target.id);
    o.clients = r.clients.length;
    o.docs = cfg.docs;
    o.closedDuringIdle = r.clients.filter((c) => c.closed).length;
    o.pongs = r.clients.reduce((n, c) => n + c.textIn, 0);
    await r.stop();
  }
  return out;
}
