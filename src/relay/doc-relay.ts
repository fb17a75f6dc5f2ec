/**
 * A relay object: one of the document's relays (`{document}#r{k}`), holding its share of the audience
 * once the document's own object has as many sockets as it keeps (RELAY_AFTER_CONNECTIONS). It speaks the
 * same y-websocket protocol to its sockets, from a replica fed by the document's object over a link
 * (upstream.ts), and it never writes: a writer's updates go up, are committed there and come back down
 * by the feed to everyone. Admission (the per-user bound, rules, revoked keys) is decided by the
 * document's object; token expiry, frame checks and read budgets are applied here, as there.
 */
import { DurableObject } from "cloudflare:workers";
import * as Y from "yjs";
import type { Env } from "../env";
import { budgetsOfUser } from "../sync/budget";
import { CloseCode } from "../sync/close-codes";
import { decodeFrame, encodeSaved, encodeSyncStep1, encodeUpdate } from "../sync/frames";
import { type Budgets, realClock, type Transport } from "../sync/ports";
import { Presence } from "../sync/presence";
import type { RosterEntry } from "../sync/relay-wire";
import { type Conn, restoreConns, toAttachment } from "../room/attachment";
import { readLimits, type Limits } from "../room/limits";
import { RevokedKeys } from "../room/revoked-keys";
import { type DocRef, IdentityHeader } from "../room/rpc-types";
import { closedAtOnce, upgradeIdentity } from "../room/sockets";
import { relayStub, roomStub } from "../room/stub";
import type { RelayAdmission } from "./links";
import { FeedChildren, isChildAttachment } from "./children";
import { answerFrame, applyControl, type RelayHost } from "./relay-frames";
import { type Downstream, Upstream } from "./upstream";

/** How long a relay keeps its link once its last socket is gone (a reconnecting crowd finds it ready). */
const IDLE_LINK_MS = 30_000;
/** How many full relays an upgrade passes on to the next before it is refused with 1013. */
const MAX_OVERFLOW_HOPS = 3;
/** How soon the alarm retries a lost link while sockets wait on it. */
const RELINK_MS = 1_000;

export class DocRelay extends DurableObject<Env> {
  private readonly limits: Limits;
  private readonly upstream: Upstream;
  /** The relays this one feeds (a tree), and its own numbering of the feed for them. */
  private readonly children: FeedChildren;
  private readonly presence: Presence<Conn>;
  /** The authority's presence, as one connection of this relay's presence (it speaks for many). */
  private readonly above: Conn;
  private conns: Map<WebSocket, Conn> | undefined;
  private readonly tags = new Map<WebSocket, number>();
  private nextTag = 1;
  private readonly userBudgets = new Map<string, Budgets>();
  private readonly revokedKeys: RevokedKeys;
  private ref: DocRef | undefined;
  private index = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Upgrades past the capacity check and not yet accepted or refused. */
  private admitting = 0;
  /** Messages this instance sent to its sockets (bench W9). */
  private sent = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = readLimits(env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    const meta = { get: (k: string) => this.getMeta(k), set: (k: string, v: string) => this.setMeta(k, v) };
    this.revokedKeys = new RevokedKeys({ getMeta: meta.get, setMeta: meta.set });
    const saved = this.getMeta("ref");
    if (saved) [this.ref, this.index] = JSON.parse(saved) as [DocRef, number];
    this.above = {
      ws: undefined as unknown as WebSocket,
      userId: "",
      access: "read",
      claim: "read",
      exp: Number.MAX_SAFE_INTEGER,
      clientIds: new Map(),
      speaksForMany: true,
      via: "link",
    };
    this.presence = new Presence(this.transport(), this.limits, realClock);
    this.children = new FeedChildren(ctx);
    this.upstream = new Upstream(env, meta, this.downstream(), this.limits.relayTreeWidth);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    // Woken with sockets still open (an eviction kept them hibernated): the link comes back at once.
    if (this.ref && ctx.getWebSockets().length > 0) ctx.waitUntil(this.wake());
  }

