/**
 * Awareness (y-protocols presence) as the room keeps it: who is here, with what state, and which
 * connection speaks for which client id. Pure, like the rest of src/sync.
 *
 * Three rules live here:
 * - **Ownership.** A connection speaks only for its own client ids. The stock y-websocket provider
 *   re-broadcasts every awareness change it applies, so its messages also name everyone else present:
 *   such an echo (another connection's id, or the id of a client that just left, at a clock the room
 *   already holds) is ignored: not stored, not sent, not counted against the connection. What a
 *   connection claims as its own is bounded (`maxAwarenessIdsPerConn`), and so is the room's total.
 * - **Batching.** Accepted entries are not sent one message per change: they wait in the room's state
 *   with a sequence number. A change (a new client, a new state, a removal) goes to everyone in the next
 *   change flush, one message with every change since the last; a renewal (the same state at a higher
 *   clock) waits for its recipient's group, whose tick sends one message with every renewal that group
 *   lacks. A change flush never carries renewals: each stock client that applies a message echoes all of
 *   it back, so a cursor move that carried the room's pending renewals would cost every client, and the
 *   room, hundreds of entries instead of one. When flushes happen is presence-pacing.ts's rule.
 * - **Leaving.** A leaving connection's ids are removed with a clock one past the last, remembered a
 *   while as tombstones so late echoes of them do not bring them back.
 */
import { CloseCode, type CloseRequest } from "./close-codes";
import { encodeAwareness, type AwarenessEntry } from "./frames";
import type { Clock, RoomConn, RoomLimits, Transport } from "./ports";
import { changeDueAt, pacing, RENEWAL_BUCKETS, renewalTicks } from "./presence-pacing";

interface AwarenessRecord {
  clock: number;
  stateJson: string;
  /** When it last changed, in the room's sequence: a flush sends what is newer than its recipients got. */
  seq: number;
  /**
   * Its latest entry is a change (or renews one not yet flushed): it travels in a change flush, never in a
   * renewal tick (a change flush reaches everyone).
   */
  change: boolean;
  /**
   * Claimed again by a returning client at a clock its peers already passed (they saw it leave): its next
   * entry, the client's answer to the correction it was sent, is a change, not a lazy renewal.
   */
  reclaimed?: boolean;
}

interface Tombstone {
  clock: number;
  at: number;
}

/** Removed ids are remembered this long (two y-protocols timeouts), so late echoes of them are ignored. */
export const TOMBSTONE_MS = 60_000;
/** And at most this many (the oldest go first). */
export const MAX_TOMBSTONES = 10_000;
/** Bytes an accepted entry adds to a message beside its state (client id, clock, length). */
const ENTRY_OVERHEAD_BYTES = 12;

type Entry = Pick<AwarenessEntry, "clientId" | "clock" | "stateJson">;

export interface AwarenessOutcome {
  refused?: CloseRequest;
  /** Bytes of what was accepted: what the room will send to every connection on its behalf. */
  acceptedBytes: number;
}

export class Presence<C extends RoomConn> {
  private readonly states = new Map<number, AwarenessRecord>();
  /** Which connection holds each client id (echoes from others are ignored). */
  private readonly owners = new Map<number, C>();
  private readonly tombstones = new Map<number, Tombstone>();
  /** Sum of the states' JSON lengths (bounded by `maxAwarenessBytesPerDoc`). */
  private bytes = 0;
  /** The last sequence number handed out; every accepted state takes the next (a renewal tick sends what is newer than its groups got). */
  private seq = 0;
  /** Per renewal group: the sequence number its connections have received up to (changes aside). */
  private readonly bucketSent: number[] = new Array(RENEWAL_BUCKETS).fill(0);
  /** Ids with a change since the last change flush (in `states`, or removed: in `tombstones`). */
  private readonly changedIds = new Set<number>();
  /** The sequence number of the latest renewal (a tick is due while a group has not received it). */
  private renewalSeq = 0;
  private readonly bucketOf = new WeakMap<C, number>();
  private nextBucket = 0;
  /** A change waits to be flushed. */
  private changePending = false;
  private lastChangeFlushAt = Number.NEGATIVE_INFINITY;
  /** The group the next renewal tick starts with, and when that tick is, if one is planned. */
  private tickFrom = 0;
  private tickAt: number | undefined;
  private timer: { at: number; cancel: () => void } | undefined;

