/** In-memory store and transport for unit tests of the pure room logic. */
import * as Y from "yjs";
import { decodeFrame } from "../../src/sync/frames";
import type { RoomConn, Transport, UpdateStore } from "../../src/sync/ports";

export class MemoryStore implements UpdateStore {
  snapshot: Uint8Array | undefined;
  log: Uint8Array[] = [];
  /** Shared with the transport: the order in which things happened. */
  constructor(readonly events: string[] = []) {}
  load(): Uint8Array[] {
    return this.snapshot ? [this.snapshot, ...this.log] : [...this.log];
  }
  append(update: Uint8Array): void {
    this.events.push("append");
    this.log.push(update);
  }
  compact(snapshot: Uint8Array, tail: Uint8Array[]): void {
    this.events.push("compact");
    this.snapshot = snapshot;
    this.log = [...tail];
  }
  get logBytes() {
    return this.log.reduce((n, u) => n + u.length, 0);
  }
  get logCount() {
    return this.log.length;
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
}

export interface TestConn extends RoomConn {
  name: string;
  sent: Uint8Array[];
}

export function conn(name: string, access: "read" | "write" = "write"): TestConn {
  return { name, access, userId: name, clientIds: new Map(), sent: [] };
}

export class MemoryTransport implements Transport<TestConn> {
  readonly conns = new Set<TestConn>();
  constructor(readonly events: string[] = []) {}
  send(c: TestConn, message: Uint8Array): void {
    this.events.push(`send:${c.name}`);
    c.sent.push(message);
  }
  connections(): Iterable<TestConn> {
    return this.conns;
  }
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
