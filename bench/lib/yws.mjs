// A cheap y-websocket client for the load generator: no Y.Doc per receiver. It answers the server's
// sync step 1 with an empty step 2, asks for the document with its own step 1, and hands every
// received document update (step 2 or update) to a callback as raw bytes.
//
// Opt-in Hocuspocus framing (opts.hocuspocus = { documentName, token }): every message, both ways,
// starts with the document name (lib0 varString) before the message type; the client sends an Auth
// message (type 2, Token) before its step 1, as @hocuspocus/provider does, and the server queues the
// document's messages until that one is handled. Hocuspocus-only replies (Authenticated, SyncStatus
// acks, Close, ...) are read past and ignored.
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import WebSocket from "ws";
import * as Y from "yjs";

const MSG_SYNC = 0;
const MSG_AWARENESS = 1;
const STEP1 = 0;
const STEP2 = 1;
const UPDATE = 2;

const EMPTY_SV = Y.encodeStateVector(new Y.Doc());
const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc());

// Hocuspocus message types beyond y-websocket's (@hocuspocus/server MessageType, @hocuspocus/common).
const HP_AUTH = 2;
const HP_SYNC_REPLY = 4; // a sync message that asks for no step 1 back
const HP_AUTH_TOKEN = 0; // Auth sub-types: Token (either way), PermissionDenied, Authenticated
const HP_AUTH_DENIED = 1;
// The provider's awareness renewal period (y-protocols renews a local state every 15 s); Hocuspocus
// closes a socket that sent nothing for its `timeout` (60 s).
const HP_KEEPALIVE_MS = 15_000;

/** A new encoder, with the Hocuspocus document name first when `address` is given. */
function encoderFor(address) {
  const enc = encoding.createEncoder();
  if (address !== undefined) encoding.writeVarString(enc, address);
  return enc;
}

function syncMessage(kind, payload, address) {
  const enc = encoderFor(address);
  encoding.writeVarUint(enc, MSG_SYNC);
  encoding.writeVarUint(enc, kind);
  encoding.writeVarUint8Array(enc, payload);
  return encoding.toUint8Array(enc);
}

/** The y-websocket message that carries `update` as a document update (Hocuspocus's with `address`). */
export const updateMessage = (update, address) => syncMessage(UPDATE, update, address);
export const step1Message = (sv = EMPTY_SV, address) => syncMessage(STEP1, sv, address);
export const step2Message = (update = EMPTY_UPDATE, address) => syncMessage(STEP2, update, address);

/** Hocuspocus's Auth message with a token (the provider appends its version; the server takes it as optional). */
function hpAuthMessage(address, token) {
  const enc = encoderFor(address);
  encoding.writeVarUint(enc, HP_AUTH);
  encoding.writeVarUint(enc, HP_AUTH_TOKEN);
  encoding.writeVarString(enc, token);
  return encoding.toUint8Array(enc);
}

/** An awareness update naming no client: keeps a Hocuspocus socket alive, changes no state. */
function hpKeepaliveMessage(address) {
  const enc = encoderFor(address);
  encoding.writeVarUint(enc, MSG_AWARENESS);
  encoding.writeVarUint8Array(enc, new Uint8Array([0]));
  return encoding.toUint8Array(enc);
}

/**
 * An awareness update for one awareness client: what y-protocols' Awareness sends when a local state is
 * set or renewed (the clock goes up by one each time; the state is JSON).
 */