  constructor(
    private readonly transport: Transport<C>,
    private readonly limits: RoomLimits,
    private readonly clock: Clock,
  ) {}

  /** Applies an awareness message from `conn`; refused (and nothing applied) when it breaks a limit. */
  apply(conn: C, entries: readonly AwarenessEntry[], now: number): AwarenessOutcome {
    const plan = this.plan(conn, entries);
    if ("refused" in plan) return { refused: plan.refused, acceptedBytes: 0 };
    let changed = false;
    let acceptedBytes = 0;
    let accepted = 0;
    let correction: AwarenessEntry[] | undefined;
    for (const e of plan.entries) {
      const current = this.states.get(e.clientId);
      // A later entry of the same message may name the same id: only a newer clock counts.
      if (this.owners.get(e.clientId) === conn && current && !(current.clock < e.clock || (current.clock === e.clock && e.removed))) continue;
      accepted++;
      acceptedBytes += e.stateJson.length + ENTRY_OVERHEAD_BYTES;
      if (e.removed) {
        this.remove(e.clientId, e.clock, now);
        conn.clientIds.delete(e.clientId);
        changed = true;
        continue;
      }
      const seq = ++this.seq;
      const tomb = this.tombstones.get(e.clientId);
      const reclaimed = tomb !== undefined && e.clock <= tomb.clock;
      if (reclaimed) {
        // A client back after leaving (its peers saw the removal at tomb.clock): y-protocols answers a
        // removal of its own live state by re-announcing it one clock later, which its peers accept.
        (correction ??= []).push({ clientId: e.clientId, clock: tomb.clock, stateJson: "null", removed: true });
      }
      const isChange = !current || current.stateJson !== e.stateJson || current.reclaimed === true || tomb !== undefined;
      // A renewal of a change not flushed yet rides with that change.
      const change = isChange || this.changedIds.has(e.clientId);
      if (change) this.changedIds.add(e.clientId);
      else this.renewalSeq = seq;
      if (isChange) changed = true;
      this.tombstones.delete(e.clientId);
      this.set(e.clientId, { clock: e.clock, stateJson: e.stateJson, seq, change, ...(reclaimed ? { reclaimed } : {}) });
      this.owners.set(e.clientId, conn);
      conn.clientIds.set(e.clientId, e.clock);
    }
    if (accepted === 0) return { acceptedBytes: 0 };
    this.transport.awarenessChanged(conn);
    if (correction) this.transport.send(conn, encodeAwareness(correction));
    this.due(now, changed);
    return { acceptedBytes };
  }

  /**
   * Sorts a whole message before any of it is applied, so a refused one changes nothing: entries that
   * would change something (the connection's own ids at a newer clock, or ids it claims), with the
   * message refused when its claims or sizes break a limit. Everything else is an echo, ignored.
   */
  private plan(conn: C, entries: readonly AwarenessEntry[]): { entries: AwarenessEntry[] } | { refused: CloseRequest } {
    const out: AwarenessEntry[] = [];
    const claims = new Set<number>();
    let growth = 0;
    for (const e of entries) {
      if (e.stateJson.length > this.limits.maxAwarenessStateBytes) return { refused: { code: CloseCode.tooLarge, reason: "awareness state too large" } };
      const owner = this.owners.get(e.clientId);
      // Another connection's id: the stock provider's echo of what the room sent it (or an impostor).
      if (owner !== undefined && owner !== conn) continue;
      const current = this.states.get(e.clientId);
      if (owner === conn) {
        const currentClock = current?.clock ?? conn.clientIds.get(e.clientId) ?? 0;
        const isNewer = currentClock < e.clock || (currentClock === e.clock && e.removed && current !== undefined);
        if (!isNewer) continue;
      } else {
        // Only a connection's own ids are its to remove.
        if (e.removed) continue;
        // An echo of someone who just left, unless it is that client coming back: a stock provider's first
        // message on a new connection names its own id alone.
        const tomb = this.tombstones.get(e.clientId);
        const returning = conn.clientIds.size === 0 && entries.length === 1;
        if (tomb && e.clock <= tomb.clock && !returning) continue;
        claims.add(e.clientId);
      }
      if (!e.removed) {
        if (!isJson(e.stateJson)) return { refused: { code: CloseCode.protocolError, reason: "malformed awareness state" } };
        growth += e.stateJson.length - (current?.stateJson.length ?? 0);
      }
      out.push(e);
    }
    if (!conn.speaksForMany && conn.clientIds.size + claims.size > this.limits.maxAwarenessIdsPerConn) {
      return { refused: { code: CloseCode.tooLarge, reason: "too many awareness client ids on one connection" } };
    }
    // The room's cap is shared: past it the newcomer waits (1013, retried) rather than being refused for good.
    if (growth > 0 && this.bytes + growth > this.limits.maxAwarenessBytesPerDoc) {
      return { refused: { code: CloseCode.tryAgainLater, reason: "the document's awareness is full: try again later" } };
    }
    return { entries: out };
  }

