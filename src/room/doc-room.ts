/**
 * One Durable Object per document: holds the Yjs state, accepts WebSockets with the Hibernation API,
 * persists every update in its SQLite storage before anyone sees it, and serves REST over typed RPC.
 * This file holds the sockets and a thin table of calls; the work lives with its owner: the room
 * (sync/room-core.ts), durable-before-visible (sync/outbox.ts), the alarm's duties (alarms.ts), the catalog
 * write-back, the saved signal, versions (versions/room.ts) and webhooks (webhooks/room-schedule.ts).
 */
import { DurableObject } from "cloudflare:workers";
import * as Y from "yjs";
import type { Env } from "../env";
import { decide, type Rule } from "../auth/access";
import { Admission } from "../sync/admission";
import { CloseCode } from "../sync/close-codes";
import { Outbox } from "../sync/outbox";
import { RoomCore } from "../sync/room-core";
import type { VersionKind } from "../versions/policy";
import type { VersionMeta, VersionPage } from "../versions/store";
import type { RootKind } from "../versions/to-json";
import { UPDATED } from "../webhooks/dispatch";
import { type RelayAdmission, RelayLinks } from "../relay/links";
import { WebhookLedger } from "../webhooks/room-ledger";
import { assemble, type RoomHelpers } from "./assemble";
import { type Conn, toAttachment } from "./attachment";
import { readLimits, type Limits } from "./limits";
import { done, GONE, type Outcome } from "./outcome";
import { RevokedKeys } from "./revoked-keys";
import { type DocRef, IdentityHeader, type Presence, type Reader } from "./rpc-types";
import type { RoomParts } from "./parts";
import { closedAtOnce, Sockets, upgradeIdentity } from "./sockets";
import { SqlUpdateStore } from "./store";

/** Storage key of the debug wake-up count (DEBUG_WAKEUPS). */
const WAKEUPS_META = "debugWakeups";

