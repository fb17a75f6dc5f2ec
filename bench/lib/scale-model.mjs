// One document's audience spread over a relay tree, and a discrete-event model of its fan-out. Pure: no node:
// imports, so the workers test pool loads it as is (test/unit/bench/scale-model.test.ts). Driven by
// bench/scale-sim.mjs; the model and every assumption are written up in docs/SCALE.md.
//
// The design it models: the authority (DocRoom) is the only writer. It keeps up to `relayAfter` sockets itself;
// later connections go to relay objects of up to `perRelay` sockets each. A relay feeds up to `width` child
// relays, breadth first, so the tree is as shallow as the width allows. The authority commits a burst, then sends
// it once per child link and once per direct socket; a relay applies what its link brings to its replica and
// sends it once per child link, then once per socket. Links go first in every send loop: the deeper objects start
// sooner and the last socket of the slowest leaf is reached earlier.

/** Hibernatable WebSockets one object may hold (Cloudflare's limit): a single object refuses everyone past it. */
export const SOCKETS_PER_OBJECT = 32_768;

/**
 * Every cost the model uses, with where its default comes from. A `--costs` file (bench W9) replaces any of
 * these by name; the report says which were measured and which are these defaults.
 */
export const DEFAULT_COSTS = {
  sendUs: {
    value: 35,
    source: "shared FIELD-NOTES (990 sockets ≈ 35 ms a message) and docs/PERFORMANCE.md (relay floor: 34–42 µs per delivered message)",
  },
  linkSendUs: { value: 35, source: "assumed: one send on an internal link costs what a send to a client socket costs" },
  recvUs: { value: 11.2, source: "docs/PERFORMANCE.md W2: the runtime's own cost per received message (Miniflare floor)" },
  echoUs: {
    value: 42.5,
    source:
      "assumed: a small presence message (a renewal, or a stock client's echo of one or two writers' states) decoded, checked and dropped costs at most what Lattice spends on a whole small update (docs/PERFORMANCE.md W2: 42.5 µs)",
  },
  applyUs: { value: 22, source: "shared FIELD-NOTES: applying one keystroke update, 9.9–21.8 µs (the upper figure)" },
  ingestUs: { value: 42.5, source: "docs/PERFORMANCE.md W2: Lattice's CPU per update (decode, validate, apply, write, merge)" },
  commitMs: {
    value: 13,
    source:
      "production output gate (replication to nearby machines, not a local fsync): 10–13 ms measured on a deployed object by a third party (lumenize.com, 'What I got wrong about Durable Object throughput'); the upper figure",
  },
  hopMs: { value: 5, source: "ASSUMED: one object-to-object message inside a region takes 'a few ms'; no public Cloudflare figure was found" },
};

/** Tree shape, traffic and presence defaults (docs/SCALE.md says why each). */
export const DEFAULT_PARAMS = {
  relayAfter: 500,
  perRelay: 500,
  width: 64,
  maxDepth: 4,
  writers: 2,
  updatesPerWriter: 5,
  presencePerWriter: 5,
  renewalEveryMs: 15_000,
  countEveryMs: 5_000,
  presence: true,
  echoes: true,
  echoRttMs: [10, 60],
  echoChunks: 5,
  writerAt: "authority",
  sharedThread: false,
  seconds: 60,
  warmup: 5,
  seed: 1,
};

/** Durable Objects list prices (Workers Paid), without the monthly allowances. */
export const PRICING = {
  gbPerObject: 0.128,
  usdPerMillionGbS: 12.5,
  usdPerMillionRequests: 0.15,
  wsMessagesPerRequest: 20,
  source:
    "https://developers.cloudflare.com/durable-objects/platform/pricing/ ($0.15 per million requests, $12.50 per million GB-s, 128 MB billed per object) and the 2024-04-01 changelog (incoming WebSocket messages bill 20:1); outgoing messages are not billed",
};

/** Presence pacing as src/sync/presence-pacing.ts sets it (the unit test keeps the two equal). */
export function pacing(audience) {
  if (audience <= 16) return { changeGapMs: 0, renewalDelayMs: 0 };
  return { changeGapMs: Math.min(150, audience * 0.15), renewalDelayMs: Math.min(5_000, audience * 5) };
}

/** The cost values alone, from `{ name: { value } }` or `{ name: number }`. */
export function costValues(costs) {
  const out = {};
  for (const [k, v] of Object.entries(costs)) out[k] = typeof v === "number" ? v : v.value;
  return out;
}

