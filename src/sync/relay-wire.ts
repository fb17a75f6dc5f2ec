/**
 * What an authority and its relays say to each other over a link (one internal WebSocket per relay), as
 * pure functions. The first varuint of every message is its type. A relay's presence travels as plain
 * y-websocket awareness frames (type 1), so the authority's presence batching serves links as it serves
 * sockets; everything else has a type of its own, from 200 up, clear of y-websocket's.
 *
 * Decoding is guarded as frames.ts's is: a malformed message fails here and nowhere else.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { err, ok, type Result } from "../result";
import { MessageType } from "./frames";
import { expectEnd, readString, readVarUint8ArrayStrict, readVarUintStrict } from "./reader";

export const LinkType = {
  /** Down: the authority's presence, a y-websocket awareness frame as is. */
  awareness: MessageType.awareness,
  /** Down: one committed batch of updates, numbered. */
  feed: 200,
  /** Down: the answer to `since`: what brings the relay to a number. */
  catchUp: 201,
  /** Down: a user's stored rule changed ("" : removed). */
  access: 202,
  /** Down: a key was revoked. */
  revoke: 203,
  /** Down: the document was deleted. */
  erase: 204,
  /** Down: the authority refused what one of the relay's sockets sent: close it with this code. */
  refused: 205,
  /** Up: who the relay is and who is on it (sent once per link). */
  hello: 210,
  /** Up: a sync step 2 or update from one of the relay's writers. */
  up: 211,
  /** Up: an awareness frame from one of the relay's writers. */
  upAwareness: 212,
  /** Up: one of the relay's sockets closed. */
  leave: 213,
  /** Up: everything after this number, please (a new link, or a gap). */
  since: 214,
} as const;

/** One socket on a relay as the authority knows it: the relay's tag for it, its user and access. */
export interface RosterEntry {
  tag: number;
  userId: string;
  access: "read" | "write";
}

/** Who sent something up: the relay's tag for the socket, and what its token says. */
export interface Sender {
  tag: number;
  userId: string;
  claim: "read" | "write";
  keyId: string;
}

export type LinkMessage =
  | { type: "awareness"; frame: Uint8Array }
  | { type: "feed"; epoch: string; seq: number; update: Uint8Array }
  | { type: "catchUp"; epoch: string; seq: number; forward: Uint8Array; base: Uint8Array; resync: boolean }
  | { type: "access"; userId: string; rule: string }
  | { type: "revoke"; keyId: string }
  | { type: "erase" }
  | { type: "refused"; tag: number; code: number; reason: string }
  /** `viaParent`: the relay gets its feed from a parent relay (a tree), so the document's object sends it none. */
  | { type: "hello"; index: number; roster: RosterEntry[]; viaParent?: boolean }
  | { type: "up"; from: Sender; frame: Uint8Array }
  | { type: "upAwareness"; from: Sender; frame: Uint8Array }
  | { type: "leave"; tag: number }
  | { type: "since"; epoch: string; seq: number; stateVector: Uint8Array; fresh: boolean };

const build = (type: number, fill: (e: encoding.Encoder) => void): Uint8Array => {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  fill(e);
  return encoding.toUint8Array(e);
};

const writeSender = (e: encoding.Encoder, s: Sender) => {
  encoding.writeVarUint(e, s.tag);
  encoding.writeVarString(e, s.userId);
  encoding.writeVarString(e, s.claim);
  encoding.writeVarString(e, s.keyId);
};

const readSender = (d: decoding.Decoder): Sender => ({
  tag: readVarUintStrict(d),
  userId: readString(d),
  claim: readString(d) === "write" ? "write" : "read",
  keyId: readString(d),
});

