/**
 * Who a socket is, kept in its attachment so it survives hibernation: the user, access and token expiry
 * the Worker checked, and the socket's awareness ids with their clocks and states.
 */
import type { Access, RoomConn } from "../sync/ports";

export interface Attachment {
  /** user id */
  u: string;
  /** access now (after the stored rule) */
  a: Access;
  /** the token's claim, when the stored rule made `a` differ from it */
  t?: Access;
  /** token expiry, epoch seconds */
  e: number;
  /** awareness client ids → last clock, and the state (JSON) while the attachment has room for it */
  c: [number, number, string?][];
  /** asked for the saved signal (message 100) */
  s?: 1;
  /** id of the key that minted the token (absent on sockets opened before it was recorded) */
  k?: string;
}

/** One socket as the object sees it. */
export interface Conn extends RoomConn {
  readonly ws: WebSocket;
  /** What the token claims; `access` is what the stored rule makes of it (src/auth/access.ts). */
  readonly claim: Access;
  readonly exp: number;
  /** The key that minted the socket's token: revoking it closes the socket (DocRoom.revokeKey). */
  readonly keyId?: string;
  /**
   * Not a person's socket: a relay's link (it receives the room's presence; updates reach it by the feed),
   * or one of a relay's sockets as the authority sees it (it is sent nothing directly). src/relay/links.ts.
   */
  readonly via?: "link" | "relayed";
}

/** The attachment of a relay's link socket on the document's object: the relay's index. */
export interface LinkAttachment {
  r: number;
  /** 1: the relay gets its feed from a parent relay (a tree), not from this object. */
  p?: 1;
}

export const isLinkAttachment = (a: unknown): a is LinkAttachment => typeof a === "object" && a !== null && "r" in a;

/** Awareness ids remembered per connection across hibernation (the attachment holds at most 16 KiB). */
const MAX_ATTACHED_CLIENT_IDS = 256;
/** Awareness state (JSON chars, up to two bytes each when serialized) kept in one attachment, leaving room for the rest. */
const ATTACHED_STATE_CHARS = 6 * 1024;

/** `stateOf` gives each awareness id's current state; states are kept while they fit the attachment. */
export function toAttachment(conn: Conn, stateOf: (clientId: number) => string | undefined): Attachment {
  let room = ATTACHED_STATE_CHARS;
  const c: Attachment["c"] = [];
  for (const [id, clock] of conn.clientIds) {
    if (c.length === MAX_ATTACHED_CLIENT_IDS) break;
    const state = stateOf(id);
    if (state !== undefined && state.length <= room) {
      room -= state.length;
      c.push([id, clock, state]);
    } else {
      c.push([id, clock]); // a joiner sees this one at its next renewal (y-websocket renews every 15 s)
    }
  }
  return {
    u: conn.userId,
    a: conn.access,
    e: conn.exp,
    c,
    ...(conn.claim !== conn.access ? { t: conn.claim } : {}),
    ...(conn.saved ? { s: 1 as const } : {}),
    ...(conn.keyId ? { k: conn.keyId } : {}),
  };
}

/**
 * The people's sockets of an object, rebuilt from their attachments after a wake-up: an attachment that
 * `skip` names (a relay's link, a child relay's feed) is not a person; `awareness` puts back each socket's
 * presence, so joiners see everyone at once and removals carry current clocks.
 */
export function restoreConns(
  sockets: readonly WebSocket[],
  skip: (a: unknown) => boolean,
  awareness: (conn: Conn, clientId: number, clock: number, state: string | undefined) => void,
): Map<WebSocket, Conn> {
  const conns = new Map<WebSocket, Conn>();
  for (const ws of sockets) {
    const a = ws.deserializeAttachment() as Attachment | null;
    if (!a || skip(a)) continue;
    const conn = fromAttachment(ws, a);
    conns.set(ws, conn);
    for (const [id, clock, state] of a.c) awareness(conn, id, clock, state);
  }
  return conns;
}

export function fromAttachment(ws: WebSocket, a: Attachment): Conn {
  return { ws, userId: a.u, access: a.a, claim: a.t ?? a.a, exp: a.e, saved: a.s === 1, keyId: a.k, clientIds: new Map(a.c.map(([id, clock]) => [id, clock])) };
}
