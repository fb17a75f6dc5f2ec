/**
 * The room's ledger of merge work (pure: no `cloudflare:*` import): the conflict-resolution steps loading
 * the stored document replays (cost/merge-work.ts), kept in the store across restarts, and when a
 * compaction refused for that work may be tried again.
 */
import type { UpdateStore } from "./ports";

/** Where the document's stored merge work (what a load replays) is kept across restarts. */
const MERGE_META = "mergeSteps";
/** Log entries a document must gain before a compaction refused for its merge work is tried again. */
const MERGE_RECOUNT_ENTRIES = 64;

export class MergeLedger {
  private storedMerge: number | undefined;
  /** The log's length when a compaction was last refused for its merge work (see RoomCore.maybeCompact). */
  private mergeBlockedAt: number | undefined;

  constructor(private readonly store: UpdateStore) {}

  /** The conflict-resolution steps loading the stored document replays (merge-work.ts), kept in the store. */
  get total(): number {
    this.storedMerge ??= Number(this.store.getMeta(MERGE_META) ?? 0) || 0;
    return this.storedMerge;
  }

  set total(steps: number) {
    this.storedMerge = steps;
    this.store.setMeta(MERGE_META, String(steps));
  }

  /** True while a compaction refused for its merge work waits for the log to grow before it is tried again. */
  get blocked(): boolean {
    return this.mergeBlockedAt !== undefined && this.store.logCount < this.mergeBlockedAt + MERGE_RECOUNT_ENTRIES;
  }

  /** Records whether the compaction about to be written was refused for its merge work (`refused`) or goes ahead. */
  compacting(refused: boolean): void {
    this.mergeBlockedAt = refused ? this.store.logCount : undefined;
  }
}
