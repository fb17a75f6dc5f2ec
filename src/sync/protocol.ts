/**
 * The y-websocket wire protocol (y-protocols), as pure functions: no `cloudflare:*` import.
 *
 * Every frame from a client is decoded once, by `decodeFrame`, inside one guarded boundary:
 * lib0's decoders do no bounds checks, so a truncated frame or a bad varint throws or reads
 * garbage there and nowhere else. Only typed values leave this module.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { err, ok, type Result } from "../errors";

/** Top-level message types (y-websocket). */
export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;
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

/** Largest number of awareness entries one frame may carry; a real client sends one. */
const MAX_AWARENESS_ENTRIES = 1024;

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
    const state: unknown = JSON.parse(stateJson);
    entries.push({ clientId, clock, stateJson, removed: state === null });
  }
  expectEnd(decoder);
  return entries;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function readVarUintStrict(decoder: decoding.Decoder): number {
  // lib0 reads past the end as `undefined` and lets a varint run past 2^53: both are refused here.
  // Most varints in an update are one byte (lengths, small clocks, info bytes): no loop for those.
  const first = decoder.arr[decoder.pos];
  if (first !== undefined && first < 0x80) {
    decoder.pos++;
    return first;
  }
  let num = 0;
  let mult = 1;
  for (let i = 0; i < 8; i++) {
    if (decoder.pos >= decoder.arr.length) throw new Error("unexpected end of frame");
    const r = decoder.arr[decoder.pos++]!;
    num += (r & 0x7f) * mult;
    if (r < 0x80) {
      if (!Number.isSafeInteger(num)) break;
      return num;
    }
    mult *= 128;
  }
  throw new Error("varint too long");
}

function readVarUint8ArrayStrict(decoder: decoding.Decoder): Uint8Array {
  const len = readVarUintStrict(decoder);
  if (len > decoder.arr.length - decoder.pos) throw new Error("length exceeds frame");
  const view = new Uint8Array(decoder.arr.buffer, decoder.arr.byteOffset + decoder.pos, len);
  decoder.pos += len;
  return view;
}

