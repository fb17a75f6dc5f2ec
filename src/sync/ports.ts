/**
 * What the room needs from the world and promises it, as types: who a connection is, where updates are
 * stored, how messages reach sockets, the limits, and the outcome of a write. Pure: the Durable Object
 * implements these ports with SQLite and WebSockets (src/room), the unit tests with the same outbox over
 * an in-memory store.
 */
export type Access = "read" | "write";

/** A rate budget (src/sync/budget.ts): `take` refuses when short, `charge` may leave a debt. */
export interface Bucket {
  take(now: number, n?: number): boolean;
  charge(now: number, n: number): void;
}

/** What one connection may cost the room: sync messages, the bytes they carry or cause, awareness messages. */
export interface Budgets {
  messages: Bucket;
  bytes: Bucket;
  awareness: Bucket;
}

/** One connected client as the room sees it. */
export interface RoomConn {
  /** Read or write: may change while the socket is open (a stored access rule, src/auth/access.ts). */
  access: Access;
  readonly userId: string;
  /** Awareness client ids this connection has set, with the last clock seen for each. */
  readonly clientIds: Map<number, number>;
  /**
   * Rate budgets, shared by every connection of the same user, whatever its token's access (one token cannot multiply its
   * budget by opening sockets); in memory only: a wake-up from hibernation refills them.
   */
  budgets?: Budgets;
  /** Asked for the `saved` signal (`saved=1`): message 100 after its sync step 2 and after every commit. */
  readonly saved?: boolean;
  /**
   * Speaks for many clients: a relay's link to the document's object, whose presence it passes on. Its
   * claims are not bounded per connection (the room's byte cap still holds).
   */
  readonly speaksForMany?: boolean;
}

/** Persistence of the update log and snapshots, behind a small interface. */
export interface UpdateStore {
  /** Every stored update, oldest first: snapshot parts merged into one update, then the log. */
  load(): Uint8Array[];
  append(update: Uint8Array): void;
  /** Replaces snapshot and log with `snapshot` followed by `tail` entries. */
  compact(snapshot: Uint8Array, tail: Uint8Array[]): void;
  readonly logBytes: number;
  readonly logCount: number;
  readonly snapshotBytes: number;
  /** How many new Yjs client ids `userId`'s writes introduced since `since` (epoch ms), kept across restarts. */
  clientIdsIntroduced(userId: string, since: number): number;
  /** Records that `userId` introduced `ids` at `at`; written with the next batch of updates. */
  recordClientIds(userId: string, ids: readonly number[], at: number): void;
  /** A small value the room keeps beside the document (e.g. its merge work). */
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}

/** How messages reach connections: src/sync/outbox.ts, which holds them until their updates are stored. */
export interface Transport<C extends RoomConn> {
  send(conn: C, message: Uint8Array): void;
  /** Every open connection of the room. */
  connections(): Iterable<C>;
  /** Sends one message to every connection but `except`. */
  broadcast(message: Uint8Array, except?: C): void;
  /** Sends a Yjs update to every connection but `except`. */
  broadcastUpdate(update: Uint8Array, except?: C): void;
  /** Called when a connection's awareness changed (ids, clocks or states), to keep it across hibernation. */
  awarenessChanged(conn: C): void;
}

