/**
 * What a relay does with one of its sockets' frames, and with what the document's object tells it over the
 * link (rules, revoked keys, refusals, presence): the same answers the document's object gives, from the
 * replica, with writes and writers' presence sent up. The object (doc-relay.ts) checks the frame first
 * (text, size, expiry, revoked key) and holds the sockets.
 */
import * as Y from "yjs";
import { effectiveAccess } from "../auth/access";
import { CloseCode, type CloseRequest } from "../sync/close-codes";
import { decodeFrame, encodeAwareness, encodeSaved, encodeSyncStep1, encodeSyncStep2, type Frame, isEmptyStateVector } from "../sync/frames";
import type { Budgets } from "../sync/ports";
import type { Presence } from "../sync/presence";
import type { LinkMessage, Sender } from "../sync/relay-wire";
import { AWARENESS_ENTRY_BYTES } from "../sync/room-core";
import { type Conn, toAttachment } from "../room/attachment";
import type { Limits } from "../room/limits";

export interface RelayHost {
  limits: Limits;
  replica: Y.Doc;
  presence: Presence<Conn>;
  /** The document object's presence, as one connection of this relay's. */
  above: Conn;
  sockets(): Map<WebSocket, Conn>;
  tags: Map<WebSocket, number>;
  send(conn: Conn, message: Uint8Array): void;
  /** Sends up the link; false when there is none. */
  up(m: LinkMessage): boolean;
  sender(conn: Conn): Sender;
  drop(conn: Conn, code: number, reason: string): void;
  revoke(keyId: string): void;
}

/** Answers one decoded frame whose budgets were taken; a close request when the socket must end. */
export function answerFrame(
  h: RelayHost,
  conn: Conn,
  frame: Exclude<Frame, { kind: "unknown" }>,
  bytes: Uint8Array,
  budgets: Budgets,
  now: number,
): CloseRequest | undefined {
  switch (frame.kind) {
    case "sync-step1": {
      const answer = encodeSyncStep2(isEmptyStateVector(frame.stateVector) ? Y.encodeStateAsUpdate(h.replica) : Y.encodeStateAsUpdate(h.replica, frame.stateVector));
      // A step 1 costs a whole-document answer: paid from the same byte budget as on the document's object.
      budgets.bytes.charge(now, answer.length);
      h.send(conn, answer);
      if (conn.saved) h.send(conn, encodeSaved(Y.encodeStateVector(h.replica)));
      return undefined;
    }
    case "sync-step2":
    case "sync-update": {
      // A reader's writes are ignored, silently, as on the document's object.
      if (conn.access !== "write") return undefined;
      if (frame.update.length > h.limits.maxDocBytes) return { code: CloseCode.tooLarge, reason: "update larger than the document size limit" };
      // Up to the document's object, which commits it and sends it back down to everyone by the feed.
      if (!h.up({ type: "up", from: h.sender(conn), frame: bytes }))
        return { code: CloseCode.tryAgainLater, reason: "the document is not reachable: try again later" };
      return undefined;
    }
    case "awareness": {
      budgets.bytes.charge(now, frame.entries.length * AWARENESS_ENTRY_BYTES);
      const owned = new Set(conn.clientIds.keys());
      const { refused, acceptedBytes } = h.presence.apply(conn, frame.entries, now);
      if (refused) return refused;
      // A writer's own states travel up (everyone sees writers); a reader's stay on this relay, and the
      // echoes a stock provider adds of everyone else never leave it.
      if (acceptedBytes === 0 || conn.access !== "write") return undefined;
      const own = frame.entries.filter((e) => conn.clientIds.has(e.clientId) || owned.has(e.clientId));
      if (own.length > 0) h.up({ type: "upAwareness", from: h.sender(conn), frame: encodeAwareness(own) });
      return undefined;
    }
    case "query-awareness": {
      const all = h.presence.message();
      if (all) h.send(conn, all);
      return undefined;
    }
  }
}

/** What the document's object decided for sockets here. */
export function applyControl(h: RelayHost, m: LinkMessage): void {
  switch (m.type) {
    case "awareness": {
      const decoded = decodeFrame(m.frame);
      if (decoded.ok && decoded.value.kind === "awareness") h.presence.apply(h.above, decoded.value.entries, Date.now());
      return;
    }
    case "access": {
      const rule = m.rule === "read" || m.rule === "write" || m.rule === "none" ? m.rule : undefined;
      for (const conn of [...h.sockets().values()]) {
        if (conn.userId !== m.userId) continue;
        const access = effectiveAccess(conn.claim, rule);
        if (access === "none") {
          h.drop(conn, CloseCode.accessRemoved, "access removed");
          continue;
        }
        if (access === conn.access) continue;
        conn.access = access;
        conn.ws.serializeAttachment(toAttachment(conn, (id) => h.presence.state(id)));
        // As on the document's object: what the client changed while read-only comes now.
        if (access === "write") h.send(conn, encodeSyncStep1(Y.encodeStateVector(h.replica)));
      }
      return;
    }
    case "revoke":
      h.revoke(m.keyId);
      for (const conn of [...h.sockets().values()]) if (conn.keyId === m.keyId) h.drop(conn, CloseCode.keyRevoked, "key revoked");
      return;
    case "refused":
      for (const [ws, tag] of h.tags) {
        const conn = h.sockets().get(ws);
        if (tag === m.tag && conn) h.drop(conn, m.code, m.reason);
      }
      return;
  }
}
