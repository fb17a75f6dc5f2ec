// W1–W5, driven against any target from targets.mjs with the same generator. W1 and W3 connect once
// and then type in rounds; W2 and W5 rounds each use their own clients; W4 loads cold after a restart.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as Y from "yjs";
import { cpuMs, processRole, rssBytes } from "./proc.mjs";
import { TEXT } from "./traces.mjs";
import { percentiles, pool, sleep, step1Message, updateRanges, YwsClient } from "./yws.mjs";

export const round = (x, d = 2) => (x === undefined || x === null || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d);

/** Measures the generator itself over a workload: its CPU share of one core and event-loop lag. */
export function generatorMeter() {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    h.disable();
    const c = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    return {
      cpuPct: round(((c.user + c.system) / 1000 / wall) * 100, 1),
      loopLagP99Ms: round(h.percentile(99) / 1e6, 1),
    };
  };
}

export function serverMeter(target) {
  const pids = target.serverPids();
  const c0 = cpuMs(pids, true);
  const per0 = pids.map((p) => cpuMs([p]));
  const t0 = performance.now();
  return () => {
    const wall = performance.now() - t0;
    const c1 = cpuMs(pids, true);
    const cpu = c1.total - c0.total;
    return {
      perProcess: pids.map((pid, i) => ({ pid, role: processRole(pid, target), cpuMs: round(cpuMs([pid]) - per0[i], 0) })),
      cpuMs: round(cpu, 0),
      userMs: round(c1.user - c0.user, 0),
      systemMs: round(c1.system - c0.system, 0),
      cpuPctOfOneCore: round((cpu / wall) * 100, 1),
      processes: pids.length,
    };
  };
}

/** A generator client of `target` for `docId` (the target may add options, e.g. its own framing). */
export async function client(target, [docId, i, access], opts) {
  return new YwsClient(await target.wsUrl(docId, i, access), { ...target.clientOptions?.(docId), ...opts });
}

export async function connectAll(clients, concurrency = 50) {
  await pool(clients, concurrency, async (c) => {
    await c.connect();
    await withTimeout(c.synced, 30_000, "sync");
  });
}