/** Time for the room's own timers (presence pacing): the real clock in production, a fake one in unit tests. */
export interface Clock {
  now(): number;
  /** Runs `fn` after `ms` milliseconds; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

export interface RoomLimits {
  /** Largest stored document (snapshot + log bytes) a write may produce. */
  maxDocBytes: number;
  /**
   * Item units (src/sync/cost/update-cost.ts: Items, splits, shared types) the document may hold in memory,
   * the update included. Bytes do not bound memory: a 1 MB delete set can split 240,000 items.
   */
  maxDocItemUnits: number;
  /** Root types (top-level names) a document may have: Yjs looks a root's name up by scanning them all. */
  maxRootTypes: number;
  /**
   * Steps of conflict resolution one update may cost (src/sync/cost/merge-work.ts). Bytes do not bound it:
   * 2,000 inserts that all claim to end a text (14 KB) take 4 million steps, over a second.
   */
  maxMergeStepsPerUpdate: number;
  /** Steps of conflict resolution loading the document may replay (its log, or its snapshot): every load and fresh client pays them. */
  maxDocMergeSteps: number;
  /** Bytes of updates Yjs may hold waiting for missing dependencies (each later update retries them). */
  maxPendingBytes: number;
  /**
   * New Yjs client ids one user (a client token's subject) may introduce into a document per hour,
   * over all their connections and client-token REST writes, counted in the document's storage.
   * Each id lives in every state vector for good; a stock client uses one per page load.
   */
  maxClientIdsPerUser: number;
  /** New Yjs client ids one secret-key REST write may introduce (the app's own server, trusted more). */
  maxClientIdsPerSecretWrite: number;
  /** Awareness client ids one connection may hold at once (a stock provider uses one). */
  maxAwarenessIdsPerConn: number;
  /** Awareness state bytes (JSON) the whole room holds at once. */
  maxAwarenessBytesPerDoc: number;
  /** Largest awareness state (JSON bytes) one client may set. */
  maxAwarenessStateBytes: number;
  /** Sync messages (step 1, step 2, update) and query-awareness per second per user (all their sockets), sustained. */
  maxUpdatesPerSecond: number;
  /** How many of those one user may send at once before the sustained rate applies. */
  maxUpdateBurst: number;
  /**
   * Bytes per second per user, sustained: what their sync frames carry plus what the server's
   * answers to them cost (a sync step 1 is answered with the whole document). The burst is twice
   * `maxDocBytes`, so any update that fits in a document also fits in a fresh budget.
   */
  maxSyncBytesPerSecond: number;
  /** Awareness messages per second per user, sustained; ten times that in a burst. */
  maxAwarenessPerSecond: number;
}

export const DEFAULT_LIMITS: RoomLimits = {
  // A loaded Y.Doc takes ~2× its stored bytes for bulk text and ~10× for keystroke-dense history
  // (automerge-paper: 311 KB stored, ~3.3 MB of heap): 8 MiB keeps the worst case under the 128 MB isolate.
  maxDocBytes: 8 * 1024 * 1024,
  // At most ~320 B of heap a unit: ~48 MB for the worst document, measured by bench/update-cost.ts.
  maxDocItemUnits: 150_000,
  maxRootTypes: 1000,
  // A step is ~0.3 µs in Node: 100,000 is ~30 ms, 1,000,000 ~0.3 s. The worst honest update measured
  // (two people typing a whole trace at the same places, one of them offline) takes under 5,000, a
  // whole trace loaded into an empty document under 2,200 (bench/update-cost.ts).
  maxMergeStepsPerUpdate: 100_000,
  maxDocMergeSteps: 1_000_000,
  maxPendingBytes: 1024 * 1024,
  maxClientIdsPerUser: 64,
  maxClientIdsPerSecretWrite: 1024,
  maxAwarenessIdsPerConn: 16,
  maxAwarenessBytesPerDoc: 4 * 1024 * 1024,
  maxAwarenessStateBytes: 64 * 1024,
  // Rate limits are for abuse, not for fast honest clients: a replayed editing trace sends 5k-20k
  // updates a second for a few seconds, and the server ingests 18-27k a second durably (bench W2).
  // Over a budget the connection is closed with 1013, which the stock client retries and re-syncs.
  maxUpdatesPerSecond: 10_000,
  maxUpdateBurst: 60_000,
  maxSyncBytesPerSecond: 2 * 1024 * 1024,
  maxAwarenessPerSecond: 100,
};

/** Who wrote an update: a connection, a client token's user over REST, or (neither) a secret key. */
export interface Writer<C> {
  conn?: C;
  userId?: string;
}

/** The window `maxClientIdsPerUser` counts over. */
export const CLIENT_ID_WINDOW_MS = 60 * 60 * 1000;

export type ApplyOutcome =
  | { ok: true; changed: boolean }
  | { ok: false; code: "invalid_update" | "too_large" | "too_many_client_ids" | "rate_limited"; message: string };

/** Decides when the log is folded into a snapshot: amortised against the snapshot's size. */
export function shouldCompact(store: Pick<UpdateStore, "logBytes" | "logCount" | "snapshotBytes">): boolean {
  if (store.logCount < 64) return false;
  // A short tail keeps cold starts cheap (it is merged and sent as it is); the snapshot-relative bound
  // keeps the cost of re-encoding a large document amortised.
  return store.logCount >= 1000 || store.logBytes >= Math.max(32 * 1024, store.snapshotBytes / 8);
}
