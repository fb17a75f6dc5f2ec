/**
 * Reading an Item's content off a Yjs v1 update for update-cost.ts (pure: lib0 only): how many clock
 * units each struct takes, without building its strings or values where that can be avoided.
 */
import * as decoding from "lib0/decoding";

/** Reads an Item's content (v1 encoding); returns its length in clock units, as Yjs counts it. */
export function readContent(d: decoding.Decoder, ref: number): number {
  switch (ref) {
    case 1: // deleted
      return decoding.readVarUint(d);
    case 2: {
      // JSON
      const len = decoding.readVarUint(d);
      for (let i = 0; i < len; i++) skipString(d);
      return len;
    }
    case 3: // binary
      decoding.readVarUint8Array(d);
      return 1;
    case 4: // string: UTF-16 code units
      return skipString(d);
    case 5: // embed
      skipString(d);
      return 1;
    case 6: // format
      skipString(d);
      skipString(d);
      return 1;
    case 7: {
      const typeRef = decoding.readVarUint(d);
      if (typeRef === 3 || typeRef === 5) skipString(d); // XmlElement name, XmlHook key
      return 1;
    }
    case 8: {
      // any[]
      const len = decoding.readVarUint(d);
      for (let i = 0; i < len; i++) decoding.readAny(d);
      return len;
    }
    case 9: // subdocument: guid, options
      skipString(d);
      decoding.readAny(d);
      return 1;
    default:
      throw new Error(`unknown content type ${ref}`);
  }
}

const utf8 = new TextDecoder();

/** Skips a string; returns its length in UTF-16 code units without building it when it is ASCII. */
function skipString(d: decoding.Decoder): number {
  const bytes = decoding.readVarUint8Array(d);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) return utf8.decode(bytes).length;
  }
  return bytes.length;
}