export function awarenessMessage(clientId, clock, state, address) {
  const update = encoding.createEncoder();
  encoding.writeVarUint(update, 1);
  encoding.writeVarUint(update, clientId);
  encoding.writeVarUint(update, clock);
  encoding.writeVarString(update, JSON.stringify(state));
  const enc = encoderFor(address);
  encoding.writeVarUint(enc, MSG_AWARENESS);
  encoding.writeVarUint8Array(enc, encoding.toUint8Array(update));
  return encoding.toUint8Array(enc);
}

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
   * @param {{ onUpdate?: (update: Uint8Array, kind: "step2"|"update", now: number) => void, onAwareness?: (payload: Uint8Array, now: number) => void, doc?: Y.Doc, sendStep1?: boolean,
   *   hocuspocus?: { documentName: string, token?: string }, keepalive?: false }} opts
   *   doc: a writer's own Y.Doc (its state answers the server's step 1).
   *   hocuspocus: speak Hocuspocus's framing for that document instead of y-websocket's.
   *   keepalive: false when the caller renews awareness itself (Hocuspocus needs a message every 60 s).
   */
  constructor(url, opts = {}) {
    this.id = nextId++;
    this.url = url;
    this.onUpdate = opts.onUpdate;
    /** Called with the payload of every awareness message (a type 1 message's update), if given. */
    this.onAwareness = opts.onAwareness;
    this.doc = opts.doc;
    this.hocuspocus = opts.hocuspocus;
    this.address = opts.hocuspocus?.documentName; // undefined: y-websocket framing
    this.wantsKeepalive = opts.keepalive !== false; // false: the caller sends awareness itself
    this.tStart = 0;
    this.tOpen = 0;
    this.tSynced = 0;
    this.step2Bytes = 0;
    this.messagesIn = 0;
    this.textIn = 0;
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
        if (this.hocuspocus) {
          ws.send(hpAuthMessage(this.address, this.hocuspocus.token ?? ""));
          if (this.wantsKeepalive) {
            this.keepalive = setInterval(() => this.send(hpKeepaliveMessage(this.address)), HP_KEEPALIVE_MS);
            this.keepalive.unref();
          }
        }
        ws.send(step1Message(this.doc ? Y.encodeStateVector(this.doc) : EMPTY_SV, this.address));
        resolve(this);
      });
      ws.on("message", (data, isBinary) => {
        if (!isBinary) {
          this.textIn++;
          return;
        }
        this.messagesIn++;
        this.handle(data);
      });
      ws.on("error", (e) => {
        this._syncedReject(e);
        reject(e);
      });
      ws.on("close", (code) => {
        clearInterval(this.keepalive);
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
    let type;
    if (this.hocuspocus) {
      if (buf.length === 1) return; // a connection-level Ping (no document name) from newer servers: not needed
      decoding.readVarString(dec); // the document name (one document per client)
      type = decoding.readVarUint(dec);
      if (type === HP_AUTH) {
        this.handleAuth(dec);
        return;
      }
      if (type === HP_SYNC_REPLY) type = MSG_SYNC;
    } else {
      type = decoding.readVarUint(dec);
    }
    if (type === MSG_AWARENESS && this.onAwareness) {
      this.onAwareness(decoding.readVarUint8Array(dec), now);
      return;
    }
    if (type !== MSG_SYNC) return; // awareness (unless asked for) and anything else: not needed by the generator
    const kind = decoding.readVarUint(dec);
    if (kind === STEP1) {
      const sv = decoding.readVarUint8Array(dec);
      this.send(step2Message(this.doc ? Y.encodeStateAsUpdate(this.doc, sv) : EMPTY_UPDATE, this.address));
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

  /** Hocuspocus's Auth replies: Authenticated is ignored, a token request answered, a denial fails the sync. */
  handleAuth(dec) {
    const kind = decoding.readVarUint(dec);
    if (kind === HP_AUTH_TOKEN) this.send(hpAuthMessage(this.address, this.hocuspocus.token ?? ""));
    else if (kind === HP_AUTH_DENIED) this._syncedReject(new Error(`permission denied: ${decoding.readVarString(dec)}`));
  }

  /** Sends an already framed message (the module's message builders take the Hocuspocus address). */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(msg);
  }

  sendUpdate(update) {
    this.send(updateMessage(update, this.address));
  }

  /** Resolves when the socket's send buffer is below `bytes` (backpressure for "as fast as the socket takes it"). */
  async drain(bytes = 1 << 20) {
    while (this.ws.bufferedAmount > bytes) await new Promise((r) => setTimeout(r, 1));
  }

  close() {
    clearInterval(this.keepalive);
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
