// A cheap y-websocket client for the load generator: no Y.Doc per receiver. It answers the server's
// sync step 1 with an empty step 2, asks for the document with its own step 1, and hands every
// received document update (step 2 or update) to a callback as raw bytes.
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import WebSocket from "ws";
import * as Y from "yjs";

const MSG_SYNC = 0;
const STEP1 = 0;
const STEP2 = 1;
const UPDATE = 2;

const EMPTY_SV = Y.encodeStateVector(new Y.Doc());
const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc());

function syncMessage(kind, payload) {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, MSG_SYNC);
  encoding.writeVarUint(enc, kind);
  encoding.writeVarUint8Array(enc, payload);
  return encoding.toUint8Array(enc);
}

/** The y-websocket message that carries `update` as a document update. */
export const updateMessage = (update) => syncMessage(UPDATE, update);
export const step1Message = (sv = EMPTY_SV) => syncMessage(STEP1, sv);
export const step2Message = (update = EMPTY_UPDATE) => syncMessage(STEP2, update);

/**
 * Struct ranges an update carries, per Yjs client: [client, fromClock, toClock) triples.
 * Fast path for the common single-struct-group update; Y.parseUpdateMeta otherwise.
 */
export function updateRanges(update) {
  const meta = Y.parseUpdateMeta(update);
  const out = [];
  for (const [client, to] of meta.to) out.push([client, meta.from.get(client) ?? 0, to]);
  return out;
}

let nextId = 0;

export class YwsClient {
  /**
   * @param {string} url ws:// URL
   * @param {{ onUpdate?: (update: Uint8Array, kind: "step2"|"update", now: number) => void, doc?: Y.Doc, sendStep1?: boolean }} opts
   *   doc: a writer's own Y.Doc (its state answers the server's step 1).
   */
  constructor(url, opts = {}) {
    this.id = nextId++;
    this.url = url;
    this.onUpdate = opts.onUpdate;
    this.doc = opts.doc;
    this.tStart = 0;
    this.tOpen = 0;
    this.tSynced = 0;
    this.step2Bytes = 0;
    this.messagesIn = 0;
    this.closed = false;
    this.closeCode = undefined;
    this.received = 0;
    this.synced = new Promise((resolve, reject) => {
      this._syncedResolve = resolve;
      this._syncedReject = reject;
    });
    this.synced.catch(() => {});
  }

  /** Opens the socket; resolves when open (rejects on error). The `synced` promise resolves on step 2. */
  connect() {
    this.tStart = performance.now();
    const ws = new WebSocket(this.url, { perMessageDeflate: false });
    ws.binaryType = "nodebuffer";
    this.ws = ws;
    return new Promise((resolve, reject) => {
      ws.on("open", () => {
        this.tOpen = performance.now();
        ws.send(step1Message(this.doc ? Y.encodeStateVector(this.doc) : EMPTY_SV));
        resolve(this);
      });
      ws.on("message", (data, isBinary) => {
        if (!isBinary) return;
        this.messagesIn++;
        this.handle(data);
      });
      ws.on("error", (e) => {
        this._syncedReject(e);
        reject(e);
      });
      ws.on("close", (code) => {
        this.closed = true;
        this.closeCode = code;
        this._syncedReject(new Error(`closed ${code} before sync`));
        if (this.onClose) this.onClose(code);
      });
    });
  }

  handle(buf) {
    const now = performance.now();
    const dec = decoding.createDecoder(buf);
    const type = decoding.readVarUint(dec);
    if (type !== MSG_SYNC) return; // awareness and anything else: not needed by the generator
    const kind = decoding.readVarUint(dec);
    if (kind === STEP1) {
      const sv = decoding.readVarUint8Array(dec);
      this.send(step2Message(this.doc ? Y.encodeStateAsUpdate(this.doc, sv) : EMPTY_UPDATE));
      return;
    }
    const update = decoding.readVarUint8Array(dec);
    this.received++;
    if (kind === STEP2 && !this.tSynced) {
      this.tSynced = now;
      this.step2Bytes = update.length;
      this._syncedResolve(this);
    }
    if (this.onUpdate) this.onUpdate(update, kind === STEP2 ? "step2" : "update", now);
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(msg);
  }

  sendUpdate(update) {
    this.send(updateMessage(update));
  }

  /** Resolves when the socket's send buffer is below `bytes` (backpressure for "as fast as the socket takes it"). */
  async drain(bytes = 1 << 20) {
    while (this.ws.bufferedAmount > bytes) await new Promise((r) => setTimeout(r, 1));
  }

  close() {
    if (!this.ws || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        try {
          this.ws.terminate();
        } catch {}
        resolve();
      }, 2000);
      this.ws.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      try {
        this.ws.close();
      } catch {
        resolve();
      }
    });
  }
}

/** Percentiles of a numeric array (sorted copy), ms rounded to 0.01. */
export function percentiles(values) {
  if (values.length === 0) return { n: 0 };
  const s = Float64Array.from(values).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  const r = (x) => Math.round(x * 100) / 100;
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, p50: r(at(50)), p95: r(at(95)), p99: r(at(99)), max: r(s[s.length - 1]), mean: r(sum / s.length) };
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let i = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k], k);
    }
  });
  await Promise.all(workers);
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
