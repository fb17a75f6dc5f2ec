/**
 * The document's own object (the authority) as its relays see it: one link (an internal WebSocket) per
 * relay. Down a link go the feed (every committed batch, numbered: sync/relay-feed.ts), the room's
 * presence (a link is a connection of the room's presence, which paces it like a socket), and control
 * (rules, revoked keys, deletion). Up come a relay's hello, its writers' updates and presence, and its
 * sockets' departures. The authority stays the only writer: a relay's writer's update is applied here,
 * through the same RoomCore gate and budgets as a socket's, and reaches everyone (its relay included) by
 * the feed, after its commit.
 */
import * as Y from "yjs";
import { decide, type Rule } from "../auth/access";
import type { Env } from "../env";
import { publishRelays } from "../db/queries";
import type { Admission } from "../sync/admission";
import { CloseCode } from "../sync/close-codes";
import { catchUp, FeedRing } from "../sync/relay-feed";
import { pickRelay, relaysWanted } from "../sync/relay-plan";
import { decodeLink, encodeLink, type LinkMessage, type Sender } from "../sync/relay-wire";
import type { Access } from "../sync/ports";
import { type Conn, isLinkAttachment, type LinkAttachment } from "../room/attachment";
import type { Limits } from "../room/limits";
import type { RoomParts } from "../room/parts";
import type { RevokedKeys } from "../room/revoked-keys";
import { type DocRef, IdentityHeader } from "../room/rpc-types";
import { closedAtOnce } from "../room/sockets";
import { relayStub } from "../room/stub";
import { RelayRoster } from "./roster";

/** What the links need of the document's object. */
export interface LinkHost {
  ctx: DurableObjectState;
  env: Env;
  limits: Limits;
  parts: RoomParts;
  admission: Admission;
  revokedKeys: RevokedKeys;
  rule(userId: string): Rule | undefined;
  /** The object's own sockets: all, and one user's. */
  direct(userId: string): { total: number; byUser: number };
  /** How many sockets the object holds (no count by user). */
  directTotal(): number;
  ref(): DocRef | undefined;
  erased(): boolean;
}

interface Link {
  conn: Conn;
  index: number;
  /** The relay's sockets that sent something up, as connections of the room (their presence, budgets). */
  relayed: Map<number, Conn>;
  /** Fed by this object; false for a relay under another relay (a tree: its hello says so). */
  feed: boolean;
}

export type RelayAdmission = { ok: true; access: Access } | { ok: false; code: number; reason: string };

const RELAYS_META = "relays";

export class RelayLinks {
  /** A new epoch per life of the object: a relay that hears another one catches up. */
  private readonly feed = new FeedRing(crypto.randomUUID());
  /** The batch committing now, numbered once the commit is done (only while links are open). */
  private staged: Uint8Array[] | undefined;
  private open: Map<WebSocket, Link> | undefined;
  readonly roster: RelayRoster;
  /** The routing record as published (documents.relays). */
  private published: number;
  /** A relay linked in this life: commits are numbered from then on, so one that drops its link finds them in the ring. */
  private linked = false;

  constructor(private readonly host: LinkHost) {
    this.roster = new RelayRoster(host.ctx.storage.sql);
    this.published = Number(host.parts.store.getMeta(RELAYS_META) ?? 0);
    if (this.roster.total > 0) this.roster.keepOnly(new Set([...this.links().values()].map((l) => l.index)));
  }

  /** The tables were dropped (an erase): made again. */
  reopen(): void {
    this.roster.open();
    this.published = 0;
  }

  private links(): Map<WebSocket, Link> {
    if (!this.open) {
      this.open = new Map();
      for (const ws of this.host.ctx.getWebSockets("relay")) {
        const a = ws.deserializeAttachment() as unknown;
        if (isLinkAttachment(a)) this.register(ws, a.r).feed = a.p !== 1;
      }
    }
    return this.open;
  }

  private register(ws: WebSocket, index: number): Link {
    const conn: Conn = { ws, userId: `relay:${index}`, access: "read", claim: "read", exp: Number.MAX_SAFE_INTEGER, clientIds: new Map(), via: "link" };
    const link = { conn, index, relayed: new Map<number, Conn>(), feed: true };
    this.linked = true;
    this.links().set(ws, link);
    return link;
  }

  has(ws: WebSocket): boolean {
    return this.links().has(ws);
  }

  /** The links as connections of the room (for its presence). */
  *conns(): Iterable<Conn> {
    for (const l of this.links().values()) yield l.conn;
  }

  // ---- the feed ----

  /**
   * Inside the commit's transaction: the batch it writes, numbered when the commit is done. Only once the
   * document has relays: a document without them pays nothing for the feed.
   */
  stage(batch: readonly { update: Uint8Array }[]): void {
    this.staged = (this.linked || this.published > 0 || this.links().size > 0) && batch.length > 0 ? batch.map((p) => p.update) : undefined;
  }

  /** The commit failed: nothing of the batch is sent. */
  unstage(): void {
    this.staged = undefined;
  }

