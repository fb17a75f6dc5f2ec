/**
 * What frames do to a document and its awareness, independent of the transport and of storage
 * (no `cloudflare:*` import): the Durable Object wires sockets and SQLite into it (src/room), the unit
 * tests an in-memory store.
 *
 * Durability: an update is appended to the store before any message about it is handed to the
 * transport; the outbox (src/room/outbox.ts) holds every message until the append is committed.
 */
import * as Y from "yjs";
import { newBudgets } from "./budget";
import { Presence } from "./presence";
import { CloseCode, type CloseRequest } from "./close-codes";
import { coldAnswer, coldView, type ColdView } from "./cold-start";
import {
  CLIENT_ID_WINDOW_MS,
  type Clock,
  DEFAULT_LIMITS,
  realClock,
  shouldCompact,
  type ApplyOutcome,
  type Budgets,
  type RoomConn,
  type RoomLimits,
  type Transport,
  type UpdateStore,
  type Writer,
} from "./ports";
import { placesWithoutWalk } from "./cost/merge-work";
import { docItemUnits, itemUnits, loadMergeSteps, NO_COST, type UpdateCost, updateCost } from "./cost/update-cost";
import { decodeFrame, encodeSaved, encodeSyncStep1, encodeSyncStep2 } from "./frames";

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
/** Where the document's stored merge work (what a load replays) is kept across restarts. */
const MERGE_META = "mergeSteps";
/** Log entries a document must gain before a compaction refused for its merge work is tried again. */
const MERGE_RECOUNT_ENTRIES = 64;

/** What reading one awareness entry costs its sender's byte budget, beyond the frame's own bytes. */
export const AWARENESS_ENTRY_BYTES = 16;

/**
 * Item units (the live document's and a version's together) a restore may compare: 1.25 documents at the
 * cap, ~60 MB of heap for the worst kind of item, with room for the comparison in a 128 MB isolate
 * (test/e2e/restore-memory.e2e.ts).
 */
export const RESTORE_UNITS_FACTOR = 1.25;

/** Users whose rate budgets the room remembers at once. */
const MAX_TRACKED_USERS = 10_000;

const isEmptyUpdate = (u: Uint8Array) => u.length === 2 && u[0] === 0 && u[1] === 0;
const isEmptyStateVector = (sv: Uint8Array) => sv.length === 1 && sv[0] === 0;

export class RoomCore<C extends RoomConn> {
  private ydoc = this.newDoc();
  private loaded = false;
  /** undefined: not looked at yet; null: the cold path does not apply (loaded, or not exact). */
  private cold: ColdView | null | undefined;
  /** The whole state encoded once for fresh clients, until the next change. */
  private fullState: Uint8Array | undefined;
  private readonly presence: Presence<C>;
  private readonly userBudgets = new Map<string, Budgets>();
  /** Item units the loaded document holds (update-cost.ts): counted once, then kept as a running sum. */
  private docUnits: { units: number; exact: boolean; counted: number } | undefined;
  private storedMerge: number | undefined;
  /** The log's length when a compaction was last refused for its merge work (see maybeCompact). */
  private mergeBlockedAt: number | undefined;
  private emitted: Uint8Array[] = [];
  /** Longest compaction pause seen by this instance, ms. */
  longestCompactionMs = 0;

  constructor(
    private readonly store: UpdateStore,
    private readonly transport: Transport<C>,
    private readonly limits: RoomLimits = DEFAULT_LIMITS,
    /** Called after every change to the document's content (to refresh the catalog). */
    private readonly onChange: () => void = () => {},
    private readonly clock: Clock = realClock,
  ) {
    this.presence = new Presence(transport, limits, clock);
  }

  /** Set by every transaction that integrated structs or deleted something (what makes Yjs emit "update"). */
  private txnChanged = false;
  /** Registered only around applies whose effect must be re-encoded (see applyUpdate). */
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

