/**
 * The cold path: a document not yet loaded answers from its stored bytes, without Yjs. Its state vector
 * comes from the entries' clock ranges, and a fresh client gets the entries themselves, in stored
 * (causal) order, so it integrates each as it comes instead of holding later ones as pending.
 */
import * as Y from "yjs";
import { endsGroup, mergeOrKeep } from "./coalesce";
import { encodeSyncStep2, encodeUpdate } from "./frames";
import { updateClockRanges } from "./cost/update-check";

/** A document not yet loaded, as stored: enough to greet clients and answer fresh ones without Yjs. */
export interface ColdView {
  entries: Uint8Array[];
  stateVector: Uint8Array;
  /** The messages that answer a fresh client, built on first use and kept for the next ones. */
  answer?: Uint8Array[];
}

/** Most stored entries the cold path sends as they are (the compaction policy bounds their bytes); a longer tail is loaded instead. */
export const MAX_COLD_ENTRIES = 1024;

/**
 * The state vector of stored entries, computed from their clock ranges without integrating them.
 * Undefined when that would not be exact: an entry with gaps, or one that starts past what the
 * entries before it hold (it would be pending in Yjs).
 */
export function storedStateVector(entries: Uint8Array[]): Uint8Array | undefined {
  const sv = new Map<number, number>();
  for (const entry of entries) {
    let ranges;
    try {
      ranges = updateClockRanges(entry);
    } catch {
      return undefined;
    }
    for (const [client, r] of ranges) {
      const have = sv.get(client) ?? 0;
      if (!r.contiguous || r.from > have) return undefined;
      if (r.to > have) sv.set(client, r.to);
    }
  }
  return Y.encodeStateVector(sv);
}

/** The stored entries as a cold view, or null when the cold path does not apply (too many, or not exact). */
export function coldView(entries: Uint8Array[]): ColdView | null {
  const stateVector = entries.length <= MAX_COLD_ENTRIES ? storedStateVector(entries) : undefined;
  return stateVector ? { entries, stateVector } : null;
}

const EMPTY_UPDATE = new Uint8Array([0, 0]);

/**
 * The messages that answer a fresh client from stored entries: consecutive small entries (typing) share a
 * message, as the fan-out merges them (coalesce.ts), because every message has a fixed cost on the wire;
 * big ones (the snapshot, pastes) go as stored. Then an empty step 2, so the client counts itself synced
 * only once it has everything.
 */
export function coldAnswer(entries: readonly Uint8Array[]): Uint8Array[] {
  const answer: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let groupBytes = 0;
  const endGroup = (): void => {
    if (group.length > 0) for (const u of mergeOrKeep(group)) answer.push(encodeUpdate(u));
    group = [];
    groupBytes = 0;
  };
  for (const entry of entries) {
    if (endsGroup(group.length, groupBytes, entry)) endGroup();
    group.push(entry);
    groupBytes += entry.length;
  }
  endGroup();
  answer.push(encodeSyncStep2(EMPTY_UPDATE));
  return answer;
}