export async function withTimeout(p, ms, what) {
  let timer;
  try {
    return await Promise.race([p, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function closeAll(clients) {
  await Promise.all(clients.map((c) => c.close()));
}

/** Random Yjs client ids that do not collide within a run. */
const usedIds = new Set();
export function newWriterDoc() {
  const doc = new Y.Doc();
  while (usedIds.has(doc.clientID)) doc.clientID = Math.floor(Math.random() * 2 ** 31);
  usedIds.add(doc.clientID);
  return doc;
}

/**
 * Latency tracking on the writer's Yjs clock: a writer records the send time of each 1-character insert
 * under (clientID, clock); every receiver decodes the struct ranges of what it gets and matches them.
 * Per insert it also keeps the first and the last arrival: the first is one trip through the server,
 * the spread between them is the server's fan-out (every receiver of one update, in the order it sends).
 */
export class LatencyBook {
  constructor() {
    this.sent = new Map(); // client -> Map(clock -> {t, first, last})
    this.samples = [];
    this.delivered = 0;
  }
  writer(doc) {
    this.sent.set(doc.clientID, new Map());
  }
  recordSend(client, clock, t) {
    this.sent.get(client).set(clock, { t, first: Infinity, last: 0 });
  }
  onUpdate(update, now, self) {
    for (const [client, from, to] of updateRanges(update)) {
      if (client === self) continue;
      const m = this.sent.get(client);
      if (!m) continue;
      for (let k = from; k < to; k++) {
        const e = m.get(k);
        if (e === undefined) continue;
        this.samples.push(now - e.t);
        this.delivered++;
        if (now < e.first) e.first = now;
        if (now > e.last) e.last = now;
      }
    }
  }
  /** Per insert: the first receiver's latency and the spread to the last receiver's (ms percentiles). */
  wire() {
    const first = [];
    const spread = [];
    for (const m of this.sent.values()) {
      for (const e of m.values()) {
        if (e.first === Infinity) continue;
        first.push(e.first - e.t);
        spread.push(e.last - e.first);
      }
    }
    return { firstReceiverMs: percentiles(first), spreadToLastMs: percentiles(spread) };
  }
}

/** Each writer inserts one character `rate` times a second for `seconds`, phase-shifted. */
async function writeLoop(writers, book, rate, seconds) {
  const period = 1000 / rate;
  const ops = Math.round(rate * seconds);
  await Promise.all(
    writers.map(async (w, wi) => {
      const text = w.doc.getText(TEXT);
      const start = performance.now() + (wi / writers.length) * period + Math.random() * period * 0.1;
      for (let k = 0; k < ops; k++) {
        const due = start + k * period;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const clock = Y.getState(w.doc.store, w.doc.clientID);
        text.insert(Math.floor(Math.random() * (text.length + 1)), String.fromCharCode(97 + (k % 26)));
        book.recordSend(w.doc.clientID, clock, performance.now());
        w.client.sendUpdate(w.pending);
      }
    }),
  );
  return ops;
}

export async function waitFor(cond, timeoutMs, step = 20) {
  const until = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > until) return false;
    await sleep(step);
  }
  return true;
}

/** A fresh client with a full Y.Doc: syncs and returns its text (convergence check). */
async function verifierText(target, docId, i) {
  const doc = new Y.Doc();
  const c = await client(target, [docId, i], { onUpdate: (u) => Y.applyUpdate(doc, u) });
  await c.connect();
  await withTimeout(c.synced, 30_000, "verifier sync");
  await c.close();
  return doc.getText(TEXT).toString();
}

export const mb = (b) => round(b / 2 ** 20, 1);

// ---- W1 fan-out and W3 many documents: clients connect once, then rounds of typing ----

/**
 * Connects `clientsPerDoc` clients to each of `docs`, the first `writersPerDoc` of each with a Y.Doc of
 * their own. Rounds (typingRound) reuse the connections, so a round measures typing alone.
 */
export async function openTyping(target, { docs, clientsPerDoc, writersPerDoc }) {
  const session = { target, docs, book: new LatencyBook(), clients: [], writers: [] };
  for (const [d, docId] of docs.entries()) {
    for (let k = 0; k < clientsPerDoc; k++) {
      const doc = k < writersPerDoc ? newWriterDoc() : undefined;
      const self = doc?.clientID;
      const c = await client(target, [docId, d * clientsPerDoc + k], { onUpdate: (u, _kind, now) => session.book.onUpdate(u, now, self), doc });
      session.clients.push(c);
      if (doc) {
        const w = { client: c, doc, docId, pending: undefined };
        doc.on("update", (u) => (w.pending = u));
        session.writers.push(w);
      }
    }
  }
  session.rssIdleMB = mb(rssBytes(target.serverPids()));
  await connectAll(session.clients);
  return session;
}

/** One round: every writer types `rate` ops/s for `seconds`; latency, wire split, server CPU and RSS. */
export async function typingRound(session, { rate, seconds }) {
  const { target, writers, clients, docs } = session;
  const book = (session.book = new LatencyBook());
  for (const w of writers) book.writer(w.doc);
  let rssPeak = rssBytes(target.serverPids());
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(target.serverPids()))), 500);
  const gen = generatorMeter();
  const srv = serverMeter(target);
  const ops = await writeLoop(writers, book, rate, seconds);
  const receiversPerWriter = clients.length / docs.length - 1;
  const expected = writers.length * ops * receiversPerWriter;
  const complete = await waitFor(() => book.delivered >= expected, 15_000);
  clearInterval(sampler);
  const server = srv();
  return {
    latencyMs: percentiles(book.samples),
    ...book.wire(),
    delivered: book.delivered,
    expected,
    allDelivered: complete,
    rssPeakMB: mb(Math.max(rssPeak, rssBytes(target.serverPids()))),
    serverCpuUsPerUpdate: round((server.cpuMs * 1000) / (writers.length * ops), 1),
    generator: gen(),
    server,
  };
}

