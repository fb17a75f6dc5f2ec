/**
 * @lattice-sync/client: an unmodified y-websocket provider plus what every Lattice app otherwise writes by
 * hand: tokens fetched and refreshed before they expire (and again after a 4401), one connection status,
 * and `saved` (the server's message 100 says which edits are durable). Subdocuments the app loads are synced
 * too, each as a document of its own (`${parentDocId}.${guid}`) with the same token source.
 */
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

type ProviderOptions = NonNullable<ConstructorParameters<typeof WebsocketProvider>[3]>;

export type ConnectionState = "connecting" | "live" | "offline" | "closed";

/** Why the connection stopped for good (`state: "closed"`), from the server's close code. */
export type CloseReason = "expired" | "deleted" | "forbidden" | "too-large" | "too-many-client-ids" | "bad-request" | "closed";

export interface Status {
  state: ConnectionState;
  /** Set when `state` is "closed". */
  reason?: CloseReason;
  /** The close code behind `reason` (0 when the client gave up on its own, e.g. no token). */
  code?: number;
  /**
   * Why the last `getToken` call failed (it threw, or answered without a token); cleared by the next token.
   * For a subdocument whose derived id is not a valid document id: why it was not connected.
   */
  error?: string;
  /** The current connection has received the server's state. */
  synced: boolean;
  /** Every local change is durable on the server. */
  saved: boolean;
}

export type TokenSource = (docId: string) => string | { token: string } | Promise<string | { token: string }>;

export interface ConnectOptions {
  /** The server's base URL: "https://host", "http://127.0.0.1:8787" or "wss://host". */
  url: string;
  docId: string;
  doc?: Y.Doc;
  /** Asks your server for a client token for `docId`; called at start, before expiry and after a 4401. */
  getToken: TokenSource;
  awareness?: ProviderOptions["awareness"];
  /** A WebSocket class for Node (e.g. `ws`); browsers use their own. */
  WebSocketPolyfill?: ProviderOptions["WebSocketPolyfill"];
  /** Forwarded to y-websocket (cross-tab sync through BroadcastChannel; on by default). */
  disableBc?: boolean;
}

/** A loaded subdocument's status: when it is opened, on every change, and once more when it is closed. */
export interface SubdocEvent {
  /** The subdocument (a Y.Doc inside the parent's, or inside another subdocument). */
  doc: Y.Doc;
  /** The document id it is synced under: `${parentDocId}.${doc.guid}`. */
  docId: string;
  status: Status;
  /** True on its last event: the subdocument was removed or destroyed, or the client destroyed. */
  removed: boolean;
}

type Events = { status: Status; synced: boolean; saved: boolean; subdoc: SubdocEvent };

export interface LatticeClient {
  provider: WebsocketProvider;
  doc: Y.Doc;
  /** The document id this client syncs. */
  readonly docId: string;
  /**
   * The loaded subdocuments of `doc`, each synced by a client of its own (status, `on`, `whenSynced`,
   * `whenSaved`, its provider and awareness) on `${docId}.${guid}`. Subdocuments of those are in theirs.
   */
  readonly subdocs: ReadonlyMap<Y.Doc, LatticeClient>;
  /** The status of a loaded subdocument, at any depth; undefined when it is not loaded (or not one of ours). */
  statusOf(subdoc: Y.Doc): Status | undefined;
  /** The live status object (replaced, not mutated, on every change). */
  readonly status: Status;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof Events>(event: K, fn: (value: Events[K]) => void): () => void;
  /** Resolves once synced; rejects if the connection is closed for good first. */
  whenSynced(): Promise<void>;
  /** Resolves once every local change is durable; rejects if the connection is closed for good first. */
  whenSaved(): Promise<void>;
  /** Stops this client and every subdocument's. */
  destroy(): void;
}

/** The server's "this is durable" message (docs/API.md, "The saved signal"). */
const MESSAGE_SAVED = 100;
const REASONS: Record<number, CloseReason> = {
  4400: "bad-request",
  4401: "expired",
  4403: "forbidden",
  4404: "deleted",
  4413: "too-large",
  4422: "too-many-client-ids",
};
/** What a document id looks like on the server (1–128 characters, src/http/kit.ts DocId). */
const DOC_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** Whether `id` is a valid document id. */
export const isDocId = (id: string): boolean => DOC_ID.test(id);