/**
 * W9's costs.json (bench/lib/relay-room.mjs) names its figures in ms: a socket send (`perSendMs`) and the hop
 * alone (`hopGapMs`, first arrival on a relay minus last on the document's object). Read as `sendUs` and
 * `hopMs`; names the model already uses win.
 */
function fromW9(given) {
  const out = { ...given };
  if (out.sendUs === undefined && typeof given.perSendMs === "number") out.sendUs = given.perSendMs * 1000;
  if (out.hopMs === undefined && typeof given.hopGapMs === "number") out.hopMs = given.hopGapMs;
  return out;
}

/**
 * Merges a measured-costs file (as bench W9 writes it) over the defaults. Accepts `{ sendUs: 31, … }`,
 * `{ costs: { … } }`, and values given as numbers or `{ value }`; unknown keys are ignored.
 */
export function mergeCosts(file, label) {
  const given = fromW9(file && typeof file === "object" && file.costs && typeof file.costs === "object" ? file.costs : (file ?? {}));
  const out = {};
  for (const [k, d] of Object.entries(DEFAULT_COSTS)) {
    const raw = given[k];
    const v = typeof raw === "number" ? raw : raw && typeof raw.value === "number" ? raw.value : undefined;
    out[k] = v !== undefined && Number.isFinite(v) && v >= 0 ? { value: v, source: `measured (${label})`, measured: true } : { ...d, measured: false };
  }
  return out;
}

/**
 * Who holds which sockets. The authority keeps min(audience, relayAfter); the rest fill relays of perRelay
 * sockets, level by level (at most `width` children per object, children dealt round robin over the level above),
 * down to maxDepth levels of relays; whoever does not fit is refused.
 */
export function planTree(audience, { relayAfter, perRelay, width, maxDepth }) {
  if (!(relayAfter > 0 && perRelay > 0 && width > 0)) throw new Error("relayAfter, perRelay and width must be positive");
  const direct = Math.min(audience, relayAfter, SOCKETS_PER_OBJECT - width);
  const nodes = [{ id: 0, level: 0, parent: -1, sockets: direct, children: [] }];
  const levels = [{ objects: 1, sockets: direct }];
  let rest = audience - direct;
  let above = [0];
  while (rest > 0 && levels.length <= maxDepth) {
    const count = Math.min(above.length * width, Math.ceil(rest / perRelay));
    const ids = [];
    let sockets = 0;
    for (let i = 0; i < count; i++) {
      const n = Math.min(perRelay, rest);
      rest -= n;
      sockets += n;
      const id = nodes.length;
      const parent = above[i % above.length];
      nodes.push({ id, level: levels.length, parent, sockets: n, children: [] });
      nodes[parent].children.push(id);
      ids.push(id);
    }
    levels.push({ objects: count, sockets });
    above = ids;
  }
  for (const n of nodes) n.fullPresence = n.id === 0 ? n.sockets : 0;
  return {
    kind: "tree",
    audience,
    depth: levels.length - 1,
    levels,
    nodes,
    objects: nodes.length,
    served: audience - rest,
    refused: rest,
    widthUsed: Math.max(...nodes.map((n) => n.children.length)),
  };
}

/** One object and no relays: it holds everyone up to SOCKETS_PER_OBJECT and refuses the rest. */
export function planSingle(audience, { relayAfter }) {
  const sockets = Math.min(audience, SOCKETS_PER_OBJECT);
  const node = { id: 0, level: 0, parent: -1, sockets, children: [], fullPresence: Math.min(sockets, relayAfter) };
  return {
    kind: "single",
    audience,
    depth: 0,
    levels: [{ objects: 1, sockets }],
    nodes: [node],
    objects: 1,
    served: sockets,
    refused: audience - sockets,
    widthUsed: 0,
  };
}

/** The objects a message passes from the authority down to object `id`, the authority first. */
export function pathTo(plan, id) {
  const path = [];
  for (let at = id; at >= 0; at = plan.nodes[at].parent) path.unshift(at);
  return path;
}

/** CPU one object spends on one update that arrives alone (ms): receive and apply (or ingest), links, sockets. */
export function cpuPerUpdateMs(node, c) {
  const head = node.id === 0 ? c.ingestUs : c.recvUs + c.applyUs;
  return (head + node.children.length * c.linkSendUs + node.sockets * c.sendUs) / 1000;
}

/**
 * The floor: when the last socket of each object sends a lone update, with nothing else queued (ms after the
 * update reaches the authority). The authority's messages leave when its write is confirmed (commitMs), in order.
 */
