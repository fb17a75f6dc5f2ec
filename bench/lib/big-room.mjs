// W8, a big room: hundreds of people in one document, each a stock-behaving y-websocket client.
//
// Every simulated client holds a y-protocols Awareness wired as y-websocket.js wires it: its own state
// is sent on connect, every change it applies (remote ones included) is sent back to the server (the
// echo), it renews its own state every 15 s and drops a peer not renewed for 30 s (y-protocols' own
// timers). Phases are spread: each client renews once at a random moment of the first 15 s. One writer
// types at `rate` updates/s and one "mover" moves its cursor once a second. Measured per round:
// - fan-out: the writer's updates, send to each receiver's arrival (ms percentiles over all receivers);
// - a cursor move, set to each receiver's applying it (ms percentiles);
// - presence: how many (client, peer) pairs are missing at the end and at worst during the window
//   (a state that timed out at a peer, or never arrived);
// - messages the server delivered per second (all types, counted at the clients), server and generator CPU.
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import * as encoding from "lib0/encoding";
import * as Y from "yjs";
import { TEXT } from "./traces.mjs";
import { client, closeAll, generatorMeter, LatencyBook, newWriterDoc, round, serverMeter, waitFor, withTimeout } from "./workloads.mjs";
import { percentiles, pool, sleep } from "./yws.mjs";

const MSG_AWARENESS = 1;
/** How long one client may take to connect and sync before the round goes on without it. */
const SYNC_TIMEOUT_MS = 90_000;
/** How long closing the room's sockets may take at the end of a round. */
const CLOSE_TIMEOUT_MS = 30_000;

function awarenessFrame(payload) {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, MSG_AWARENESS);
  encoding.writeVarUint8Array(enc, payload);
  return encoding.toUint8Array(enc);
}

/** A client whose awareness behaves as the stock provider's; `onApplied` after each awareness message it applies. */
function stockClient(target, docId, i, { doc, onUpdate, onApplied }) {
  const own = doc ?? new Y.Doc();
  const awareness = new Awareness(own);
  awareness.setLocalState({ user: { name: `user-${i}`, color: `#${((i * 2654435761) >>> 8).toString(16).padStart(6, "0").slice(0, 6)}` } });
  const holder = { awareness, c: undefined };
  const ready = client(target, [docId, i], {
    doc,
    onUpdate,
    onAwareness: (payload, now) => {
      applyAwarenessUpdate(awareness, payload, "server");
      onApplied?.(holder, now);
    },
  }).then((c) => {
    holder.c = c;
    // y-websocket.js: every applied change is re-broadcast, remote ones included.
    awareness.on("update", ({ added, updated, removed }) => c.send(awarenessFrame(encodeAwarenessUpdate(awareness, [...added, ...updated, ...removed]))));
    return holder;
  });
  return ready;
}

const seen = (h) => h.awareness.getStates().size;

/** One W8 round: `clients` people in `docId` on `target` for `seconds`. */
export async function bigRoomRound(target, { clients: n, seconds, rate }, docId) {
  const book = new LatencyBook();
  const writerDoc = newWriterDoc();
  book.writer(writerDoc);
  const cursorSent = new Map(); // k -> send time
  const cursorSamples = [];
  const lastCursor = new Map(); // holder -> last k recorded
  let moverId;
  const onApplied = (h, now) => {
    if (moverId === undefined) return;
    const k = h.awareness.getStates().get(moverId)?.cursor;
    if (typeof k !== "number" || lastCursor.get(h) === k) return;
    lastCursor.set(h, k);
    const t = cursorSent.get(k);
    if (t !== undefined) cursorSamples.push(now - t);
  };
  const t0 = performance.now();
  const people = await pool(
    Array.from({ length: n }, (_, i) => i),
    50,
    async (i) => {
      const h = await stockClient(target, docId, i, {
        doc: i === 0 ? writerDoc : undefined,
        onUpdate: (u, _kind, now) => book.onUpdate(u, now, i === 0 ? writerDoc.clientID : undefined),
        onApplied,
      });
      // A server drowning in the room's traffic may not answer in time: the client is counted as not
      // synced (it stays in the room and in "missing peers") instead of holding the round forever.
      try {
        await withTimeout(
          h.c.connect().then(() => h.c.synced),
          SYNC_TIMEOUT_MS,
          "sync",
        );
      } catch {
        h.unsynced = true;
      }
      h.c.send(awarenessFrame(encodeAwarenessUpdate(h.awareness, [h.awareness.clientID])));
      return h;
    },
  );
  const joined = await waitFor(() => people.every((h) => seen(h) === n), 120_000, 100);
  const joinSeconds = round((performance.now() - t0) / 1000, 1);
  // Spread the renewal phases over y-protocols' 15 s, as a room of people who came at different times.
  const phases = people.map((h) => setTimeout(() => h.awareness.setLocalState(h.awareness.getLocalState()), Math.random() * 15_000));

  const writer = people[0];
  const mover = people[1];
  moverId = mover.awareness.clientID;
  let pending;
  writerDoc.on("update", (u) => (pending = u));
  const msgs0 = people.reduce((s, h) => s + h.c.messagesIn, 0);
  const gen = generatorMeter();
  const srv = serverMeter(target);
  let worstMissing = 0;
  const sampler = setInterval(() => {
    worstMissing = Math.max(
      worstMissing,
      people.reduce((s, h) => s + (n - seen(h)), 0),
    );
  }, 2_000);
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
    if (k % rate === 0) {
      const m = k / rate;
      cursorSent.set(m, performance.now());
      mover.awareness.setLocalStateField("cursor", m);
    }
  }
  const windowSeconds = (performance.now() - start) / 1000;
  const msgs1 = people.reduce((s, h) => s + h.c.messagesIn, 0);
  const server = srv();
  const generator = gen();
  const expected = ops * (n - 1);
  const complete = await waitFor(() => book.delivered >= expected, 15_000);
  clearInterval(sampler);
  for (const t of phases) clearTimeout(t);
  const missingAtEnd = people.reduce((s, h) => s + (n - seen(h)), 0);
  const closedByServer = people.filter((h) => h.c.closed).length;
  for (const h of people) h.awareness.destroy();
  await withTimeout(closeAll(people.map((h) => h.c)), CLOSE_TIMEOUT_MS, "close").catch(() => undefined);
  return {
    clients: n,
    unsynced: people.filter((h) => h.unsynced).length,
    joined,
    joinSeconds,
    fanoutMs: percentiles(book.samples),
    cursorMs: percentiles(cursorSamples),
    delivered: book.delivered,
    expected,
    allDelivered: complete,
    missingPeersAtEnd: missingAtEnd,
    worstMissingPeers: worstMissing,
    closedByServer,
    messagesPerSecond: round((msgs1 - msgs0) / windowSeconds, 0),
    serverCpuPct: server.cpuPctOfOneCore,
    generator,
    server,
  };
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
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
