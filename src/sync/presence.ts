/**
 * Awareness (y-protocols presence) as the room keeps it: who is here, with what state, and which
 * connection speaks for which client id. Bounded per connection (ids) and per document (bytes); a
 * connection may only speak for its own ids. Pure, like the rest of src/sync.
 */
import { CloseCode, type CloseRequest } from "./close-codes";
import { encodeAwareness, type AwarenessEntry } from "./frames";
import type { RoomConn, RoomLimits, Transport } from "./ports";

interface AwarenessRecord {
  clock: number;
  stateJson: string;
}

export class Presence<C extends RoomConn> {
  private readonly states = new Map<number, AwarenessRecord>();
  /** Sum of the states' JSON lengths (bounded by `maxAwarenessBytesPerDoc`). */
  private bytes = 0;

  constructor(
    private readonly transport: Transport<C>,
    private readonly limits: RoomLimits,
  ) {}

  /** Applies an awareness message from `conn`; a close request when it breaks a limit (then nothing is applied). */
  apply(conn: C, entries: AwarenessEntry[]): CloseRequest | undefined {
    const refused = this.check(conn, entries);
    if (refused) return refused;
    const accepted: AwarenessEntry[] = [];
    for (const e of entries) {
      // A client may only speak for client ids that are its own (or new).
      if (!conn.clientIds.has(e.clientId) && this.ownedByOther(conn, e.clientId)) continue;
      const current = this.states.get(e.clientId);
      const currentClock = current?.clock ?? conn.clientIds.get(e.clientId) ?? 0;
      const isNewer = currentClock < e.clock || (currentClock === e.clock && e.removed && current !== undefined);
      if (!isNewer) continue;
      if (e.removed) {
        this.set(e.clientId, undefined);
        conn.clientIds.delete(e.clientId);
      } else {
        this.set(e.clientId, { clock: e.clock, stateJson: e.stateJson });
        conn.clientIds.set(e.clientId, e.clock);
      }
      accepted.push(e);
    }
    if (accepted.length > 0) this.transport.awarenessChanged(conn);
    // Sent to every connection, the sender included: y-websocket clients count it as a sign of life.
    if (accepted.length > 0) this.transport.broadcast(encodeAwareness(accepted));
    return undefined;
  }

  /**
   * Checks a whole awareness message before any of it is applied, so a refused one changes nothing.
   * Counts are upper bounds (an entry that would be ignored still counts): an honest client sends one
   * id and a few hundred bytes, far from either cap.
   */
  private check(conn: C, entries: AwarenessEntry[]): CloseRequest | undefined {
    const added = new Set<number>();
    let growth = 0;
    for (const e of entries) {
      if (e.stateJson.length > this.limits.maxAwarenessStateBytes) return { code: CloseCode.tooLarge, reason: "awareness state too large" };
      if (e.removed) continue;
      if (!conn.clientIds.has(e.clientId)) added.add(e.clientId);
      growth += e.stateJson.length - (this.states.get(e.clientId)?.stateJson.length ?? 0);
    }
    if (conn.clientIds.size + added.size > this.limits.maxAwarenessIdsPerConn) {
      return { code: CloseCode.tooLarge, reason: "too many awareness client ids on one connection" };
    }
    // The room's cap is shared: past it the newcomer waits (1013, retried) rather than being refused for good.
    if (growth > 0 && this.bytes + growth > this.limits.maxAwarenessBytesPerDoc) {
      return { code: CloseCode.tryAgainLater, reason: "the document's awareness is full: try again later" };
    }
    return undefined;
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

  /** The state the room holds for `clientId` (JSON), if any. */
  state(clientId: number): string | undefined {
    return this.states.get(clientId)?.stateJson;
  }

  /**
   * Puts back a state a connection held before the object hibernated (from its socket attachment), so
   * joiners see everyone at once and a leaver's removal carries a clock its peers accept.
   */
  restore(clientId: number, clock: number, stateJson: string): void {
    if ((this.states.get(clientId)?.clock ?? -1) >= clock) return;
    this.set(clientId, { clock, stateJson });
  }

  private ownedByOther(conn: C, clientId: number): boolean {
    for (const c of this.transport.connections()) {
      if (c !== conn && c.clientIds.has(clientId)) return true;
    }
    return false;
  }

  /** Removes a leaving connection's awareness states and tells everyone else. */
  disconnect(conn: C): void {
    if (conn.clientIds.size === 0) return;
    const removals: Pick<AwarenessEntry, "clientId" | "clock" | "stateJson">[] = [];
    for (const [clientId, attachedClock] of conn.clientIds) {
      const clock = Math.max(this.states.get(clientId)?.clock ?? 0, attachedClock);
      this.set(clientId, undefined);
      removals.push({ clientId, clock: clock + 1, stateJson: "null" });
    }
    conn.clientIds.clear();
    this.transport.broadcast(encodeAwareness(removals), conn);
  }

  /** Every state the room holds, as one message (for a joiner or a query-awareness). */
  message(): Uint8Array | undefined {
    if (this.states.size === 0) return undefined;
    const entries = [...this.states].map(([clientId, r]) => ({ clientId, clock: r.clock, stateJson: r.stateJson }));
    return encodeAwareness(entries);
  }
}
