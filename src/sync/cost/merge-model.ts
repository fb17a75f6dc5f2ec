/**
 * The light model merge-work.ts replays Yjs's placement on (pure: the document is only read): the lists an
 * update's structs land in, as pieces of the document's items, read from the document only where the
 * walk reaches them and split where an origin points inside one, plus the update's own structs, linked
 * to them as `Item.integrate` links them.
 */
import * as Y from "yjs";

/** A struct of the update the document does not have yet, as the replay needs it. No origin: -1. */
export interface Link {
  client: number;
  start: number;
  end: number;
  originClient: number;
  originClock: number;
  rightClient: number;
  rightClock: number;
  /** With neither origin: the parent (`n<root name>` or `i<client>:<clock>`), and `parentSub`'s key if any. */
  parent?: string;
  parentSub?: string;
  /** A GC struct: nothing to place, but items pointing into it become GC structs too. */
  gc?: boolean;
}

/** A list of the model: a type (the document's) or the key of one the update creates, plus a map key. */
type Parent = object | string;

/** An item of the model: the part of a document item, or of an update struct, between two splits. */
interface Piece {
  client: number;
  start: number;
  end: number;
  origin: string | null;
  rightOrigin: string | null;
  /** undefined: not read yet from the document item (only at a document item's ends). */
  left: Piece | null | undefined;
  right: Piece | null | undefined;
  parent: Parent | null;
  parentSub: string | null;
  /** The document item this piece is part of, if any. */
  item?: Y.Item;
  /** Where its pieces are listed: the document item, or the update struct's start key. */
  base: Y.Item | string;
  /** Its origin as numbers, for look-ups (-1: none). */
  originClient: number;
  originClock: number;
}

const idKey = (client: number, clock: number) => `${client}:${clock}`;
const keyOf = (id: Y.ID | null) => (id ? idKey(id.client, id.clock) : null);

/**
 * The lists an update's structs land in, built up as they are placed: `integrate` places one struct as
 * `Item.integrate` would and returns the steps its conflict loop took.
 */
export class Model {
  /** Pieces per base (a document item, or an update struct by its start key), sorted by start. */
  private readonly pieces = new Map<Y.Item | string, Piece[]>();
  /** Update structs placed so far, by client: [start, end, base key] sorted by start. */
  private readonly placed = new Map<number, [number, number, string][]>();
  /** A list's first piece (a type's `_start`), and a map key's last one (`_map.get(key)`), once changed. */
  private readonly starts = new Map<Parent, Piece | null>();
  private readonly lasts = new Map<Parent, Map<string, Piece>>();
  /** Steps spent walking to a map key's first entry. */
  walks = 0;

  constructor(private readonly doc: Y.Doc) {}

  /** Places one struct as `Item.integrate` would; returns its steps, or undefined if it cannot be placed now. */
  integrate(l: Link, budget: number): number | undefined {
    if (l.gc) {
      this.place(l, "gc");
      return 0;
    }
    const left = l.originClient >= 0 ? this.cleanEnd(l.originClient, l.originClock) : null;
    const right = l.rightClient >= 0 ? this.cleanStart(l.rightClient, l.rightClock) : null;
    if (left === undefined || right === undefined) return undefined;
    // Next to a GC struct, or in a type that is gone: Yjs turns it into a GC struct, and so whatever points into it.
    const gone = () => (this.place(l, "gc"), 0);
    if (left === "gc" || right === "gc") return gone();
    let parent: Parent | null;
    let parentSub: string | null;
    if (left) [parent, parentSub] = [left.parent, left.parentSub];
    else if (right) [parent, parentSub] = [right.parent, right.parentSub];
    else {
      const p = this.parentOf(l);
      if (p === undefined) return undefined;
      [parent, parentSub] = [p, l.parentSub ?? null];
    }
    if (parent === null) return gone();
    const self: Piece = {
      client: l.client,
      start: l.start,
      end: l.end,
      origin: l.originClient >= 0 ? idKey(l.originClient, l.originClock) : null,
      rightOrigin: l.rightClient >= 0 ? idKey(l.rightClient, l.rightClock) : null,
      left,
      right,
      parent,
      parentSub,
      base: idKey(l.client, l.start),
      originClient: l.originClient,
      originClock: l.originClock,
    };
    let steps = 0;
    if ((!left && (!right || this.leftOf(right) !== null)) || (left && this.rightOf(left) !== right)) {
      let newLeft = left;
      let o: Piece | null;
      if (left) o = this.rightOf(left);
      else if (parentSub !== null) {
        o = this.lastOf(parent, parentSub);
        for (; o && this.leftOf(o); steps++, this.walks++) o = this.leftOf(o)!;
      } else o = this.startOf(parent);
      const conflicting = new Set<Piece>();
      const beforeOrigin = new Set<Piece>();
      while (o !== null && o !== right) {
        if (++steps > budget) return steps;
        beforeOrigin.add(o);
        conflicting.add(o);
        if (self.origin === o.origin) {
          if (o.client < self.client) {
            newLeft = o;
            conflicting.clear();
          } else if (self.rightOrigin === o.rightOrigin) break;
        } else {
          const oo = o.originClient < 0 ? undefined : this.pieceAt(o.originClient, o.originClock);
          if (oo && typeof oo === "object" && beforeOrigin.has(oo)) {
            if (!conflicting.has(oo)) {
              newLeft = o;
              conflicting.clear();
            }
          } else break;
        }
        o = this.rightOf(o);
      }
      self.left = newLeft;
    }
    // Reconnect, as Yjs does.
    if (self.left) {
      self.right = this.rightOf(self.left);
      self.left.right = self;
    } else {
      let r: Piece | null;
      if (parentSub !== null) {
        r = this.lastOf(parent, parentSub);
        for (; r && this.leftOf(r); steps++, this.walks++) r = this.leftOf(r)!;
      } else {
        r = this.startOf(parent);
        this.starts.set(parent, self);
      }
      self.right = r;
    }
    if (self.right) self.right.left = self;
    else if (parentSub !== null) this.lastsOf(parent).set(parentSub, self);
    this.pieces.set(this.place(l, self.base as string), [self]);
    return steps;
  }

