// W1–W5 (issue 4), driven against any target from targets.mjs with the same generator.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as Y from "yjs";
import { cpuMs, processRole, rssBytes } from "./targets.mjs";
import { TEXT } from "./traces.mjs";
import { percentiles, pool, sleep, updateRanges, YwsClient } from "./yws.mjs";

const round = (x, d = 2) => (x === undefined || x === null || Number.isNaN(x) ? null : Math.round(x * 10 ** d) / 10 ** d);

/** Measures the generator itself over a workload: its CPU share of one core and event-loop lag. */
function generatorMeter() {
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

function serverMeter(target) {
  const pids = target.serverPids();
  const c0 = cpuMs(pids, true);
  const per0 = pids.map((p) => cpuMs([p]));
  const t0 = performance.now();
  return () => {
    const wall = performance.now() - t0;
    const c1 = cpuMs(pids, true);
    const cpu = c1.total - c0.total;
    return {
      perProcess: pids.map((pid, i) => ({ pid, role: processRole(pid, target.port), cpuMs: round(cpuMs([pid]) - per0[i], 0) })),
      cpuMs: round(cpu, 0),
      userMs: round(c1.user - c0.user, 0),
      systemMs: round(c1.system - c0.system, 0),
      cpuPctOfOneCore: round((cpu / wall) * 100, 1),
      processes: pids.length,
    };
  };
}

/** A generator client of `target` for `docId` (the target may add options, e.g. its own framing). */
async function client(target, [docId, i, access], opts) {
  return new YwsClient(await target.wsUrl(docId, i, access), { ...target.clientOptions?.(docId), ...opts });
}

async function connectAll(clients, concurrency = 50) {
  await pool(clients, concurrency, async (c) => {
    await c.connect();
    await withTimeout(c.synced, 30_000, "sync");
  });
}

async function withTimeout(p, ms, what) {
  let timer;
  try {
    return await Promise.race([p, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function closeAll(clients) {
  await Promise.all(clients.map((c) => c.close()));
}

/** Random Yjs client ids that do not collide within a run. */
const usedIds = new Set();
function newWriterDoc() {
  const doc = new Y.Doc();
  while (usedIds.has(doc.clientID)) doc.clientID = Math.floor(Math.random() * 2 ** 31);
  usedIds.add(doc.clientID);
  return doc;
}

/**
 * Latency tracking on the writer's Yjs clock: a writer records the send time of each 1-character insert
 * under (clientID, clock); every receiver decodes the struct ranges of what it gets and matches them.
 */
class LatencyBook {
  constructor() {
    this.sent = new Map(); // client -> Map(clock -> t)
    this.samples = [];
    this.delivered = 0;
  }
  writer(doc) {
    this.sent.set(doc.clientID, new Map());
  }
  recordSend(client, clock, t) {
    this.sent.get(client).set(clock, t);
  }
  /** The update handler of a receiver; `self` (a writer's own client id) is skipped if a server echoes it. */
  receiver(self) {
    return (update, kind, now) => this.onUpdate(update, kind, now, self);
  }
  onUpdate = (update, _kind, now, self) => {
    for (const [client, from, to] of updateRanges(update)) {
      if (client === self) continue;
      const m = this.sent.get(client);
      if (!m) continue;
      for (let k = from; k < to; k++) {
        const t = m.get(k);
        if (t !== undefined) {
          this.samples.push(now - t);
          this.delivered++;
        }
      }
    }
  };
}

/** Runs `writers` each inserting one character `rate` times a second for `seconds`, phase-shifted. */
async function writeLoop(writers, book, rate, seconds) {
  const period = 1000 / rate;
  const ops = Math.round(rate * seconds);
  await Promise.all(
    writers.map(async ({ client, doc }, wi) => {
      const text = doc.getText(TEXT);
      let pending;
      doc.on("update", (u) => (pending = u));
      const start = performance.now() + (wi / writers.length) * period + Math.random() * period * 0.1;
      for (let k = 0; k < ops; k++) {
        const due = start + k * period;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const clock = Y.getState(doc.store, doc.clientID);
        text.insert(Math.floor(Math.random() * (text.length + 1)), String.fromCharCode(97 + (k % 26)));
        book.recordSend(doc.clientID, clock, performance.now());
        client.sendUpdate(pending);
      }
    }),
  );
  return ops;
}

async function waitFor(cond, timeoutMs, step = 20) {
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

// ---- W1 fan-out ----

export async function w1(target, cfg, log) {
  const docId = cfg.docId ?? "w1";
  const book = new LatencyBook();
  const writers = [];
  const clients = [];
  for (let i = 0; i < cfg.clients; i++) {
    const doc = i < cfg.writers ? newWriterDoc() : undefined;
    const c = await client(target, [docId, i], { onUpdate: book.receiver(doc?.clientID), doc });
    clients.push(c);
    if (doc) {
      book.writer(doc);
      writers.push({ client: c, doc });
    }
  }
  await connectAll(clients);
  log(`W1: ${clients.length} clients synced; ${cfg.writers} writers × ${cfg.rate} ops/s for ${cfg.seconds} s`);
  const gen = generatorMeter();
  const srv = serverMeter(target);
  const ops = await writeLoop(writers, book, cfg.rate, cfg.seconds);
  const expected = writers.length * ops * (clients.length - 1);
  const complete = await waitFor(() => book.delivered >= expected, 15_000);
  const generator = gen();
  const server = srv();
  const ref = new Y.Doc();
  for (const w of writers) Y.applyUpdate(ref, Y.encodeStateAsUpdate(w.doc));
  const seen = await verifierText(target, docId, cfg.clients);
  await closeAll(clients);
  return {
    clients: clients.length,
    writers: writers.length,
    opsPerWriter: ops,
    latencyMs: percentiles(book.samples),
    delivered: book.delivered,
    expected,
    allDelivered: complete,
    converged: complete && seen === ref.getText(TEXT).toString(),
    generator,
    server,
  };
}

// ---- W2 ingest ----

export async function w2(target, cfg, trace, log) {
  const docId = cfg.docId ?? "w2";
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
  log(`W2: writer replays ${updates.length} updates (${trace.txns} txns) to ${cfg.readers} readers`);
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

// ---- W3 many documents ----

export async function w3(target, cfg, log) {
  const book = new LatencyBook();
  const clients = [];
  const writers = [];
  for (let d = 0; d < cfg.docs; d++) {
    const docId = `w3-${d}`;
    for (let k = 0; k < cfg.clientsPerDoc; k++) {
      const doc = k === 0 ? newWriterDoc() : undefined;
      const c = await client(target, [docId, d * cfg.clientsPerDoc + k], { onUpdate: book.receiver(doc?.clientID), doc });
      clients.push(c);
      if (doc) {
        book.writer(doc);
        writers.push({ client: c, doc });
      }
    }
  }
  const pids = target.serverPids();
  const rssIdle = rssBytes(pids);
  await connectAll(clients);
  log(`W3: ${cfg.docs} docs × ${cfg.clientsPerDoc} clients synced; 1 writer each at ${cfg.rate} ops/s for ${cfg.seconds} s`);
  let rssPeak = rssBytes(target.serverPids());
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(target.serverPids()))), 500);
  const gen = generatorMeter();
  const srv = serverMeter(target);
  const ops = await writeLoop(writers, book, cfg.rate, cfg.seconds);
  const expected = writers.length * ops * (cfg.clientsPerDoc - 1);
  const complete = await waitFor(() => book.delivered >= expected, 15_000);
  clearInterval(sampler);
  const rssEnd = rssBytes(target.serverPids());
  rssPeak = Math.max(rssPeak, rssEnd);
  const generator = gen();
  const server = srv();
  await closeAll(clients);
  const mb = (b) => round(b / 2 ** 20, 1);
  return {
    docs: cfg.docs,
    clients: clients.length,
    latencyMs: percentiles(book.samples),
    delivered: book.delivered,
    expected,
    allDelivered: complete,
    rssMB: { idleBefore: mb(rssIdle), peak: mb(rssPeak), end: mb(rssEnd), processes: target.serverPids().length },
    generator,
    server,
  };
}

// ---- loading a whole trace into a document (W4, W5) ----

async function populate(target, docId, trace) {
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

// ---- W4 cold load ----

/**
 * Sizes of the persisted Durable Object files of one document (the SQLite file that mentions `docId`)
 * and of the blobs stored in it.
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

/** Runs on a started target, last: populates, stops, restarts (same storage) and loads cold. */
export async function w4(target, trace, log) {
  const docId = "w4";
  if (!target.persistent) return { skipped: "no persistence in this server" };
  const loaded = await populate(target, docId, trace);
  log(`W4: ${trace.updates.length} updates (${trace.txns} txns of automerge-paper) stored in ${loaded.seconds} s; waiting for persistence, then restarting`);
  // y-partyserver saves 2 s after the last edit (10 s at most) and when the room empties.
  await sleep(3_000);
  await target.stop({ keep: true });
  const encoded = Y.encodeStateAsUpdate(trace.doc).length;
  const stored = await storedBytes(target.storeDir, docId);
  await target.start({ fresh: false });
  // The server's part: connect until the step 2 that completes the sync has arrived. The client only
  // buffers what comes (applying as it goes would delay reading the next message by the generator's own
  // apply time, and by its GC); it applies everything afterwards, timed apart, to check the content.
  const received = [];
  const c = await client(target, [docId, 1], { onUpdate: (u) => received.push(u) });
  await c.connect();
  await withTimeout(c.synced, 30_000, "cold sync");
  const doc = new Y.Doc();
  const tApply = performance.now();
  for (const u of received) Y.applyUpdate(doc, u);
  const cold = {
    connectToSyncedMs: round(c.tSynced - c.tStart),
    openToSyncedMs: round(c.tSynced - c.tOpen),
    messages: received.length,
    clientApplyMs: round(performance.now() - tApply),
    step2Bytes: c.step2Bytes,
  };
  const correct = doc.getText(TEXT).toString() === trace.endContent;
  await c.close();
  const warmC = await client(target, [docId, 2], {});
  await warmC.connect();
  await withTimeout(warmC.synced, 30_000, "warm sync");
  const warmMs = warmC.tSynced - warmC.tStart;
  await warmC.close();
  return {
    txns: trace.txns,
    updatesSent: trace.updates.length,
    populateSeconds: loaded.seconds,
    ...cold,
    warmConnectToSyncedMs: round(warmMs),
    contentMatches: correct,
    encodedStateBytes: encoded,
    storedBlobBytes: stored.blobBytes,
    storedFileBytes: stored.fileBytes,
    storedToEncoded: stored.blobBytes === null ? null : round(stored.blobBytes / encoded, 2),
    fileToEncoded: stored.fileBytes === null ? null : round(stored.fileBytes / encoded, 2),
  };
}

// ---- W5 reconnect storm ----

export async function w5(target, cfg, trace, log) {
  const docId = cfg.docId ?? "w5";
  const loaded = await populate(target, docId, trace);
  const mk = async (i) => await client(target, [docId, i], {});
  const first = [];
  for (let i = 0; i < cfg.clients; i++) first.push(await mk(i));
  await connectAll(first, 100);
  log(`W5: ${cfg.clients} clients synced on a ${trace.txns}-txn seph-blog1 doc; closing them and reconnecting within ${cfg.windowMs} ms`);
  await closeAll(first);
  await sleep(500);
  const again = [];
  for (let i = 0; i < cfg.clients; i++) again.push(await mk(i));
  const gen = generatorMeter();
  const srv = serverMeter(target);
  const t0 = performance.now();
  let failures = 0;
  await Promise.all(
    again.map(async (c, i) => {
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
  const synced = again.filter((c) => c.tSynced > 0);
  const tAll = synced.length ? Math.max(...synced.map((c) => c.tSynced)) : performance.now();
  const generator = gen();
  const server = srv();
  const expectedBytes = Y.encodeStateAsUpdate(trace.doc).length;
  const fullState = synced.filter((c) => c.step2Bytes >= expectedBytes * 0.9).length;
  await closeAll(again);
  return {
    clients: cfg.clients,
    windowMs: cfg.windowMs,
    allSyncedSeconds: failures === 0 ? round((tAll - t0) / 1000, 2) : null,
    synced: synced.length,
    failures,
    withFullState: fullState,
    perClientConnectToSyncedMs: percentiles(synced.map((c) => c.tSynced - c.tStart)),
    encodedStateBytes: expectedBytes,
    populateSeconds: loaded.seconds,
    generator,
    server,
  };
}
