/**
 * An in-memory store and socket sink for unit tests of the room, wired through the production outbox
 * (src/room/outbox.ts): updates wait as pending until the outbox flushes them, and every message waits
 * with them, exactly as in the Durable Object. `testRoom` ends each call as an event ends in production,
 * by running the flush the outbox scheduled.
 */
import * as Y from "yjs";
import { Outbox, type PendingWrites } from "../../src/sync/outbox";
import { decodeFrame } from "../../src/sync/frames";
import { type Clock, DEFAULT_LIMITS, type RoomConn, type RoomLimits, type UpdateStore } from "../../src/sync/ports";
import { RoomCore } from "../../src/sync/room-core";

export class MemoryStore implements UpdateStore, PendingWrites {
  snapshot: Uint8Array | undefined;
  /** Committed entries. */
  log: Uint8Array[] = [];
  private pending: Uint8Array[] = [];
  onPending: () => void = () => {};
  /** Set to make the next flush throw, as a storage failure would. */
  failNextFlush = false;
  /** Shared with the transport: the order in which things happened. */
  constructor(readonly events: string[] = []) {}
  load(): Uint8Array[] {
    return [...(this.snapshot ? [this.snapshot] : []), ...this.log, ...this.pending];
  }
  append(update: Uint8Array): void {
    this.events.push("append");
    this.pending.push(update);
    if (this.pending.length === 1) this.onPending();
  }
  get hasPending(): boolean {
    return this.pending.length > 0;
  }
  flush(): void {
    if (this.pending.length === 0) return;
    if (this.failNextFlush) {
      this.failNextFlush = false;
      throw new Error("injected storage failure");
    }
    this.events.push("commit");
    this.log.push(...this.pending);
    this.pending = [];
  }
  dropPending(): void {
    this.pending = [];
  }
  compact(snapshot: Uint8Array, tail: Uint8Array[]): void {
    this.events.push("compact");
    this.snapshot = snapshot;
    this.log = [...tail];
    this.pending = [];
  }
  get logBytes() {
    return [...this.log, ...this.pending].reduce((n, u) => n + u.length, 0);
  }
  get logCount() {
    return this.log.length + this.pending.length;
  }
  get snapshotBytes() {
    return this.snapshot?.length ?? 0;
  }
  readonly clientIds: { userId: string; id: number; at: number }[] = [];
  clientIdsIntroduced(userId: string, since: number): number {
    return this.clientIds.filter((r) => r.userId === userId && r.at >= since).length;
  }
  recordClientIds(userId: string, ids: readonly number[], at: number): void {
    for (const id of ids) this.clientIds.push({ userId, id, at });
  }
  readonly meta = new Map<string, string>();
  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }
  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
  }
}

export interface TestConn extends RoomConn {
  name: string;
  sent: Uint8Array[];
}

export function conn(name: string, access: "read" | "write" = "write"): TestConn {
  return { name, access, userId: name, clientIds: new Map(), sent: [] };
}

/** The production outbox over a memory store, delivering into each connection's `sent`. */
export class MemoryTransport extends Outbox<TestConn> {
  readonly conns = new Set<TestConn>();
  readonly failures: unknown[] = [];
  /** How many times the sink was told that a commit wrote updates. */
  commits = 0;
  private due: (() => void) | undefined;
  constructor(
    store: MemoryStore,
    readonly events: string[] = [],
  ) {
    const conns = new Set<TestConn>();
    super(
      store,
      {
        sendNow: (c, message) => {
          events.push(`send:${c.name}`);
          c.sent.push(message);
        },
        connections: () => conns,
        awarenessChanged: () => {},
        committed: () => {
          events.push("committed");
          this.commits++;
        },
      },
      (e) => this.failures.push(e),
      (flush) => {
        this.due = flush;
        return () => {
          this.due = undefined;
        };
      },
    );
    this.conns = conns;
  }
  /** What the end of an event does in production: the flush the outbox scheduled runs. */
  settle(): void {
    const flush = this.due;
    this.due = undefined;
    flush?.();
  }
}

/** A RoomCore whose every call ends like an event: the scheduled flush runs, then the caller looks. */
export function testRoom(store: MemoryStore, transport: MemoryTransport, limits: RoomLimits = DEFAULT_LIMITS, clock?: Clock): RoomCore<TestConn> {
  const room = new RoomCore<TestConn>(store, transport, limits, undefined, clock);
  return new Proxy(room, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        transport.settle();
        return result;
      };
    },
  });
}

/** A fresh Y.Doc holding every update and step 2 among `messages`: what a client of them would have. */
export function replicaOf(messages: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const m of messages) {
    const f = decodeFrame(m);
    if (f.ok && (f.value.kind === "sync-update" || f.value.kind === "sync-step2")) Y.applyUpdate(doc, f.value.update);
  }
  return doc;
}
