/**
 * One client's structs as update-cost.ts's walk sees them (pure: the document is only read): the
 * document's own, then the structs an update adds, and the clocks where this update splits an item, so
 * that counting a delete range or an origin never touches the document.
 */
import * as Y from "yjs";

/** A struct of the update the document will hold (its known prefix cut off). */
interface Added {
  start: number;
  end: number;
  /** GC and deleted Items: never split by a delete range, and a GC never by an origin. */
  deleted: boolean;
  gc: boolean;
}

/** A struct as the walk sees it: the document's (index into its array) or one the update adds. */
export interface At {
  start: number;
  end: number;
  deleted: boolean;
  gc: boolean;
  index: number;
  inDoc: boolean;
}

/**
 * One client's structs as they will be after the update's structs are integrated, without touching the
 * document: its own array, the update's new structs appended, and the clocks where a new item starts
 * because of a split this update causes.
 */
export class ClientView {
  readonly structs: (Y.Item | Y.GC)[];
  readonly docState: number;
  state: number;
  readonly added: Added[] = [];
  readonly splitAt = new Set<number>();
  /** Splits made by origins, sorted: counted inside delete ranges (they add items to delete). */
  originSplits: number[] = [];
  /** Splits made by this client's delete ranges so far, and the furthest end they reached. */
  dsSplits = 0;
  dsEnd = 0;

  constructor(doc: Y.Doc, client: number) {
    this.structs = (doc.store.clients.get(client) ?? []) as (Y.Item | Y.GC)[];
    this.docState = this.state = Y.getState(doc.store, client);
  }

  /** The struct (document's or added) containing `clock`, which must be below `state`. */
  find(clock: number): At {
    if (clock < this.docState) return this.inDoc(Y.findIndexSS(this.structs, clock));
    let lo = 0;
    let hi = this.added.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.added[mid]!.start <= clock) lo = mid;
      else hi = mid - 1;
    }
    return this.inAdded(lo);
  }

  /** The struct after `at` (there must be one: `at.end` below `state`). */
  next(at: At): At {
    if (at.inDoc) return at.index + 1 < this.structs.length ? this.inDoc(at.index + 1) : this.inAdded(0);
    return this.inAdded(at.index + 1);
  }

  private inDoc(index: number): At {
    const s = this.structs[index]!;
    const gc = s instanceof Y.GC;
    return { start: s.id.clock, end: s.id.clock + s.length, deleted: gc || s.deleted, gc, index, inDoc: true };
  }

  private inAdded(index: number): At {
    const a = this.added[index]!;
    return { start: a.start, end: a.end, deleted: a.deleted, gc: a.gc, index, inDoc: false };
  }

  isBoundary(clock: number, at: At): boolean {
    return clock === at.start || clock === at.end || this.splitAt.has(clock);
  }

  /** Origin splits strictly between `lo` and `hi`. */
  originSplitsBetween(lo: number, hi: number): number {
    if (this.originSplits.length === 0) return 0;
    return lowerBound(this.originSplits, hi) - lowerBound(this.originSplits, lo + 1);
  }
}

function lowerBound(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
