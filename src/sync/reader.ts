/**
 * Bounds-checked readers over lib0's decoder. lib0 reads past the end as `undefined` and lets a varint
 * run past 2^53; these throw instead, so a malformed frame fails inside the one guarded boundary that
 * decodes it (frames.ts) and nowhere else.
 */
import type * as decoding from "lib0/decoding";

export function readVarUintStrict(decoder: decoding.Decoder): number {
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

export function readVarUint8ArrayStrict(decoder: decoding.Decoder): Uint8Array {
  const len = readVarUintStrict(decoder);
  if (len > decoder.arr.length - decoder.pos) throw new Error("length exceeds frame");
  const view = new Uint8Array(decoder.arr.buffer, decoder.arr.byteOffset + decoder.pos, len);
  decoder.pos += len;
  return view;
}

export function expectEnd(decoder: decoding.Decoder): void {
  if (decoder.pos !== decoder.arr.length) throw new Error("trailing bytes after message");
}

export function readByte(d: decoding.Decoder): number {
  if (d.pos >= d.arr.length) throw new Error("unexpected end of frame");
  return d.arr[d.pos++]!;
}

export function skipBytes(d: decoding.Decoder, n: number): void {
  if (d.arr.length - d.pos < n) throw new Error("unexpected end of frame");
  d.pos += n;
}

export function readString(d: decoding.Decoder): string {
  return strictUtf8.decode(readVarUint8ArrayStrict(d));
}

/**
 * Checks a string without building it when it is plain ASCII (most of any document), and returns its
 * length in UTF-16 code units, as Yjs counts string content. A decoder call per string made validating
 * a large snapshot cost hundreds of milliseconds in workerd.
 */
export function skipString(d: decoding.Decoder): number {
  const bytes = readVarUint8ArrayStrict(d);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) return strictUtf8.decode(bytes).length;
  }
  return bytes.length;
}

// Yjs (lib0) decodes strings with a fatal UTF-8 decoder: invalid UTF-8 makes it throw, so it is refused here.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function readVarIntStrict(d: decoding.Decoder): void {
  let r = readByte(d);
  let bits = 6;
  for (let i = 0; r & 0x80; i++) {
    if (i >= 8) throw new Error("varint too long");
    r = readByte(d);
    bits += 7;
  }
  if (bits > 60) throw new Error("varint too long");
}