  /**
   * Re-opens the link if sockets are waiting on it; the document's object calls this when a link with
   * sockets behind it closed (the relay was evicted, or restarted).
   */
  async wake(): Promise<boolean> {
    if (!this.ref || this.erased || this.sockets().size === 0) return false;
    try {
      await this.upstream.ready(this.ref, this.index);
      return true;
    } catch (e) {
      console.error("relay: link not re-opened; the alarm retries", { error: String(e) });
      await this.schedule(Date.now() + RELINK_MS);
      return false;
    }
  }

  private getMeta(key: string): string | undefined {
    return this.ctx.storage.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.ctx.storage.sql.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }

  private get erased(): boolean {
    return this.getMeta("erased") !== undefined;
  }

  /** The sockets, rebuilt from their attachments after an eviction (with new tags: the hello lists them). */
  private sockets(): Map<WebSocket, Conn> {
    if (!this.conns) {
      // A child relay's feed link is not a person (children.ts keeps those).
      this.conns = restoreConns(this.ctx.getWebSockets(), isChildAttachment, (conn, id, clock, state) => this.presence.restore(conn, id, clock, state));
      for (const ws of this.conns.keys()) this.tags.set(ws, this.nextTag++);
    }
    return this.conns;
  }

  private transport(): Transport<Conn> {
    const sendTo = (conn: Conn, message: Uint8Array) => {
      if (conn !== this.above) this.sendTo(conn, message);
    };
    return {
      send: sendTo,
      connections: () => this.sockets().values(),
      broadcast: (message, except) => {
        for (const c of this.sockets().values()) if (c !== except) sendTo(c, message);
      },
      broadcastUpdate: (update, except) => {
        const message = encodeUpdate(update);
        for (const c of this.sockets().values()) if (c !== except) sendTo(c, message);
      },
      awarenessChanged: (conn) => {
        if (conn !== this.above) conn.ws.serializeAttachment(toAttachment(conn, (id) => this.presence.state(id)));
      },
    };
  }

  private downstream(): Downstream {
    return {
      update: (update) => {
        this.children.passOn(update);
        const message = encodeUpdate(update);
        let saved: Uint8Array | undefined;
        for (const conn of this.sockets().values()) {
          this.sendTo(conn, message);
          if (conn.saved) this.sendTo(conn, (saved ??= encodeSaved(Y.encodeStateVector(this.upstream.replica))));
        }
      },
      resync: () => this.dropWhere(() => true, CloseCode.internalError, "relay restarted: reconnect to re-sync"),
      control: (m) => applyControl(this.host(), m),
      erased: () => this.erase(),
      lost: () => {
        if (this.sockets().size > 0) this.ctx.waitUntil(this.schedule(Date.now() + RELINK_MS));
      },
      roster: () => [...this.sockets()].map(([ws, c]): RosterEntry => ({ tag: this.tags.get(ws)!, userId: c.userId, access: c.access })),
    };
  }

  private sendTo(conn: Conn, message: Uint8Array): void {
    try {
      conn.ws.send(message);
      this.sent++;
    } catch {
      // closing
    }
  }

