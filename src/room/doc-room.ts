/**
 * One Durable Object per document: holds the Yjs state, accepts WebSockets with the Hibernation API,
 * persists every update in its SQLite storage before anyone sees it, and serves REST over typed RPC.
 */
import { DurableObject } from "cloudflare:workers";
import * as Y from "yjs";
import { writeBackDocument } from "../db/queries";
import type { Env } from "../env";
import { base64url } from "../ids";
import { readLimits, retentionLimits, type Limits } from "./limits";
import { Admission } from "../sync/admission";
import { CloseCode } from "../sync/close-codes";
import { encodeSaved } from "../sync/frames";
import { type Access, type ApplyOutcome, realClock } from "../sync/ports";
import { pacing } from "../sync/presence-pacing";

type ApplyOutcomeCode = Extract<ApplyOutcome, { ok: false }>["code"];
import { RoomCore } from "../sync/room-core";
import { restoreOnCopy, restoreUpdate } from "../versions/restore";
import { renderRoots } from "../versions/to-json";
import { validateUpdate } from "../sync/cost/update-check";
import { nextAutoVersionAt, recordAutoVersion, recordChange, VERSION_IDLE_SECONDS, type AutoVersionState, type AutoVersionTiming } from "../versions/policy";
import { type Attachment, type Conn, fromAttachment, toAttachment } from "./attachment";
import { Outbox, type Sink } from "../sync/outbox";
import {
  IdentityHeader,
  type ApplyUpdateResult,
  type DocRef,
  type JsonResult,
  type Reader,
  type ReadResult,
  type Presence,
  type RootKind,
  type VersionKind,
  type VersionRefusal,
  type VersionResult,
  type WriteRefusal,
} from "./rpc-types";
import { RevokedKeys } from "./revoked-keys";
import { SqlUpdateStore } from "./store";
import { putRefusal, SqlVersionStore, type PutResult, type PutVersion, type VersionMeta, type VersionPage } from "../versions/store";
import { WebhookLedger } from "../webhooks/room-ledger";
import { dispatchUpdated, UPDATED } from "../webhooks/dispatch";
import { dispatchOnce, hasPendingOnce, recordOnce, RESTORED, VERSION_CREATED, type OnceData } from "../webhooks/once";

const CATALOG_FLUSH_MS = 5_000;
/**
 * Plus up to this much at random: documents edited together (a class, a launch, a benchmark) would
 * otherwise all write to D1 in the same instant every 5 s. Locally every D1 write briefly stalls the
 * one process: 100 documents in step made W3's p99 140 ms; with no write-backs at all it was 43 ms.
 */
const CATALOG_FLUSH_JITTER_MS = 5_000;
const IDLE_BEFORE_COMPACT_MS = 5_000;
/** Log entries left uncompacted when a document goes idle, so a cold start sends few messages. */
const COLD_TAIL = 16;
/** An alarm this late, with no handler running, is taken for lost and set again by the next change. */
const ALARM_OVERDUE_MS = 3_000;
/** The alarm a handler sets for its successor is at least this far ahead. */
const ALARM_MIN_AHEAD_MS = 200;
/** A change after a quiet period is turned into `document.updated` this soon (the issue: queued within 5 s). */
const WEBHOOK_FIRST_DELAY_MS = 1_000;
/**
 * After a look-up found no endpoint for `document.updated`, the next one waits this long: a document edited
 * without webhooks costs one D1 read per 5 s, not one per second, and a change after a webhook is created
 * is still queued within 5 s.
 */
const WEBHOOK_RECHECK_MS = 5_000;
/** Where the automatic-version timing (version-policy.ts) survives eviction: written once per burst and per version. */
const AUTO_VERSION_META = "autoVersion";

const gone = { ok: false, reason: "gone", message: "no such document" } as const;
/** A restore the room refused, in version terms: a user's spent allowance is theirs to wait out. */
const RESTORE_REFUSAL: Record<ApplyOutcomeCode, VersionRefusal> = {
  too_large: "too_large",
  invalid_update: "unrestorable",
  too_many_client_ids: "rate_limited",
  rate_limited: "rate_limited",
};
const noVersion = { ok: false, reason: "not_found", message: "no such version" } as const;
const unrestorable = { ok: false, reason: "unrestorable", message: "the document's content cannot be restored to this version" } as const;
const overReadBudget = { ok: false, reason: "rate_limited", message: "over the reader's byte allowance (MAX_SYNC_BYTES_PER_SECOND): try again later" } as const;
/**
 * What rendering a stored byte as JSON (decode into a Y.Doc, then walk it) costs a reader's allowance,
 * in bytes: rendering is several times dearer than copying the same bytes out.
 */
const RENDER_COST_PER_BYTE = 4;

/** Storage key of the debug wake-up count (DEBUG_WAKEUPS). */
const WAKEUPS_META = "debugWakeups";