/** Checks that a fresh client of each document (the first three) sees what the writers wrote, then disconnects everyone. */
export async function closeTyping(session) {
  const { target, writers, clients, docs } = session;
  let converged = null;
  if (!target.relay) {
    converged = true;
    for (const docId of docs.slice(0, 3)) {
      const ref = new Y.Doc();
      for (const w of writers) if (w.docId === docId) Y.applyUpdate(ref, Y.encodeStateAsUpdate(w.doc));
      if ((await verifierText(target, docId, 9000)) !== ref.getText(TEXT).toString()) converged = false;
    }
  }
  await closeAll(clients);
  return { converged, rssIdleMB: session.rssIdleMB };
}

// ---- W2 ingest ----

/** One round: a writer replays `trace` as fast as the socket takes it into `docId`, `cfg.readers` readers. */
export async function w2(target, cfg, trace, docId) {
  const { updates, marker, endContent } = trace;
  const done = new Array(cfg.readers).fill(0);
  const fullDoc = new Y.Doc();
  const readers = [];
  for (let i = 0; i < cfg.readers; i++) {
    const onUpdate = (u, _k, now) => {
      if (i === 0) Y.applyUpdate(fullDoc, u);
      if (done[i]) return;
      for (const [client, , to] of updateRanges(u)) if (client === marker.client && to > marker.clock) done[i] = now;
    };
    readers.push(await client(target, [docId, i + 1, "read"], { onUpdate }));
  }
  const writer = await client(target, [docId, 0], {});
  await connectAll([...readers, writer]);
  const gen = generatorMeter();
  const srv = serverMeter(target);
  const t0 = performance.now();
  for (let i = 0; i < updates.length; i++) {
    writer.sendUpdate(updates[i]);
    if ((i & 63) === 63) await writer.drain(256 * 1024);
  }
  await writer.drain(0);
  const tSent = performance.now();
  const ok = await waitFor(() => done.every((d) => d > 0), cfg.timeoutMs ?? 180_000, 5);
  const tDone = ok ? Math.max(...done) : performance.now();
  const generator = gen();
  const server = srv();
  const correct = fullDoc.getText(TEXT).toString() === endContent;
  await closeAll([...readers, writer]);
  const secs = (tDone - t0) / 1000;
  return {
    updates: updates.length,
    txns: trace.txns,
    readers: cfg.readers,
    sendSeconds: round((tSent - t0) / 1000, 2),
    allReadersDoneSeconds: ok ? round(secs, 2) : null,
    updatesPerSecond: ok ? round(updates.length / secs, 0) : null,
    readersCompleted: done.filter(Boolean).length,
    // How many WebSocket messages carried the updates to one reader (a server may merge a burst).
    messagesPerReader: Math.round(readers.reduce((n, r) => n + r.messagesIn, 0) / readers.length),
    endContentMatches: correct,
    serverCpuUsPerUpdate: round((server.cpuMs * 1000) / updates.length, 1),
    // The same without wrangler dev's proxy process (not part of a deployment).
    runtimeCpuUsPerUpdate: round((server.perProcess.filter((p) => p.role !== "dev proxy").reduce((s, p) => s + p.cpuMs, 0) * 1000) / updates.length, 1),
    generator,
    server,
  };
}

// ---- loading a whole trace into a document (W4, W5) ----

/** Writes `trace` into `docId` through one writer; resolves when a reader has the last update. */
export async function populate(target, docId, trace) {
  let doneAt = 0;
  const t0 = performance.now();
  const reader = await client(target, [docId, 9999, "read"], {
    onUpdate: (u, _k, now) => {
      for (const [client, , to] of updateRanges(u)) if (client === trace.marker.client && to > trace.marker.clock) doneAt = now;
    },
  });
  const writer = await client(target, [docId, 9998], {});
  await connectAll([reader, writer]);
  for (let i = 0; i < trace.updates.length; i++) {
    writer.sendUpdate(trace.updates[i]);
    if ((i & 15) === 15) await writer.drain(256 * 1024);
  }
  const ok = await waitFor(() => doneAt > 0, 120_000);
  await closeAll([reader, writer]);
  if (!ok) throw new Error(`populating ${docId} did not finish`);
  return { updates: trace.updates.length, seconds: round((doneAt - t0) / 1000, 2) };
}

/**
 * Sends `updates` to `docId` through one writer and waits until a step 1 sent after them is answered (a
 * server answers in order, after what came before it). For warming a server: nothing is measured.
 */