export class DocRoom extends DurableObject<Env> {
  private readonly limits: Limits;
  /** Who may open one more socket: per document, per user, and how fast (in memory: a wake-up refills it). */
  private readonly admission: Admission;
  /** The update log, the outbox that holds messages until their updates are stored, the room, the webhook ledger. */
  private readonly parts = {} as RoomParts;
  private readonly sockets: Sockets;
  /** Versions, content calls, webhooks, the catalog write-back, the saved signal, access rules and the alarm (assemble.ts). */
  private readonly h: RoomHelpers;
  private ref: DocRef | undefined;
  private lastChangeAt = 0;
  /**
   * The document this object held was deleted: it refuses every call and socket for good (a re-created
   * id gets a new object). Kept in storage, so a request that passed the catalog check just before the
   * delete cannot write into it.
   */
  private erased: boolean;
  /** Keys revoked while tokens they minted may live: their sockets and upgrades are refused. */
  private readonly revokedKeys = new RevokedKeys({ getMeta: (k) => this.parts.store.getMeta(k), setMeta: (k, v) => this.parts.store.setMeta(k, v) });
  /** The relays' links, once the audience outgrows this object (src/relay/links.ts). */
  private readonly links: RelayLinks;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = readLimits(env);
    this.admission = new Admission(this.limits);
    this.sockets = new Sockets(ctx, () => this.parts.core);
    // The document itself loads lazily: an awareness-only wake-up never pays for it.
    this.open();
    const ref = this.parts.store.getMeta("ref");
    if (ref) this.ref = JSON.parse(ref) as DocRef;
    this.erased = this.parts.store.getMeta("erased") !== undefined;
    this.h = assemble({
      ctx,
      env,
      limits: this.limits,
      parts: this.parts,
      sockets: this.sockets,
      ref: () => this.ref,
      erased: () => this.erased,
      lastChangeAt: () => this.lastChangeAt,
      storedBytes: () => this.storedBytes(),
      chargeRead: (reader, bytes) => this.chargeRead(reader, bytes),
    });
    this.links = new RelayLinks({
      ctx,
      env,
      limits: this.limits,
      parts: this.parts,
      admission: this.admission,
      revokedKeys: this.revokedKeys,
      rule: (userId) => this.h.rules.get(userId),
      direct: (userId) => this.sockets.count(userId),
      directTotal: () => this.sockets.all().size,
      ref: () => this.ref,
      erased: () => this.erased,
    });
    // A change committed just before the object died (or was evicted) whose event is not out yet: look soon.
    const webhooksDue = this.erased ? undefined : this.h.webhooks.pendingAtWake(Date.now());
    if (webhooksDue !== undefined) this.h.alarm.request(webhooksDue);
    // Answered by the runtime without waking the object: a cheap keep-alive for clients that want one.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    // A debug count of wake-ups (constructions), off unless DEBUG_WAKEUPS is "true" (bench W6, /dev/docs/{id}/wakeups).
    if ((env.DEBUG_WAKEUPS as string) === "true") this.parts.store.setMeta(WAKEUPS_META, String(Number(this.parts.store.getMeta(WAKEUPS_META) ?? 0) + 1));
  }

  /** Wires storage, the outbox and the room together (again after an erase: deleteAll drops the tables). */
  private open(): void {
    this.parts.store = new SqlUpdateStore(this.ctx.storage.sql, (fn) => this.ctx.storage.transactionSync(fn));
    this.parts.ledger = new WebhookLedger(this.ctx.storage.sql);
    // The events are part of the commit: same transaction (the delivery itself happens later, on the alarm).
    this.parts.store.withUpdates = (batch) => {
      this.parts.ledger.recordChange(UPDATED, Date.now());
      this.h.versions.recordInCommit();
      this.links.stage(batch);
    };
    this.parts.outbox = new Outbox(
      this.parts.store,
      this.sockets.sink(
        () => this.h.saved.committed(),
        () => this.links.conns(),
        // The feed first: relays send to their sockets while this object sends to its own.
        () => this.links.committed(),
      ),
      (e) => this.writeFailed(e),
    );
    this.parts.core = new RoomCore<Conn>(this.parts.store, this.parts.outbox, this.limits, () => this.changed());
  }

  /**
   * Storage refused a batch (the outbox has already dropped it and what was held for it): reload the
   * document from what is stored and close every socket with 1011, which the stock client retries: on
   * reconnect each writer sends what the server lacks, so nothing a client holds is lost.
   */
  private writeFailed(e: unknown): void {
    console.error("storage write failed; unwritten updates dropped, clients will re-sync", { error: String(e) });
    this.links.unstage();
    this.parts.core.discardMemory();
    this.sockets.dropWhere(() => true, CloseCode.internalError, "storage failure: reconnect");
  }

  /** Remembers which catalog row this object writes back to. False when the document was deleted. */
  private remember(ref: DocRef): boolean {
    if (this.erased) return false;
    const incarnation = ref.incarnation ?? "";
    if (this.ref && this.ref.projectId === ref.projectId && this.ref.docId === ref.docId && (this.ref.incarnation ?? "") === incarnation) return true;
    this.ref = { projectId: ref.projectId, docId: ref.docId, incarnation };
    this.parts.store.setMeta("ref", JSON.stringify(this.ref));
    return true;
  }

  /** Every call names its document: a deleted one answers `gone`. */
  private call<T>(ref: DocRef, fn: () => Outcome<T>): Outcome<T> {
    return this.remember(ref) ? fn() : GONE;
  }

  // ---- WebSocket upgrade (the Worker has checked the token and the catalog) ----

  override async fetch(request: Request): Promise<Response> {
    // Only the sync route calls this, after checking the upgrade: anything else is a bug, not a request to answer.
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") throw new Error("DocRoom.fetch takes WebSocket upgrades only");
    const { ref, userId, claim, exp, keyId, saved } = upgradeIdentity(request.headers);
    // A relay's link (only another object sets this header: the Worker strips every x-lattice-* header a client sends).
    const relay = request.headers.get(IdentityHeader.relay);
    if (relay !== null && userId === "") return this.links.accept(Number(relay));
    // Deleted, or the key revoked, between the Worker's check and now: the permanent close a live socket gets.
    if (!this.remember(ref)) return closedAtOnce(CloseCode.documentDeleted, "document deleted");
    if (keyId !== undefined && this.revokedKeys.has(keyId)) return closedAtOnce(CloseCode.keyRevoked, "key revoked");
    // The rule stored here decides over the token's claim (src/auth/access.ts), as the Worker's did from D1.
    const allowed = decide(claim, this.h.rules.get(userId), "read");
    if (!allowed.ok) return closedAtOnce(CloseCode.accessRemoved, "access removed");

    // As many sockets as this object keeps: the audience continues on relays (no refusal for room size).
    if (this.links.full()) return this.links.forward(request);
    const open = this.sockets.count(userId);
    const refused = this.admission.admit(userId, { total: open.total, byUser: open.byUser + this.links.roster.countOf(userId) }, Date.now());
    if (refused) return closedAtOnce(CloseCode.tryAgainLater, refused);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const conn: Conn = { ws: server, userId, access: allowed.access, claim, exp, saved, keyId, clientIds: new Map() };
    server.serializeAttachment(toAttachment(conn, () => undefined));
    this.sockets.add(conn);
    this.parts.core.greet(conn);
    await this.h.alarm.schedule(exp * 1000);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // A socket this object already closed: its frames still queued behind the close are dropped unread.
    const conn = this.sockets.all().get(ws);
    if (!conn) {
      if (typeof message !== "string" && this.links.has(ws)) this.links.onMessage(ws, new Uint8Array(message));
      return;
    }
    if (typeof message === "string") return this.sockets.drop(conn, CloseCode.unsupportedData, "text frames are not part of the protocol");
    if (message.byteLength > this.limits.maxFrameBytes) return this.sockets.drop(conn, CloseCode.tooBig, "frame too large");
    if (conn.exp * 1000 <= Date.now()) return this.sockets.drop(conn, CloseCode.tokenExpired, "token expired");
    if (conn.keyId !== undefined && this.revokedKeys.has(conn.keyId)) return this.sockets.drop(conn, CloseCode.keyRevoked, "key revoked");
    const close = this.parts.core.handleFrame(conn, new Uint8Array(message));
    if (close) this.sockets.drop(conn, close.code, close.reason);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.sockets.forget(ws);
    this.links.onClose(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.sockets.forget(ws);
    this.links.onClose(ws);
  }

  // ---- the alarm and its duties ----

  /** A committed change: each duty that follows changes says when it wants the alarm (a memory compare when it already comes). */
  private changed(): void {
    const now = Date.now();
    this.lastChangeAt = now;
    this.h.alarm.changed(now);
    // Webhooks first, so that the catalog's later due time below writes nothing.
    this.h.alarm.request(this.h.webhooks.changed(now));
    this.h.versions.changed(now);
    const catalogDue = this.h.catalog.changed(now);
    if (catalogDue !== undefined) this.h.alarm.request(catalogDue);
  }

  override async alarm(): Promise<void> {
    await this.h.alarm.fire();
  }

  private storedBytes(): number {
    return this.parts.store.snapshotBytes + this.parts.store.logBytes;
  }

  /**
   * Reads are budgeted like sockets' whole-document answers (MAX_SYNC_BYTES_PER_SECOND per user, a burst
   * of 2 × MAX_DOC_BYTES), so a read token within its allowance keeps the object's thread for others.
   */
  private chargeRead(reader: Reader | undefined, bytes: number): boolean {
    return reader === undefined || this.parts.core.chargeRead(reader.userId, bytes);
  }

  // ---- typed RPC for the REST routes: every call answers an Outcome (room/outcome.ts) ----

  async readUpdate(ref: DocRef, stateVector?: Uint8Array, reader?: Reader): Promise<Outcome<Uint8Array>> {
    return this.call(ref, () => this.h.content.read(stateVector, reader));
  }
  async applyUpdate(ref: DocRef, update: Uint8Array, author?: string): Promise<Outcome<Uint8Array>> {
    return this.call(ref, () => this.h.content.write(update, author));
  }
  async seed(ref: DocRef, update: Uint8Array): Promise<Outcome<{ sizeBytes: number }>> {
    return this.call(ref, () => this.h.content.seed(update));
  }
  async getJson(ref: DocRef, kinds: ReadonlyMap<string, RootKind>, reader?: Reader): Promise<Outcome<Record<string, unknown>>> {
    return this.call(ref, () => this.h.content.json(kinds, reader));
  }
  async getPresence(ref: DocRef): Promise<Outcome<Presence>> {
    return this.call(ref, () => this.h.content.presence(this.links.relayedUsers()));
  }

  /** The key was revoked: its tokens' sockets close with 4401 and the key is remembered against later frames and upgrades. */
  async revokeKey(ref: DocRef, keyId: string): Promise<Outcome<number>> {
    return this.call(ref, () => {
      this.revokedKeys.add(keyId, Date.now());
      this.links.revoke(keyId);
      return done(this.sockets.dropWhere((conn) => conn.keyId === keyId, CloseCode.keyRevoked, "key revoked"));
    });
  }

  /** A user's stored rule changed (null: removed): kept for later upgrades and applied to open sockets now (access-rules.ts). */
  async setAccess(ref: DocRef, userId: string, rule: Rule | null): Promise<Outcome<number>> {
    return this.call(ref, () => {
      this.links.access(userId, rule ?? undefined);
      return done(this.h.rules.apply(userId, rule ?? undefined));
    });
  }

  /** A relay asks whether one more socket may open on it (src/relay/links.ts: the per-user bound counts every object's sockets). */
  async admitRelayed(ref: DocRef, index: number, tag: number, userId: string, claim: "read" | "write", keyId?: string): Promise<RelayAdmission> {
    if (!this.remember(ref)) return { ok: false, code: CloseCode.documentDeleted, reason: "document deleted" };
    return this.links.admit(index, tag, userId, claim, keyId, Date.now());
  }

  // ---- versions (versions/room.ts; routes in versions/routes.ts) ----

  async createVersion(ref: DocRef, input: { name: string | null; createdBy: string | null }): Promise<Outcome<VersionMeta>> {
    return this.call(ref, () => this.h.versions.create(input));
  }
  async listVersions(ref: DocRef, opts: { limit: number; cursor?: string; kind?: VersionKind }): Promise<Outcome<VersionPage>> {
    return this.call(ref, () => this.h.versions.list(opts));
  }
  async getVersion(ref: DocRef, versionId: string): Promise<Outcome<VersionMeta>> {
    return this.call(ref, () => this.h.versions.get(versionId));
  }
  async getVersionState(ref: DocRef, versionId: string, reader?: Reader): Promise<Outcome<Uint8Array>> {
    return this.call(ref, () => this.h.versions.state(versionId, reader));
  }
  async getVersionJson(ref: DocRef, versionId: string, kinds: ReadonlyMap<string, RootKind>, reader?: Reader): Promise<Outcome<Record<string, unknown>>> {
    return this.call(ref, () => this.h.versions.json(versionId, kinds, reader));
  }
  async restoreVersion(ref: DocRef, versionId: string, by: string | null): Promise<Outcome<{ restoredFrom: string; before: string }>> {
    return this.call(ref, () => this.h.versions.restore(versionId, by));
  }
  async forkUpdate(ref: DocRef, versionId: string): Promise<Outcome<Uint8Array>> {
    return this.call(ref, () => this.h.versions.fork(versionId));
  }
  async renameVersion(ref: DocRef, versionId: string, name: string | null): Promise<Outcome<VersionMeta>> {
    return this.call(ref, () => this.h.versions.rename(versionId, name));
  }
  async deleteVersion(ref: DocRef, versionId: string): Promise<Outcome<null>> {
    return this.call(ref, () => this.h.versions.remove(versionId));
  }

  // ---- lifecycle, operators and tests ----

  /**
   * The document is being deleted: close every socket with 4404, erase all storage and leave a
   * tombstone, so this object refuses every later call. Idempotent: a retried DELETE erases again.
   */
  async erase(): Promise<void> {
    // The tombstone first: from here on the object refuses everything, even if erasing fails half-way
    // (the retried DELETE finishes the job).
    this.erased = true;
    this.parts.store.setMeta("erased", String(Date.now()));
    this.links.erase();
    this.sockets.closeAll(CloseCode.documentDeleted, "document deleted");
    this.ref = undefined;
    this.h.catalog.reset();
    this.h.webhooks.reset();
    this.h.versions.reset();
    this.h.saved.reset();
    this.parts.outbox.clear();
    await this.h.alarm.clear();
    await this.ctx.storage.deleteAll();
    // deleteAll drops the tables too (the versions with the rest): recreate them for the tombstone.
    this.open();
    this.h.versions.open();
    this.links.reopen();
    this.parts.store.setMeta("erased", String(Date.now()));
  }

  /** Folds the log into a snapshot now (operators, tests and benchmarks; normally the policy decides). */
  async compact(): Promise<void> {
    this.parts.outbox.flush();
    this.parts.core.maybeCompact(true);
  }

  /** How many times this object was constructed (woken) while DEBUG_WAKEUPS was on (0 otherwise). */
  wakeups(): number {
    return Number(this.parts.store.getMeta(WAKEUPS_META) ?? 0);
  }

  /** For benchmarks (W9): this instance's sockets, relays' links, and what it sent to each kind (counted since it woke). */
  work(): { sockets: number; links: number; fed: number; sent: number; linkSent: number; relays: number; relayed: number; span: number } {
    const links = [...this.links.conns()].length;
    return {
      sockets: this.sockets.all().size,
      links,
      fed: this.links.fed,
      sent: this.sockets.sent,
      linkSent: this.links.sent,
      relays: this.links.relays,
      relayed: this.links.roster.total,
      span: this.links.roster.span(),
    };
  }

  /** For tests and benchmarks: what storage and compaction look like now. */
  async stats(): Promise<{ storedBytes: number; logCount: number; snapshotBytes: number; encodedBytes: number; longestCompactionMs: number }> {
    return {
      storedBytes: this.storedBytes(),
      logCount: this.parts.store.logCount,
      snapshotBytes: this.parts.store.snapshotBytes,
      encodedBytes: Y.encodeStateAsUpdate(this.parts.core.doc).length,
      longestCompactionMs: this.parts.core.longestCompactionMs,
    };
  }
}