export function criticalPath(plan, costs) {
  const c = costValues(costs);
  const start = new Array(plan.nodes.length).fill(0);
  const last = new Array(plan.nodes.length).fill(0);
  const release = c.ingestUs / 1000 + c.commitMs;
  for (const n of plan.nodes) {
    const head = n.id === 0 ? c.ingestUs / 1000 : start[n.id] + (c.recvUs + c.applyUs) / 1000;
    const gate = n.id === 0 ? release : 0;
    n.children.forEach((child, j) => {
      start[child] = Math.max(head + ((j + 1) * c.linkSendUs) / 1000, gate) + c.hopMs;
    });
    last[n.id] = n.sockets > 0 ? Math.max(head + (n.children.length * c.linkSendUs + n.sockets * c.sendUs) / 1000, gate) : 0;
  }
  let slowest = 0;
  for (let i = 1; i < last.length; i++) if (last[i] > last[slowest]) slowest = i;
  return { lastMs: last[slowest], slowest, startMs: start, lastByNodeMs: last };
}

// ---- the discrete-event model ----

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A binary min-heap of events ordered by time, then by insertion. */
class Events {
  constructor() {
    this.items = [];
    this.seq = 0;
  }
  push(t, ev) {
    ev.t = t;
    ev.seq = this.seq++;
    const a = this.items;
    a.push(ev);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].t < ev.t || (a[p].t === ev.t && a[p].seq < ev.seq)) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = ev;
  }
  pop() {
    const a = this.items;
    const top = a[0];
    const end = a.pop();
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const m = r < a.length && (a[r].t < a[l].t || (a[r].t === a[l].t && a[r].seq < a[l].seq)) ? r : l;
        if (end.t < a[m].t || (end.t === a[m].t && end.seq < a[m].seq)) break;
        a[i] = a[m];
        i = m;
      }
      a[i] = end;
    }
    return top;
  }
  get size() {
    return this.items.length;
  }
}

/** Latency samples as runs of evenly spaced deliveries: `n` sockets spread over (lo, hi], or all at lo when lo = hi. */
class Deliveries {
  constructor() {
    this.lo = [];
    this.hi = [];
    this.n = [];
    this.total = 0;
  }
  add(lo, hi, n) {
    if (n <= 0) return;
    this.lo.push(lo);
    this.hi.push(hi);
    this.n.push(n);
    this.total += n;
  }
  below(t) {
    let s = 0;
    for (let i = 0; i < this.n.length; i++) {
      const lo = this.lo[i];
      const hi = this.hi[i];
      if (t >= hi) s += this.n[i];
      else if (t > lo) s += (this.n[i] * (t - lo)) / (hi - lo);
    }
    return s;
  }
  quantile(q) {
    if (this.total === 0) return Number.NaN;
    let a = Number.POSITIVE_INFINITY;
    let b = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.n.length; i++) {
      a = Math.min(a, this.lo[i]);
      b = Math.max(b, this.hi[i]);
    }
    const want = q * this.total;
    for (let k = 0; k < 60 && b - a > 1e-6; k++) {
      const m = (a + b) / 2;
      if (this.below(m) >= want) b = m;
      else a = m;
    }
    return b;
  }
}

