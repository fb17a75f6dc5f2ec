/**
 * A relay's link to the document's object: opened when the relay has sockets, answered with a catch-up,
 * then fed every committed batch by number (sync/relay-feed.ts). A relay past the tree's width gets its feed
 * (the catch-up and the numbered batches) from its parent relay over a second link, and keeps the first
 * for everything else (writes and presence up, rules and presence down). The relay's replica holds only what the
 * feed brought, so nothing the relay sends is ahead of what the authority made durable. Where the feed
 * stands is kept in the relay's storage, so a relay evicted with its sockets still open (hibernated) asks
 * for exactly what they missed.
 */
import * as Y from "yjs";
import type { Env } from "../env";
import { CloseCode } from "../sync/close-codes";
import { FeedCursor } from "../sync/relay-feed";
import { parentOf } from "../sync/relay-plan";
import { decodeLink, encodeLink, type LinkMessage, type RosterEntry } from "../sync/relay-wire";
import { type DocRef, IdentityHeader } from "../room/rpc-types";
import { relayStub, roomStub } from "../room/stub";

/** What the link does with what comes down, in the relay object. */
export interface Downstream {
  /** A committed update, new to the replica: to every socket. */
  update(update: Uint8Array): void;
  /** The authority lost track of where the relay's sockets stand: they re-sync (reconnect). */
  resync(): void;
  /** Anything else (presence, rules, revocations, refusals). */
  control(m: LinkMessage): void;
  /** The document is gone (an erase, or the link refused with 4404). */
  erased(): void;
  /** The link closed under the relay's sockets: it is opened again soon. */
  lost(): void;
  roster(): RosterEntry[];
}

export interface RelayMeta {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** How long a relay waits for its link and catch-up before it refuses the upgrade (1013, retried). */
export const LINK_TIMEOUT_MS = 10_000;

export class Upstream {
  readonly replica = new Y.Doc();
  /** The replica holds the document (a catch-up gave it its base). */
  private based = false;
  private readonly cursor = new FeedCursor();
  /** To the document's object: hello, writes, presence, control. */
  private ws: WebSocket | undefined;
  /** Where the feed comes from: the same link, or one to the parent relay. */
  private feedWs: WebSocket | undefined;
  private connecting: Promise<void> | undefined;
  /** The catch-up asked for and not answered yet. */
  private pending: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly env: Env,
    private readonly meta: RelayMeta,
    private readonly down: Downstream,
    /** Relays the document's object feeds itself (RELAY_TREE_WIDTH). */
    private readonly treeWidth: number,
  ) {
    const [epoch, seq] = (meta.get("cursor") ?? ":0").split(":");
    this.cursor.caughtUp(epoch ?? "", Number(seq ?? 0));
  }

  get live(): boolean {
    return this.ws !== undefined && this.feedWs !== undefined && this.based && !this.cursor.waiting;
  }

  /** Opens the link if it is not open, and waits for the replica to be current. */
  async ready(ref: DocRef, index: number): Promise<void> {
    if (this.live) return;
    if (this.ws && this.pending) return this.pending.promise;
    this.connecting ??= this.connect(ref, index).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(ref: DocRef, index: number): Promise<void> {
    const parent = parentOf(index, this.treeWidth);
    this.ws = await this.open(roomStub(this.env, ref), { [IdentityHeader.relay]: String(index) });
    this.send({ type: "hello", index, roster: this.down.roster(), ...(parent !== undefined ? { viaParent: true } : {}) });
    // The parent is addressed as any upgrade to it is: it may not have had a socket yet.
    this.feedWs =
      parent === undefined
        ? this.ws
        : await this.open(relayStub(this.env, ref, parent), {
            [IdentityHeader.project]: ref.projectId,
            [IdentityHeader.doc]: ref.docId,
            [IdentityHeader.incarnation]: ref.incarnation ?? "",
            [IdentityHeader.relay]: String(parent),
            [IdentityHeader.feed]: String(index),
          });
    const caughtUp = this.ask(!this.based);
    const timer = setTimeout(() => this.settle(new Error("relay link: no catch-up in time")), LINK_TIMEOUT_MS);
    try {
      await caughtUp;
    } finally {
      clearTimeout(timer);
    }
  }

  private async open(stub: { fetch(url: string, init: RequestInit): Promise<Response> }, headers: Record<string, string>): Promise<WebSocket> {
    const res = await stub.fetch("https://relay/link", { headers: { upgrade: "websocket", ...headers } });
    const ws = res.webSocket;
    if (!ws) throw new Error(`relay link refused: ${res.status}`);
    // Binary messages arrive as Blob under current compatibility dates unless asked otherwise.
    ws.binaryType = "arraybuffer";
    ws.accept();
    ws.addEventListener("message", (e) => this.onMessage(ws, e.data));
    ws.addEventListener("close", (e) => this.onClose(ws, e.code));
    ws.addEventListener("error", () => this.onClose(ws, 1006));
    return ws;
  }

  /** Asks for everything after the cursor; the promise settles with the answer (or the link's end). */
  private ask(fresh: boolean): Promise<void> {
    this.cursor.asked();
    if (!this.pending) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Nobody may be waiting (a gap found by the feed): an unanswered ask is not an unhandled rejection.
      promise.catch(() => {});
      this.pending = { promise, resolve, reject };
    }
    const { promise } = this.pending;
    const since = encodeLink({ type: "since", epoch: this.cursor.epoch, seq: this.cursor.seq, stateVector: Y.encodeStateVector(this.replica), fresh });
    try {
      this.feedWs?.send(since);
    } catch {
      // closing: its close handler settles the ask
    }
    return promise;
  }