  /** After the commit: the batch, numbered, to every link. */
  committed(): void {
    const batch = this.staged;
    this.staged = undefined;
    if (!batch) return;
    const update = batch.length === 1 ? batch[0]! : Y.mergeUpdates(batch);
    const { seq } = this.feed.push(update);
    // Once per relay this object feeds; a relay under another relay gets it from there.
    const bytes = encodeLink({ type: "feed", epoch: this.feed.epoch, seq, update });
    for (const link of this.links().values()) if (link.feed) this.sendBytes(link, bytes);
  }

  // ---- links ----

  /** A relay opens its link. Refused with 4404 once the document is deleted: the relay closes its sockets with it. */
  accept(index: number): Response {
    if (this.host.erased()) return closedAtOnce(CloseCode.documentDeleted, "document deleted");
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.host.ctx.acceptWebSocket(server, ["relay"]);
    server.serializeAttachment({ r: index } satisfies LinkAttachment);
    this.register(server, index);
    return new Response(null, { status: 101, webSocket: client });
  }

  onMessage(ws: WebSocket, bytes: Uint8Array): void {
    const link = this.links().get(ws);
    if (!link) return;
    const decoded = decodeLink(bytes);
    if (!decoded.ok) {
      console.error("relay link: bad message", { relay: link.index, error: decoded.error });
      return;
    }
    const m = decoded.value;
    switch (m.type) {
      case "hello":
        link.feed = !m.viaParent;
        // Kept with the link, so a wake-up does not feed a relay whose feed comes from a parent.
        if (m.viaParent) link.conn.ws.serializeAttachment({ r: link.index, p: 1 } satisfies LinkAttachment);
        return this.hello(link, m.roster);
      case "since":
        return this.since(link, m.epoch, m.seq, m.stateVector, m.fresh);
      case "up":
      case "upAwareness":
        return this.fromRelay(link, m.from, m.frame, m.type === "up" ? "write" : "read");
      case "leave":
        this.roster.remove(link.index, m.tag);
        this.forget(link, m.tag);
        return;
    }
  }

  /** A link closed: its relay's sockets are not counted until it is back and lists them again. */
  onClose(ws: WebSocket): void {
    const link = this.links().get(ws);
    if (!link) return;
    this.links().delete(ws);
    const behind = this.roster.usersOn(link.index).length > 0;
    this.roster.replace(link.index, []);
    // Sockets were behind it (an evicted or restarted relay): wake the relay, so they get their feed back.
    const ref = this.host.ref();
    if (behind && ref && !this.host.erased())
      this.host.ctx.waitUntil(
        relayStub(this.host.env, ref, link.index)
          .wake()
          .catch(() => false),
      );
    for (const tag of [...link.relayed.keys()]) this.forget(link, tag);
    this.host.parts.core.disconnect(link.conn);
  }

  private hello(link: Link, roster: { tag: number; userId: string; access: Access }[]): void {
    this.roster.replace(link.index, roster);
    // What the relay may have missed while it had no link: the rules of its users and the revoked keys.
    for (const userId of this.roster.usersOn(link.index)) {
      const rule = this.host.rule(userId);
      if (rule) this.send(link, { type: "access", userId, rule });
    }
    for (const keyId of this.host.revokedKeys.list()) this.send(link, { type: "revoke", keyId });
    // The room's presence, as a joining socket gets it (the sync step 1 that comes with it is not sent to links).
    this.host.parts.core.greet(link.conn);
  }

  /**
   * What brings a relay to the latest number: the entries it missed if the ring still has them, else what
   * the document has beyond its state vector. Everything pending is committed first, so the answer is
   * never ahead of what is durable. A relay that lost its replica (`fresh`) gets the whole state as its
   * base; if its sockets' position is unknown too (the ring cannot say), they must re-sync (`resync`).
   */
  private since(link: Link, epoch: string, seq: number, stateVector: Uint8Array, fresh: boolean): void {
    this.host.parts.outbox.flush();
    this.send(link, { type: "catchUp", ...catchUp(this.feed, this.host.parts.core.doc, epoch, seq, stateVector, fresh) });
  }

  /** One of the relay's sockets as a connection of the room: its presence and budgets (its user's) live here. */
  private relayedConn(link: Link, from: Sender): Conn {
    let conn = link.relayed.get(from.tag);
    if (!conn) {
      conn = {
        ws: link.conn.ws,
        userId: from.userId,
        access: "read",
        claim: from.claim,
        exp: Number.MAX_SAFE_INTEGER,
        keyId: from.keyId,
        clientIds: new Map(),
        via: "relayed",
      };
      link.relayed.set(from.tag, conn);
    }
    return conn;
  }