  // ---- upgrades (the Worker, or the document's object when it is full, checked the token and the catalog) ----

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") throw new Error("DocRelay.fetch takes WebSocket upgrades only");
    const { ref, userId, claim, exp, keyId, saved } = upgradeIdentity(request.headers);
    if (!this.ref) {
      this.ref = ref;
      this.index = Number(request.headers.get(IdentityHeader.relay) ?? 0);
      this.setMeta("ref", JSON.stringify([ref, this.index]));
    }
    if (this.erased) return closedAtOnce(CloseCode.documentDeleted, "document deleted");
    const child = request.headers.get(IdentityHeader.feed);
    if (child !== null) {
      clearTimeout(this.idleTimer);
      return this.children.accept(Number(child));
    }
    if (keyId !== undefined && this.revokedKeys.has(keyId)) return closedAtOnce(CloseCode.keyRevoked, "key revoked");
    // Upgrades still being admitted count too: a crowd arriving at once must not pass the cap together.
    if (this.sockets().size + this.admitting >= Math.min(this.limits.maxConnectionsPerRelay, this.limits.maxConnectionsPerDoc)) {
      return this.overflow(request);
    }
    const tag = this.nextTag++;
    this.admitting++;
    let admitted: RelayAdmission;
    try {
      admitted = await this.admit(tag, userId, claim, keyId);
    } finally {
      this.admitting--;
    }
    if (!admitted.ok) return closedAtOnce(admitted.code, admitted.reason);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const conn: Conn = { ws: server, userId, access: admitted.access, claim, exp, saved, keyId, clientIds: new Map() };
    server.serializeAttachment(toAttachment(conn, () => undefined));
    this.sockets().set(server, conn);
    this.tags.set(server, tag);
    clearTimeout(this.idleTimer);
    this.sendTo(conn, encodeSyncStep1(Y.encodeStateVector(this.upstream.replica)));
    const all = this.presence.message();
    if (all) this.sendTo(conn, all);
    await this.schedule(exp * 1000);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** The link made ready, then the document's object asked (per-user bound, rules, revoked keys). */
  private async admit(tag: number, userId: string, claim: "read" | "write", keyId: string | undefined): Promise<RelayAdmission> {
    const ref = this.ref!;
    try {
      await this.upstream.ready(ref, this.index);
    } catch (e) {
      console.error("relay: no link to the document", { error: String(e) });
      return { ok: false, code: CloseCode.tryAgainLater, reason: "the document is not reachable: try again later" };
    }
    try {
      return await roomStub(this.env, ref).admitRelayed(ref, this.index, tag, userId, claim, keyId);
    } catch (e) {
      console.error("relay: admission not answered", { error: String(e) });
      return { ok: false, code: CloseCode.tryAgainLater, reason: "the document is not reachable: try again later" };
    }
  }

  /**
   * This relay is full: the upgrade goes on to the next relay (a routing record a moment old sends a crowd to
   * full relays), at most MAX_OVERFLOW_HOPS times and never past MAX_RELAYS_PER_DOC; then 1013, retried.
   */
  private overflow(request: Request): Promise<Response> | Response {
    const hops = Number(request.headers.get(IdentityHeader.hops) ?? 0);
    const next = this.index + 1;
    if (!this.ref || hops >= MAX_OVERFLOW_HOPS || next >= this.limits.maxRelaysPerDoc) {
      return closedAtOnce(CloseCode.tryAgainLater, "this relay is full: try again later");
    }
    const headers = new Headers(request.headers);
    headers.set(IdentityHeader.relay, String(next));
    headers.set(IdentityHeader.hops, String(hops + 1));
    return relayStub(this.env, this.ref, next).fetch(new Request(request.url, { headers }));
  }

  private async schedule(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(at);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.sockets().get(ws);
    if (!conn) {
      // A child relay asking for its catch-up: answered from this relay's replica once it is current.
      if (typeof message !== "string" && this.children.has(ws)) await this.children.answer(ws, new Uint8Array(message), () => this.current());
      return;
    }
    if (typeof message === "string") return this.drop(conn, CloseCode.unsupportedData, "text frames are not part of the protocol");
    if (message.byteLength > this.limits.maxFrameBytes) return this.drop(conn, CloseCode.tooBig, "frame too large");
    if (conn.exp * 1000 <= Date.now()) return this.drop(conn, CloseCode.tokenExpired, "token expired");
    if (conn.keyId !== undefined && this.revokedKeys.has(conn.keyId)) return this.drop(conn, CloseCode.keyRevoked, "key revoked");
    const bytes = new Uint8Array(message);
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return this.drop(conn, CloseCode.protocolError, "malformed frame");
    if (decoded.value.kind === "unknown") return;
    const now = Date.now();
    const budgets = (conn.budgets ??= budgetsOfUser(this.userBudgets, conn.userId, this.limits, now));
    const close = answerFrame(this.host(ws), conn, decoded.value, bytes, budgets, now);
    if (close) this.drop(conn, close.code, close.reason);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.forget(ws);
    if (this.children.has(ws)) this.idleSoon();
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.forget(ws);
  }

