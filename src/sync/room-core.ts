/**
 * What frames do to a document and its awareness, independent of the transport and of storage
 * (no `cloudflare:*` import): the Durable Object wires sockets and SQLite into it (src/room), the unit
 * tests an in-memory store.
 *
 * Durability: an update is appended to the store before any message about it is handed to the
 * transport; the outbox (src/sync/outbox.ts) holds every message until the append is committed.
 */
import * as Y from "yjs";
import { budgetsOfUser } from "./budget";
import { Presence } from "./presence";
import { CloseCode, closeForRefusal, type CloseRequest } from "./close-codes";
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
import { loadMergeSteps } from "./cost/update-cost";
import { decodeFrame, encodeSaved, encodeSyncStep1, encodeSyncStep2, isEmptyStateVector, isEmptyUpdate } from "./frames";
import { type DocUnits, MERGE_STEP_BYTES, weighUpdate } from "./room-cost";
import { pendingBytes, pendingTail, RoomDoc } from "./room-doc";
import { MergeLedger } from "./room-merge";
import { editStoredCopy, restoreFits } from "./room-restore";

export { MERGE_STEP_BYTES, SMALL_UNITS_PER_BYTE, SMALL_UPDATE_BYTES } from "./room-cost";
export { RESTORE_UNITS_FACTOR } from "./room-restore";

/** What reading one awareness entry costs its sender's byte budget, beyond the frame's own bytes. */
export const AWARENESS_ENTRY_BYTES = 16;

export class RoomCore<C extends RoomConn> {
  /** The document: loaded on first use, answered from its stored bytes until then (room-doc.ts). */
  private readonly mem: RoomDoc;
  private readonly presence: Presence<C>;
  private readonly userBudgets = new Map<string, Budgets>();
  /** Item units the loaded document holds (update-cost.ts): counted once, then kept as a running sum. */
  private docUnits: DocUnits | undefined;
  /** The merge work loading the stored document replays, and when a compaction refused for it is retried. */
  private readonly ledger: MergeLedger;
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
    this.mem = new RoomDoc(store);
    this.ledger = new MergeLedger(store);
    this.presence = new Presence(transport, limits, clock);
  }

  /**
   * Throws the in-memory document away; the next use reloads it from the store. Used when Yjs throws
   * half-way through integrating an update, and when storing an update failed: in both cases what was
   * integrated was never stored nor sent.
   */
  discardMemory(): void {
    this.docUnits = undefined;
    this.mem.discard();
  }

  /** The document, loaded from the store on first use (awareness traffic alone never loads it). */
  get doc(): Y.Doc {
    return this.mem.doc;
  }

  get storedBytes(): number {
    return this.store.snapshotBytes + this.store.logBytes;
  }

  get isLoaded(): boolean {
    return this.mem.isLoaded;
  }

  /** What the server sends when a client connects: its sync step 1 and, if any, the awareness states. */
  greet(conn: C): void {
    this.transport.send(conn, encodeSyncStep1(this.mem.durableStateVector()));
    const all = this.presence.message();
    if (all) this.transport.send(conn, all);
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
    return budgetsOfUser(this.userBudgets, userId, this.limits, now);
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
    // The budgets of the connection's user: one per user, whatever their number of sockets and tokens.
    const budgets = (conn.budgets ??= this.budgetsFor(conn.userId, now));
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
        return outcome.ok ? undefined : closeForRefusal(outcome.code);
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
    // Memory (item units, root types) and CPU (merge work) the update would cost: room-cost.ts.
    const weighed = weighUpdate(doc, update, this.docUnits, this.limits);
    this.docUnits = weighed.docUnits;
    if (weighed.refused) return weighed.refused;
    const { units } = weighed;
    const steps = weighed.cost.mergeSteps;
    if (steps > 0 && this.ledger.total + steps > this.limits.maxDocMergeSteps) {
      // The running total only grows between compactions; a compaction counts what a load really replays.
      if (this.store.logCount > 0) this.maybeCompact(true);
      if (this.ledger.total + steps > this.limits.maxDocMergeSteps) {
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
    let applied: { changed: boolean; emitted: Uint8Array[] };
    try {
      applied = this.mem.apply(update, reencode);
    } catch {
      // Validation catches malformed bytes; Yjs can still refuse a well-formed update whose references
      // make no sense, possibly after integrating part of it. Nothing of it was stored or sent.
      this.discardMemory();
      return { ok: false, code: "invalid_update", message: "the update was rejected by Yjs" };
    }
    this.docUnits = { ...this.docUnits, units: this.docUnits.units + units, exact: false };
    if (steps > 0) {
      this.ledger.total += steps;
      budgets?.bytes.charge(now, steps * MERGE_STEP_BYTES);
    }
    const { changed, emitted } = applied;
    const pendingChanged = doc.store.pendingStructs?.update !== pendingUpdate || doc.store.pendingDs !== pendingDs;
    if (!changed && !pendingChanged) return { ok: true, changed: false };
    const pending = pendingBytes(doc);
    if (pendingChanged && pending > this.limits.maxPendingBytes) {
      // Parts waiting for missing dependencies are retried on every later update: bound them. Nothing of
      // this one was stored or sent, so the document is reloaded from what is.
      this.discardMemory();
      return { ok: false, code: "too_large", message: "too much of the document waits for missing updates" };
    }
    // Every update applied while parts wait makes Yjs retry them all: its sender pays for that work.
    if (pending > 0) budgets?.bytes.charge(now, pending);
    // Durable before visible: the raw update (pending parts included) is stored before any send.
    this.store.append(update);
    this.mem.changed();
    if (userId !== undefined && newIds.length > 0) this.store.recordClientIds(userId, newIds, now);
    // A relayed update that is left partly pending travels whole: receivers hold the same pending parts.
    if (!reencode) this.transport.broadcastUpdate(update, origin);
    else for (const u of emitted) this.transport.broadcastUpdate(u, origin);
    this.maybeCompact();
    this.onChange();
    return { ok: true, changed };
  }

  /** Answers a fresh client (empty state vector) with the whole state (RoomDoc.wholeState); returns what it cost. */
  private sendWholeState(conn: C): number {
    let bytes = 0;
    for (const message of this.mem.wholeState()) bytes += this.sendAnswer(conn, message);
    return bytes;
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
    if (this.ledger.blocked) return;
    const started = Date.now();
    const snapshot = Y.encodeStateAsUpdate(this.doc);
    const merge = loadMergeSteps(snapshot, this.limits.maxDocMergeSteps);
    const refused = merge > this.limits.maxDocMergeSteps;
    this.ledger.compacting(refused);
    if (refused) return;
    const tail = pendingTail(this.doc);
    try {
      this.store.compact(snapshot, tail);
      this.docUnits = undefined;
      // Pending parts were counted in full when they arrived; they stay counted until they integrate.
      this.ledger.total = merge + (tail.length > 0 ? this.ledger.total : 0);
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
    // The copy and the version must fit in the isolate together (room-restore.ts), or nothing is copied.
    if (!restoreFits(this.doc, version, this.limits)) {
      return { ok: false, message: "the document and this version are too large to restore together within the object's memory" };
    }
    this.discardMemory();
    return editStoredCopy(this.store, version, onCopy);
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
    return this.mem.durableStateVector();
  }

  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }
}