  private set(clientId: number, record: AwarenessRecord | undefined): void {
    this.bytes -= this.states.get(clientId)?.stateJson.length ?? 0;
    if (record) {
      this.states.set(clientId, record);
      this.bytes += record.stateJson.length;
    } else {
      this.states.delete(clientId);
    }
  }

  private remove(clientId: number, clock: number, now: number): void {
    this.changedIds.add(clientId);
    this.set(clientId, undefined);
    this.owners.delete(clientId);
    this.tombstones.delete(clientId); // re-inserted last: the map stays oldest first
    this.tombstones.set(clientId, { clock, at: now });
  }

  /** The state the room holds for `clientId` (JSON), if any. */
  state(clientId: number): string | undefined {
    return this.states.get(clientId)?.stateJson;
  }

  /**
   * Puts back what a connection held before the object hibernated (from its socket attachment): its
   * ids, and each state the attachment had room for, so joiners see everyone at once and a leaver's
   * removal carries a clock its peers accept.
   */
  restore(conn: C, clientId: number, clock: number, stateJson: string | undefined): void {
    this.owners.set(clientId, conn);
    if (stateJson === undefined || (this.states.get(clientId)?.clock ?? -1) >= clock) return;
    this.set(clientId, { clock, stateJson, seq: 0, change: false });
  }

  /**
   * Removes a leaving connection's awareness states; everyone else learns it with the next flush, never
   * within this call: when the room closes many sockets at once (a storage failure, a delete), those
   * closing learn nothing about each other.
   */
  disconnect(conn: C, now: number): void {
    if (conn.clientIds.size === 0) return;
    for (const [clientId, attachedClock] of conn.clientIds) {
      if (this.owners.get(clientId) !== conn) continue;
      const clock = Math.max(this.states.get(clientId)?.clock ?? 0, attachedClock) + 1;
      this.remove(clientId, clock, now);
    }
    conn.clientIds.clear();
    this.changePending = true;
    this.arm(now);
  }

  /** Every state the room holds, as one message (for a joiner or a query-awareness). */
  message(): Uint8Array | undefined {
    if (this.states.size === 0) return undefined;
    const entries = [...this.states].map(([clientId, r]) => ({ clientId, clock: r.clock, stateJson: r.stateJson }));
    return encodeAwareness(entries);
  }

  // ---- flushing ----

  private audience(): number {
    let n = 0;
    for (const _ of this.transport.connections()) n++;
    return n;
  }

  /** Something was accepted (`change`: more than a renewal): flush now, or plan when. */
  private due(now: number, change: boolean): void {
    if (change) this.changePending = true;
    const p = pacing(this.audience());
    if (p.renewalDelayMs === 0) {
      this.flushAll(now);
      return;
    }
    if (this.changePending && changeDueAt(p, this.lastChangeFlushAt, now) <= now) this.flushChanges(now);
    if (this.renewalPending()) this.tickAt ??= now + renewalTicks(p, this.audience()).everyMs;
    this.arm(now);
  }

  /** Sets the one timer for the earliest of: the pending change's flush, the next renewal tick. */
  private arm(now: number): void {
    const p = pacing(this.audience());
    const at = Math.min(this.changePending ? changeDueAt(p, this.lastChangeFlushAt, now) : Number.POSITIVE_INFINITY, this.tickAt ?? Number.POSITIVE_INFINITY);
    if (at === Number.POSITIVE_INFINITY) return;
    if (this.timer && this.timer.at <= at) return;
    this.timer?.cancel();
    const cancel = this.clock.setTimer(Math.max(0, at - now), () => this.onTimer());
    this.timer = { at, cancel };
  }

  private onTimer(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const p = pacing(this.audience());
    if (p.renewalDelayMs === 0) {
      // The room became small: everything goes at once again.
      this.flushAll(now);
      return;
    }
    if (this.changePending && changeDueAt(p, this.lastChangeFlushAt, now) <= now) this.flushChanges(now);
    if (this.tickAt !== undefined && this.tickAt <= now) this.renewalTick(now, p);
    this.arm(now);
  }