/** Encodes one link message (an `awareness` one is its frame, unchanged). */
export function encodeLink(m: LinkMessage): Uint8Array {
  switch (m.type) {
    case "awareness":
      return m.frame;
    case "feed":
      return build(LinkType.feed, (e) => {
        encoding.writeVarString(e, m.epoch);
        encoding.writeVarUint(e, m.seq);
        encoding.writeVarUint8Array(e, m.update);
      });
    case "catchUp":
      return build(LinkType.catchUp, (e) => {
        encoding.writeVarString(e, m.epoch);
        encoding.writeVarUint(e, m.seq);
        encoding.writeVarUint8Array(e, m.forward);
        encoding.writeVarUint8Array(e, m.base);
        encoding.writeVarUint(e, m.resync ? 1 : 0);
      });
    case "access":
      return build(LinkType.access, (e) => {
        encoding.writeVarString(e, m.userId);
        encoding.writeVarString(e, m.rule);
      });
    case "revoke":
      return build(LinkType.revoke, (e) => encoding.writeVarString(e, m.keyId));
    case "erase":
      return build(LinkType.erase, () => {});
    case "refused":
      return build(LinkType.refused, (e) => {
        encoding.writeVarUint(e, m.tag);
        encoding.writeVarUint(e, m.code);
        encoding.writeVarString(e, m.reason);
      });
    case "hello":
      return build(LinkType.hello, (e) => {
        encoding.writeVarUint(e, m.index);
        encoding.writeVarUint(e, m.roster.length);
        for (const r of m.roster) {
          encoding.writeVarUint(e, r.tag);
          encoding.writeVarString(e, r.userId);
          encoding.writeVarString(e, r.access);
        }
        if (m.viaParent) encoding.writeVarUint(e, 1);
      });
    case "up":
    case "upAwareness":
      return build(m.type === "up" ? LinkType.up : LinkType.upAwareness, (e) => {
        writeSender(e, m.from);
        encoding.writeVarUint8Array(e, m.frame);
      });
    case "leave":
      return build(LinkType.leave, (e) => encoding.writeVarUint(e, m.tag));
    case "since":
      return build(LinkType.since, (e) => {
        encoding.writeVarString(e, m.epoch);
        encoding.writeVarUint(e, m.seq);
        encoding.writeVarUint8Array(e, m.stateVector);
        encoding.writeVarUint(e, m.fresh ? 1 : 0);
      });
  }
}

/** Most sockets a relay may list in its hello (a relay holds at most MAX_CONNECTIONS_PER_RELAY). */
export const MAX_ROSTER = 32_768;

/** Decodes one link message; an unknown type or malformed bytes is an error (links are ours: a bug, logged). */
export function decodeLink(bytes: Uint8Array): Result<LinkMessage, string> {
  try {
    const d = decoding.createDecoder(bytes);
    const type = readVarUintStrict(d);
    const m = decodeBody(type, d, bytes);
    if (m === undefined) return err(`unknown link message type ${type}`);
    if (m.type !== "awareness") expectEnd(d);
    return ok(m);
  } catch (e) {
    return err(`malformed link message: ${String(e)}`);
  }
}

function decodeBody(type: number, d: decoding.Decoder, bytes: Uint8Array): LinkMessage | undefined {
  switch (type) {
    case LinkType.awareness:
      return { type: "awareness", frame: bytes };
    case LinkType.feed:
      return { type: "feed", epoch: readString(d), seq: readVarUintStrict(d), update: readVarUint8ArrayStrict(d) };
    case LinkType.catchUp:
      return {
        type: "catchUp",
        epoch: readString(d),
        seq: readVarUintStrict(d),
        forward: readVarUint8ArrayStrict(d),
        base: readVarUint8ArrayStrict(d),
        resync: readVarUintStrict(d) === 1,
      };
    case LinkType.access:
      return { type: "access", userId: readString(d), rule: readString(d) };
    case LinkType.revoke:
      return { type: "revoke", keyId: readString(d) };
    case LinkType.erase:
      return { type: "erase" };
    case LinkType.refused:
      return { type: "refused", tag: readVarUintStrict(d), code: readVarUintStrict(d), reason: readString(d) };
    case LinkType.hello: {
      const index = readVarUintStrict(d);
      const n = readVarUintStrict(d);
      if (n > MAX_ROSTER) throw new Error("roster too long");
      const roster: RosterEntry[] = [];
      for (let i = 0; i < n; i++) roster.push({ tag: readVarUintStrict(d), userId: readString(d), access: readString(d) === "write" ? "write" : "read" });
      // An optional last field, present only when true: anything else after the roster is malformed.
      const viaParent = d.pos < d.arr.length;
      if (viaParent && readVarUintStrict(d) !== 1) throw new Error("bad hello flag");
      return { type: "hello", index, roster, ...(viaParent ? { viaParent } : {}) };
    }
    case LinkType.up:
    case LinkType.upAwareness:
      return { type: type === LinkType.up ? "up" : "upAwareness", from: readSender(d), frame: readVarUint8ArrayStrict(d) };
    case LinkType.leave:
      return { type: "leave", tag: readVarUintStrict(d) };
    case LinkType.since:
      return { type: "since", epoch: readString(d), seq: readVarUintStrict(d), stateVector: readVarUint8ArrayStrict(d), fresh: readVarUintStrict(d) === 1 };
  }
  return undefined;
}
