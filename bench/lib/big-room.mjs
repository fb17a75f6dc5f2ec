// W8, a big room: hundreds of people in one document, each a stock-behaving y-websocket client.
//
// Every simulated client holds a y-protocols Awareness wired as y-websocket.js wires it: its own state
// is sent on connect, every change it applies (remote ones included) is sent back to the server (the
// echo), it renews its own state every 15 s and drops a peer not renewed for 30 s (y-protocols' own
// timers). Phases are spread: each client renews once at a random moment of the first 15 s. One writer
// types at `rate` updates/s and one "mover" moves its cursor once a second. Measured per round:
// - fan-out: the writer's updates, send to each receiver's arrival (ms percentiles over all receivers);
// - a cursor move, set to each receiver's applying it (ms percentiles): at every receiver, and at the
//   observers, people in a process of their own (big-room-observers.mjs: the mover is one of them), so
//   the server's part shows apart from this generator's queue;
// - presence: how many (client, peer) pairs are missing at the end and at worst during the window
//   (a state that timed out at a peer, or never arrived);
// - messages the server delivered per second (all types, counted at the clients), server and generator CPU.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as Y from "yjs";
import { announce, seen, spreadRenewals, stockClient, wallNow } from "./stock-client.mjs";
import { TEXT } from "./traces.mjs";
import { client, closeAll, generatorMeter, LatencyBook, newWriterDoc, round, serverMeter, waitFor, withTimeout } from "./workloads.mjs";
import { percentiles, pool, sleep } from "./yws.mjs";

/** How long one client may take to connect and sync before the round goes on without it. */
const SYNC_TIMEOUT_MS = 90_000;
/**
 * How long the whole room may take to join: past it, people still joining connect without waiting to
 * sync (counted as not synced), and seeing everyone may take 30 s more. A server that does not admit the room would otherwise hold a round of
 * 990 for 20 waves × 90 s.
 */
const JOIN_DEADLINE_MS = 150_000;
/** How long closing the room's sockets may take at the end of a round. */
const CLOSE_TIMEOUT_MS = 30_000;
/** People in the observer process: the mover and those who watch it (big-room-observers.mjs). */
export const OBSERVERS = 20;