  private settle(error?: Error): void {
    const p = this.pending;
    this.pending = undefined;
    if (error) p?.reject(error);
    else p?.resolve();
  }

  send(m: LinkMessage): boolean {
    if (!this.ws) return false;
    try {
      this.ws.send(encodeLink(m));
      return true;
    } catch {
      return false;
    }
  }

  /** The relay has no sockets left: the link goes, and the relay may sleep. */
  close(): void {
    const links = [this.ws, this.feedWs];
    this.ws = undefined;
    this.feedWs = undefined;
    this.settle(new Error("relay link closed"));
    for (const ws of links) {
      try {
        ws?.close(1000, "relay idle");
      } catch {
        // already closed
      }
    }
  }

  private onMessage(ws: WebSocket, data: unknown): void {
    if (!(data instanceof ArrayBuffer)) return;
    const decoded = decodeLink(new Uint8Array(data));
    if (!decoded.ok) {
      console.error("relay link: bad message", { error: decoded.error });
      return;
    }
    const m = decoded.value;
    // The feed comes down one link only: a batch the document's object sent before it read this relay's
    // hello (which says its feed comes from a parent) is not this relay's feed.
    if ((m.type === "feed" || m.type === "catchUp") && ws !== this.feedWs) return;
    switch (m.type) {
      case "feed": {
        const step = this.cursor.onFeed(m.epoch, m.seq);
        if (step === "gap") this.ask(false);
        if (step !== "apply") return;
        this.apply(m.update, true);
        this.meta.set("cursor", `${m.epoch}:${m.seq}`);
        return;
      }
      case "catchUp": {
        if (m.base.length > 0) Y.applyUpdate(this.replica, m.base);
        this.based = true;
        if (m.forward.length > 0) this.apply(m.forward, m.base.length === 0);
        this.cursor.caughtUp(m.epoch, m.seq);
        this.meta.set("cursor", `${m.epoch}:${m.seq}`);
        if (m.resync) this.down.resync();
        this.settle();
        return;
      }
      case "erase":
        return this.down.erased();
      default:
        return this.down.control(m);
    }
  }

  /** `update` is committed at the authority; it goes to the sockets (if new to them) and, unless the base had it, into the replica. */
  private apply(update: Uint8Array, intoReplica: boolean): void {
    if (intoReplica) Y.applyUpdate(this.replica, update);
    this.down.update(update);
  }

  /** Either link closed: both go (they are opened again together), and the relay asks anew. */
  private onClose(ws: WebSocket, code: number): void {
    if (this.ws !== ws && this.feedWs !== ws) return;
    const other = ws === this.ws ? this.feedWs : this.ws;
    this.ws = undefined;
    this.feedWs = undefined;
    if (other && other !== ws) {
      try {
        other.close(1000, "relay re-linking");
      } catch {
        // already closed
      }
    }
    this.settle(new Error(`relay link closed (${code})`));
    if (code === CloseCode.documentDeleted) this.down.erased();
    else this.down.lost();
  }
}
