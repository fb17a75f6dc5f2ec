/**
 * The one owner of "durable before visible". The room appends updates to the store, which keeps them
 * pending, and hands every outgoing message to this outbox. While anything is pending, every message
 * waits here; the flush writes the pending batch in one transaction (one commit per burst, not per
 * update), then releases the held messages in order, a burst's updates merged per connection
 * (src/sync/coalesce.ts). On Workers the output gate still holds those sends until the commit is on
 * disk. A crash before the flush loses only updates nobody was told about; a flush that fails releases
 * nothing.
 *
 * No `cloudflare:*` import: the Durable Object gives it SQLite and sockets, the unit tests an in-memory
 * store and sink, and both run this same code.
 */
import { release, type Held } from "./coalesce";
import { encodeUpdate } from "./frames";
import type { RoomConn, Transport } from "./ports";

/** The write side of the store: appended updates wait here until `flush` commits them. */
export interface PendingWrites {
  readonly hasPending: boolean;
  /** Commits every pending entry in one transaction; throws (keeping them pending) if it cannot. */
  flush(): void;
  /** Forgets the entries a failed flush could not write. */
  dropPending(): void;
  /** Called when the first entry of a batch is appended. */
  onPending: () => void;
}

/** Where released messages go: the sockets. */
export interface Sink<C> {
  sendNow(conn: C, message: Uint8Array): void;
  connections(): Iterable<C>;
  awarenessChanged(conn: C): void;
  /** Called after a commit that wrote updates, once its held messages are released. */
  committed(): void;
  /**
   * Called right after a successful commit, before the held messages go out: what is sent from here is
   * durable too, and goes first (a relay's feed, so relays send to their sockets while this object sends to its own).
   */
  durable?(): void;
}

/** Runs `flush` after the current event; returns a cancel function. Production: a zero-delay timer. */
export type Scheduler = (flush: () => void) => () => void;

const nextTick: Scheduler = (flush) => {
  const timer = setTimeout(flush, 0);
  return () => clearTimeout(timer);
};

export class Outbox<C extends RoomConn> implements Transport<C> {
  private held: Held<C>[] = [];
  private cancel: (() => void) | undefined;
  /**
   * Updates were appended since the last `committed()`. Not the same as "pending at flush": a compaction
   * commits pending updates inside its own transaction, and they must be announced all the same.
   */
  private unannounced = false;

  constructor(
    private readonly store: PendingWrites,
    private readonly sink: Sink<C>,
    /** Called when a flush fails, after the held messages were dropped: nothing of the batch may show. */
    private readonly writeFailed: (error: unknown) => void,
    private readonly schedule: Scheduler = nextTick,
  ) {
    store.onPending = () => {
      this.unannounced = true;
      this.scheduleFlush();
    };
  }

  private scheduleFlush(): void {
    this.cancel ??= this.schedule(() => this.flush());
  }

  /** Writes pending updates, then releases the messages held for them. False if the write failed. */
  flush(): boolean {
    this.cancel?.();
    this.cancel = undefined;
    try {
      this.store.flush();
    } catch (e) {
      this.store.dropPending();
      this.held = [];
      this.unannounced = false;
      this.writeFailed(e);
      return false;
    }
    this.sink.durable?.();
    const out = this.held;
    this.held = [];
    // A burst's updates reach each connection as one merged update: N × R sends become about R.
    if (out.length > 0) release(out, [...this.sink.connections()], (conn, message) => this.sink.sendNow(conn, message));
    if (this.unannounced) {
      this.unannounced = false;
      this.sink.committed();
    }
    return true;
  }

  /** Drops everything held and any scheduled flush (the document is being erased). */
  clear(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.held = [];
  }

  /** Holds `h` if a write is pending (or older messages wait): false if it may go now. */
  private hold(h: Held<C>): boolean {
    if (!this.store.hasPending && this.held.length === 0) return false;
    this.held.push(h);
    this.scheduleFlush();
    return true;
  }

  send(conn: C, message: Uint8Array): void {
    if (!this.hold({ message, to: conn })) this.sink.sendNow(conn, message);
  }

  broadcastUpdate(update: Uint8Array, except?: C): void {
    if (!this.hold({ update, except })) this.broadcast(encodeUpdate(update), except);
  }

  broadcast(message: Uint8Array, except?: C): void {
    if (this.hold({ message, except })) return;
    for (const conn of this.sink.connections()) if (conn !== except) this.sink.sendNow(conn, message);
  }

  connections(): Iterable<C> {
    return this.sink.connections();
  }

  awarenessChanged(conn: C): void {
    this.sink.awarenessChanged(conn);
  }
}