  private forget(ws: WebSocket): void {
    const conn = this.sockets().get(ws);
    if (!conn) return;
    this.sockets().delete(ws);
    this.presence.disconnect(conn, Date.now());
    this.upstream.send({ type: "leave", tag: this.tags.get(ws)! });
    this.tags.delete(ws);
    this.idleSoon();
  }

  /** No socket and no child relay left: the link goes after a while, and the relay may sleep. */
  private idleSoon(): void {
    const idle = () => this.sockets().size === 0 && this.children.list().length === 0;
    if (!idle()) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => idle() && this.upstream.close(), IDLE_LINK_MS);
  }

  private drop(conn: Conn, code: number, reason: string): void {
    this.forget(conn.ws);
    try {
      conn.ws.serializeAttachment(null);
      conn.ws.close(code, reason);
    } catch {
      // already closed
    }
  }

  private dropWhere(pick: (conn: Conn) => boolean, code: number, reason: string): void {
    for (const conn of [...this.sockets().values()]) if (pick(conn)) this.drop(conn, code, reason);
  }

  /** The replica once it is current (the link opened and caught up). */
  private async current(): Promise<Y.Doc> {
    if (!this.ref) throw new Error("relay without a document");
    await this.upstream.ready(this.ref, this.index);
    return this.upstream.replica;
  }

  /** What the frame and control handlers (relay-frames.ts) need of this relay, for one socket's frame or the link. */
  private host(ws?: WebSocket): RelayHost {
    return {
      limits: this.limits,
      replica: this.upstream.replica,
      presence: this.presence,
      above: this.above,
      sockets: () => this.sockets(),
      tags: this.tags,
      send: (conn, message) => this.sendTo(conn, message),
      up: (m) => this.upstream.send(m),
      sender: (conn) => ({ tag: ws ? this.tags.get(ws)! : 0, userId: conn.userId, claim: conn.claim, keyId: conn.keyId ?? "" }),
      drop: (conn, code, reason) => this.drop(conn, code, reason),
      revoke: (keyId) => this.revokedKeys.add(keyId, Date.now()),
    };
  }

  /** The document was deleted: every socket closes with 4404, and this relay refuses everything from now on. */
  private erase(): void {
    this.setMeta("erased", String(Date.now()));
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(CloseCode.documentDeleted, "document deleted");
      } catch {
        // already closed
      }
    }
    this.conns = new Map();
    this.tags.clear();
    this.upstream.close();
  }

  /** Token expiry (4401), and a lost link re-opened while sockets wait on it. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.dropWhere((c) => c.exp * 1000 <= now, CloseCode.tokenExpired, "token expired");
    let next = Number.POSITIVE_INFINITY;
    for (const c of this.sockets().values()) next = Math.min(next, c.exp * 1000);
    if (this.sockets().size > 0 && this.ref && !this.upstream.live && !this.erased) {
      await this.upstream.ready(this.ref, this.index).catch(() => {});
      if (!this.upstream.live) next = Math.min(next, now + RELINK_MS);
    }
    if (next !== Number.POSITIVE_INFINITY) await this.ctx.storage.setAlarm(next);
  }

  /** For benchmarks (W9): this instance's sockets and what it sent them. */
  work(): { sockets: number; sent: number; live: boolean } {
    return { sockets: this.sockets().size, sent: this.sent, live: this.upstream.live };
  }

  /** For tests and benchmarks: what this relay holds. */
  async stats(): Promise<{ sockets: number; live: boolean; stateVector: Uint8Array }> {
    return { sockets: this.sockets().size, live: this.upstream.live, stateVector: Y.encodeStateVector(this.upstream.replica) };
  }
}