  private place(l: Link, base: string): string {
    let list = this.placed.get(l.client);
    if (!list) this.placed.set(l.client, (list = []));
    list.push([l.start, l.end, base]);
    return base;
  }

  private parentOf(l: Link): Parent | null | undefined {
    if (!l.parent) return undefined;
    const key = l.parent.slice(1);
    if (l.parent.startsWith("n")) return this.doc.share.get(key) ?? l.parent;
    const [client, clock] = key.split(":").map(Number) as [number, number];
    const at = this.find(client, clock);
    if (at === undefined) return undefined;
    if (at === "gc") return null;
    if (typeof at === "string") return at; // a type this update creates
    return at.content instanceof Y.ContentType ? at.content.type : null;
  }

  /** The document item, or the placed update struct's base key, holding (client, clock). */
  private find(client: number, clock: number): Y.Item | string | "gc" | undefined {
    if (clock < Y.getState(this.doc.store, client)) {
      const structs = this.doc.store.clients.get(client)!;
      const s = structs[Y.findIndexSS(structs, clock)];
      return s instanceof Y.Item ? s : "gc";
    }
    const list = this.placed.get(client);
    if (!list) return undefined;
    let lo = 0;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (list[mid]![0] <= clock) lo = mid;
      else hi = mid - 1;
    }
    const e = list[lo];
    return e && e[0] <= clock && clock < e[1] ? e[2] : undefined;
  }

  /** `getItem`: the piece holding an id (no split). */
  private pieceAt(client: number, clock: number): Piece | "gc" | undefined {
    const base = this.find(client, clock);
    if (base === undefined || base === "gc") return base;
    const list = this.piecesOf(base);
    return list[indexByStart(list, clock)];
  }

  private piecesOf(base: Y.Item | string): Piece[] {
    let list = this.pieces.get(base);
    if (!list) {
      const item = base as Y.Item; // an update struct's list is made when it is placed
      const piece: Piece = {
        client: item.id.client,
        start: item.id.clock,
        end: item.id.clock + item.length,
        origin: keyOf(item.origin),
        rightOrigin: keyOf(item.rightOrigin),
        left: undefined,
        right: undefined,
        parent: item.parent instanceof Y.AbstractType ? item.parent : null,
        parentSub: item.parentSub,
        item,
        base: item,
        originClient: item.origin ? item.origin.client : -1,
        originClock: item.origin ? item.origin.clock : -1,
      };
      this.pieces.set(base, (list = [piece]));
    }
    return list;
  }

  /** `getItemCleanEnd`: the piece ending at the id, split if the id is inside one. */
  private cleanEnd(client: number, clock: number): Piece | "gc" | undefined {
    const p = this.pieceAt(client, clock);
    if (p && p !== "gc" && clock < p.end - 1) this.split(p, clock + 1);
    return p;
  }

  /** `getItemCleanStart`: the piece starting at the id, split if the id is inside one. */
  private cleanStart(client: number, clock: number): Piece | "gc" | undefined {
    const p = this.pieceAt(client, clock);
    if (p && p !== "gc" && clock > p.start) return this.split(p, clock);
    return p;
  }

  private split(p: Piece, at: number): Piece {
    const q: Piece = {
      client: p.client,
      start: at,
      end: p.end,
      origin: idKey(p.client, at - 1),
      rightOrigin: p.rightOrigin,
      left: p,
      right: this.rightOf(p),
      parent: p.parent,
      parentSub: p.parentSub,
      item: p.item,
      base: p.base,
      originClient: p.client,
      originClock: at - 1,
    };
    if (q.right) q.right.left = q;
    p.right = q;
    p.end = at;
    const list = this.pieces.get(p.base)!;
    list.splice(indexByStart(list, p.start) + 1, 0, q);
    return q;
  }

  private rightOf(p: Piece): Piece | null {
    if (p.right === undefined) {
      const next = p.item!.right;
      p.right = next ? this.piecesOf(next)[0]! : null;
    }
    return p.right;
  }

  private leftOf(p: Piece): Piece | null {
    if (p.left === undefined) {
      const prev = p.item!.left;
      p.left = prev ? this.piecesOf(prev).at(-1)! : null;
    }
    return p.left;
  }

  private startOf(parent: Parent): Piece | null {
    if (this.starts.has(parent)) return this.starts.get(parent)!;
    const first = typeof parent === "string" ? null : (parent as Y.AbstractType<never>)._start;
    return first ? this.piecesOf(first)[0]! : null;
  }

  private lastsOf(parent: Parent): Map<string, Piece> {
    let m = this.lasts.get(parent);
    if (!m) this.lasts.set(parent, (m = new Map()));
    return m;
  }

  private lastOf(parent: Parent, sub: string): Piece | null {
    const changed = this.lasts.get(parent)?.get(sub);
    if (changed) return changed;
    const item = typeof parent === "string" ? undefined : (parent as Y.AbstractType<never>)._map.get(sub);
    return item ? this.piecesOf(item).at(-1)! : null;
  }
}

/** The index of the last piece starting at or before `clock` (pieces sorted by start). */
function indexByStart(list: readonly Piece[], clock: number): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (list[mid]!.start <= clock) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