/**
 * The document id a subdocument is synced under: the parent's id, a dot, the subdocument's guid. A token
 * whose prefix covers the parent's children (e.g. "ws_42.notes.") covers it. Check it with `isDocId`: a long
 * parent id or a guid with other characters makes an id the server refuses.
 */
export const subdocId = (parentDocId: string, guid: string): string => `${parentDocId}.${guid}`;

/** After a refresh that failed or brought no later token, wait this long: the 4401 path covers expiry. */
const RETRY_MS = 5_000;
/** `getToken` failures in a row before the client gives up (`closed`), with a doubling wait between: 1, 2, 4, 8 s. */
const TOKEN_ATTEMPTS = 5;
const TOKEN_BACKOFF_MS = 1_000;
const TOKEN_BACKOFF_MAX_MS = 30_000;

/** A short, printable description of what `getToken` answered instead of a token. */
function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** `exp` of a JWT in milliseconds, or undefined when the token is not a readable JWT. */
function expiresAt(token: string): number | undefined {
  try {
    const part = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
    const exp = (JSON.parse(atob(part)) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** lib0's varUint8Array, read by hand so lib0 need not be a dependency. */
function readBytes(d: { arr: Uint8Array; pos: number }): Uint8Array {
  let len = 0;
  let shift = 1;
  let b: number;
  do {
    b = d.arr[d.pos++]!;
    len += (b & 127) * shift;
    shift *= 128;
  } while (b > 127);
  return d.arr.subarray(d.pos, (d.pos += len));
}

export function connect(opts: ConnectOptions): LatticeClient {
  return start(opts);
}

/** `connect`, or (`refusal` given) a client that is closed from the start and never asks for a token. */
function start(opts: ConnectOptions, refusal?: string): LatticeClient {
  const { docId } = opts;
  const doc = opts.doc ?? new Y.Doc();
  const base = opts.url.replace(/^http/, "ws").replace(/\/+$/, "");
  // connect: false: the first token is not there yet. `saved: "1"` opts in to message 100.
  const provider = new WebsocketProvider(`${base}/v1/sync`, docId, doc, {
    connect: false,
    params: { saved: "1" },
    awareness: opts.awareness,
    WebSocketPolyfill: opts.WebSocketPolyfill,
    disableBc: opts.disableBc,
  });
  const listeners = new Map<string, Set<(v: never) => void>>();
  const emit = <K extends keyof Events>(event: K, value: Events[K]) => listeners.get(event)?.forEach((fn) => (fn as (v: Events[K]) => void)(value));

  let status: Status = { state: "connecting", synced: false, saved: true };
  let everLive = false;
  // The server's durable state vector: compared with whatever doc.clientID is now (Yjs may change it).
  const durable = new Map<number, number>();
  let destroyed = false;
  let closed: Pick<Status, "reason" | "code"> | undefined = refusal === undefined ? undefined : { code: 0, reason: "bad-request" };
  let tokenError: string | undefined = refusal;
  const update = () => {
    if (destroyed) return;
    const synced = provider.synced && provider.wsconnected;
    if (synced) everLive = true;
    const saved = (durable.get(doc.clientID) ?? 0) >= Y.getState(doc.store, doc.clientID);
    const state: ConnectionState = closed ? "closed" : synced ? "live" : everLive ? "offline" : "connecting";
    const prev = status;
    if (prev.state === state && prev.synced === synced && prev.saved === saved && prev.reason === closed?.reason && prev.error === tokenError) return;
    status = { state, ...closed, synced, saved, ...(tokenError === undefined ? {} : { error: tokenError }) };
    emit("status", status);
    if (prev.synced !== synced) emit("synced", synced);
    if (prev.saved !== saved) emit("saved", saved);
  };
  const close = (code: number, reason: CloseReason) => {
    closed = { code, reason };
    provider.disconnect();
    update();
  };

  provider.messageHandlers[MESSAGE_SAVED] = (_encoder, decoder) => {
    // Max: a message never lowers what is known durable (the server's durable state only grows).
    for (const [client, clock] of Y.decodeStateVector(readBytes(decoder))) durable.set(client, Math.max(durable.get(client) ?? 0, clock));
    update();
  };

  // ---- tokens ----
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: string | undefined; // the newest token we have
  let usedToken: string | undefined; // the token the current socket was opened with
  /** Calls `getToken` and checks its answer; a failure is kept in `status.error`, a token clears it. */
  const fetchToken = async (): Promise<string> => {
    try {
      const t: unknown = await opts.getToken(docId);
      const token = typeof t === "string" ? t : typeof t === "object" && t !== null ? (t as { token?: unknown }).token : undefined;
      if (typeof token !== "string" || token === "") throw new Error(`getToken answered without a token: ${describe(t)}`);
      if (tokenError !== undefined) {
        tokenError = undefined;
        update();
      }
      return token;
    } catch (e) {
      tokenError = e instanceof Error ? e.message : String(e);
      update();
      throw e;
    }
  };
  /** Refresh at exp − margin: 10 % of what is left, at most 30 s, at least 2 s. */
  const schedule = (token: string, previousExp?: number) => {
    clearTimeout(timer);
    const exp = expiresAt(token);
    if (exp === undefined || destroyed) return;
    const left = exp - Date.now();
    let wait = left - Math.max(2_000, Math.min(30_000, left / 10));
    // A token no later than the last one would make us ask again at once: wait, and let a 4401 ask if needed.
    if (previousExp !== undefined && exp <= previousExp) wait = RETRY_MS;
    timer = setTimeout(refresh, Math.max(0, wait));
  };
  const refresh = async () => {
    const before = current ? expiresAt(current) : undefined;
    try {
      const t = await fetchToken();
      if (destroyed) return;
      current = provider.params.token = t; // y-websocket reads params on each (re)connect
      schedule(t, before);
    } catch {
      if (!destroyed) timer = setTimeout(refresh, RETRY_MS);
    }
  };

  provider.on("status", ({ status: s }) => {
    if (s === "connecting") usedToken = provider.params.token;
    update();
  });
  provider.on("sync", update);
  doc.on("update", update);

  let expiredCloses = 0; // 4401s in a row without reaching live: stop rather than loop
  const usable = (t: string | undefined) => t !== undefined && (expiresAt(t) ?? Infinity) > Date.now();
  /**
   * Gets a token that has not expired, retrying with backoff while `getToken` fails (its server briefly
   * unreachable, say); undefined after TOKEN_ATTEMPTS failures in a row, and the caller closes.
   */
  const freshToken = async (): Promise<string | undefined> => {
    for (let attempt = 1, delay = TOKEN_BACKOFF_MS; !destroyed && !closed; attempt++, delay = Math.min(2 * delay, TOKEN_BACKOFF_MAX_MS)) {
      try {
        const t = await fetchToken();
        if (usable(t)) return t;
        tokenError = "getToken answered with an expired token";
        update();
      } catch {
        // kept in status.error; the edits stay in the doc meanwhile
      }
      if (attempt >= TOKEN_ATTEMPTS) return undefined;
      await new Promise((r) => setTimeout(r, delay));
    }
    return undefined;
  };

  provider.on("closed", ({ code }) => {
    if (code !== 4401) return close(code, REASONS[code] ?? "closed");
    if (++expiredCloses > 3) return close(code, "expired");
    // The refresh timer may already have the next token; else ask now. Unsent edits stay in the doc.
    const next = current !== usedToken && usable(current) ? Promise.resolve(current) : freshToken();
    next.then((t) => {
      if (destroyed || closed) return;
      if (t === undefined) return close(code, "expired");
      current = provider.params.token = t;
      schedule(t);
      provider.connect();
    });
  });

  // A refusal before the upgrade (expired or revoked token, deleted document) reaches the provider as a
  // failed connection, which it retries forever. After a few failed opens in a row, ask REST why.
  let failedOpens = 0;
  provider.on("status", ({ status: s }) => {
    if (s === "connected") failedOpens = 0;
  });
  provider.on("connection-close", () => {
    if (provider.wsconnected || ++failedOpens < 3 || closed) return;
    failedOpens = 0;
    const token = provider.params.token;
    fetch(`${base.replace(/^ws/, "http")}/v1/docs/${encodeURIComponent(docId)}`, { headers: { authorization: `Bearer ${token}` } }).then(
      async (res) => {
        if (destroyed || closed) return;
        if (res.status === 404) return close(4404, "deleted");
        if (res.status === 403) return close(4403, "forbidden");
        if (res.status === 401) {
          // Maybe only this token: one fresh token gets one more chance, else the refusal is final.
          const t = await freshToken();
          if (t === undefined || t === token) return close(4401, "expired");
          current = provider.params.token = t;
          schedule(t);
        }
      },
      () => {}, // unreachable: offline, the provider keeps trying
    );
  });
  provider.on("sync", (s) => {
    if (s) expiredCloses = 0;
  });

  // The first token: retried with backoff while the app's server cannot be reached (a page opened offline).
  // Asked in a microtask, so that listeners added right after connect() returns see its first failure.
  Promise.resolve()
    .then(freshToken)
    .then((t) => {
      if (destroyed || closed) return;
      if (t === undefined) return close(0, "closed");
      current = provider.params.token = t;
      schedule(t);
      provider.connect();
    });

  const when = (ok: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const check = (s: Status) => {
        if (ok()) resolve();
        else if (s.state === "closed") reject(new Error(`lattice: connection closed (${s.reason}${s.error ? `: ${s.error}` : ""})`));
        else return;
        off();
      };
      const off = client.on("status", check);
      check(status);
    });

  // ---- subdocuments: a client each, opened when loaded, destroyed when removed ----
  const subdocs = new Map<Y.Doc, LatticeClient>();
  const openSubdoc = (sub: Y.Doc) => {
    if (destroyed || subdocs.has(sub)) return;
    const id = subdocId(docId, sub.guid);
    const invalid = isDocId(id)
      ? undefined
      : `subdocument id "${id.length > 60 ? `${id.slice(0, 60)}…` : id}" is not a valid document id (1–128 of A–Z a–z 0–9 . _ -)`;
    // Its own awareness: the parent's belongs to the parent's doc.
    const child = start({ ...opts, docId: id, doc: sub, awareness: undefined }, invalid);
    subdocs.set(sub, child);
    child.on("status", (s) => emit("subdoc", { doc: sub, docId: id, status: s, removed: false }));
    child.on("subdoc", (e) => emit("subdoc", e)); // its own subdocuments, reported here too
    emit("subdoc", { doc: sub, docId: id, status: child.status, removed: false });
  };
  const closeSubdoc = (sub: Y.Doc) => {
    const child = subdocs.get(sub);
    if (!child) return;
    subdocs.delete(sub);
    child.destroy();
    emit("subdoc", { doc: sub, docId: child.docId, status: child.status, removed: true });
  };
  // `removed` also covers a subdocument's destroy(): Yjs reports it to the parent as removed.
  const onSubdocs = ({ loaded, removed }: { loaded: Set<Y.Doc>; removed: Set<Y.Doc> }) => {
    removed.forEach(closeSubdoc);
    loaded.forEach(openSubdoc);
  };

  const client: LatticeClient = {
    provider,
    doc,
    docId,
    subdocs,
    statusOf(sub) {
      for (const [d, c] of subdocs) {
        const s = d === sub ? c.status : c.statusOf(sub);
        if (s) return s;
      }
      return undefined;
    },
    get status() {
      return status;
    },
    on(event, fn) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(fn as (v: never) => void);
      return () => set.delete(fn as (v: never) => void);
    },
    whenSynced: () => when(() => status.synced),
    whenSaved: () => when(() => status.saved),
    destroy() {
      if (destroyed) return;
      doc.off("subdocs", onSubdocs);
      [...subdocs.keys()].forEach(closeSubdoc);
      destroyed = true;
      clearTimeout(timer);
      doc.off("update", update);
      provider.destroy();
      // y-websocket leaves the awareness it made running (an interval that keeps a Node process alive); one
      // passed in belongs to the app.
      if (!opts.awareness) provider.awareness.destroy();
    },
  };
  update();
  // Loaded subdocuments already in a doc passed in are opened now; the rest as they load.
  doc.on("subdocs", onSubdocs);
  for (const sub of doc.getSubdocs()) if (sub.shouldLoad) openSubdoc(sub);
  return client;
}
