/**
 * The document's size and last change, written back to its D1 catalog row a few seconds after a change
 * (an alarm duty): the catalog lists documents without waking their objects. Only this creation's row is
 * written, never a document re-created with the same id.
 */
import { writeBackDocument } from "../db/queries";
import type { DocRef } from "./rpc-types";

export const CATALOG_FLUSH_MS = 5_000;
/**
 * Plus up to this much at random: documents edited together (a class, a launch, a benchmark) would
 * otherwise all write to D1 in the same instant every 5 s. Locally every D1 write briefly stalls the
 * one process: 100 documents in step made W3's p99 140 ms; with no write-backs at all it was 43 ms.
 */
export const CATALOG_FLUSH_JITTER_MS = 5_000;

export interface CatalogSource {
  /** The row this object writes back to; undefined when no call has named it yet. */
  ref(): DocRef | undefined;
  sizeBytes(): number;
  /** When the document last changed (0: not since waking). */
  lastChangeAt(): number;
}

export class CatalogWriteBack {
  /** When the first change not yet written back happened. */
  private dirtySince: number | undefined;
  private dueAt = 0;
  /** False until this instance has written the catalog once (it cannot know what a previous one did). */
  private written = false;

  constructor(
    private readonly d1: D1Database,
    private readonly source: CatalogSource,
    private readonly jitter: () => number = Math.random,
  ) {}

  /** A change: the first one not yet written back answers when the write-back is due (the alarm's time). */
  changed(now: number): number | undefined {
    if (this.dirtySince !== undefined) return undefined;
    this.dirtySince = now;
    this.dueAt = now + CATALOG_FLUSH_MS + Math.round(this.jitter() * CATALOG_FLUSH_JITTER_MS);
    return this.dueAt;
  }

  /** The alarm duty: writes back when due; due again while a change is not written. */
  readonly duty = {
    name: "catalog write-back",
    run: async (now: number): Promise<number> => {
      // After a wake-up the object cannot know whether the last change reached D1: write it again then.
      if ((this.dirtySince !== undefined && now >= this.dueAt) || !this.written) await this.flush();
      return this.dirtySince === undefined ? Infinity : Math.max(this.dueAt, this.dirtySince + CATALOG_FLUSH_MS);
    },
  };

  /** The document was erased: nothing left to write. */
  reset(): void {
    this.dirtySince = undefined;
  }

  private async flush(): Promise<void> {
    const ref = this.source.ref();
    if (!ref) return;
    const updatedAt = this.source.lastChangeAt() || Date.now();
    const pendingSince = this.dirtySince;
    this.dirtySince = undefined;
    try {
      await writeBackDocument(this.d1, { ...ref, incarnation: ref.incarnation ?? "" }, { updatedAt, sizeBytes: this.source.sizeBytes() });
      this.written = true;
    } catch (e) {
      console.error("catalog write-back failed; retrying", { doc: ref.docId, error: String(e) });
      // Retry in about 30 s (the alarm is due CATALOG_FLUSH_MS after dirtySince), not in a tight loop.
      this.dirtySince = Math.max(this.dirtySince ?? 0, pendingSince ?? 0, Date.now() + 9 * CATALOG_FLUSH_MS);
    }
  }
}