  /**
   * Throws the in-memory document away; the next use reloads it from the store. Used when Yjs throws
   * half-way through integrating an update, and when storing an update failed: in both cases what was
   * integrated was never stored nor sent.
   */
  discardMemory(): void {
    this.docUnits = undefined;
    this.ydoc.destroy();
    this.ydoc = this.newDoc();
    this.loaded = false;
    this.cold = undefined;
    this.fullState = undefined;
    this.emitted = [];
  }

  /** The document, loaded from the store on first use (awareness traffic alone never loads it). */
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
    Y.transact(this.ydoc, () => {
      for (const entry of entries) {
        try {
          Y.applyUpdate(this.ydoc, entry);
        } catch {
          // Only validated updates are stored; a bad entry must not make the whole document unreadable.
        }
      }
    });
    this.emitted = [];
  }

  get storedBytes(): number {
    return this.store.snapshotBytes + this.store.logBytes;
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

  /** What the server sends when a client connects: its sync step 1 and, if any, the awareness states. */
  greet(conn: C): void {
    const cold = this.coldView();
    this.transport.send(conn, encodeSyncStep1(cold ? cold.stateVector : Y.encodeStateVector(this.doc)));
    const all = this.presence.message();
    if (all) this.transport.send(conn, all);
  }

  /** The budgets of the connection's user: one per user, whatever their number of sockets and tokens. */
  private budgetsOf(conn: C, now: number): Budgets {
    return this.budgetsFor(conn.userId, now);
  }

  /**
   * A read by `userId` that costs the object about `bytes` of work (a rendering, an encoding): paid from
   * the same byte allowance as their sockets' whole-document answers. False, with nothing taken, when it
   * does not fit (the caller refuses with 429).
   */
  chargeRead(userId: string, bytes: number, now = this.clock.now()): boolean {
    return this.budgetsFor(userId, now).bytes.take(now, Math.min(bytes, 2 * this.limits.maxDocBytes));
  }

  /**
   * A user's budgets, shared by all their sockets and tokens (read or write) and their REST writes, reads
   * and restores: one user, one allowance.
   */
  private budgetsFor(userId: string, now: number): Budgets {
    const key = userId;
    let budgets = this.userBudgets.get(key);
    if (!budgets) {
      // Bounded: past this many users the oldest budgets are forgotten (they refill, as after a wake-up).
      if (this.userBudgets.size >= MAX_TRACKED_USERS) this.userBudgets.delete(this.userBudgets.keys().next().value!);
      budgets = newBudgets(this.limits, now);
      this.userBudgets.set(key, budgets);
    }
    return budgets;
  }

  private countUnits(doc: Y.Doc): { units: number; exact: boolean; counted: number } {
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
  private costOf(doc: Y.Doc, update: Uint8Array, cap: number): UpdateCost {
    // A small update can name at most a few new roots; near the root cap, count them exactly.
    const roomForRoots = doc.share.size + SMALL_UPDATE_BYTES / 4 <= this.limits.maxRootTypes;
    if (update.length <= SMALL_UPDATE_BYTES && this.docUnits!.counted <= cap / 2 && roomForRoots && placesWithoutWalk(doc, update)) {
      return { ...NO_COST, structs: SMALL_UNITS_PER_BYTE * update.length };
    }
    return updateCost(doc, update, cap - this.docUnits!.units, this.limits.maxMergeStepsPerUpdate);
  }

  /** The conflict-resolution steps loading the stored document replays (merge-work.ts), kept in the store. */
  private get mergeTotal(): number {
    this.storedMerge ??= Number(this.store.getMeta(MERGE_META) ?? 0) || 0;
    return this.storedMerge;
  }

  private set mergeTotal(steps: number) {
    this.storedMerge = steps;
    this.store.setMeta(MERGE_META, String(steps));
  }

  /** Handles one binary frame. Returns a close request when the connection must end. */
  handleFrame(conn: C, bytes: Uint8Array, now = this.clock.now()): CloseRequest | undefined {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return { code: CloseCode.protocolError, reason: "malformed frame" };
    const frame = decoded.value;
    if (frame.kind === "unknown") return undefined;
    // A message that could never be accepted is refused for good before any budget is looked at:
    // a budget refusal is retried, and retrying this one would upload the same bytes forever.
    if ((frame.kind === "sync-step2" || frame.kind === "sync-update") && frame.update.length > this.limits.maxDocBytes && conn.access === "write") {
      return { code: CloseCode.tooLarge, reason: "update larger than the document size limit" };
    }
    const budgets = (conn.budgets ??= this.budgetsOf(conn, now));
    const spent = (frame.kind === "awareness" ? !budgets.awareness.take(now) : !budgets.messages.take(now)) || !budgets.bytes.take(now, bytes.length);
    if (spent) return { code: CloseCode.tryAgainLater, reason: "over the rate budget: try again later" };
    switch (frame.kind) {
      case "sync-step1": {
        const answer = isEmptyStateVector(frame.stateVector)
          ? this.sendWholeState(conn)
          : this.sendAnswer(conn, encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, frame.stateVector)));
        // A step 1 costs the server a whole-document answer: it is paid from the same byte budget.
        budgets.bytes.charge(now, answer);
        // What is durable once the answer goes out (the outbox holds it until pending updates commit).
        if (conn.saved) this.transport.send(conn, encodeSaved(this.durableStateVector()));
        return undefined;
      }
      case "sync-step2":
      case "sync-update": {
        // A read connection's writes are ignored, silently: the socket stays open.
        if (conn.access !== "write") return undefined;
        const outcome = this.applyUpdate(frame.update, frame.clientIds, { conn }, frame.kind === "sync-update", now);
        if (outcome.ok) return undefined;
        switch (outcome.code) {
          case "invalid_update":
            return { code: CloseCode.protocolError, reason: "invalid update" };
          case "too_large":
            return { code: CloseCode.tooLarge, reason: "document size limit reached" };
          case "too_many_client_ids":
            return { code: CloseCode.tooManyClientIds, reason: "too many new client ids" };
          case "rate_limited":
            return { code: CloseCode.tryAgainLater, reason: "over the rate budget: try again later" };
        }
        return undefined;
      }
      case "awareness": {
        // Reading each entry costs the server something even when it is an echo, ignored.
        budgets.bytes.charge(now, frame.entries.length * AWARENESS_ENTRY_BYTES);
        const { refused, acceptedBytes } = this.presence.apply(conn, frame.entries, now);
        if (refused) return refused;
        if (acceptedBytes === 0) return undefined;
        // What was accepted goes to every connection: the sender pays for that fan-out, not only its upload.
        let receivers = 0;
        for (const _ of this.transport.connections()) receivers++;
        budgets.bytes.charge(now, acceptedBytes * receivers);
        return undefined;
      }
      case "query-awareness": {
        const all = this.presence.message();
        if (all) budgets.bytes.charge(now, this.sendAnswer(conn, all));
        return undefined;
      }
    }
  }

  /** Sends `message` to `conn`; returns its size, what it cost. */
  private sendAnswer(conn: C, message: Uint8Array): number {
    this.transport.send(conn, message);
    return message.length;
  }

  /**
   * Applies a validated update (`clientIds` from `validateUpdate`) from a connection or from REST:
   * checks limits, applies, persists, then broadcasts what changed to every connection but the sender.
   * `by` names the writer: a connection, a client token's user (REST), or nobody (a secret-key write).
   */
  applyUpdate(update: Uint8Array, clientIds: ReadonlySet<number>, by: Writer<C> = {}, relay = false, now = Date.now()): ApplyOutcome {
    // A fresh client answers the server's step 1 with an empty update: nothing to do, and no reason to
    // load a cold document for it (that load would delay what the cold path just sent).
    if (isEmptyUpdate(update)) return { ok: true, changed: false };
    const origin = by.conn;
    const userId = origin?.userId ?? by.userId;
    // Every way content enters (a socket, REST, a restore) charges the user who caused it, from one
    // allowance: a socket's frame bytes were taken as it arrived, any other path's are taken here. A
    // secret-key write (no user) is the application's own, and is held to the document's limits only.
    const budgets = origin ? origin.budgets : userId !== undefined ? this.budgetsFor(userId, now) : undefined;
    if (!origin && budgets && !budgets.bytes.take(now, update.length)) {
      return { ok: false, code: "rate_limited", message: "over the user's write budget (MAX_SYNC_BYTES_PER_SECOND): try again later" };
    }
    const known = this.doc.store.clients;
    const newIds: number[] = [];
    for (const id of clientIds) if (!known.has(id)) newIds.push(id);
    if (newIds.length > 0) {
      const allowed =
        userId === undefined
          ? this.limits.maxClientIdsPerSecretWrite
          : this.limits.maxClientIdsPerUser - this.store.clientIdsIntroduced(userId, now - CLIENT_ID_WINDOW_MS);
      if (newIds.length > allowed) return { ok: false, code: "too_many_client_ids", message: "too many new Yjs client ids" };
    }
    if (this.storedBytes + update.length > this.limits.maxDocBytes) {
      // The log still counts content deleted since: fold it first, so deleted bytes never lock writers out.
      if (this.store.logCount > 0) this.maybeCompact(true);
      if (this.storedBytes + update.length > this.limits.maxDocBytes) {
        return { ok: false, code: "too_large", message: "the document would exceed its size limit" };
      }
    }
    const doc = this.doc;
    // Memory, not bytes: what the update would allocate in this document (splits, items, types).
    const cap = this.limits.maxDocItemUnits;
    this.docUnits ??= this.countUnits(doc);
    const mergeCap = this.limits.maxMergeStepsPerUpdate;
    let cost = this.costOf(doc, update, cap);
    let units = itemUnits(cost);
    if (this.docUnits.units + units > cap && !this.docUnits.exact) {
      // The running count still holds structs Yjs has merged since: count exactly once before refusing.
      this.docUnits = this.countUnits(doc);
      cost = updateCost(doc, update, cap - this.docUnits.units, mergeCap);
      units = itemUnits(cost);
    }
    // Yjs finds a root's name by scanning every root: encoding is quadratic in their number.
    if (doc.share.size + cost.roots > this.limits.maxRootTypes) {
      return { ok: false, code: "too_large", message: "the update would give the document too many root types" };
    }
    if (this.docUnits.units + units > cap) {
      return { ok: false, code: "too_large", message: "the update would make the document too large in memory" };
    }
    // CPU, not memory: conflict resolution, paid now and again by every load and every fresh client.
    const steps = cost.mergeSteps;
    if (steps > mergeCap) {
      return { ok: false, code: "too_large", message: "the update's concurrent edits would take too long to merge" };
    }
    if (steps > 0 && this.mergeTotal + steps > this.limits.maxDocMergeSteps) {
      // The running total only grows between compactions; a compaction counts what a load really replays.
      if (this.store.logCount > 0) this.maybeCompact(true);
      if (this.mergeTotal + steps > this.limits.maxDocMergeSteps) {
        return { ok: false, code: "too_large", message: "the document holds too many concurrent edits to merge more" };
      }
    }
    const { pendingStructs, pendingDs } = doc.store;
    // Yjs merges new pending parts into its pending object in place: compare the bytes it holds, not the object.
    const pendingUpdate = pendingStructs?.update;
    // An incremental update (a client's typing) is relayed as it came: re-encoding what Yjs integrated
    // would rebuild the same structs. A sync step 2 or a REST write is re-encoded instead (it carries the
    // sender's whole delete set), and so is anything applied while older parts wait for their
    // dependencies, so that those parts travel once they are integrated.
    const reencode = !relay || pendingStructs !== null || pendingDs !== null;
    this.emitted = [];
    this.txnChanged = false;
    if (reencode) doc.on("update", this.collect);
    try {
      Y.applyUpdate(doc, update);
    } catch {
      // Validation catches malformed bytes; Yjs can still refuse a well-formed update whose references
      // make no sense, possibly after integrating part of it. Nothing of it was stored or sent.
      this.discardMemory();
      return { ok: false, code: "invalid_update", message: "the update was rejected by Yjs" };
    } finally {
      doc.off("update", this.collect);
    }
    this.docUnits = { ...this.docUnits, units: this.docUnits.units + units, exact: false };
    if (steps > 0) {
      this.mergeTotal += steps;
      budgets?.bytes.charge(now, steps * MERGE_STEP_BYTES);
    }
    const emitted = this.emitted;
    this.emitted = [];
    const changed = this.txnChanged;
    const pendingChanged = doc.store.pendingStructs?.update !== pendingUpdate || doc.store.pendingDs !== pendingDs;
    if (!changed && !pendingChanged) return { ok: true, changed: false };
    const pendingBytes = (doc.store.pendingStructs?.update.length ?? 0) + (doc.store.pendingDs?.length ?? 0);
    if (pendingChanged && pendingBytes > this.limits.maxPendingBytes) {
      // Parts waiting for missing dependencies are retried on every later update: bound them. Nothing of
      // this one was stored or sent, so the document is reloaded from what is.
      this.discardMemory();
      return { ok: false, code: "too_large", message: "too much of the document waits for missing updates" };
    }
    // Every update applied while parts wait makes Yjs retry them all: its sender pays for that work.
    if (pendingBytes > 0) budgets?.bytes.charge(now, pendingBytes);
    // Durable before visible: the raw update (pending parts included) is stored before any send.
    this.store.append(update);
    this.fullState = undefined;
    if (userId !== undefined && newIds.length > 0) this.store.recordClientIds(userId, newIds, now);
    // A relayed update that is left partly pending travels whole: receivers hold the same pending parts.
    if (!reencode) this.transport.broadcastUpdate(update, origin);
    else for (const u of emitted) this.transport.broadcastUpdate(u, origin);
    this.maybeCompact();
    this.onChange();
    return { ok: true, changed };
  }

  /**
   * Answers a fresh client (empty state vector). A cold document answers from its stored bytes
   * without loading Yjs: snapshot and log entries in stored (causal) order as updates, so the client
   * integrates each as it comes instead of holding later ones as pending, then an empty step 2, so it
   * counts itself synced only once it has everything. A loaded one encodes once and reuses it.
   */
  private sendWholeState(conn: C): number {
    const cold = this.coldView();
    if (cold) {
      cold.answer ??= coldAnswer(cold.entries);
      let bytes = 0;
      for (const message of cold.answer) bytes += this.sendAnswer(conn, message);
      return bytes;
    }
    this.fullState ??= Y.encodeStateAsUpdate(this.doc);
    return this.sendAnswer(conn, encodeSyncStep2(this.fullState));
  }

  /** The awareness state the room holds for `clientId` (JSON), if any. */
  awarenessState(clientId: number): string | undefined {
    return this.presence.state(clientId);
  }

  /** Puts back an awareness id (and its state, if kept) a connection held before the object hibernated (see Presence.restore). */
  restoreAwareness(conn: C, clientId: number, clock: number, stateJson: string | undefined): void {
    this.presence.restore(conn, clientId, clock, stateJson);
  }

  /** Removes a leaving connection's awareness states; everyone else learns it with the next presence flush. */
  disconnect(conn: C): void {
    this.presence.disconnect(conn, this.clock.now());
  }

  /** Folds the log into a snapshot when the policy says so; pending (not yet integrable) updates stay in the tail. */
  maybeCompact(force = false): void {
    if (!force && !shouldCompact(this.store)) return;
    // A snapshot whose load would take more conflict resolution than the document may hold is not
    // written: the log it would replace replays in the order it was counted in. Tried again only once
    // the log has grown, so a document in that state does not pay for the count on every update.
    if (this.mergeBlockedAt !== undefined && this.store.logCount < this.mergeBlockedAt + MERGE_RECOUNT_ENTRIES) return;
    const started = Date.now();
    const snapshot = Y.encodeStateAsUpdate(this.doc);
    const merge = loadMergeSteps(snapshot, this.limits.maxDocMergeSteps);
    if (merge > this.limits.maxDocMergeSteps) {
      this.mergeBlockedAt = this.store.logCount;
      return;
    }
    this.mergeBlockedAt = undefined;
    const tail: Uint8Array[] = [];
    const { pendingStructs, pendingDs } = this.doc.store;
    // Yjs keeps pending parts in the v2 format; the store holds v1.
    if (pendingStructs) tail.push(Y.convertUpdateFormatV2ToV1(pendingStructs.update));
    if (pendingDs) tail.push(Y.convertUpdateFormatV2ToV1(pendingDs));
    try {
      this.store.compact(snapshot, tail);
      this.docUnits = undefined;
      // Pending parts were counted in full when they arrived; they stay counted until they integrate.
      this.mergeTotal = merge + (tail.length > 0 ? this.mergeTotal : 0);
    } catch {
      // A failed compaction changes nothing: the log it would have replaced is still there.
      return;
    }
    this.longestCompactionMs = Math.max(this.longestCompactionMs, Date.now() - started);
  }

  /**
   * The forward edit that makes the document's content `version`'s (restore.ts), and the content before
   * it (for the before-restore version). Computed on a copy loaded from the store while the live document
   * is out of memory: a restore holds the copy and the version at once, about twice the document, never
   * three documents (the 128 MB isolate; test/e2e/restore-memory.e2e.ts). The next use reloads the live
   * document. Refused up front when the two are too large together; throws as restore.ts does (content
   * it cannot restore). The document is unchanged either way.
   */
  restoreEdit(
    version: Y.Doc,
    onCopy: (copy: Y.Doc, version: Y.Doc) => Uint8Array,
  ): { ok: true; update: Uint8Array; current: Uint8Array } | { ok: false; message: string } {
    // The copy and the version together, plus what comparing them takes, must leave the isolate room:
    // their item units may add up to RESTORE_UNITS_FACTOR documents' worth (MAX_DOC_ITEM_UNITS), or the
    // restore is refused before anything is copied. A document at the cap can still go back to a version
    // a quarter its size; two documents near the cap cannot be compared in 128 MB.
    const units = docItemUnits(this.doc) + docItemUnits(version);
    if (units > RESTORE_UNITS_FACTOR * this.limits.maxDocItemUnits) {
      return { ok: false, message: "the document and this version are too large to restore together within the object's memory" };
    }
    this.discardMemory();
    const copy = new Y.Doc({ gc: true });
    const entries = this.store.load();
    Y.transact(copy, () => {
      for (const entry of entries) {
        try {
          Y.applyUpdate(copy, entry);
        } catch {
          // As load() does: a bad stored entry is skipped, never fatal.
        }
      }
    });
    entries.length = 0;
    const current = Y.encodeStateAsUpdate(copy);
    return { ok: true, update: onCopy(copy, version), current };
  }

  /** The whole state, or what a given state vector lacks, as one v1 update. */
  encodeState(stateVector?: Uint8Array): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc, stateVector);
  }

  /**
   * The state vector of what is stored, once what is pending commits: every update the document holds was
   * appended before it was applied, so it is the document's own (a cold document's, from its entries).
   */
  durableStateVector(): Uint8Array {
    const cold = this.coldView();
    return cold ? cold.stateVector : Y.encodeStateVector(this.doc);
  }

  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }
}
