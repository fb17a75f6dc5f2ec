/**
 * The room's side of a restore (pure: no `cloudflare:*` import): whether the live document and a version
 * fit in memory together, and the copy of the stored document the edit is computed on while the live one
 * is out of memory (the edit itself is src/versions/restore.ts's, passed in by the object).
 */
import * as Y from "yjs";
import { docItemUnits } from "./cost/update-cost";
import type { RoomLimits, UpdateStore } from "./ports";
import { applyStored } from "./room-doc";

/**
 * Item units (the live document's and a version's together) a restore may compare: 1.25 documents at the
 * cap, ~60 MB of heap for the worst kind of item, with room for the comparison in a 128 MB isolate
 * (test/e2e/restore-memory.e2e.ts).
 */
export const RESTORE_UNITS_FACTOR = 1.25;

/**
 * Whether `doc` and `version` may be compared in the isolate's memory. The copy and the version together,
 * plus what comparing them takes, must leave the isolate room: their item units may add up to
 * RESTORE_UNITS_FACTOR documents' worth (MAX_DOC_ITEM_UNITS), or the restore is refused before anything
 * is copied. A document at the cap can still go back to a version a quarter its size; two documents near
 * the cap cannot be compared in 128 MB.
 */
export function restoreFits(doc: Y.Doc, version: Y.Doc, limits: RoomLimits): boolean {
  const units = docItemUnits(doc) + docItemUnits(version);
  return units <= RESTORE_UNITS_FACTOR * limits.maxDocItemUnits;
}

/**
 * Loads a copy of the stored document (a bad stored entry is skipped, as a load does), hands it to
 * `onCopy` with the version, and returns the edit and the content before it. The caller has put the live
 * document out of memory first.
 */
export function editStoredCopy(
  store: UpdateStore,
  version: Y.Doc,
  onCopy: (copy: Y.Doc, version: Y.Doc) => Uint8Array,
): { ok: true; update: Uint8Array; current: Uint8Array } {
  const copy = new Y.Doc({ gc: true });
  const entries = store.load();
  applyStored(copy, entries);
  entries.length = 0;
  const current = Y.encodeStateAsUpdate(copy);
  return { ok: true, update: onCopy(copy, version), current };
}