export class DocRoom extends DurableObject<Env> {
  private readonly limits: Limits;
  /** Who may open one more socket: per document, per user, and how fast (in memory: a wake-up refills it). */
  private readonly admission: Admission;
  /** The update log, the outbox that holds messages until their updates are stored, and the room. */
  private store!: SqlUpdateStore;
  private webhooks!: WebhookLedger;
  /** Named, automatic and before-restore versions, beside the log in the same SQLite (erased with it). */
  private versions!: SqlVersionStore;
  private readonly versionTiming: AutoVersionTiming;
  /** Changes not yet in an automatic version, and when the last one was taken. */
  private autoVersions: AutoVersionState = {};
  /** A restore's `document.restored`, recorded by the commit that stores the restore's update. */
  private restoredEvent: OnceData<typeof RESTORED> | undefined;
  /** When the alarm should next look at the webhook outbox (Infinity: nothing pending that it knows of). */
  private webhookDueAt = Infinity;
  /** When the catalog write-back is due (the alarm also runs earlier for other duties). */
  private catalogDueAt = 0;
  /** No endpoint subscribed at the last look-up: the next waits until then. */
  private webhookQuietUntil = 0;
  private outbox!: Outbox<Conn>;
  private core!: RoomCore<Conn>;
  /** The saved signal waiting for its send in a large room, and the timer that sends it. */
  private savedPending: Uint8Array | undefined;
  private cancelSaved: (() => void) | undefined;
  /** Per-socket state, kept in memory; filled from attachments once after waking. */
  private conns: Map<WebSocket, Conn> | undefined;
  private ref: DocRef | undefined;
  /** When the first change not yet written back to the D1 catalog happened. */
  private dirtySince: number | undefined;
  private lastChangeAt = 0;
  /** False until this instance has written the catalog once (it cannot know what a previous one did). */
  private catalogWritten = false;
  /** When the alarm is due (Infinity: none); undefined until read from storage once. */
  private alarmAt: number | undefined;
  /** The one storage read of the alarm after waking, shared by every scheduleAlarm that waits for it. */
  private alarmRead: Promise<void> | undefined;
  private alarmRunning = false;
  /**
   * The document this object held was deleted: it refuses every call and socket for good (a re-created
   * id gets a new object). Kept in storage, so a request that passed the catalog check just before the
   * delete cannot write into it.
   */
  private erased: boolean;
  /** Keys revoked while tokens they minted may live: their sockets and upgrades are refused. */
  private readonly revokedKeys = new RevokedKeys({ getMeta: (k) => this.store.getMeta(k), setMeta: (k, v) => this.store.setMeta(k, v) });

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = readLimits(env);
    this.admission = new Admission(this.limits);
    this.versionTiming = { intervalMs: this.limits.versionIntervalSeconds * 1000, idleMs: VERSION_IDLE_SECONDS * 1000 };
    // The document itself loads lazily: an awareness-only wake-up never pays for it.
    this.open();
    const ref = this.store.getMeta("ref");
    if (ref) this.ref = JSON.parse(ref) as DocRef;
    this.erased = this.store.getMeta("erased") !== undefined;
    const auto = this.store.getMeta(AUTO_VERSION_META);
    if (auto && !this.erased) this.autoVersions = JSON.parse(auto) as AutoVersionState;
    // A change committed just before the object died (or was evicted) whose event is not out yet: look soon.
    if (!this.erased && (this.webhooks.pending(UPDATED) || hasPendingOnce(this.webhooks))) this.dueWebhooks(Date.now());
    // Answered by the runtime without waking the object: a cheap keep-alive for clients that want one.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    // A debug count of wake-ups (constructions), off unless DEBUG_WAKEUPS is "true" (bench W6, /dev/docs/{id}/wakeups).
    if ((env.DEBUG_WAKEUPS as string) === "true") this.store.setMeta(WAKEUPS_META, String(Number(this.store.getMeta(WAKEUPS_META) ?? 0) + 1));
  }

  /** How many times this object was constructed (woken) while DEBUG_WAKEUPS was on (0 otherwise). */
  wakeups(): number {
    return Number(this.store.getMeta(WAKEUPS_META) ?? 0);
  }

  /** Wires storage, the outbox and the room together (again after an erase: deleteAll drops the tables). */
  private open(): void {
    this.store = new SqlUpdateStore(this.ctx.storage.sql, (fn) => this.ctx.storage.transactionSync(fn));
    this.webhooks = new WebhookLedger(this.ctx.storage.sql);
    // The store's own transaction is a no-op: every write the room makes to it runs in one of the room's
    // (putVersion, deleteVersion), together with the webhook event it is about.
    this.versions = new SqlVersionStore(this.ctx.storage.sql, (fn) => fn(), retentionLimits(this.limits));
    // The event is part of the commit: same transaction (the delivery itself happens later, on the alarm).
    this.store.withUpdates = () => {
      this.webhooks.recordChange(UPDATED, Date.now());
      if (this.restoredEvent) recordOnce(this.webhooks, RESTORED, this.restoredEvent, Date.now());
      this.restoredEvent = undefined;
    };
    const sockets: Sink<Conn> = {
      sendNow: (conn, message) => {
        try {
          conn.ws.send(message);
        } catch {
          // The socket is closing; its close handler cleans up.
        }
      },
      connections: () => this.connMap().values(),
      awarenessChanged: (conn) => conn.ws.serializeAttachment(toAttachment(conn, (id) => this.core.awarenessState(id))),
      committed: () => this.announceSaved(),
    };
    this.outbox = new Outbox(this.store, sockets, (e) => this.writeFailed(e));
    this.core = new RoomCore<Conn>(this.store, this.outbox, this.limits, () => this.changed());
  }

  /**
   * After a commit with updates: every connection that asked (`saved=1`) learns what is now durable. A
   * large room coalesces these like presence changes (presence-pacing.ts): one send per connection per
   * gap, not one per commit.
   */
  private announceSaved(): void {
    const conns = this.connMap();
    let asked = false;
    for (const conn of conns.values()) if (conn.saved) asked = true;
    if (!asked) return;
    // Captured now: when it goes out, later updates may be pending and must not be called saved.
    this.savedPending = encodeSaved(this.core.durableStateVector());
    const gap = pacing(conns.size).changeGapMs;
    if (gap === 0) return this.sendSaved();
    this.cancelSaved ??= realClock.setTimer(gap, () => {
      this.cancelSaved = undefined;
      this.sendSaved();
    });
  }

  private sendSaved(): void {
    const message = this.savedPending;
    this.savedPending = undefined;
    if (!message) return;
    for (const conn of this.connMap().values()) {
      if (!conn.saved) continue;
      try {
        conn.ws.send(message);
      } catch {
        // The socket is closing; its close handler cleans up.
      }
    }
  }

  /**
   * Storage refused a batch (the outbox has already dropped it and what was held for it): reload the
   * document from what is stored and close every socket with 1011, which the stock client retries: on
   * reconnect each writer sends what the server lacks, so nothing a client holds is lost.
   */
  private writeFailed(e: unknown): void {
    console.error("storage write failed; unwritten updates dropped, clients will re-sync", { error: String(e) });
    this.core.discardMemory();
    for (const conn of [...this.connMap().values()]) this.drop(conn, CloseCode.internalError, "storage failure: reconnect");
  }

  /** Remembers which catalog row this object writes back to. False when the document was deleted. */
  private remember(ref: DocRef): boolean {
    if (this.erased) return false;
    const incarnation = ref.incarnation ?? "";
    if (this.ref && this.ref.projectId === ref.projectId && this.ref.docId === ref.docId && (this.ref.incarnation ?? "") === incarnation) return true;
    this.ref = { projectId: ref.projectId, docId: ref.docId, incarnation };
    this.store.setMeta("ref", JSON.stringify(this.ref));
    return true;
  }

  private connMap(): Map<WebSocket, Conn> {
    if (!this.conns) {
      this.conns = new Map();
      for (const ws of this.ctx.getWebSockets()) {
        const a = ws.deserializeAttachment() as Attachment | null;
        if (!a) continue;
        const conn = fromAttachment(ws, a);
        this.conns.set(ws, conn);
        // Presence survives hibernation: joiners see everyone at once, removals carry current clocks.
        for (const [id, clock, state] of a.c) this.core.restoreAwareness(conn, id, clock, state);
      }
    }
    return this.conns;
  }

  // ---- WebSocket upgrade (the Worker has checked the token and the catalog) ----

  override async fetch(request: Request): Promise<Response> {
    // Only the sync route calls this, after checking the upgrade: anything else is a bug, not a request to answer.
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") throw new Error("DocRoom.fetch takes WebSocket upgrades only");
    const h = request.headers;
    const userId = h.get(IdentityHeader.user) ?? "";
    const access: Access = h.get(IdentityHeader.access) === "write" ? "write" : "read";
    const exp = Number(h.get(IdentityHeader.exp) ?? 0);
    const ref = { projectId: h.get(IdentityHeader.project) ?? "", docId: h.get(IdentityHeader.doc) ?? "", incarnation: h.get(IdentityHeader.incarnation) ?? "" };
    if (!this.remember(ref)) {
      // Deleted between the Worker's catalog check and now: a permanent close, as for a live socket.
      const pair = new WebSocketPair();
      pair[1].accept();
      pair[1].close(CloseCode.documentDeleted, "document deleted");
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const keyId = h.get(IdentityHeader.key) ?? undefined;
    if (keyId !== undefined && this.revokedKeys.has(keyId)) {
      // Revoked between the Worker's key check and now: the same permanent close as a live socket gets.
      const pair = new WebSocketPair();
      pair[1].accept();
      pair[1].close(CloseCode.keyRevoked, "key revoked");
      return new Response(null, { status: 101, webSocket: pair[0] });
    }

    const conns = this.connMap();
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    let byUser = 0;
    for (const c of conns.values()) if (c.userId === userId) byUser++;
    const refused = this.admission.admit(userId, { total: conns.size, byUser }, Date.now());
    if (refused) {
      // Accepted without hibernation: a hibernatable socket closed before the client has sent anything
      // completes its close handshake only ~10 s later, and the stock client waits for that to retry.
      server.accept();
      server.close(CloseCode.tryAgainLater, refused);
      return new Response(null, { status: 101, webSocket: client });
    }
    this.ctx.acceptWebSocket(server);
    const saved = h.get(IdentityHeader.saved) === "1";
    const conn: Conn = { ws: server, userId, access, exp, saved, keyId, clientIds: new Map() };
    server.serializeAttachment(toAttachment(conn, () => undefined));
    conns.set(server, conn);
    this.core.greet(conn);
    await this.scheduleAlarm(exp * 1000);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // A socket this object already closed: its frames still queued behind the close are dropped unread.
    const conn = this.connMap().get(ws);
    if (!conn) return;
    if (typeof message === "string") return this.drop(conn, CloseCode.unsupportedData, "text frames are not part of the protocol");
    if (message.byteLength > this.limits.maxFrameBytes) return this.drop(conn, CloseCode.tooBig, "frame too large");
    if (conn.exp * 1000 <= Date.now()) return this.drop(conn, CloseCode.tokenExpired, "token expired");
    if (conn.keyId !== undefined && this.revokedKeys.has(conn.keyId)) return this.drop(conn, CloseCode.keyRevoked, "key revoked");
    const close = this.core.handleFrame(conn, new Uint8Array(message));
    if (close) this.drop(conn, close.code, close.reason);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.forget(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.forget(ws);
  }

  private drop(conn: Conn, code: number, reason: string): void {
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

  private forget(ws: WebSocket): void {
    const conns = this.connMap();
    const conn = conns.get(ws);
    if (!conn) return;
    conns.delete(ws);
    this.core.disconnect(conn);
  }

  // ---- catalog write-back and token expiry, both on the one alarm ----

  private changed(): void {
    this.lastChangeAt = Date.now();
    // An alarm long overdue while no handler runs was lost (seen locally under load): plan it afresh.
    if (this.alarmAt !== undefined && this.alarmAt < this.lastChangeAt - ALARM_OVERDUE_MS && !this.alarmRunning) this.alarmAt = Infinity;
    // The webhook outbox is looked at once per quiet period, or when a throttled endpoint may have the
    // change; either way the alarm must come by then. A memory compare per change: it writes only when
    // the alarm would come later (first, so that the catalog's later due time below writes nothing).
    if (this.webhookDueAt === Infinity) this.webhookDueAt = Math.max(this.lastChangeAt + WEBHOOK_FIRST_DELAY_MS, this.webhookQuietUntil);
    if (this.alarmAt === undefined || this.webhookDueAt < this.alarmAt) void this.scheduleAlarm(this.webhookDueAt);
    if (this.autoVersions.firstChangeAt === undefined) {
      // The first change of a burst: the automatic version's timing starts (and survives eviction).
      this.autoVersions = recordChange(this.autoVersions, this.lastChangeAt);
      this.store.setMeta(AUTO_VERSION_META, JSON.stringify(this.autoVersions));
      void this.scheduleAlarm(nextAutoVersionAt(this.autoVersions, this.versionTiming)!);
    } else {
      this.autoVersions = recordChange(this.autoVersions, this.lastChangeAt);
    }
    if (this.dirtySince === undefined) {
      this.dirtySince = this.lastChangeAt;
      this.catalogDueAt = this.lastChangeAt + CATALOG_FLUSH_MS + Math.round(Math.random() * CATALOG_FLUSH_JITTER_MS);
      void this.scheduleAlarm(this.catalogDueAt);
    }
  }

  private dueWebhooks(at: number): void {
    this.webhookDueAt = at;
    void this.scheduleAlarm(at);
  }

  /**
   * Sets the alarm to `at` unless one is due sooner. The due time is kept in memory (read once after
   * waking), so a burst of edits costs no storage round trip: an alarm write holds back every
   * outgoing message until it is durable.
   */
  private async scheduleAlarm(at: number): Promise<void> {
    if (this.alarmAt === undefined) {
      // One read for all callers: a second read could return what the storage held before the first
      // caller's write and move the alarm later.
      this.alarmRead ??= this.ctx.storage.getAlarm().then((stored) => {
        this.alarmAt ??= stored ?? Infinity;
      });
      await this.alarmRead;
    }
    if (at >= this.alarmAt!) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /**
   * One alarm, five duties; each returns when it wants the alarm again (Infinity: not needed). One that
   * throws does not keep the others from running, nor the alarm from being set again.
   */
  override async alarm(): Promise<void> {
    this.alarmRunning = true;
    try {
      await this.runAlarm();
    } finally {
      this.alarmRunning = false;
    }
  }

  private async runAlarm(): Promise<void> {
    this.alarmAt = Infinity;
    this.outbox.flush();
    const now = Date.now();
    let next = Infinity;
    for (const duty of [
      () => this.expireTokens(now),
      () => this.sendWebhooks(now),
      () => this.writeBackCatalog(now),
      () => this.compactWhenIdle(now),
      () => this.takeAutoVersion(now),
    ]) {
      try {
        next = Math.min(next, await duty());
      } catch (e) {
        console.error("alarm duty failed; trying again soon", { error: e instanceof Error ? e.name : typeof e });
        next = Math.min(next, Date.now() + CATALOG_FLUSH_MS);
      }
    }
    // A change during the awaits above may have asked for a sooner alarm (scheduleAlarm). Set it again
    // here all the same: what the runtime does with an alarm set while its handler runs is not ours to rely on.
    // Never in the past: an alarm due before its own handler has finished is not run again everywhere.
    next = Math.max(Math.min(next, this.alarmAt ?? Infinity), Date.now() + ALARM_MIN_AHEAD_MS);
    if (next !== Infinity) {
      this.alarmAt = next;
      await this.ctx.storage.setAlarm(next);
    }
  }

  /** Closes sockets whose token has expired (4401); due again at the next expiry. */
  private expireTokens(now: number): number {
    let next = Infinity;
    for (const conn of [...this.connMap().values()]) {
      if (conn.exp * 1000 <= now) this.drop(conn, CloseCode.tokenExpired, "token expired");
      else next = Math.min(next, conn.exp * 1000);
    }
    return next;
  }

  /** Writes size and last change back to the D1 catalog when due; due again while a change is not written. */
  private async writeBackCatalog(now: number): Promise<number> {
    // After a wake-up the object cannot know whether the last change reached D1: write it again then.
    if ((this.dirtySince !== undefined && now >= this.catalogDueAt) || !this.catalogWritten) await this.flushCatalog();
    return this.dirtySince === undefined ? Infinity : Math.max(this.catalogDueAt, this.dirtySince + CATALOG_FLUSH_MS);
  }

  /**
   * Turns the pending change into `document.updated` for the endpoints whose throttle allows it; due
   * again when a throttled one may have it. Off the sync path: only the alarm calls it.
   */
  private async sendWebhooks(now: number): Promise<number> {
    if (now < this.webhookDueAt) return this.webhookDueAt;
    this.webhookDueAt = Infinity;
    if (!this.ref) return Infinity; // never named by a call: it cannot have written anything
    let next: number;
    try {
      const ref = { ...this.ref, incarnation: this.ref.incarnation ?? "" };
      // Versions and restores first: one event each, never throttled.
      await dispatchOnce({ env: this.env, outbox: this.webhooks, ref, now });
      const done = await dispatchUpdated({
        env: this.env,
        outbox: this.webhooks,
        ref,
        now,
        state: () => ({ sizeBytes: this.storedBytes(), stateVector: base64url(this.core.durableStateVector()) }),
      });
      next = done.next;
      if (done.subscribers === 0) this.webhookQuietUntil = now + WEBHOOK_RECHECK_MS;
    } catch (e) {
      // Nothing was marked sent: the next try records and enqueues the same event ids again.
      console.error("webhook dispatch failed; retrying", { doc: this.ref.docId, error: e instanceof Error ? e.name : typeof e });
      next = Date.now() + 10 * WEBHOOK_FIRST_DELAY_MS;
    }
    // A change that came in while this ran asked for nothing (webhookDueAt was not Infinity): look again.
    if (next === Infinity && this.webhooks.pending(UPDATED)) next = Math.max(Date.now() + WEBHOOK_FIRST_DELAY_MS, this.webhookQuietUntil);
    this.webhookDueAt = Math.min(this.webhookDueAt, next);
    return this.webhookDueAt;
  }

  /**
   * Takes the automatic version when version-policy.ts says it is due (end of a burst, or the interval
   * during continuous editing); due again then otherwise. The document is loaded for it if it is not:
   * only an object that changed since its last automatic version pays that.
   */
  private takeAutoVersion(now: number): number {
    const due = nextAutoVersionAt(this.autoVersions, this.versionTiming);
    if (due === undefined || this.erased) return Infinity;
    if (now < due) return due;
    const put = this.putVersion({ state: this.core.encodeState(), kind: "auto", now }, () => {
      this.autoVersions = recordAutoVersion(now);
      this.store.setMeta(AUTO_VERSION_META, JSON.stringify(this.autoVersions));
    });
    if (!put.ok) {
      // Named versions fill MAX_VERSION_BYTES: this burst gets no automatic version; the next one tries again.
      console.warn("automatic version refused", { doc: this.ref?.docId, reason: put.reason });
      this.autoVersions = recordAutoVersion(now);
      this.store.setMeta(AUTO_VERSION_META, JSON.stringify(this.autoVersions));
    }
    return Infinity;
  }

  /**
   * Stores a version, the retention it triggers, its `version.created` event and `alsoInside` in one
   * transaction; the event goes out on the alarm soon after.
   */
  private putVersion(input: PutVersion, alsoInside: () => void = () => {}): PutResult {
    const put = this.ctx.storage.transactionSync(() => {
      const r = this.versions.put(input);
      if (!r.ok) return r;
      recordOnce(this.webhooks, VERSION_CREATED, { versionId: r.version.id, kind: r.version.kind, name: r.version.name }, r.version.createdAt);
      alsoInside();
      return r;
    });
    if (put.ok) this.dueWebhooks(Math.min(this.webhookDueAt, Date.now() + WEBHOOK_FIRST_DELAY_MS));
    return put;
  }

  /**
   * Folds a long log tail into the snapshot once editing pauses, so the next cold start can answer fresh
   * clients straight from storage (cold-start.ts). Only when the document is in memory anyway: after a
   * restart, loading every object with an overdue alarm would stall them all.
   */
  private compactWhenIdle(now: number): number {
    if (this.store.logCount <= COLD_TAIL || !this.core.isLoaded) return Infinity;
    if (now - this.lastChangeAt < IDLE_BEFORE_COMPACT_MS) return now + IDLE_BEFORE_COMPACT_MS;
    this.core.maybeCompact(true);
    return Infinity;
  }

  private async flushCatalog(): Promise<void> {
    if (!this.ref) return;
    const updatedAt = this.lastChangeAt || Date.now();
    const pendingSince = this.dirtySince;
    this.dirtySince = undefined;
    try {
      // Only this creation's row: never a document re-created with the same id.
      await writeBackDocument(this.env.DB, { ...this.ref, incarnation: this.ref.incarnation ?? "" }, { updatedAt, sizeBytes: this.storedBytes() });
      this.catalogWritten = true;
    } catch (e) {
      console.error("catalog write-back failed; retrying", { doc: this.ref.docId, error: String(e) });
      // Retry in about 30 s (the alarm is due CATALOG_FLUSH_MS after dirtySince), not in a tight loop.
      this.dirtySince = Math.max(this.dirtySince ?? 0, pendingSince ?? 0, Date.now() + 9 * CATALOG_FLUSH_MS);
    }
  }

  private storedBytes(): number {
    return this.store.snapshotBytes + this.store.logBytes;
  }

  // ---- typed RPC for the REST routes ----

  /** The state, or what `stateVector` lacks; null when the document was deleted. Unbudgeted: see readUpdate. */
  async getUpdate(ref: DocRef, stateVector?: Uint8Array): Promise<Uint8Array | null> {
    const read = await this.readUpdate(ref, stateVector);
    return read.ok ? read.value : null;
  }

  /** The state, or what `stateVector` lacks. A client token's user pays for it from their byte allowance. */
  async readUpdate(ref: DocRef, stateVector?: Uint8Array, reader?: Reader): Promise<ReadResult> {
    if (!this.remember(ref)) return gone;
    // The whole state costs its stored size up front; a diff, what it turns out to be.
    if (!stateVector && !this.chargeRead(reader, this.storedBytes())) return overReadBudget;
    this.outbox.flush(); // never reveal an update before it is written
    const update = this.core.encodeState(stateVector);
    if (stateVector && reader) this.core.chargeRead(reader.userId, update.length);
    return { ok: true, value: update };
  }

  /**
   * Reads are budgeted like sockets' whole-document answers (MAX_SYNC_BYTES_PER_SECOND per user, a burst
   * of 2 × MAX_DOC_BYTES), so a read token within its allowance keeps the object's thread for others.
   */
  private chargeRead(reader: Reader | undefined, bytes: number): boolean {
    return reader === undefined || this.core.chargeRead(reader.userId, bytes);
  }

  /** `author`: the client token's user, whose new Yjs client ids count against their budget; none for a secret key. */
  async applyUpdate(ref: DocRef, update: Uint8Array, author?: string): Promise<ApplyUpdateResult> {
    if (!this.remember(ref)) return { ok: false, reason: "gone", message: "no such document" };
    if (update.length > this.limits.maxUpdateBytes) {
      return { ok: false, reason: "too_large", message: `an update may be at most ${this.limits.maxUpdateBytes} bytes` };
    }
    let clientIds: Set<number>;
    try {
      clientIds = validateUpdate(update);
    } catch {
      return { ok: false, reason: "invalid_update", message: "the body is not a valid Yjs v1 update" };
    }
    const outcome = this.core.applyUpdate(update, clientIds, { userId: author });
    // The 200 is an acknowledgement: write now, in this event, so the answer waits for the commit.
    if (!this.outbox.flush()) return { ok: false, reason: "storage_failed", message: "the update could not be stored; nothing was applied" };
    if (!outcome.ok) return { ok: false, reason: outcome.code, message: outcome.message };
    return { ok: true, stateVector: this.core.stateVector() };
  }

  async getJson(ref: DocRef, kinds: ReadonlyMap<string, RootKind>, reader?: Reader): Promise<JsonResult> {
    if (!this.remember(ref)) return { ok: false, gone: true, message: "no such document" };
    if (!this.chargeRead(reader, RENDER_COST_PER_BYTE * this.storedBytes())) return { ok: false, rateLimited: true, message: overReadBudget.message };
    this.outbox.flush();
    // renderRoots reads items and never types a root (doc.getText etc. would be permanent), so the
    // live document can be read as it is: no copy to encode and decode.
    return renderRoots(this.core.doc, kinds);
  }

  /** Who is connected; null when the document was deleted. */
  async getPresence(ref: DocRef): Promise<Presence | null> {
    if (!this.remember(ref)) return null;
    const byUser = new Map<string, Presence["users"][number]>();
    let connections = 0;
    for (const conn of this.connMap().values()) {
      connections++;
      const key = `${conn.access}:${conn.userId}`;
      let entry = byUser.get(key);
      if (!entry) {
        entry = { userId: conn.userId, access: conn.access, clientIds: [] };
        byUser.set(key, entry);
      }
      entry.clientIds.push(...conn.clientIds.keys());
    }
    return { connections, users: [...byUser.values()] };
  }

  /**
   * The key was revoked (DELETE /v1/keys/{id}): closes every socket of a token it minted with 4401 "key
   * revoked" and remembers the key, so nothing such a socket sends from now on is applied and no upgrade
   * with such a token is accepted. Returns how many sockets it closed. Wakes the object if it slept.
   */
  async revokeKey(ref: DocRef, keyId: string): Promise<number> {
    if (!this.remember(ref)) return 0;
    this.revokedKeys.add(keyId, Date.now());
    let closed = 0;
    for (const conn of [...this.connMap().values()]) {
      if (conn.keyId !== keyId) continue;
      this.drop(conn, CloseCode.keyRevoked, "key revoked");
      closed++;
    }
    return closed;
  }

  // ---- versions (issue 15; routes in src/routes/versions.ts) ----

  /** A named version of the content as stored now; too_large past MAX_VERSION_BYTES (nothing changes then). */
  async createVersion(ref: DocRef, input: { name: string | null; createdBy: string | null }): Promise<VersionResult<VersionMeta>> {
    if (!this.remember(ref)) return gone;
    this.outbox.flush(); // a version holds only what is stored
    const put = this.putVersion({ state: this.core.encodeState(), kind: "named", name: input.name, createdBy: input.createdBy });
    if (!put.ok) return putRefusal(put);
    return { ok: true, value: put.version };
  }

  async listVersions(ref: DocRef, opts: { limit: number; cursor?: string; kind?: VersionKind }): Promise<VersionResult<VersionPage>> {
    if (!this.remember(ref)) return gone;
    const page = this.versions.list(opts);
    if (!page) return { ok: false, reason: "bad_cursor", message: "the cursor is not valid" };
    return { ok: true, value: page };
  }

  async getVersion(ref: DocRef, versionId: string): Promise<VersionResult<VersionMeta>> {
    if (!this.remember(ref)) return gone;
    const meta = this.versions.get(versionId);
    return meta ? { ok: true, value: meta } : noVersion;
  }

  /** The version's Yjs v1 state. */
  async getVersionState(ref: DocRef, versionId: string, reader?: Reader): Promise<VersionResult<Uint8Array>> {
    if (!this.remember(ref)) return gone;
    const state = this.versions.getState(versionId);
    if (!state) return noVersion;
    return this.chargeRead(reader, state.length) ? { ok: true, value: state } : overReadBudget;
  }

  /** The version rendered like `GET …/json`: decoding and rendering it is paid by a client token's user. */
  async getVersionJson(ref: DocRef, versionId: string, kinds: ReadonlyMap<string, RootKind>, reader?: Reader): Promise<VersionResult<Record<string, unknown>>> {
    const size = this.remember(ref) ? this.versions.get(versionId)?.sizeBytes : undefined;
    if (size !== undefined && !this.chargeRead(reader, RENDER_COST_PER_BYTE * size)) return overReadBudget;
    const doc = this.versionDoc(ref, versionId);
    if (!doc.ok) return doc;
    const rendered = renderRoots(doc.value, kinds);
    return rendered.ok ? rendered : { ok: false, reason: "unrestorable", message: rendered.message };
  }

  /**
   * Makes the content the version's as a forward edit (src/sync/restore.ts), after storing the current
   * content as a before-restore version. The edit goes the way of every update: stored before anyone sees
   * it, then broadcast to live clients as an ordinary update, the saved signal, the catalog write-back and
   * `document.updated`. Not held to MAX_UPDATE_BYTES (a restore is as large as the difference), but it
   * must fit the document's limits, and a client token's user pays for it like for their own writes.
   */
  async restoreVersion(ref: DocRef, versionId: string, by: string | null): Promise<VersionResult<{ restoredFrom: string; before: string }>> {
    const version = this.versionDoc(ref, versionId);
    if (!version.ok) return version;
    this.outbox.flush();
    // Computed on a copy while the live document is out of memory, then the version is let go: a restore
    // holds about twice the document at its peak, never three documents (RoomCore.restoreEdit).
    let edit: ReturnType<RoomCore<Conn>["restoreEdit"]>;
    try {
      edit = this.core.restoreEdit(version.value, restoreOnCopy);
    } catch (e) {
      console.error("restore failed", { error: e instanceof Error ? e.name : typeof e });
      return unrestorable;
    } finally {
      version.value.destroy();
    }
    if (!edit.ok) return { ok: false, reason: "too_large", message: edit.message };
    const clientIds = validateUpdate(edit.update);
    const put = this.putVersion({ state: edit.current, kind: "before-restore", createdBy: by });
    if (!put.ok) return putRefusal(put, "no room for the before-restore version: ");
    const before = put.version.id;
    this.restoredEvent = { restoredFrom: versionId, before };
    // Charged like any write to whoever restores: a client token's user pays its bytes and its new client id
    // from their own allowance (MAX_CLIENT_IDS_PER_USER); a secret key's restore is the application's own.
    const outcome = this.core.applyUpdate(edit.update, clientIds, by === null ? {} : { userId: by });
    if (!outcome.ok) {
      // Nothing of the restore was applied: take back the before-restore version and its event.
      this.restoredEvent = undefined;
      this.ctx.storage.transactionSync(() => {
        this.versions.delete(before);
        this.webhooks.remove(VERSION_CREATED, JSON.stringify({ versionId: before, kind: put.version.kind, name: put.version.name }));
      });
      return { ok: false, reason: RESTORE_REFUSAL[outcome.code], message: outcome.message };
    }
    if (!this.outbox.flush()) {
      this.restoredEvent = undefined;
      return { ok: false, reason: "storage_failed", message: "the restore could not be stored; nothing was applied" };
    }
    // Already the version's content (an empty edit commits nothing): the restore is still an event.
    if (this.restoredEvent) recordOnce(this.webhooks, RESTORED, this.restoredEvent, Date.now());
    this.restoredEvent = undefined;
    // Within about a second, even while document.updated waits out a look-up that found no endpoint.
    this.dueWebhooks(Math.min(this.webhookDueAt, Date.now() + WEBHOOK_FIRST_DELAY_MS));
    return { ok: true, value: { restoredFrom: versionId, before } };
  }

  /** The version's content as one edit into an empty document: what a fork starts from (its own history, none of this one's). */
  async forkUpdate(ref: DocRef, versionId: string): Promise<VersionResult<Uint8Array>> {
    const version = this.versionDoc(ref, versionId);
    if (!version.ok) return version;
    return this.forkEdit(version.value);
  }

  /** Fills a new, empty document (a fork) with `update`, under the document limits but not MAX_UPDATE_BYTES. */
  async seed(ref: DocRef, update: Uint8Array): Promise<{ ok: true; sizeBytes: number } | { ok: false; reason: WriteRefusal; message: string }> {
    if (!this.remember(ref)) return gone;
    if (this.storedBytes() > 0) return { ok: false, reason: "invalid_update", message: "only an empty document can be seeded" };
    let clientIds: Set<number>;
    try {
      clientIds = validateUpdate(update);
    } catch {
      return { ok: false, reason: "invalid_update", message: "not a valid Yjs v1 update" };
    }
    const outcome = this.core.applyUpdate(update, clientIds, {});
    if (!this.outbox.flush()) return { ok: false, reason: "storage_failed", message: "the content could not be stored" };
    if (!outcome.ok) return { ok: false, reason: outcome.code, message: outcome.message };
    return { ok: true, sizeBytes: this.storedBytes() };
  }

  async renameVersion(ref: DocRef, versionId: string, name: string | null): Promise<VersionResult<VersionMeta>> {
    if (!this.remember(ref)) return gone;
    const meta = this.versions.rename(versionId, name);
    return meta ? { ok: true, value: meta } : noVersion;
  }

  async deleteVersion(ref: DocRef, versionId: string): Promise<VersionResult<null>> {
    if (!this.remember(ref)) return gone;
    const deleted = this.ctx.storage.transactionSync(() => this.versions.delete(versionId));
    return deleted ? { ok: true, value: null } : noVersion;
  }

  /** A stored version as a Y.Doc; refused when its content nests deeper than rendering (and restore) go. */
  private versionDoc(ref: DocRef, versionId: string): VersionResult<Y.Doc> {
    if (!this.remember(ref)) return gone;
    const state = this.versions.getState(versionId);
    if (!state) return noVersion;
    const doc = new Y.Doc();
    try {
      Y.applyUpdate(doc, state);
    } catch {
      return { ok: false, reason: "unrestorable", message: "the version's state cannot be read" };
    }
    // restore.ts recurses as deep as the content nests; renderRoots refuses past MAX_DEPTH without recursing further.
    const rendered = renderRoots(doc);
    if (!rendered.ok) return { ok: false, reason: "unrestorable", message: rendered.message };
    return { ok: true, value: doc };
  }

  /** The version's content as one edit into an empty document; refused (nothing changed) if it cannot be restored. */
  private forkEdit(version: Y.Doc): VersionResult<Uint8Array> {
    try {
      return { ok: true, value: restoreUpdate(new Y.Doc(), version) };
    } catch (e) {
      console.error("restore failed", { error: e instanceof Error ? e.name : typeof e });
      return unrestorable;
    } finally {
      version.destroy();
    }
  }

  /**
   * The document is being deleted: close every socket with 4404, erase all storage and leave a
   * tombstone, so this object refuses every later call. Idempotent: a retried DELETE erases again.
   */
  async erase(): Promise<void> {
    // The tombstone first: from here on the object refuses everything, even if erasing fails half-way
    // (the retried DELETE finishes the job).
    this.erased = true;
    this.store.setMeta("erased", String(Date.now()));
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(CloseCode.documentDeleted, "document deleted");
      } catch {
        // already closed
      }
    }
    this.conns = new Map();
    this.ref = undefined;
    this.dirtySince = undefined;
    this.alarmAt = Infinity;
    this.webhookDueAt = Infinity;
    this.autoVersions = {};
    this.restoredEvent = undefined;
    this.cancelSaved?.();
    this.cancelSaved = undefined;
    this.savedPending = undefined;
    this.outbox.clear();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // deleteAll drops the tables too (the versions with the rest): recreate them for the tombstone.
    this.open();
    this.store.setMeta("erased", String(Date.now()));
  }

  /** Folds the log into a snapshot now (operators, tests and benchmarks; normally the policy decides). */
  async compact(): Promise<void> {
    this.outbox.flush();
    this.core.maybeCompact(true);
  }

  /** For tests and benchmarks: what storage and compaction look like now. */
  async stats(): Promise<{ storedBytes: number; logCount: number; snapshotBytes: number; encodedBytes: number; longestCompactionMs: number }> {
    return {
      storedBytes: this.storedBytes(),
      logCount: this.store.logCount,
      snapshotBytes: this.store.snapshotBytes,
      encodedBytes: Y.encodeStateAsUpdate(this.core.doc).length,
      longestCompactionMs: this.core.longestCompactionMs,
    };
  }
}
