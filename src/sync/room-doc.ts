/**
 * The room's document in memory (pure: no `cloudflare:*` import): loaded from the store on first use, and
 * until then, when the stored bytes allow it, a cold view of them (cold-start.ts) that greets clients and
 * answers fresh ones without Yjs. RoomCore holds one; awareness traffic alone never loads it.
 */
import * as Y from "yjs";
import { coldAnswer, coldView, type ColdView } from "./cold-start";
import { encodeSyncStep2 } from "./frames";
import type { UpdateStore } from "./ports";

/** Applies stored entries to `doc` in one transaction. Entries Yjs cannot read are skipped, never fatal. */
export function applyStored(doc: Y.Doc, entries: Uint8Array[]): void {
  Y.transact(doc, () => {
    for (const entry of entries) {
      try {
        Y.applyUpdate(doc, entry);
      } catch {
        // Only validated updates are stored; a bad entry must not make the whole document unreadable.
      }
    }
  });
}

/** The parts of `doc` that wait for missing updates, as entries the store can keep after a snapshot. */
export function pendingTail(doc: Y.Doc): Uint8Array[] {
  const tail: Uint8Array[] = [];
  const { pendingStructs, pendingDs } = doc.store;
  // Yjs keeps pending parts in the v2 format; the store holds v1.
  if (pendingStructs) tail.push(Y.convertUpdateFormatV2ToV1(pendingStructs.update));
  if (pendingDs) tail.push(Y.convertUpdateFormatV2ToV1(pendingDs));
  return tail;
}

/** The bytes of `doc`'s pending parts: Yjs retries them all on every later update. */
export function pendingBytes(doc: Y.Doc): number {
  return (doc.store.pendingStructs?.update.length ?? 0) + (doc.store.pendingDs?.length ?? 0);
}

export class RoomDoc {
  private ydoc = this.newDoc();
  private loaded = false;
  /** undefined: not looked at yet; null: the cold path does not apply (loaded, or not exact). */
  private cold: ColdView | null | undefined;
  /** The whole state encoded once for fresh clients, until the next change. */
  private fullState: Uint8Array | undefined;
  private emitted: Uint8Array[] = [];

  constructor(private readonly store: UpdateStore) {}

  /** Set by every transaction that integrated structs or deleted something (what makes Yjs emit "update"). */
  private txnChanged = false;
  /** Registered only around applies whose effect must be re-encoded (see apply). */
  private readonly collect = (update: Uint8Array): void => {
    this.emitted.push(update);
  };

  private newDoc(): Y.Doc {
    const doc = new Y.Doc({ gc: true });
    doc.on("afterTransaction", (tr: Y.Transaction) => {
      if (tr.deleteSet.clients.size > 0) this.txnChanged = true;
      else for (const [client, clock] of tr.afterState) if (tr.beforeState.get(client) !== clock) this.txnChanged = true;
    });
    return doc;
  }

  /** Throws the in-memory document away; the next use reloads it from the store (RoomCore.discardMemory). */
  discard(): void {
    this.ydoc.destroy();
    this.ydoc = this.newDoc();
    this.loaded = false;
    this.cold = undefined;
    this.fullState = undefined;
    this.emitted = [];
  }

  /** The document, loaded from the store on first use. */
  get doc(): Y.Doc {
    if (!this.loaded) this.load();
    return this.ydoc;
  }

  /** Loads the stored document. Entries Yjs cannot read are skipped, never fatal. */
  private load(): void {
    this.loaded = true;
    const entries = this.cold?.entries ?? this.store.load();
    this.cold = null;
    this.loadEntries(entries);
  }

  private loadEntries(entries: Uint8Array[]): void {
    applyStored(this.ydoc, entries);
    this.emitted = [];
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  private coldView(): ColdView | null {
    if (this.loaded) return null;
    if (this.cold === undefined) {
      const entries = this.store.load();
      this.cold = coldView(entries);
      // Not exact from stored bytes: load what was just read instead of reading storage twice.
      if (!this.cold) {
        this.loaded = true;
        this.loadEntries(entries);
      }
    }
    return this.cold;
  }

  /**
   * Applies `update` to the document and reports whether any transaction changed it and, when `reencode`,
   * the updates Yjs emitted for what it integrated. Throws as `Y.applyUpdate` does (possibly after
   * integrating part of the update: the caller discards the memory).
   */
  apply(update: Uint8Array, reencode: boolean): { changed: boolean; emitted: Uint8Array[] } {
    const doc = this.doc;
    this.emitted = [];
    this.txnChanged = false;
    if (reencode) doc.on("update", this.collect);
    try {
      Y.applyUpdate(doc, update);
    } finally {
      doc.off("update", this.collect);
    }
    const emitted = this.emitted;
    this.emitted = [];
    return { changed: this.txnChanged, emitted };
  }

  /** Forgets the encoded whole state: the document changed. */
  changed(): void {
    this.fullState = undefined;
  }

  /**
   * The messages that answer a fresh client (empty state vector). A cold document answers from its
   * stored bytes without loading Yjs: snapshot and log entries in stored (causal) order as updates, so
   * the client integrates each as it comes instead of holding later ones as pending, then an empty step 2,
   * so it counts itself synced only once it has everything. A loaded one encodes once and reuses it.
   */
  wholeState(): Uint8Array[] {
    const cold = this.coldView();
    if (cold) {
      cold.answer ??= coldAnswer(cold.entries);
      return cold.answer;
    }
    this.fullState ??= Y.encodeStateAsUpdate(this.doc);
    return [encodeSyncStep2(this.fullState)];
  }

  /**
   * The state vector of what is stored, once what is pending commits: every update the document holds was
   * appended before it was applied, so it is the document's own (a cold document's, from its entries).
   */
  durableStateVector(): Uint8Array {
    const cold = this.coldView();
    return cold ? cold.stateVector : Y.encodeStateVector(this.doc);
  }
}
