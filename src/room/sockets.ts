/**
 * The document's open sockets: who each one is (kept in its attachment across hibernation), closing one
 * for a reason, and closing every one a rule picks (an expired token, a revoked key, a deleted document).
 */
import { CloseCode } from "../sync/close-codes";
import type { Sink } from "../sync/outbox";
import type { Access } from "../sync/ports";
import type { RoomCore } from "../sync/room-core";
import { MessageType } from "../sync/frames";
import { type Conn, isLinkAttachment, restoreConns, toAttachment } from "./attachment";
import { type DocRef, IdentityHeader } from "./rpc-types";

export class Sockets {
  /** Filled from attachments once after waking. */
  private conns: Map<WebSocket, Conn> | undefined;
  /** Messages handed to sockets by this instance (bench W9: the work per object; a counter, nothing kept). */
  sent = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly core: () => RoomCore<Conn>,
  ) {}

  all(): Map<WebSocket, Conn> {
    // A relay's link is not a person (src/relay/links.ts keeps those).
    this.conns ??= restoreConns(this.ctx.getWebSockets(), isLinkAttachment, (conn, id, clock, state) => this.core().restoreAwareness(conn, id, clock, state));
    return this.conns;
  }

  /**
   * Where the room's outbox sends: these sockets and the relays' links (`links`); `committed` runs after
   * each commit with updates. A link is sent presence only (updates reach it numbered, by the feed), and a
   * relay's socket as the authority sees it nothing (its relay answers it).
   */
  sink(committed: () => void, links: () => Iterable<Conn> = () => [], durable?: () => void): Sink<Conn> {
    const all = this;
    return {
      durable,
      sendNow: (conn, message) => {
        if (conn.via === "relayed" || (conn.via === "link" && message[0] !== MessageType.awareness)) return;
        try {
          conn.ws.send(message);
          this.sent++;
        } catch {
          // The socket is closing; its close handler cleans up.
        }
      },
      connections: function* () {
        yield* all.all().values();
        yield* links();
      },
      awarenessChanged: (conn) => conn.via === undefined && conn.ws.serializeAttachment(toAttachment(conn, (id) => this.core().awarenessState(id))),
      committed,
    };
  }

  /** Open sockets in all, and of one user (for admission). */
  count(userId: string): { total: number; byUser: number } {
    const conns = this.all();
    let byUser = 0;
    for (const c of conns.values()) if (c.userId === userId) byUser++;
    return { total: conns.size, byUser };
  }

  add(conn: Conn): void {
    this.all().set(conn.ws, conn);
  }

  /** Closes the socket; from now on the room knows nothing of it. */
  drop(conn: Conn, code: number, reason: string): void {
    this.forget(conn.ws);
    try {
      // Until the client answers the close, the socket is still listed: without an attachment, an
      // object that wakes in between does not take it for a live connection.
      conn.ws.serializeAttachment(null);
      conn.ws.close(code, reason);
    } catch {
      // already closed
    }
  }

  /** The socket closed or failed: the room lets its presence go. */
  forget(ws: WebSocket): void {
    const conns = this.all();
    const conn = conns.get(ws);
    if (!conn) return;
    conns.delete(ws);
    this.core().disconnect(conn);
  }

  /** Closes every socket `pick` chooses; answers how many. */
  dropWhere(pick: (conn: Conn) => boolean, code: number, reason: string): number {
    let closed = 0;
    for (const conn of [...this.all().values()]) {
      if (!pick(conn)) continue;
      this.drop(conn, code, reason);
      closed++;
    }
    return closed;
  }

  /** The alarm duty: closes sockets whose token has expired (4401); due again at the next expiry. */
  readonly expiry = {
    name: "token expiry",
    run: (now: number): number => {
      this.dropWhere((conn) => conn.exp * 1000 <= now, CloseCode.tokenExpired, "token expired");
      let next = Infinity;
      for (const conn of this.all().values()) next = Math.min(next, conn.exp * 1000);
      return next;
    },
  };

  /** The document was deleted: every socket, listed or not, closes with `code`; none is known from now on. */
  closeAll(code: number, reason: string): void {
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(code, reason);
      } catch {
        // already closed
      }
    }
    this.conns = new Map();
  }
}

/**
 * An upgrade answered with a socket closed at once. Accepted without hibernation: a hibernatable socket
 * closed before the client has sent anything completes its close handshake only ~10 s later, and the stock
 * client waits for that to retry.
 */
export function closedAtOnce(code: number, reason: string): Response {
  const pair = new WebSocketPair();
  pair[1].accept();
  pair[1].close(code, reason);
  return new Response(null, { status: 101, webSocket: pair[0] });
}

/** Who an upgrade is, from the headers the Worker set after checking the token and the catalog (routes/sync.ts). */
export function upgradeIdentity(h: Headers): { ref: DocRef; userId: string; claim: Access; exp: number; keyId: string | undefined; saved: boolean } {
  return {
    ref: { projectId: h.get(IdentityHeader.project) ?? "", docId: h.get(IdentityHeader.doc) ?? "", incarnation: h.get(IdentityHeader.incarnation) ?? "" },
    userId: h.get(IdentityHeader.user) ?? "",
    claim: h.get(IdentityHeader.access) === "write" ? "write" : "read",
    exp: Number(h.get(IdentityHeader.exp) ?? 0),
    keyId: h.get(IdentityHeader.key) ?? undefined,
    saved: h.get(IdentityHeader.saved) === "1",
  };
}