  /** A relay's writer's update (`need` write) or presence (`need` read): decided here as a socket's frame is. */
  private fromRelay(link: Link, from: Sender, frame: Uint8Array, need: Access): void {
    if (from.keyId && this.host.revokedKeys.has(from.keyId)) {
      this.send(link, { type: "refused", tag: from.tag, code: CloseCode.keyRevoked, reason: "key revoked" });
      return;
    }
    const allowed = decide(from.claim, this.host.rule(from.userId), need);
    // A reader's writes are ignored, as on a socket (the relay already drops them; a rule may have changed since).
    if (!allowed.ok) return;
    const conn = this.relayedConn(link, from);
    conn.access = allowed.access;
    const close = this.host.parts.core.handleFrame(conn, frame);
    if (close) {
      this.send(link, { type: "refused", tag: from.tag, code: close.code, reason: close.reason });
      this.forget(link, from.tag);
    }
  }

  private forget(link: Link, tag: number): void {
    const conn = link.relayed.get(tag);
    if (!conn) return;
    link.relayed.delete(tag);
    this.host.parts.core.disconnect(conn);
  }

  // ---- what the authority decides for relays ----

  /**
   * A relay asks whether one more socket may open (the per-user bound counts the document's own sockets
   * and every relay's): the same checks as an upgrade to this object, then the socket is on the roster.
   */
  admit(index: number, tag: number, userId: string, claim: Access, keyId: string | undefined, now: number): RelayAdmission {
    if (this.host.erased()) return { ok: false, code: CloseCode.documentDeleted, reason: "document deleted" };
    if (keyId && this.host.revokedKeys.has(keyId)) return { ok: false, code: CloseCode.keyRevoked, reason: "key revoked" };
    const allowed = decide(claim, this.host.rule(userId), "read");
    if (!allowed.ok) return { ok: false, code: CloseCode.accessRemoved, reason: "access removed" };
    const byUser = this.host.direct(userId).byUser + this.roster.countOf(userId);
    const refused = this.host.admission.admit(userId, { total: 0, byUser }, now);
    if (refused) return { ok: false, code: CloseCode.tryAgainLater, reason: refused };
    this.roster.add(index, { tag, userId, access: allowed.access });
    this.replan();
    return { ok: true, access: allowed.access };
  }

  /** Relayed sockets in all, and by user (REST presence counts every socket of the document). */
  relayedUsers() {
    return { total: this.roster.total, users: this.roster.users() };
  }

  /** This object holds as many sockets as it keeps: the upgrade goes to a relay (no refusal for room size). */
  full(): boolean {
    return this.host.directTotal() >= this.host.limits.relayAfterConnections;
  }

  /** Hands an upgrade this object will not hold to a relay, and publishes the routing record so the Worker sends the next ones there. */
  async forward(request: Request): Promise<Response> {
    const relays = Math.max(1, this.replan());
    const ref = this.host.ref();
    if (!ref) return closedAtOnce(CloseCode.documentDeleted, "document deleted");
    const headers = new Headers(request.headers);
    headers.set(IdentityHeader.relay, String(pickRelay(relays, Math.random())));
    return relayStub(this.host.env, ref, Number(headers.get(IdentityHeader.relay))).fetch(new Request(request.url, { headers }));
  }

  /** The relay count the audience wants (relay-plan.ts), published to the catalog when it changes. */
  private replan(): number {
    const l = this.host.limits;
    const wanted = relaysWanted(this.host.directTotal(), this.roster.total, this.published, {
      relayAfter: l.relayAfterConnections,
      perRelay: l.maxConnectionsPerRelay,
      maxRelays: l.maxRelaysPerDoc,
    });
    const ref = this.host.ref();
    if (wanted !== this.published && ref) {
      this.published = wanted;
      this.host.parts.store.setMeta(RELAYS_META, String(wanted));
      this.host.ctx.waitUntil(
        publishRelays(this.host.env.DB, ref.projectId, ref.docId, ref.incarnation ?? "", wanted).catch((e) =>
          console.error("routing record not published", { error: String(e) }),
        ),
      );
    }
    return this.published;
  }

  // ---- control, down every link ----

  /** A user's stored rule changed (undefined: removed). */
  access(userId: string, rule: Rule | undefined): void {
    this.sendAll({ type: "access", userId, rule: rule ?? "" });
  }

  revoke(keyId: string): void {
    this.sendAll({ type: "revoke", keyId });
  }

  erase(): void {
    this.sendAll({ type: "erase" });
    this.open = new Map();
    this.staged = undefined;
  }

  private sendAll(m: LinkMessage): void {
    if (this.links().size === 0) return;
    const bytes = encodeLink(m);
    for (const link of this.links().values()) this.sendBytes(link, bytes);
  }

  private send(link: Link, m: LinkMessage): void {
    this.sendBytes(link, encodeLink(m));
  }

  /** Messages sent down links by this instance (bench W9). */
  sent = 0;

  /** Links this object sends the feed down (bench W9: the tree's first level). */
  get fed(): number {
    let n = 0;
    for (const l of this.links().values()) if (l.feed) n++;
    return n;
  }

  /** The routing record as published: how many relays take new sockets. */
  get relays(): number {
    return this.published;
  }

  private sendBytes(link: Link, bytes: Uint8Array): void {
    try {
      link.conn.ws.send(bytes);
      this.sent++;
    } catch {
      // The link is closing; its close handler forgets it.
    }
  }
}
