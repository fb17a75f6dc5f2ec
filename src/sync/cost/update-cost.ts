/**
 * What applying a Yjs v1 update would allocate in a given document, counted without applying it
 * (pure: no `cloudflare:*` import, and the document is only read).
 *
 * Bytes do not bound memory. A delete range costs ~4 bytes on the wire, yet one that starts and ends
 * inside a live item makes Yjs split it twice (`readAndApplyDeleteSet`: `splitItem` at both ends), and
 * every split is a new Item of ~270 B of heap that stays in the document, and in its stored log, for
 * good. Deleting every other character of a 600k-character text is a ~1 MB update and ~130 MB of heap.
 * An offline client's sync step 2 carries its whole delete set too, but over items this document has
 * already deleted (or split the same way), where Yjs neither splits nor deletes anything: so the cost is
 * counted against the current document, the way Yjs walks it, not against the update alone.
 *
 * Other allocations that outgrow their bytes are counted as well: shared types (~620 B for a 6-byte
 * ContentType struct, ~860 B for a struct naming a new root type), subdocuments (a whole Y.Doc, ~2.4 KB
 * each), and runs of ContentAny/ContentJSON structs that Yjs merges at the end of the transaction by
 * copying arrays (`mergeWith` is `arr.concat`): quadratic in the run's length, 20,000 one-element
 * structs (123 KB) take 6-7 s, 40,000 exhaust a 4 GB heap.
 *
 * Call it after `validateUpdate` (update-check.ts): it trusts the update to be well formed and throws, like
 * lib0, on one that is not.
 */
import * as decoding from "lib0/decoding";
import * as Y from "yjs";
import { ClientView } from "./client-view";
import type { Link } from "./merge-model";
import { mergeWork } from "./merge-work";
import { readContent } from "./struct-content";

export interface UpdateCost {
  /** Structs the document does not have yet (parts it has are skipped, as Yjs does). Each becomes one Item or GC. */
  structs: number;
  /** Ranges in the update's delete set. */
  deleteRanges: number;
  /**
   * Items split in two: by a delete range starting or ending inside a live item, by an origin or right
   * origin pointing inside one. A split that must wait for structs not arrived yet (Yjs keeps the range or
   * the struct pending) is charged now, 2 per range and 1 per origin: the update that unlocks it later is
   * not charged for it.
   */
  splits: number;
  /** Items the delete set marks deleted (Yjs skips those already deleted). Work, not memory. */
  newlyDeleted: number;
  /** New shared types (ContentType structs). */
  types: number;
  /** Root type names the document does not have yet: each a shared type and an entry in `doc.share`. */
  roots: number;
  /** ContentDoc structs: each one a whole Y.Doc. */
  subdocs: number;
  /** Array elements copied when Yjs merges runs of ContentAny/ContentJSON structs (quadratic in a run's length). */
  mergeCopies: number;
  /** Steps of conflict resolution (merge-work.ts): CPU, not memory, so not item units. */
  mergeSteps: number;
  /** Of those, steps walking to a map key's first entry. */
  mergeWalks: number;
}

/** Nothing: what an empty update costs. */
export const NO_COST: Readonly<UpdateCost> = {
  structs: 0,
  deleteRanges: 0,
  splits: 0,
  newlyDeleted: 0,
  types: 0,
  roots: 0,
  subdocs: 0,
  mergeCopies: 0,
  mergeSteps: 0,
  mergeWalks: 0,
};

/**
 * The cost as one number, in item units: one unit is one Yjs Item (~270-310 B of heap in Node 22); a
 * struct holding a shared type weighs 2 (~620 B), a new root name 2 more (~860 B with its struct), a
 * subdocument 8 (~2.4 KB), and 64 array elements copied by a merge 1 (about an Item's time). Measured by
 * `bench/update-cost.ts`. It over-counts what Yjs merges back at the end of the transaction.
 */
export function itemUnits(cost: UpdateCost): number {
  return cost.structs + cost.splits + cost.types + 2 * cost.roots + 7 * cost.subdocs + Math.ceil(cost.mergeCopies / 64);
}

/**
 * The same measure for a whole document: its structs, types and subdocuments, and the parts Yjs holds
 * pending (the update that unlocks them is not charged for them, so they are charged while they wait).
 * O(structs): a few ms for 150,000. Once per load (or compaction); in between, add `itemUnits` of each
 * accepted update.
 */
