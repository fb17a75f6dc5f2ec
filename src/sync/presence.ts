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
 *   with a sequence number, and a flush sends each connection one message with everything it has not
 *   yet received. When flushes happen is presence-pacing.ts's rule.
 * - **Leaving.** A leaving connection's ids are removed with a clock one past the last, remembered a
 *   while as tombstones so late echoes of them do not bring them back.
 */
import { CloseCode, type CloseRequest } from "./close-codes";
import { encodeAwareness, type AwarenessEntry } from "./frames";
import type { Clock, RoomConn, RoomLimits, Transport } from "./ports";
import { changeDueAt, pacing, RENEWAL_SLOTS, renewalTickMs } from "./presence-pacing";

interface AwarenessRecord {
  clock: number;
  stateJson: string;
  /** When it last changed, in the room's sequence: a flush sends what is newer than its recipients got. */
  seq: number;
  /**
   * Claimed again by a returning client at a clock its peers already passed (they saw it leave): its next
   * entry, the client's answer to the correction it was sent, is a change, not a lazy renewal.
   */
  reclaimed?: boolean;
}

interface Tombstone {
  clock: number;
  seq: number;
  at: number;
}

/** Removed ids are remembered this long (two y-protocols timeouts), so late echoes of them are ignored. */
export const TOMBSTONE_MS = 60_000;
/** And at most this many (the oldest go first). */
export const MAX_TOMBSTONES = 10_000;
/** Bytes an accepted entry adds to a message beside its state (client id, clock, length). */
const ENTRY_OVERHEAD_BYTES = 12;

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
  /** The last sequence number handed out; every accepted entry or removal takes the next. */
  private seq = 0;
  /** Per renewal slot: the sequence number its connections have received up to. */
  private readonly slotSent: number[] = new Array(RENEWAL_SLOTS).fill(0);
  private readonly slotOf = new WeakMap<C, number>();
  private nextSlot = 0;
  /** A change waits to be flushed. */
  private changePending = false;
  private lastChangeFlushAt = Number.NEGATIVE_INFINITY;
  /** The next renewal tick (which serves slot `tick % RENEWAL_SLOTS`), if one is planned. */
  private tick = 0;
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
      const seq = ++this.seq;
      if (e.removed) {
        this.remove(e.clientId, e.clock, seq, now);
        conn.clientIds.delete(e.clientId);
        changed = true;
        continue;
      }
      const tomb = this.tombstones.get(e.clientId);
      const reclaimed = tomb !== undefined && e.clock <= tomb.clock;
      if (reclaimed) {
        // A client back after leaving (its peers saw the removal at tomb.clock): y-protocols answers a
        // removal of its own live state by re-announcing it one clock later, which its peers accept.
        (correction ??= []).push({ clientId: e.clientId, clock: tomb.clock, stateJson: "null", removed: true });
      }
      if (!current || current.stateJson !== e.stateJson || current.reclaimed || tomb) changed = true;
      this.tombstones.delete(e.clientId);
      this.set(e.clientId, { clock: e.clock, stateJson: e.stateJson, seq, ...(reclaimed ? { reclaimed } : {}) });
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

  private remove(clientId: number, clock: number, seq: number, now: number): void {
    this.set(clientId, undefined);
    this.owners.delete(clientId);
    this.tombstones.delete(clientId); // re-inserted last: the map stays oldest first
    this.tombstones.set(clientId, { clock, seq, at: now });
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
    this.set(clientId, { clock, stateJson, seq: 0 });
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
      this.remove(clientId, clock, ++this.seq, now);
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
    if (this.changePending ? changeDueAt(p, this.lastChangeFlushAt, now) <= now : p.renewalDelayMs === 0) {
      this.flushAll(now);
      return;
    }
    if (!this.changePending) this.tickAt ??= now + renewalTickMs(p);
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
    if (this.changePending && changeDueAt(p, this.lastChangeFlushAt, now) <= now) {
      this.flushAll(now);
      return;
    }
    if (this.tickAt !== undefined && this.tickAt <= now) this.renewalTick(now, p);
    this.arm(now);
  }

  /** Sends every connection what it has not received yet: one message per connection. */
  private flushAll(now: number): void {
    this.timer?.cancel();
    this.timer = undefined;
    const bySent = new Map<number, Uint8Array | undefined>();
    for (const conn of this.transport.connections()) {
      const sent = this.slotSent[this.slot(conn)]!;
      if (!bySent.has(sent)) bySent.set(sent, this.messageSince(sent));
      const message = bySent.get(sent);
      if (message) this.transport.send(conn, message);
    }
    this.slotSent.fill(this.seq);
    this.changePending = false;
    this.lastChangeFlushAt = now;
    this.tickAt = undefined;
    this.pruneTombstones(now);
  }

  /** Serves one slot's renewals; plans the next tick while any slot still lacks something. */
  private renewalTick(now: number, p: ReturnType<typeof pacing>): void {
    const s = this.tick % RENEWAL_SLOTS;
    this.tick++;
    const sent = this.slotSent[s]!;
    if (sent < this.seq) {
      const message = this.messageSince(sent);
      if (message) for (const conn of this.transport.connections()) if (this.slot(conn) === s) this.transport.send(conn, message);
      this.slotSent[s] = this.seq;
    }
    this.tickAt = this.slotSent.some((x) => x < this.seq) ? now + renewalTickMs(p) : undefined;
  }

  private slot(conn: C): number {
    let s = this.slotOf.get(conn);
    if (s === undefined) {
      s = this.nextSlot++ % RENEWAL_SLOTS;
      this.slotOf.set(conn, s);
    }
    return s;
  }

  /** One message with every state and removal newer than `sent`; undefined if there is none. */
  private messageSince(sent: number): Uint8Array | undefined {
    const entries: { clientId: number; clock: number; stateJson: string }[] = [];
    for (const [clientId, r] of this.states) if (r.seq > sent) entries.push({ clientId, clock: r.clock, stateJson: r.stateJson });
    for (const [clientId, t] of this.tombstones) if (t.seq > sent) entries.push({ clientId, clock: t.clock, stateJson: "null" });
    return entries.length > 0 ? encodeAwareness(entries) : undefined;
  }

  /** Tombstones go once everyone has received them and they are old enough that no echo is still on its way. */
  private pruneTombstones(now: number): void {
    const delivered = Math.min(...this.slotSent);
    for (const [id, t] of this.tombstones) {
      if (this.tombstones.size > MAX_TOMBSTONES || (t.at + TOMBSTONE_MS <= now && t.seq <= delivered)) this.tombstones.delete(id);
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
