/**
 * The conflict-resolution work applying an update would cost a document, counted without applying it
 * (pure: the document is only read).
 *
 * Yjs places a new item between its origin (left) and right origin. When those two are not neighbours
 * any more, `Item.integrate` walks the items after the origin to decide the order, one step per item.
 * Honest updates rarely meet such a gap, and when they do it holds a few concurrent items. A hostile one
 * can make every struct walk far: inserts that name an origin inside a text and no right origin, origins
 * descending, each walk to the end of the text over everything the earlier ones added. 2,000 of them
 * (14 KB) cost over a second in Node, and because the update is stored, every load pays it again.
 *
 * So the placement is replayed on a light model of the lists it touches (merge-model.ts): the document's
 * items are read where the walk reaches them, split where an origin points inside one, and linked to the
 * update's own structs as Yjs links them, in the order Yjs integrates them (`integrateStructs`), with the
 * same loop as `Item.integrate`. The count is the steps that loop takes, and stops once past `limit`: refusing a
 * hostile update costs about as much as counting one at the limit. A struct that cannot be placed now
 * (it waits for a missing update, and the update that fills the gap will not be counted for it) counts
 * as a walk over every item of the document and of the update.
 */
import * as Y from "yjs";
import { type Link, Model } from "./merge-model";

/**
 * True when `update` places nothing (deletions only) or one struct, next in its client's clocks, whose
 * origin and right origin are neighbours in `doc` now: Yjs places it without walking. What typing sends; O(log n), nothing decoded
 * past the origins. False says nothing (count it with `mergeWork`).
 */
export function placesWithoutWalk(doc: Y.Doc, update: Uint8Array): boolean {
  // Read by hand, not with a lib0 decoder: this runs for every keystroke.
  let pos = 0;
  const varUint = (): number => {
    let n = 0;
    let mult = 1;
    for (;;) {
      const b = update[pos++]!;
      n += (b & 0x7f) * mult;
      if (b < 0x80) return n;
      mult *= 128;
    }
  };
  const clients = varUint();
  if (clients === 0) return true; // only deletions: nothing to place
  if (clients !== 1 || varUint() !== 1) return false;
  const client = varUint();
  const own = doc.store.clients.get(client);
  const last = own?.[own.length - 1];
  if (varUint() !== (last ? last.id.clock + last.length : 0)) return false;
  const info = update[pos++]!;
  const ref = info & 0x1f;
  if (ref === 0 || ref === 10 || (info & 0x80) === 0) return false; // a GC, a Skip, or no origin
  const oc = varUint();
  const ok = varUint();
  // Typing on: the origin is the writer's own last item, found without a search.
  const left = oc === client && last instanceof Y.Item && ok === last.id.clock + last.length - 1 ? last : itemAt(doc, oc, ok);
  if (!left) return false;
  // What follows the origin now: the rest of its item, or the item after it.
  const endsItem = ok === left.id.clock + left.length - 1;
  if ((info & 0x40) === 0) return endsItem && left.right === null;
  const rc = varUint();
  const rk = varUint();
  if (!endsItem) return rc === oc && rk === ok + 1;
  return left.right !== null && left.right.id.client === rc && left.right.id.clock === rk;
}

function itemAt(doc: Y.Doc, client: number, clock: number): Y.Item | undefined {
  if (clock >= Y.getState(doc.store, client)) return undefined;
  const structs = doc.store.clients.get(client)!;
  const s = structs[Y.findIndexSS(structs, clock)];
  return s instanceof Y.Item ? s : undefined;
}

export interface MergeWork {
  /** Steps in all: items the conflict loop compares, plus the walks to the start of a map key's entries. */
  steps: number;
  /** Of those, the walks to a map key's first entry (Yjs follows `left` there before comparing anything). */
  walks: number;
}

/** What `Y.applyUpdate(doc, update)` spends resolving conflicts for `links` (its new structs); steps past `limit` stop the count. */
export function mergeWork(doc: Y.Doc, links: readonly Link[], limit = Infinity): MergeWork {
  if (links.length === 0) return { steps: 0, walks: 0 };
  const model = new Model(doc);
  const byClient = new Map<number, number[]>();
  links.forEach((l, i) => {
    let list = byClient.get(l.client);
    if (!list) byClient.set(l.client, (list = []));
    list.push(i);
  });
  let fallback = links.length;
  for (const structs of doc.store.clients.values()) fallback += structs.length;
  let steps = 0;
  for (const i of integrationOrder(links, byClient)) {
    const placed = model.integrate(links[i]!, limit - steps);
    steps += placed ?? fallback;
    if (steps > limit) break;
  }
  return { steps, walks: model.walks };
}

/**
 * The order Yjs integrates the update's structs in (`integrateStructs`): clients from the highest id down,
 * each client's in clock order, but a struct whose origin, right origin or parent is a struct of another
 * client of the update waits until that one is in.
 */
function integrationOrder(links: readonly Link[], byClient: Map<number, number[]>): number[] {
  const order: number[] = [];
  const next = new Map<number, number>(); // per client: position of its next struct in byClient's list
  const busy = new Set<number>();
  const upTo = (client: number, clock: number): void => {
    const list = byClient.get(client);
    if (!list) return;
    for (let p = next.get(client) ?? 0; p < list.length && links[list[p]!]!.start <= clock; p = next.get(client) ?? 0) {
      const i = list[p]!;
      if (busy.has(i)) return; // a cycle: Yjs keeps such structs pending
      busy.add(i);
      for (const [c, k] of dependencies(links[i]!)) if (c !== client) upTo(c, k);
      busy.delete(i);
      if ((next.get(client) ?? 0) !== p) continue;
      next.set(client, p + 1);
      order.push(i);
    }
  };
  for (const client of [...byClient.keys()].sort((a, b) => b - a)) upTo(client, Infinity);
  return order;
}

function dependencies(l: Link): [number, number][] {
  const deps: [number, number][] = [];
  if (l.originClient >= 0) deps.push([l.originClient, l.originClock]);
  if (l.rightClient >= 0) deps.push([l.rightClient, l.rightClock]);
  if (l.parent?.startsWith("i")) deps.push(l.parent.slice(1).split(":").map(Number) as [number, number]);
  return deps;
}