function pct(sorted, q) {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Runs the document for `warmup + seconds` simulated seconds and measures the fan-out of every update that
 * reaches the server in the measured window: from its arrival at the writer's object to each socket's send.
 *
 * Each object is one thread serving its jobs in arrival order, one at a time (no job is interrupted): a message
 * arriving while a send loop runs waits for it. With `sharedThread` every object shares one thread, as they do
 * in one local workerd. Updates are coalesced as Lattice does: a burst's first message schedules one flush, and
 * everything that arrived before the flush starts goes out in it (one message per link and socket).
 */
export function simulate(plan, params, costs) {
  const p = { ...DEFAULT_PARAMS, ...params };
  const c = costValues(costs);
  const us = (x) => x / 1000;
  // Separate streams, so that changing one kind of traffic leaves the others' timing as it was.
  const stream = (k) => rng(p.seed * 7919 + k);
  const [updateRandom, presenceRandom, phaseRandom, echoRandom] = [1, 2, 3, 4].map(stream);
  const exp = (random, ratePerMs) => -Math.log(1 - random()) / ratePerMs;
  const tStart = p.warmup * 1000;
  const tEnd = tStart + p.seconds * 1000;
  const inWindow = (t) => t >= tStart && t < tEnd;
  const audienceAll = plan.served;
  const gapMs = pacing(audienceAll).changeGapMs;

  const objs = plan.nodes.map((n) => ({
    ...n,
    countSockets: n.sockets - n.fullPresence,
    pending: [],
    flushQueued: false,
    pPending: 0,
    pQueued: false,
    changeTimer: false,
    lastChange: Number.NEGATIVE_INFINITY,
    lastRelease: 0,
    busyMs: 0,
    sends: 0,
    received: 0,
    flushes: 0,
  }));
  const servers = (p.sharedThread ? [0] : objs.map((_, i) => i)).map(() => ({ queue: [], head: 0, busy: false, busyMs: 0 }));
  const serverOf = (o) => servers[p.sharedThread ? 0 : o.id];
  const ev = new Events();
  const deliveries = new Deliveries();
  const arrivedAt = new Map();
  const lastByUpdate = new Map();

  const enqueue = (o, kind, data, t) => {
    const s = serverOf(o);
    s.queue.push({ o, kind, data });
    if (!s.busy) startNext(s, t);
  };
  const token = (o, kind, t) => {
    if (kind === "flush" ? o.flushQueued : o.pQueued) return;
    if (kind === "flush") o.flushQueued = true;
    else o.pQueued = true;
    enqueue(o, kind, null, t);
  };
  const busyInWindow = (a, b) => Math.max(0, Math.min(b, tEnd) - Math.max(a, tStart));
  const echoes = (o, n, t) => {
    if (!p.echoes || !p.presence || n <= 0) return;
    const k = Math.min(p.echoChunks, n);
    for (let i = 0; i < k; i++) {
      const at = t + p.echoRttMs[0] + echoRandom() * (p.echoRttMs[1] - p.echoRttMs[0]);
      ev.push(at, { type: "arrive", o, kind: "echo", data: n / k });
    }
  };
  const record = (o, updates, base, release) => {
    const step = us(c.sendUs);
    const k = release > base ? Math.min(o.sockets, Math.floor((release - base) / step)) : 0;
    for (const u of updates) {
      const t0 = arrivedAt.get(u);
      if (t0 === undefined) continue;
      if (k > 0) deliveries.add(release - t0, release - t0, k);
      if (o.sockets > k) deliveries.add(base + k * step - t0, base + o.sockets * step - t0, o.sockets - k);
      const last = Math.max(base + o.sockets * step, release) - t0;
      if (!(lastByUpdate.get(u) >= last)) lastByUpdate.set(u, last);
    }
  };

  /** Starts a job: returns its CPU (ms) and schedules what it sends; completion effects run at "done". */
  const begin = (job, t) => {
    const { o, kind, data } = job;
    const nChildren = o.children.length;
    switch (kind) {
      case "ingest":
        return us(c.ingestUs);
      case "up":
        return us(c.recvUs + c.linkSendUs);
      case "link":
        return us(c.recvUs + c.applyUs * data.length);
      case "flush": {
        o.flushQueued = false;
        const updates = o.pending;
        o.pending = [];
        const gate = o.id === 0 ? Math.max(t + c.commitMs, o.lastRelease) : t;
        o.lastRelease = gate;
        o.children.forEach((child, j) => {
          ev.push(Math.max(t + us((j + 1) * c.linkSendUs), gate) + c.hopMs, { type: "arrive", o: objs[child], kind: "link", data: updates });
        });
        record(o, updates, t + us(nChildren * c.linkSendUs), gate);
        if (inWindow(t)) {
          o.sends += nChildren + o.sockets;
          o.flushes++;
        }
        return us(nChildren * c.linkSendUs + o.sockets * c.sendUs);
      }
      case "pmsg":
        return us(c.echoUs);
      case "pflush": {
        o.pQueued = false;
        o.pPending = 0;
        // Writers' states travel to every socket and every link; the output gate holds them behind a pending write.
        const gate = o.id === 0 ? Math.max(t, o.lastRelease) : t;
        o.children.forEach((child, j) => {
          ev.push(Math.max(t + us((j + 1) * c.linkSendUs), gate) + c.hopMs, { type: "arrive", o: objs[child], kind: "pmsg", data: null });
        });
        if (inWindow(t)) o.sends += nChildren + o.sockets;
        const cost = us(nChildren * c.linkSendUs + o.sockets * c.sendUs);
        echoes(o, o.sockets, Math.max(gate, t + cost));
        return cost;
      }
      case "renewals":
        return us(c.echoUs * data);
      case "slot": {
        // A renewal slot at full presence: a tenth of the sockets that see everyone get one message each.
        const n = Math.round(o.fullPresence / 10);
        if (inWindow(t)) o.sends += n;
        echoes(o, n, t + us(n * c.sendUs));
        return us(n * c.sendUs);
      }
      case "count": {
        // Viewers on relays (and past relayAfter on a single object) see the others only as a count.
        const n = o.countSockets;
        if (inWindow(t)) o.sends += n;
        echoes(o, n, t + us(n * c.sendUs));
        return us(n * c.sendUs);
      }
      case "echo":
        return us(c.echoUs * data);
      default:
        throw new Error(`unknown job ${kind}`);
    }
  };
  const finish = (job, t) => {
    const { o, kind, data } = job;
    if (kind === "ingest") {
      o.pending.push(data);
      token(o, "flush", t);
    } else if (kind === "link") {
      o.pending.push(...data);
      token(o, "flush", t);
    } else if (kind === "up") {
      const parent = objs[o.parent];
      ev.push(t + c.hopMs, { type: "arrive", o: parent, kind: parent.id === 0 ? "ingest" : "up", data });
    } else if (kind === "pmsg") {
      if (o.id !== 0) token(o, "pflush", t);
      else if (!o.changeTimer) {
        o.changeTimer = true;
        ev.push(Math.max(t, o.lastChange + gapMs), { type: "changeDue", o });
      }
    }
  };
  function startNext(s, t) {
    if (s.busy || s.head >= s.queue.length) return;
    const job = s.queue[s.head++];
    if (s.head > 1024 && s.head * 2 > s.queue.length) {
      s.queue = s.queue.slice(s.head);
      s.head = 0;
    }
    s.busy = true;
    const cost = begin(job, t);
    const b = busyInWindow(t, t + cost);
    job.o.busyMs += b;
    s.busyMs += b;
    ev.push(t + cost, { type: "done", s, job });
  }

  // Traffic: updates and writers' presence changes (Poisson), renewals received, renewal slots and counts.
  const writerObj = p.writerAt === "leaf" ? objs[objs.length - 1] : objs[0];
  const updateRate = (p.writers * p.updatesPerWriter) / 1000;
  const presenceRate = p.presence ? (p.writers * p.presencePerWriter) / 1000 : 0;
  let nextUpdate = 0;
  if (updateRate > 0) ev.push(exp(updateRandom, updateRate), { type: "update" });
  if (presenceRate > 0) ev.push(exp(presenceRandom, presenceRate), { type: "presence" });
  const renewalTickMs = 100;
  const every = (o, what, ms) => {
    const first = phaseRandom() * ms;
    if (first < tEnd) ev.push(first, { type: "tick", o, what, every: ms });
  };
  for (const o of p.presence ? objs : []) {
    if (o.sockets > 0 && Number.isFinite(p.renewalEveryMs)) every(o, "renewals", renewalTickMs);
    if (o.fullPresence > 16) every(o, "slot", pacing(o.fullPresence).renewalDelayMs / 10);
    if (o.countSockets > 0) every(o, "count", p.countEveryMs);
  }

  while (ev.size > 0) {
    const e = ev.pop();
    const t = e.t;
    switch (e.type) {
      case "update": {
        const u = nextUpdate++;
        if (inWindow(t)) arrivedAt.set(u, t);
        if (inWindow(t)) writerObj.received++;
        enqueue(writerObj, writerObj.id === 0 ? "ingest" : "up", u, t);
        const next = t + exp(updateRandom, updateRate);
        if (next < tEnd) ev.push(next, { type: "update" });
        break;
      }
      case "presence": {
        if (inWindow(t)) objs[0].received++;
        enqueue(objs[0], "pmsg", null, t);
        const next = t + exp(presenceRandom, presenceRate);
        if (next < tEnd) ev.push(next, { type: "presence" });
        break;
      }
      case "changeDue":
        e.o.changeTimer = false;
        e.o.lastChange = t;
        token(e.o, "pflush", t);
        break;
      case "tick": {
        const o = e.o;
        if (e.what === "renewals") {
          const n = (o.sockets * e.every) / p.renewalEveryMs;
          if (inWindow(t)) o.received += n;
          enqueue(o, "renewals", n, t);
        } else enqueue(o, e.what, null, t);
        if (t + e.every < tEnd) ev.push(t + e.every, e);
        break;
      }
      case "arrive":
        if (inWindow(t)) e.o.received += e.kind === "echo" ? e.data : 1;
        enqueue(e.o, e.kind, e.data, t);
        break;
      case "done":
        e.s.busy = false;
        finish(e.job, t);
        startNext(e.s, t);
        break;
      default:
        throw new Error(`unknown event ${e.type}`);
    }
  }

  const lasts = [...lastByUpdate.values()].sort((a, b) => a - b);
  const windowS = p.seconds;
  const perObject = objs.map((o) => ({
    id: o.id,
    level: o.level,
    sockets: o.sockets,
    children: o.children.length,
    sendsPerUpdate: o.children.length + o.sockets,
    cpuPerUpdateMs: cpuPerUpdateMs(o, c),
    busy: o.busyMs / (windowS * 1000),
    sendsPerSecond: o.sends / windowS,
    receivedPerSecond: o.received / windowS,
    flushesPerSecond: o.flushes / windowS,
  }));
  return {
    updates: arrivedAt.size,
    delivered: lastByUpdate.size,
    p50: deliveries.quantile(0.5),
    p99: deliveries.quantile(0.99),
    lastP50: pct(lasts, 0.5),
    lastP99: pct(lasts, 0.99),
    lastMax: lasts.length > 0 ? lasts[lasts.length - 1] : Number.NaN,
    busiestThread: Math.max(...servers.map((s) => s.busyMs)) / (windowS * 1000),
    perObject,
  };
}

/**
 * What a document costs per hour at Durable Objects list prices. Relays hold the client end of their link, and a
 * WebSocket an object opens itself cannot hibernate (cloudflare/workerd#4864): every relay is billed for the whole
 * hour. The authority (or the single object) hibernates between events: it is billed for the time it is busy,
 * plus the output gate's wait after each write. Requests: every message objects receive, at 20 to 1, plus one
 * upgrade per connection and per link.
 */
export function costPerHour(plan, sim, costs, pricing = PRICING) {
  const c = costValues(costs);
  const auth = sim.perObject[0];
  const authActive = Math.min(1, auth.busy + (auth.flushesPerSecond * c.commitMs) / 1000);
  const relays = plan.objects - 1;
  const gbS = pricing.gbPerObject * 3600 * (relays + authActive);
  const messages = sim.perObject.reduce((s, o) => s + o.receivedPerSecond, 0) * 3600;
  const requests = messages / pricing.wsMessagesPerRequest + plan.served + relays;
  const usd = (gbS * pricing.usdPerMillionGbS) / 1e6 + (requests * pricing.usdPerMillionRequests) / 1e6;
  return { gbS, requests, usd, authorityActive: authActive };
}

/** Everything the report prints for one audience: the tree, its floor and simulated fan-out, the single object, cost. */
export function evaluate(audience, params, costs) {
  const p = { ...DEFAULT_PARAMS, ...params };
  const tree = planTree(audience, p);
  const single = planSingle(audience, p);
  const treeSim = simulate(tree, p, costs);
  const leafSim = tree.depth > 0 ? simulate(tree, { ...p, writerAt: "leaf" }, costs) : treeSim;
  const singleSim = simulate(single, p, costs);
  const relays = treeSim.perObject.slice(1);
  const maxOf = (xs, f) => (xs.length > 0 ? Math.max(...xs.map(f)) : 0);
  return {
    audience,
    tree: {
      depth: tree.depth,
      levels: tree.levels,
      objects: tree.objects,
      widthUsed: tree.widthUsed,
      refused: tree.refused,
      floorMs: criticalPath(tree, costs).lastMs,
      p50: treeSim.p50,
      p99: treeSim.p99,
      lastP99: treeSim.lastP99,
      writerOnLeafP99: leafSim.p99,
      busiestThread: treeSim.busiestThread,
      authority: treeSim.perObject[0],
      relayMax: {
        sendsPerUpdate: maxOf(relays, (o) => o.sendsPerUpdate),
        cpuPerUpdateMs: maxOf(relays, (o) => o.cpuPerUpdateMs),
        busy: maxOf(relays, (o) => o.busy),
        receivedPerSecond: maxOf(relays, (o) => o.receivedPerSecond),
      },
      cost: costPerHour(tree, treeSim, costs),
    },
    single: {
      sockets: single.served,
      refused: single.refused,
      floorMs: criticalPath(single, costs).lastMs,
      p50: singleSim.p50,
      p99: singleSim.p99,
      lastP99: singleSim.lastP99,
      object: singleSim.perObject[0],
      cost: costPerHour(single, singleSim, costs),
    },
  };
}