function expectEnd(decoder: decoding.Decoder): void {
  if (decoder.pos !== decoder.arr.length) throw new Error("trailing bytes after message");
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

/**
 * Parses a Yjs v1 update completely, without applying it or allocating its structs, and returns the
 * client ids it carries structs or deletions for. Throws on anything Yjs could not read, on trailing
 * bytes, and on lengths that run past the end: lib0 itself would read such input as `undefined`
 * and let Yjs integrate garbage. Mirrors yjs' readClientsStructRefs / readDeleteSet / contentRefs.
 */
export function validateUpdate(update: Uint8Array, ranges?: Map<number, ClockRange>): Set<number> {
  const d = decoding.createDecoder(update);
  const clients = new Set<number>();
  const numClients = readVarUintStrict(d);
  for (let i = 0; i < numClients; i++) {
    const numStructs = readVarUintStrict(d);
    const client = readVarUintStrict(d);
    clients.add(client);
    const from = readVarUintStrict(d);
    let clock = from;
    let contiguous = true;
    for (let j = 0; j < numStructs; j++) {
      const len = readStruct(d, client, clock);
      if (len < 0) contiguous = false; // a Skip: a gap in this client's structs
      clock += Math.abs(len);
    }
    ranges?.set(client, { from, to: clock, contiguous });
  }
  const dsClients = readVarUintStrict(d);
  for (let i = 0; i < dsClients; i++) {
    clients.add(readVarUintStrict(d));
    const ranges = readVarUintStrict(d);
    for (let j = 0; j < ranges; j++) {
      readVarUintStrict(d);
      // Yjs throws on an empty deletion range when it applies the delete set.
      if (readVarUintStrict(d) === 0) throw new Error("empty delete range");
    }
  }
  expectEnd(d);
  return clients;
}

/** The clock range one client's structs cover in an update; `contiguous` is false when it has gaps. */
export interface ClockRange {
  from: number;
  to: number;
  contiguous: boolean;
}

/** The clock ranges an update covers, per client (throws like validateUpdate on malformed input). */
export function updateClockRanges(update: Uint8Array): Map<number, ClockRange> {
  const ranges = new Map<number, ClockRange>();
  validateUpdate(update, ranges);
  return ranges;
}

/** Reads one struct; returns its clock length, negative for a Skip. */
function readStruct(d: decoding.Decoder, client: number, clock: number): number {
  const info = readByte(d);
  const ref = info & 0x1f;
  if (ref === 0) return readVarUintStrict(d); // GC
  if (ref === 10) return -readVarUintStrict(d); // Skip
  const hasOrigin = (info & 0x80) !== 0;
  const hasRightOrigin = (info & 0x40) !== 0;
  // An item's neighbours existed before it: one of its own client's cannot have a clock at or past its own.
  if (hasOrigin) readNeighbour(d, client, clock);
  if (hasRightOrigin) readNeighbour(d, client, clock);
  if (!hasOrigin && !hasRightOrigin) {
    const parentIsRoot = readVarUintStrict(d) === 1;
    if (parentIsRoot) skipString(d);
    else readId(d);
    if ((info & 0x20) !== 0) skipString(d); // parentSub
  }
  return readContent(d, ref);
}

/** Reads an Item's content; returns its length in clock units, as Yjs counts it. */
function readContent(d: decoding.Decoder, ref: number): number {
  switch (ref) {
    case 1: // deleted
      return readVarUintStrict(d);
    case 2: {
      // JSON: each entry a JSON string or "undefined"
      const len = readVarUintStrict(d);
      for (let i = 0; i < len; i++) {
        const s = readString(d);
        if (s !== "undefined") JSON.parse(s);
      }
      return len;
    }
    case 3: // binary
      readVarUint8ArrayStrict(d);
      return 1;
    case 4: // string: its length in UTF-16 code units
      return skipString(d);
    case 5: // embed
      JSON.parse(readString(d));
      return 1;
    case 6: // format: key, JSON value
      skipString(d);
      JSON.parse(readString(d));
      return 1;
    case 7: {
      // type
      const typeRef = readVarUintStrict(d);
      if (typeRef > 6) throw new Error("unknown type ref");
      if (typeRef === 3 || typeRef === 5) skipString(d); // XmlElement name / XmlHook key
      return 1;
    }
    case 8: {
      // any[]
      const len = readVarUintStrict(d);
      for (let i = 0; i < len; i++) readAny(d, 0);
      return len;
    }
    case 9: // subdocument: guid, options
      readString(d);
      readAny(d, 0);
      return 1;
    default:
      throw new Error(`unknown content type ${ref}`);
  }
}

const MAX_ANY_DEPTH = 64;

function readAny(d: decoding.Decoder, depth: number): void {
  if (depth > MAX_ANY_DEPTH) throw new Error("value nested too deep");
  const tag = readByte(d);
  switch (tag) {
    case 127: // undefined
    case 126: // null
    case 121: // false
    case 120: // true
      return;
    case 125:
      readVarIntStrict(d);
      return;
    case 124:
      skipBytes(d, 4);
      return;
    case 123:
    case 122:
      skipBytes(d, 8);
      return;
    case 119:
      readString(d);
      return;
    case 118: {
      const len = readVarUintStrict(d);
      for (let i = 0; i < len; i++) {
        readString(d);
        readAny(d, depth + 1);
      }
      return;
    }
    case 117: {
      const len = readVarUintStrict(d);
      for (let i = 0; i < len; i++) readAny(d, depth + 1);
      return;
    }
    case 116:
      readVarUint8ArrayStrict(d);
      return;
    default:
      throw new Error(`unknown value tag ${tag}`);
  }
}

function readNeighbour(d: decoding.Decoder, client: number, clock: number): void {
  const c = readVarUintStrict(d);
  const k = readVarUintStrict(d);
  if (c === client && k >= clock) throw new Error("an item cannot follow its own future");
}

function readId(d: decoding.Decoder): void {
  readVarUintStrict(d);
  readVarUintStrict(d);
}

function readByte(d: decoding.Decoder): number {
  if (d.pos >= d.arr.length) throw new Error("unexpected end of frame");
  return d.arr[d.pos++]!;
}

function skipBytes(d: decoding.Decoder, n: number): void {
  if (d.arr.length - d.pos < n) throw new Error("unexpected end of frame");
  d.pos += n;
}

function readString(d: decoding.Decoder): string {
  return strictUtf8.decode(readVarUint8ArrayStrict(d));
}

/**
 * Checks a string without building it when it is plain ASCII (most of any document), and returns its
 * length in UTF-16 code units, as Yjs counts string content. A decoder call per string made validating
 * a large snapshot cost hundreds of milliseconds in workerd.
 */
function skipString(d: decoding.Decoder): number {
  const bytes = readVarUint8ArrayStrict(d);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) return strictUtf8.decode(bytes).length;
  }
  return bytes.length;
}

// Yjs (lib0) decodes strings with a fatal UTF-8 decoder: invalid UTF-8 makes it throw, so it is refused here.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function readVarIntStrict(d: decoding.Decoder): void {
  let r = readByte(d);
  let bits = 6;
  for (let i = 0; r & 0x80; i++) {
    if (i >= 8) throw new Error("varint too long");
    r = readByte(d);
    bits += 7;
  }
  if (bits > 60) throw new Error("varint too long");
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

export function encodeQueryAwareness(): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.queryAwareness);
  return encoding.toUint8Array(encoder);
}
