/**
 * What an update would cost the room's document beyond its bytes (pure: no `cloudflare:*` import), and
 * whether the document may take it: memory as item units (cost/update-cost.ts), root types, and
 * conflict-resolution work (cost/merge-work.ts). RoomCore keeps the running sum of the document's units.
 */
import type * as Y from "yjs";
import { placesWithoutWalk } from "./cost/merge-work";
import { docItemUnits, itemUnits, NO_COST, type UpdateCost, updateCost } from "./cost/update-cost";
import type { ApplyOutcome, RoomLimits } from "./ports";

/** Updates up to this size (typing) are charged an upper bound of their item units instead of counted. */
export const SMALL_UPDATE_BYTES = 64;
/** Item units per wire byte no update of SMALL_UPDATE_BYTES can exceed (the worst kind, shared types with new roots, stays under 2). */
export const SMALL_UNITS_PER_BYTE = 5;
/**
 * What one step of conflict resolution (merge-work.ts) costs its sender's byte budget: about what the
 * server spends handling that many bytes (a step is ~0.3 µs in Node). A user's sustained rate of merge
 * work is then bounded like their bytes.
 */
export const MERGE_STEP_BYTES = 8;

/** Item units the loaded document holds (update-cost.ts): counted once, then kept as a running sum. */
export type DocUnits = { units: number; exact: boolean; counted: number };

/** An update the document may not take, and why. */
type Refusal = Extract<ApplyOutcome, { ok: false }>;

/** Counts the document's item units exactly. */
export function countUnits(doc: Y.Doc): DocUnits {
  const units = docItemUnits(doc);
  return { units, exact: true, counted: units };
}

/**
 * What `update` would cost (update-cost.ts). A small update that Yjs places without walking (a
 * keystroke) is charged an upper bound of its item units instead of being counted: no kind of struct
 * or range allocates more than SMALL_UNITS_PER_BYTE units per wire byte in so few bytes
 * (bench/update-cost.ts), and counting costs more than applying one. The running sum is made exact
 * again when it reaches the cap, and near the cap every update is counted.
 */
function costOf(doc: Y.Doc, update: Uint8Array, cap: number, docUnits: DocUnits, limits: RoomLimits): UpdateCost {
  // A small update can name at most a few new roots; near the root cap, count them exactly.
  const roomForRoots = doc.share.size + SMALL_UPDATE_BYTES / 4 <= limits.maxRootTypes;
  if (update.length <= SMALL_UPDATE_BYTES && docUnits.counted <= cap / 2 && roomForRoots && placesWithoutWalk(doc, update)) {
    return { ...NO_COST, structs: SMALL_UNITS_PER_BYTE * update.length };
  }
  return updateCost(doc, update, cap - docUnits.units, limits.maxMergeStepsPerUpdate);
}

/**
 * What `update` would cost `doc` (costOf, its item units, and the document's units as they stand, counted
 * if `known` is undefined or made exact before a refusal: the caller keeps them), and the refusal if the
 * document may not take it: too many root types, too large in memory, or too much merge work at once.
 */
export function weighUpdate(
  doc: Y.Doc,
  update: Uint8Array,
  known: DocUnits | undefined,
  limits: RoomLimits,
): { docUnits: DocUnits; cost: UpdateCost; units: number; refused?: Refusal } {
  // Memory, not bytes: what the update would allocate in this document (splits, items, types).
  const cap = limits.maxDocItemUnits;
  let docUnits = known ?? countUnits(doc);
  const mergeCap = limits.maxMergeStepsPerUpdate;
  let cost = costOf(doc, update, cap, docUnits, limits);
  let units = itemUnits(cost);
  if (docUnits.units + units > cap && !docUnits.exact) {
    // The running count still holds structs Yjs has merged since: count exactly once before refusing.
    docUnits = countUnits(doc);
    cost = updateCost(doc, update, cap - docUnits.units, mergeCap);
    units = itemUnits(cost);
  }
  const weighed = { docUnits, cost, units };
  // Yjs finds a root's name by scanning every root: encoding is quadratic in their number.
  if (doc.share.size + cost.roots > limits.maxRootTypes) {
    return { ...weighed, refused: { ok: false, code: "too_large", message: "the update would give the document too many root types" } };
  }
  if (docUnits.units + units > cap) {
    return { ...weighed, refused: { ok: false, code: "too_large", message: "the update would make the document too large in memory" } };
  }
  // CPU, not memory: conflict resolution, paid now and again by every load and every fresh client.
  if (cost.mergeSteps > mergeCap) {
    return { ...weighed, refused: { ok: false, code: "too_large", message: "the update's concurrent edits would take too long to merge" } };
  }
  return weighed;
}
