/**
 * Where a document's audience goes once one object is not enough: how many relays it wants, and which one
 * a new connection joins. Pure.
 *
 * The authority keeps up to `relayAfter` sockets itself (its thread also commits, keeps versions and
 * webhooks). Past that, new connections go to relays, each holding up to `perRelay`. The relay count
 * grows so that relays stay about three quarters full on average (new connections are spread at random,
 * and a full relay refuses with 1013, which the stock client retries), up to `maxRelays`; it drops back
 * to none once no relay holds anyone and the authority has room again.
 */

export interface RelayPlanLimits {
  /** Sockets the authority holds itself before new ones go to relays. */
  relayAfter: number;
  /** Sockets one relay holds. */
  perRelay: number;
  /** Relays one document may have: the audience's bound is relayAfter + maxRelays × perRelay. */
  maxRelays: number;
}

/** How full relays are kept on average before another is added. */
export const RELAY_TARGET_FILL = 0.75;

/**
 * The relay count to publish, from the authority's own sockets (`direct`), the sockets on relays
 * (`relayed`) and the count published now (`current`).
 */
export function relaysWanted(direct: number, relayed: number, current: number, l: RelayPlanLimits): number {
  if (relayed === 0 && direct < l.relayAfter) return current > 0 && direct >= l.relayAfter / 2 ? current : 0;
  const needed = Math.max(1, Math.ceil((relayed + 1) / (RELAY_TARGET_FILL * l.perRelay)));
  return Math.min(l.maxRelays, Math.max(current, needed));
}

/** The relay a new connection joins, given a uniform random number in [0, 1). */
export function pickRelay(relays: number, random: number): number {
  return Math.min(relays - 1, Math.floor(random * relays));
}

/**
 * Where relay `index` gets its feed: the document's object for the first `width` relays, else one of them
 * (a tree of two levels: the document's object sends each update to at most `width` relays, each of those
 * to its own sockets and to the relays under it). Undefined: the document's object.
 */
export function parentOf(index: number, width: number): number | undefined {
  return index < width ? undefined : (index - width) % width;
}