export function docItemUnits(doc: Y.Doc): number {
  let units = 2 * doc.share.size;
  for (const structs of doc.store.clients.values()) {
    units += structs.length;
    for (const s of structs) {
      if (s instanceof Y.Item) {
        if (s.content instanceof Y.ContentType) units += 1;
        else if (s.content instanceof Y.ContentDoc) units += 7;
      }
    }
  }
  const { pendingStructs, pendingDs } = doc.store;
  for (const pending of [pendingStructs?.update, pendingDs]) {
    if (pending) units += itemUnits(updateCost(new Y.Doc(), Y.convertUpdateFormatV2ToV1(pending)));
  }
  return units;
}

/**
 * Counts what `Y.applyUpdate(doc, update)` would allocate, without applying it. Exact when every
 * struct can be integrated now and each client's delete ranges ascend without overlapping (as Yjs
 * writes them); otherwise an upper bound. O(structs + ranges · log items), plus the items the delete
 * set covers (which Yjs walks too).
 *
 * With `limit`, it stops as soon as `itemUnits` of the count passes it (the counts are then partial, and
 * over the limit): refusing a huge update costs no more than counting one at the limit, where 8 MiB of
 * delete ranges take over a second to count whole.
 */
export function updateCost(doc: Y.Doc, update: Uint8Array, limit = Infinity, mergeLimit = Infinity): UpdateCost {
  const cost: UpdateCost = { ...NO_COST };
  const views = new Map<number, ClientView>();
  const view = (client: number): ClientView => {
    let v = views.get(client);
    if (!v) views.set(client, (v = new ClientView(doc, client)));
    return v;
  };
  const newRoots = new Set<string>();
  const d = decoding.createDecoder(update);

  // Structs. Origins are resolved once all structs are known: Yjs integrates structs in dependency order,
  // and a split is a split whichever struct asks for it first.
  const origins: number[] = []; // flat (client, clock, kind) triples; kind 0: origin, 1: right origin
  const links: Link[] = [];
  const numClients = decoding.readVarUint(d);
  for (let i = 0; i < numClients; i++) {
    const numStructs = decoding.readVarUint(d);
    const client = decoding.readVarUint(d);
    let clock = decoding.readVarUint(d);
    const v = view(client);
    let run = 0; // length of the current run of mergeable ContentAny/ContentJSON structs
    let runPrevLen = 0;
    let runPrevRef = -1;
    let runPrevRight = -1; // structs of a run share their right origin (-1: none)
    for (let j = 0; j < numStructs; j++) {
      const info = decoding.readUint8(d);
      const ref = info & 0x1f;
      let len: number;
      let originClient = -1;
      let originClock = -1;
      let right = -1;
      let rightClient = -1;
      let rightClock = -1;
      let parent: string | undefined;
      let parentSub: string | undefined;
      if (ref === 0 || ref === 10) {
        len = decoding.readVarUint(d); // GC, Skip
      } else {
        if (info & 0x80) {
          originClient = decoding.readVarUint(d);
          originClock = decoding.readVarUint(d);
        }
        if (info & 0x40) {
          rightClient = decoding.readVarUint(d);
          rightClock = decoding.readVarUint(d);
          right = rightClient * 2 ** 21 + rightClock; // a key to compare right origins: a collision could only over-count
          origins.push(rightClient, rightClock, 1);
        }
        if (originClient >= 0) origins.push(originClient, originClock, 0);
        if ((info & 0xc0) === 0) {
          if (decoding.readVarUint(d) === 1) {
            // `doc.get(name)` runs while the struct is read, even for a struct the document already has.
            const name = decoding.readVarString(d);
            if (!doc.share.has(name) && !newRoots.has(name)) {
              newRoots.add(name);
              cost.roots++;
            }
            parent = `n${name}`;
          } else {
            parent = `i${decoding.readVarUint(d)}:${decoding.readVarUint(d)}`;
          }
          if (info & 0x20) parentSub = decoding.readVarString(d);
        }
        len = readContent(d, ref);
      }
      const start = clock;
      const end = clock + len;
      clock = end;
      if (ref === 10) {
        run = 0;
        continue;
      }
      // A struct the document has is read and dropped. One past the client's state waits in pendingStructs:
      // counted now all the same, as the update that fills the gap will not be charged for it.
      if (end <= v.state) {
        run = 0;
        continue;
      }
      cost.structs++;
      if (ref === 7) cost.types++;
      if (ref === 9) cost.subdocs++;
      if (cost.structs % 1024 === 0 && itemUnits(cost) > limit) return cost;
      if (start <= v.state) {
        v.added.push({ start: v.state, end, deleted: ref === 0 || ref === 1, gc: ref === 0 });
        v.state = end;
      }
      {
        // A struct the document partly has is cut: what remains starts after the known part, its origin the last known clock.
        const cut = start < v.docState;
        links.push({
          client,
          start: cut ? v.docState : start,
          end,
          originClient: cut ? client : originClient,
          originClock: cut ? v.docState - 1 : originClock,
          rightClient,
          rightClock,
          parent,
          parentSub,
          gc: ref === 0,
        });
      }
      // A run merges right to left, each merge copying everything to its right: struct k of a run adds
      // the elements of struct k-1 once more and its own k-1 times.
      const mergeable = (ref === 2 || ref === 8) && run > 0 && ref === runPrevRef && originClient === client && originClock === start - 1 && right === runPrevRight;
      if (mergeable) {
        run++;
        cost.mergeCopies += runPrevLen + (run - 1) * len;
      } else {
        run = ref === 2 || ref === 8 ? 1 : 0;
      }
      runPrevLen = len;
      runPrevRef = ref;
      runPrevRight = right;
    }
  }

  for (let i = 0; i < origins.length; i += 3) {
    const client = origins[i]!;
    const clock = origins[i + 1]!;
    const v = view(client);
    if (clock >= v.state) {
      cost.splits++; // its target has not arrived: the struct waits, and may split it when it does
      continue;
    }
    const s = v.find(clock);
    // getItemCleanEnd splits any Item (deleted ones too) unless the origin is its last clock;
    // getItemCleanStart any Item unless the right origin is its first.
    const at = origins[i + 2] === 0 ? clock + 1 : clock;
    if (!s.gc && !v.isBoundary(at, s)) {
      v.splitAt.add(at);
      cost.splits++;
    }
  }
  if (itemUnits(cost) > limit) return cost;
  const merge = mergeWork(doc, links, mergeLimit);
  cost.mergeSteps = merge.steps;
  cost.mergeWalks = merge.walks;
  if (cost.mergeSteps > mergeLimit) return cost;
  for (const v of views.values()) if (v.splitAt.size > 0) v.originSplits = [...v.splitAt].sort((a, b) => a - b);

  // The delete set, as readAndApplyDeleteSet walks it once the structs are in.
  const dsClients = decoding.readVarUint(d);
  for (let i = 0; i < dsClients; i++) {
    const client = decoding.readVarUint(d);
    const numRanges = decoding.readVarUint(d);
    const v = view(client);
    for (let j = 0; j < numRanges; j++) {
      const clock = decoding.readVarUint(d);
      const clockEnd = clock + decoding.readVarUint(d);
      if (++cost.deleteRanges % 1024 === 0 && itemUnits(cost) > limit) return cost;
      // Ranges as Yjs writes them ascend without overlapping; after one that does not, earlier splits may
      // fall inside this range, each adding an item to delete: counted as if all did, capped by its length.
      const ascending = clock >= v.dsEnd;
      v.dsEnd = Math.max(v.dsEnd, clockEnd);
      if (clock >= v.state) {
        cost.splits += 2; // pending: charged now (see UpdateCost.splits)
        continue;
      }
      if (clockEnd > v.state) cost.splits += 1; // its pending tail can split where it ends
      const end = Math.min(clockEnd, v.state);
      let s = v.find(clock);
      if (!s.deleted && !v.isBoundary(clock, s)) {
        v.splitAt.add(clock);
        v.dsSplits++;
        cost.splits++;
      }
      for (;;) {
        if (!s.deleted) {
          const lo = Math.max(clock, s.start);
          const hi = Math.min(end, s.end);
          const pieces = 1 + v.originSplitsBetween(lo, hi);
          cost.newlyDeleted += ascending ? pieces : Math.min(pieces + v.dsSplits, hi - lo);
          if (end < s.end && !v.splitAt.has(end)) {
            v.splitAt.add(end);
            v.dsSplits++;
            cost.splits++;
          }
        }
        if (s.end >= end) break;
        s = v.next(s);
      }
    }
  }
  return cost;
}

/** The conflict-resolution steps loading `update` into an empty document takes (a compaction's snapshot), or a number over `limit`. */
export function loadMergeSteps(update: Uint8Array, limit = Infinity): number {
  return updateCost(new Y.Doc(), update, Infinity, limit).mergeSteps;
}
