import * as Y from "yjs";

/**
 * Updates flow from the authority to its relays by number. Pure.
 *
 * - The authority numbers every committed batch (`FeedRing.push`) within an epoch (one life of the
 *   object: a restarted authority starts a new one) and keeps the last few in a ring, so a relay that
 *   missed some asks for "everything after n" and gets exactly those.
 * - A relay (`FeedCursor`) applies numbers in order. A number out of order is a gap: it asks, and drops
 *   everything until the answer, which covers what it dropped (the authority answers in link order).
 *   A number it already has is dropped: nothing reaches its sockets twice.
 */

export interface FeedEntry {
  seq: number;
  update: Uint8Array;
}

/** Entries the ring keeps, and bytes: past either, the oldest go (a relay that far behind catches up by state vector). */
export const FEED_RING_ENTRIES = 1024;
export const FEED_RING_BYTES = 4 * 1024 * 1024;

export class FeedRing {
  seq = 0;
  private entries: FeedEntry[] = [];
  private bytes = 0;

  constructor(readonly epoch: string) {}

  /** Numbers one committed batch: what goes to every link. */
  push(update: Uint8Array): FeedEntry {
    const entry = { seq: ++this.seq, update };
    this.entries.push(entry);
    this.bytes += update.length;
    while (this.entries.length > FEED_RING_ENTRIES || (this.bytes > FEED_RING_BYTES && this.entries.length > 1)) {
      this.bytes -= this.entries.shift()!.update.length;
    }
    return entry;
  }

  /**
   * What comes after `seq` of `epoch`, oldest first ([] when the relay is current), or undefined when the
   * ring cannot say: another epoch, a number it never gave, or one whose successors were pushed out.
   */
  since(epoch: string, seq: number): Uint8Array[] | undefined {
    if (epoch !== this.epoch || seq > this.seq) return undefined;
    if (seq === this.seq) return [];
    const first = this.entries[0];
    if (!first || first.seq > seq + 1) return undefined;
    return this.entries.slice(seq + 1 - first.seq).map((e) => e.update);
  }
}

export type FeedStep = "apply" | "drop" | "gap";

export class FeedCursor {
  epoch = "";
  seq = 0;
  /** Asked for a catch-up and not answered yet: feed messages are dropped meanwhile. */
  waiting = false;

  /** What to do with entry `seq` of `epoch`. A gap sets `waiting`: the caller asks (`since`). */
  onFeed(epoch: string, seq: number): FeedStep {
    if (this.waiting) return "drop";
    if (epoch === this.epoch && seq <= this.seq) return "drop";
    if (epoch === this.epoch && seq === this.seq + 1) {
      this.seq = seq;
      return "apply";
    }
    this.waiting = true;
    return "gap";
  }

  /** Asked (a new link): feed messages wait for the answer. */
  asked(): void {
    this.waiting = true;
  }

  /** The answer arrived: the relay is at `seq` of `epoch`. */
  caughtUp(epoch: string, seq: number): void {
    this.epoch = epoch;
    this.seq = seq;
    this.waiting = false;
  }
}

/** The answer to a relay's `since`: what to apply and pass on, a base for a lost replica, and whether its sockets must re-sync. */
export interface CatchUp {
  epoch: string;
  seq: number;
  forward: Uint8Array;
  base: Uint8Array;
  resync: boolean;
}

const EMPTY = new Uint8Array();

/**
 * What brings a relay from `seq` of `epoch` to the feed's latest, given `doc`, the state the feed has
 * reached (everything in it committed): the entries it missed if the ring still has them, else what `doc`
 * has beyond its state vector. A relay that lost its replica (`fresh`) gets the whole state as its base; if
 * the ring cannot say what its sockets missed, they must re-sync. The document's object and a relay that
 * feeds relays (a tree) answer with this one rule.
 */
export function catchUp(ring: FeedRing, doc: Y.Doc, epoch: string, seq: number, stateVector: Uint8Array, fresh: boolean): CatchUp {
  const covered = ring.since(epoch, seq);
  const merged = covered && covered.length > 0 ? Y.mergeUpdates(covered) : undefined;
  const diff = merged ?? (covered || fresh ? undefined : Y.encodeStateAsUpdate(doc, stateVector));
  // Nothing missed is sent as nothing: an empty update would reach every socket of the relay.
  const forward = diff && !(diff.length === 2 && diff[0] === 0 && diff[1] === 0) ? diff : EMPTY;
  const base = fresh ? Y.encodeStateAsUpdate(doc) : EMPTY;
  return { epoch: ring.epoch, seq: ring.seq, forward, base, resync: fresh && !covered && seq > 0 };
}