/** The observer process for one round: the mover and `OBSERVERS` watchers of the room (each may take `syncMs` to sync), over IPC. */
async function observerProcess(target, docId, firstIndex, total, syncMs) {
  const child = fork(fileURLToPath(new URL("./big-room-observers.mjs", import.meta.url)), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting = new Map();
  child.on("message", (m) => {
    waiting.get(m.type)?.(m);
    waiting.delete(m.type);
  });
  const ask = (m, answer, ms = SYNC_TIMEOUT_MS) => withTimeout(new Promise((resolve) => (waiting.set(answer, resolve), child.send(m))), ms, `observers ${m.type}`);
  const urls = await Promise.all(Array.from({ length: OBSERVERS + 1 }, (_, j) => target.wsUrl(docId, firstIndex + j)));
  const { moverId, unsynced } = await ask(
    { type: "start", urls, clientOptions: target.clientOptions?.(docId) ?? {}, firstIndex, total, syncMs },
    "ready",
    syncMs + 10_000,
  ).catch((e) => {
    child.kill();
    throw e;
  });
  return {
    moverId,
    unsynced,
    seen: () => ask({ type: "seen" }, "seen"),
    go: (seconds) => ask({ type: "go", seconds }, "done", (seconds + 60) * 1000),
    close: async () => {
      child.send({ type: "close" });
      await withTimeout(new Promise((r) => child.once("exit", r)), CLOSE_TIMEOUT_MS, "observers close").catch(() => child.kill());
    },
  };
}

/** The observers see all `n` people within `ms`. */
async function allSeeAll(observers, n, ms) {
  const until = performance.now() + ms;
  while ((await observers.seen()).min < n) {
    if (performance.now() > until) return false;
    await sleep(100);
  }
  return true;
}

/** Latency of each arrival `[k, wall ms]` from the move's send time; and the first arrival per move. */
function cursorLatencies(sent, arrivals) {
  const at = new Map(sent);
  const all = [];
  const first = new Map();
  for (const [k, t] of arrivals) {
    const s = at.get(k);
    if (s === undefined) continue;
    all.push(t - s);
    if (!first.has(k) || t - s < first.get(k)) first.set(k, t - s);
  }
  return { all, first: [...first.values()] };
}

/**
 * One W8 round: `clients` people in `docId` on `target` for `seconds`: the generator hosts all but
 * `OBSERVERS + 1`, the observer process the mover and its watchers.
 */
export async function bigRoomRound(target, { clients: n, seconds, rate }, docId) {
  const book = new LatencyBook();
  const writerDoc = newWriterDoc();
  book.writer(writerDoc);
  const crowdArrivals = []; // [k, wall ms]: the mover's cursor reaching people in this process
  const lastCursor = new Map(); // holder -> last k recorded
  let moverId;
  const onApplied = (h, now) => {
    if (moverId === undefined) return;
    const k = h.awareness.getStates().get(moverId)?.cursor;
    if (typeof k !== "number" || lastCursor.get(h) === k) return;
    lastCursor.set(h, k);
    crowdArrivals.push([k, wallNow(now)]);
  };
  const t0 = performance.now();
  const inCrowd = n - OBSERVERS - 1;
  const people = await pool(
    Array.from({ length: inCrowd }, (_, i) => i),
    50,
    async (i) => {
      const h = await stockClient((opts) => client(target, [docId, i], opts), i, {
        doc: i === 0 ? writerDoc : undefined,
        onUpdate: (u, _kind, now) => book.onUpdate(u, now, i === 0 ? writerDoc.clientID : undefined),
        onApplied,
      });
      // A server drowning in the room's traffic may not answer in time: the client is counted as not
      // synced (it stays in the room and in "missing peers") instead of holding the round forever.
      try {
        await withTimeout(
          h.c.connect().then(() => h.c.synced),
          Math.max(1, Math.min(SYNC_TIMEOUT_MS, t0 + JOIN_DEADLINE_MS - performance.now())),
          "sync",
        );
      } catch {
        h.unsynced = true;
      }
      announce(h);
      return h;
    },
  );
  // Whatever happens, the room's sockets and the observer process go at the end of the round.
  let observers;
  let sampler;
  let phases = [];
  try {
    // The joining's deadline bounds every wait before the window (at least a few seconds each).
    const left = (extra = 0) => Math.max(5_000, t0 + JOIN_DEADLINE_MS + extra - performance.now());
    observers = await observerProcess(target, docId, inCrowd, n, Math.min(SYNC_TIMEOUT_MS, left()));
    moverId = observers.moverId;
    const joined = (await waitFor(() => people.every((h) => seen(h) === n), left(30_000), 100)) && (await allSeeAll(observers, n, left(30_000)));
    const joinSeconds = round((performance.now() - t0) / 1000, 1);
    phases = spreadRenewals(people);

    const writer = people[0];
    let pending;
    writerDoc.on("update", (u) => (pending = u));
    const msgs0 = people.reduce((s, h) => s + h.c.messagesIn, 0);
    const gen = generatorMeter();
    const srv = serverMeter(target);
    let worstMissing = 0;
    sampler = setInterval(() => {
      worstMissing = Math.max(
        worstMissing,
        people.reduce((s, h) => s + (n - seen(h)), 0),
      );
    }, 2_000);
    const observed = observers.go(seconds);
    const start = performance.now();
    const text = writerDoc.getText(TEXT);
    let ops = 0;
    for (let k = 0; performance.now() - start < seconds * 1000; k++) {
      const due = start + (k * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const clock = Y.getState(writerDoc.store, writerDoc.clientID);
      text.insert(text.length, String.fromCharCode(97 + (k % 26)));
      book.recordSend(writerDoc.clientID, clock, performance.now());
      writer.c.sendUpdate(pending);
      ops++;
    }
    const windowSeconds = (performance.now() - start) / 1000;
    const msgs1 = people.reduce((s, h) => s + h.c.messagesIn, 0);
    const server = srv();
    const generator = gen();
    const expected = ops * (n - OBSERVERS - 2);
    const complete = await waitFor(() => book.delivered >= expected, 15_000);
    const watched = await observed;
    const crowd = cursorLatencies(watched.sent, crowdArrivals);
    const watchers = cursorLatencies(watched.sent, watched.arrivals);
    const missingAtEnd = people.reduce((s, h) => s + (n - seen(h)), 0) + watched.missing;
    const closedByServer = people.filter((h) => h.c.closed).length + watched.closed;
    return {
      clients: n,
      unsynced: people.filter((h) => h.unsynced).length + observers.unsynced,
      joined,
      joinSeconds,
      fanoutMs: percentiles(book.samples),
      // A cursor move at every receiver: the crowd in this process and the observers in theirs.
      cursorMs: percentiles([...crowd.all, ...watchers.all]),
      // At the observers only: the server's part, without this process's queue of hundreds of people.
      cursorObserversMs: percentiles(watchers.all),
      // The first receiver of each move: one trip through the server, before any spread.
      cursorFirstMs: percentiles(cursorLatencies(watched.sent, [...crowdArrivals, ...watched.arrivals]).first),
      delivered: book.delivered,
      expected,
      allDelivered: complete,
      missingPeersAtEnd: missingAtEnd,
      worstMissingPeers: Math.max(worstMissing, watched.worstMissing),
      closedByServer,
      messagesPerSecond: round((msgs1 - msgs0 + watched.messagesIn) / windowSeconds, 0),
      serverCpuPct: server.cpuPctOfOneCore,
      generator,
      server,
    };
  } finally {
    clearInterval(sampler);
    for (const t of phases) clearTimeout(t);
    for (const h of people) h.awareness.destroy();
    await Promise.all([withTimeout(closeAll(people.map((h) => h.c)), CLOSE_TIMEOUT_MS, "close").catch(() => undefined), observers?.close()]);
  }
}

/** An SVG line chart of fan-out p99 against audience, one line per server (log scale for the latency). */
export function bigRoomSvg(series, { title }) {
  const W = 720;
  const H = 400;
  const L = 70;
  const R = 210;
  const T = 40;
  const B = 50;
  const all = series.flatMap((s) => s.points);
  const xs = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const ys = all.map((p) => p.y).filter((y) => y > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 10)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 100)));
  const xMax = Math.max(...xs) * 1.05;
  const px = (x) => L + (x / xMax) * (W - L - R);
  const py = (y) => T + (1 - (Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - T - B);
  const colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${title}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - R / 2}" y="22" text-anchor="middle" font-size="14">${title}</text>`,
  ];
  for (let d = yMin; d <= yMax; d *= 10) {
    out.push(
      `<line x1="${L}" x2="${W - R}" y1="${py(d)}" y2="${py(d)}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${py(d) + 4}" text-anchor="end">${d >= 1000 ? `${d / 1000} s` : `${d} ms`}</text>`,
    );
  }
  for (const x of xs)
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`, `<text x="${px(x)}" y="${H - B + 18}" text-anchor="middle">${x}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">people in the document</text>`);
  out.push(`<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">edit fan-out p99 (log)</text>`);
  series.forEach((s, i) => {
    const c = colors[i % colors.length];
    const pts = s.points.filter((p) => p.y > 0).sort((a, b) => a.x - b.x);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${px(p.x)},${py(p.y)}`).join(" ")}"/>`);
    for (const x of s.failedAt ?? [])
      out.push(`<text x="${px(x)}" y="${T + 4 + i * 14}" text-anchor="middle" fill="${c}" font-size="14" font-weight="bold">×</text>`);
    for (const p of pts) {
      out.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3.5" fill="${c}"/>`);
      if (p.lo !== undefined && p.hi !== undefined)
        out.push(`<line x1="${px(p.x)}" x2="${px(p.x)}" y1="${py(p.lo)}" y2="${py(p.hi)}" stroke="${c}" stroke-width="1"/>`);
    }
    out.push(
      `<rect x="${W - R + 14}" y="${T + i * 22 - 9}" width="14" height="4" fill="${c}"/>`,
      `<text x="${W - R + 34}" y="${T + i * 22 - 3}">${s.label.split(",")[0]}</text>`,
    );
  });
  if (series.some((s) => s.failedAt?.length))
    out.push(
      `<text x="${W - R + 14}" y="${T + series.length * 22 + 6}" font-size="11">× at the top: the room did not</text>`,
      `<text x="${W - R + 14}" y="${T + series.length * 22 + 20}" font-size="11">let the writer sync (no edit measured)</text>`,
    );
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