export async function writeAndConfirm(target, docId, updates) {
  const writer = await client(target, [docId, 9997], {});
  await connectAll([writer]);
  for (let i = 0; i < updates.length; i++) {
    writer.sendUpdate(updates[i]);
    if ((i & 63) === 63) await writer.drain(256 * 1024);
  }
  const seen = writer.received;
  writer.send(step1Message(undefined, writer.address));
  await waitFor(() => writer.received > seen || writer.closed, 60_000, 5);
  await writer.close();
}

// ---- W4 cold load ----

/**
 * Sizes of the persisted files of one document (the SQLite file that mentions `docId`) and of the blobs
 * stored in it.
 */
export async function storedBytes(storeDir, docId) {
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".sqlite")) files.push(p);
    }
  };
  walk(storeDir);
  const { DatabaseSync } = await import("node:sqlite");
  for (const f of files) {
    const db = new DatabaseSync(f, { readOnly: true });
    let blobBytes = 0;
    let mine = false;
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'`).all();
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).iterate()) {
        for (const v of Object.values(row)) {
          if (v instanceof Uint8Array) blobBytes += v.length;
          else if (typeof v === "string" && (v === docId || v.includes(`"${docId}"`))) mine = true;
        }
      }
    }
    db.close();
    if (!mine) continue;
    let fileBytes = 0;
    for (const ext of ["", "-wal", "-shm"]) if (existsSync(f + ext)) fileBytes += statSync(f + ext).size;
    return { file: f, fileBytes, blobBytes };
  }
  return { file: null, fileBytes: null, blobBytes: null };
}

/**
 * One cold load of a stored document on a freshly restarted server: connect until the step 2 that
 * completes the sync has arrived. The client only buffers what comes (applying as it goes would add the
 * generator's own apply time); it applies everything afterwards, timed apart, to check the content.
 */
export async function coldLoad(target, docId, trace) {
  const received = [];
  const c = await client(target, [docId, 1], { onUpdate: (u) => received.push(u) });
  await c.connect();
  await withTimeout(c.synced, 60_000, "cold sync");
  const doc = new Y.Doc();
  const tApply = performance.now();
  for (const u of received) Y.applyUpdate(doc, u);
  const clientApplyMs = round(performance.now() - tApply);
  await c.close();
  return {
    connectToSyncedMs: round(c.tSynced - c.tStart),
    openToSyncedMs: round(c.tSynced - c.tOpen),
    messages: received.length,
    clientApplyMs,
    step2Bytes: c.step2Bytes,
    contentMatches: doc.getText(TEXT).toString() === trace.endContent,
  };
}

// ---- W5 reconnect storm ----

/** One round: `cfg.clients` fresh clients connect to the populated `docId` within `cfg.windowMs`. */
export async function stormRound(target, cfg, trace, docId) {
  const clients = [];
  for (let i = 0; i < cfg.clients; i++) clients.push(await client(target, [docId, i], {}));
  const gen = generatorMeter();
  const srv = serverMeter(target);
  const t0 = performance.now();
  let failures = 0;
  await Promise.all(
    clients.map(async (c, i) => {
      const due = t0 + (i / cfg.clients) * cfg.windowMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      try {
        await c.connect();
        await withTimeout(c.synced, cfg.timeoutMs ?? 60_000, "storm sync");
      } catch {
        failures++;
      }
    }),
  );
  const synced = clients.filter((c) => c.tSynced > 0);
  const tAll = synced.length ? Math.max(...synced.map((c) => c.tSynced)) : performance.now();
  const generator = gen();
  const server = srv();
  const expectedBytes = Y.encodeStateAsUpdate(trace.doc).length;
  const fullState = synced.filter((c) => c.step2Bytes >= expectedBytes * 0.9).length;
  await closeAll(clients);
  return {
    clients: cfg.clients,
    windowMs: cfg.windowMs,
    allSyncedSeconds: failures === 0 ? round((tAll - t0) / 1000, 2) : null,
    synced: synced.length,
    failures,
    withFullState: fullState,
    perClientConnectToSyncedMs: percentiles(synced.map((c) => c.tSynced - c.tStart)),
    encodedStateBytes: expectedBytes,
    generator,
    server,
  };
}
