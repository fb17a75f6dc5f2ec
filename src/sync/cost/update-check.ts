/**
 * A strict Yjs v1 update validator: parses an update completely, without applying it or allocating its
 * structs. Mirrors yjs' readClientsStructRefs / readDeleteSet / contentRefs.
 */
import * as decoding from "lib0/decoding";
import { readByte, readString, readVarIntStrict, readVarUint8ArrayStrict, readVarUintStrict, skipBytes, skipString, expectEnd } from "../reader";

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
