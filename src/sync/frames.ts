/**
 * The y-websocket wire protocol (y-protocols), as pure functions: no `cloudflare:*` import.
 *
 * Every frame from a client is decoded once, by `decodeFrame`, inside one guarded boundary:
 * lib0's decoders do no bounds checks, so a truncated frame or a bad varint throws or reads
 * garbage there and nowhere else. Only typed values leave this module.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { err, ok, type Result } from "../result";
import { expectEnd, readVarUint8ArrayStrict, readVarUintStrict } from "./reader";
import { validateUpdate } from "./cost/update-check";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Top-level message types (y-websocket). */
/** Top-level message types: y-websocket's, and Lattice's opt-in `saved` (100, see docs/API.md). */
export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3, saved: 100 } as const;
/** Sub-types of a sync message (y-protocols/sync). */
export const SyncType = { step1: 0, step2: 1, update: 2 } as const;

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** The state as JSON text (`"null"` when the client removes itself). */
  stateJson: string;
  /** True when the state is `null`: the client is leaving. */
  removed: boolean;
}

export type Frame =
  | { kind: "sync-step1"; stateVector: Uint8Array }
  | { kind: "sync-step2"; update: Uint8Array; clientIds: Set<number> }
  | { kind: "sync-update"; update: Uint8Array; clientIds: Set<number> }
  | { kind: "awareness"; entries: AwarenessEntry[] }
  | { kind: "query-awareness" }
  /** A well-formed frame of a type this server does not handle (auth, custom): ignored. */
  | { kind: "unknown"; messageType: number };

export interface DecodeError {
  reason: string;
}

/**
 * Largest number of awareness entries one frame may carry. A stock client's own state is one entry, but
 * it echoes everything it learns: its answer to the greeting names everyone present (up to
 * MAX_CONNECTIONS_PER_DOC people, some with a few ids). Each entry costs its sender's byte budget too.
 */
export const MAX_AWARENESS_ENTRIES = 16_384;

/**
 * Decodes one client frame. Updates are fully parsed (not applied) so that one Yjs would
 * reject is refused here, before it can reach the document half-applied.
 */
export function decodeFrame(bytes: Uint8Array): Result<Frame, DecodeError> {
  try {
    const decoder = decoding.createDecoder(bytes);
    const messageType = readVarUintStrict(decoder);
    switch (messageType) {
      case MessageType.sync: {
        const syncType = readVarUintStrict(decoder);
        const payload = readVarUint8ArrayStrict(decoder);
        expectEnd(decoder);
        switch (syncType) {
          case SyncType.step1:
            validateStateVector(payload);
            return ok({ kind: "sync-step1", stateVector: payload });
          case SyncType.step2:
            return ok({ kind: "sync-step2", update: payload, clientIds: validateUpdate(payload) });
          case SyncType.update:
            return ok({ kind: "sync-update", update: payload, clientIds: validateUpdate(payload) });
          default:
            return err({ reason: `unknown sync message type ${syncType}` });
        }
      }
      case MessageType.awareness: {
        const payload = readVarUint8ArrayStrict(decoder);
        expectEnd(decoder);
        return ok({ kind: "awareness", entries: decodeAwarenessUpdate(payload) });
      }
      case MessageType.queryAwareness:
        return ok({ kind: "query-awareness" });
      default:
        return ok({ kind: "unknown", messageType });
    }
  } catch (e) {
    return err({ reason: e instanceof Error ? e.message : "malformed frame" });
  }
}

/** Parses an awareness update (the payload of a type 1 message). Throws on malformed input. */
export function decodeAwarenessUpdate(payload: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(payload);
  const count = readVarUintStrict(decoder);
  if (count > MAX_AWARENESS_ENTRIES) throw new Error("too many awareness entries");
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = readVarUintStrict(decoder);
    const clock = readVarUintStrict(decoder);
    const stateBytes = readVarUint8ArrayStrict(decoder);
    const stateJson = utf8.decode(stateBytes);
    // Whether the JSON is valid is checked only for entries the room accepts (presence.ts): most
    // entries a stock client sends are echoes, ignored unread.
    entries.push({ clientId, clock, stateJson, removed: stateJson === "null" });
  }
  expectEnd(decoder);
  return entries;
}

function validateStateVector(sv: Uint8Array): void {
  const decoder = decoding.createDecoder(sv);
  const count = readVarUintStrict(decoder);
  if (count > sv.length) throw new Error("state vector too long");
  for (let i = 0; i < count; i++) {
    readVarUintStrict(decoder);
    readVarUintStrict(decoder);
  }
  expectEnd(decoder);
}

// ---- encoders: every message the server sends ----

function syncMessage(syncType: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, syncType);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

export const encodeSyncStep1 = (stateVector: Uint8Array): Uint8Array => syncMessage(SyncType.step1, stateVector);
export const encodeSyncStep2 = (update: Uint8Array): Uint8Array => syncMessage(SyncType.step2, update);
export const encodeUpdate = (update: Uint8Array): Uint8Array => syncMessage(SyncType.update, update);

/** The v1 update with nothing in it: what a fresh client's step 2 carries. */
export const isEmptyUpdate = (u: Uint8Array) => u.length === 2 && u[0] === 0 && u[1] === 0;
/** The state vector of an empty document: a fresh client's step 1, answered with the whole state. */
export const isEmptyStateVector = (sv: Uint8Array) => sv.length === 1 && sv[0] === 0;

/** A type 1 message carrying the given entries. */
export function encodeAwareness(entries: readonly Pick<AwarenessEntry, "clientId" | "clock" | "stateJson">[]): Uint8Array {
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, entries.length);
  for (const e of entries) {
    encoding.writeVarUint(inner, e.clientId);
    encoding.writeVarUint(inner, e.clock);
    encoding.writeVarString(inner, e.stateJson);
  }
  const outer = encoding.createEncoder();
  encoding.writeVarUint(outer, MessageType.awareness);
  encoding.writeVarUint8Array(outer, encoding.toUint8Array(inner));
  return encoding.toUint8Array(outer);
}

/** Lattice's `saved` message (type 100): the state vector of what is now durable. Sent only to connections that asked (`saved=1`). */
export function encodeSaved(durableStateVector: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.saved);
  encoding.writeVarUint8Array(encoder, durableStateVector);
  return encoding.toUint8Array(encoder);
}

export function encodeQueryAwareness(): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.queryAwareness);
  return encoding.toUint8Array(encoder);
}