  /** A small room: every connection gets everything it lacks, changes and renewals, in one message at once. */
  private flushAll(now: number): void {
    this.timer?.cancel();
    this.timer = undefined;
    const changes = this.changeEntries();
    const bySent = new Map<number, Uint8Array | undefined>();
    for (const conn of this.transport.connections()) {
      const sent = this.bucketSent[this.bucket(conn)]!;
      if (!bySent.has(sent)) {
        const entries = [...changes, ...this.renewalEntries(sent)];
        bySent.set(sent, entries.length > 0 ? encodeAwareness(entries) : undefined);
      }
      const message = bySent.get(sent);
      if (message) this.transport.send(conn, message);
    }
    this.bucketSent.fill(this.seq);
    this.changesSent(now);
    this.tickAt = undefined;
  }

  /** Every change since the last change flush, in one message to every connection; renewals keep to their ticks. */
  private flushChanges(now: number): void {
    const entries = this.changeEntries();
    if (entries.length > 0) {
      const message = encodeAwareness(entries);
      for (const conn of this.transport.connections()) this.transport.send(conn, message);
    }
    this.changesSent(now);
  }

  private changesSent(now: number): void {
    this.changedIds.clear();
    this.changePending = false;
    this.lastChangeFlushAt = now;
    this.pruneTombstones(now);
  }

  /** The changes since the last change flush: states, and removals as y-protocols' null state. */
  private changeEntries(): Entry[] {
    const entries: Entry[] = [];
    for (const clientId of this.changedIds) {
      const r = this.states.get(clientId);
      const t = r ? undefined : this.tombstones.get(clientId);
      if (r) entries.push({ clientId, clock: r.clock, stateJson: r.stateJson });
      else if (t) entries.push({ clientId, clock: t.clock, stateJson: "null" });
    }
    return entries;
  }

  /** The renewals newer than `sent` (a change travels in change flushes, never here). */
  private renewalEntries(sent: number): Entry[] {
    const entries: Entry[] = [];
    for (const [clientId, r] of this.states) if (r.seq > sent && !r.change) entries.push({ clientId, clock: r.clock, stateJson: r.stateJson });
    return entries;
  }

  /** Some group has not received the latest renewal. */
  private renewalPending(): boolean {
    return this.bucketSent.some((x) => x < this.renewalSeq);
  }

  /** Serves the next few groups' renewals; plans the next tick while any group still lacks one. */
  private renewalTick(now: number, p: ReturnType<typeof pacing>): void {
    const { bucketsPerTick, everyMs } = renewalTicks(p, this.audience());
    const served = (b: number) => (b - this.tickFrom + RENEWAL_BUCKETS) % RENEWAL_BUCKETS < bucketsPerTick;
    const bySent = new Map<number, Uint8Array | undefined>();
    for (const conn of this.transport.connections()) {
      const b = this.bucket(conn);
      const sent = this.bucketSent[b]!;
      if (!served(b) || sent >= this.renewalSeq) continue;
      if (!bySent.has(sent)) {
        const entries = this.renewalEntries(sent);
        bySent.set(sent, entries.length > 0 ? encodeAwareness(entries) : undefined);
      }
      const message = bySent.get(sent);
      if (message) this.transport.send(conn, message);
    }
    for (let k = 0; k < bucketsPerTick; k++) this.bucketSent[(this.tickFrom + k) % RENEWAL_BUCKETS] = this.seq;
    this.tickFrom = (this.tickFrom + bucketsPerTick) % RENEWAL_BUCKETS;
    this.tickAt = this.renewalPending() ? now + everyMs : undefined;
  }

  private bucket(conn: C): number {
    let b = this.bucketOf.get(conn);
    if (b === undefined) {
      b = this.nextBucket++ % RENEWAL_BUCKETS;
      this.bucketOf.set(conn, b);
    }
    return b;
  }

  /** Run right after a change flush (every tombstone sent): they go once old enough that no echo is still on its way. */
  private pruneTombstones(now: number): void {
    for (const [id, t] of this.tombstones) {
      if (this.tombstones.size > MAX_TOMBSTONES || t.at + TOMBSTONE_MS <= now) this.tombstones.delete(id);
      else break;
    }
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
