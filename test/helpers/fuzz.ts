/**
 * Seeded generators of hostile y-websocket frames for the fuzz tests (unit and live): random bytes,
 * truncations, huge varints, wrong types, and valid framing around updates with garbage inside.
 * Pure (no `cloudflare:*` import): the same seed gives the same frames everywhere.
 */
import * as encoding from "lib0/encoding";
import * as Y from "yjs";
import { encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate, encodeQueryAwareness } from "../../src/sync/frames";
import { applyPatches, type SequentialTrace } from "./traces";

/** mulberry32: small, fast, seedable. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    bool: (p = 0.5) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!,
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
  };
}
export type Rng = ReturnType<typeof prng>;

/** Real frames, as a y-websocket client sends them: updates from a trace, state vectors, awareness. */
export function realFrames(trace: SequentialTrace | undefined, count = 200): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const doc = new Y.Doc();
  doc.clientID = 4242;
  const text = doc.getText("text");
  const txns = trace?.txns ?? [];
  for (let i = 0; i < Math.min(count, txns.length); i++) {
    const sv = Y.encodeStateVector(doc);
    applyPatches(text, txns[i]!.patches);
    frames.push(encodeUpdate(Y.encodeStateAsUpdate(doc, sv)));
  }
  // Every content kind once: map, array, embeds, formats, binary, subdocuments, XML, deletions.
  const rich = new Y.Doc();
  rich.clientID = 99;
  rich.getMap("m").set("k", { a: [1, "x", null, true, 2.5] });
  rich.getMap("m").set("bin", new Uint8Array([1, 2, 3]));
  rich.getMap("m").set("sub", new Y.Doc());
  rich.getArray("a").insert(0, [1, "two", { three: 3 }, new Y.Map()]);
  const t = rich.getText("t");
  t.insert(0, "hello world", { bold: true });
  t.insertEmbed(5, { image: "x.png" });
  t.delete(0, 2);
  const xml = rich.getXmlFragment("x");
  const el = new Y.XmlElement("p");
  el.insert(0, [new Y.XmlText("para")]);
  xml.insert(0, [el]);
  const full = Y.encodeStateAsUpdate(rich);
  frames.push(encodeUpdate(full), encodeSyncStep2(full), encodeSyncStep2(Y.encodeStateAsUpdate(doc)));
  frames.push(encodeSyncStep1(Y.encodeStateVector(doc)), encodeSyncStep1(Y.encodeStateVector(rich)), encodeSyncStep1(new Uint8Array([0])));
  frames.push(
    encodeAwareness([{ clientId: 4242, clock: 1, stateJson: JSON.stringify({ user: { name: "ana", color: "#f00" }, cursor: null }) }]),
    encodeAwareness([{ clientId: 4242, clock: 2, stateJson: "null" }]),
    encodeQueryAwareness(),
  );
  return frames;
}

const header = (...parts: number[]) => {
  const e = encoding.createEncoder();
  for (const p of parts) encoding.writeVarUint(e, p);
  return encoding.toUint8Array(e);
};

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};

/** A varint that does not fit: 9–40 continuation bytes, or the exact 2^53 edge. */
function hugeVarint(rng: Rng): Uint8Array {
  if (rng.bool(0.3)) return new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]); // ~2^56
  const n = 9 + rng.int(32);
  const out = new Uint8Array(n).fill(0xff);
  if (rng.bool()) out[n - 1] = 0x01;
  return out;
}

function mutate(rng: Rng, src: Uint8Array): Uint8Array {
  const b = Uint8Array.from(src);
  switch (rng.int(8)) {
    case 0: // truncate
      return b.subarray(0, rng.int(Math.max(1, b.length)));
    case 1: {
      // flip some bytes
      const n = 1 + rng.int(4);
      for (let i = 0; i < n && b.length > 0; i++) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 2: {
      // flip one bit
      if (b.length > 0) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return b;
    }
    case 3: {
      // insert random bytes
      const at = rng.int(b.length + 1);
      return concat(b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at));
    }
    case 4: {
      // delete a range
      const at = rng.int(b.length + 1);
      return concat(b.subarray(0, at), b.subarray(at + 1 + rng.int(8)));
    }
    case 5: {
      // splice a huge varint in
      const at = rng.int(b.length + 1);
      return concat(b.subarray(0, at), hugeVarint(rng), b.subarray(at + rng.int(3)));
    }
    case 6: // trailing garbage
      return concat(b, rng.bytes(1 + rng.int(6)));
    default: {
      // set a byte to an edge value
      if (b.length > 0) b[rng.int(b.length)] = rng.pick([0, 0x7f, 0x80, 0xff, 1, 2, 3, 10, 31]);
      return b;
    }
  }
}

/** Valid framing (correct outer lengths) around a payload that is garbage or a mutated real payload. */
function wrapped(rng: Rng, real: Uint8Array[]): Uint8Array {
  const kind = rng.int(6);
  // The inner payload: a mutated real update (its framing stripped) or random bytes.
  const base = rng.pick(real);
  let inner: Uint8Array;
  const r = rng.int(4);
  if (r === 0) inner = rng.bytes(rng.int(40));
  else if (r === 1) inner = mutate(rng, unwrap(base));
  else if (r === 2) inner = mutate(rng, mutate(rng, unwrap(base)));
  else inner = garbageUpdate(rng);
  switch (kind) {
    case 0:
    case 1:
      return encodeUpdate(inner);
    case 2:
      return encodeSyncStep2(inner);
    case 3:
      return encodeSyncStep1(inner);
    case 4:
      return concat(header(1, inner.length), inner); // awareness payload garbage
    default:
      return garbageAwareness(rng);
  }
}

/** The payload of a sync frame (message type, sync type, length stripped); the frame itself if it is not one. */
function unwrap(frame: Uint8Array): Uint8Array {
  if (frame[0] !== 0 || frame.length < 3) return frame;
  let pos = 2;
  while (pos < frame.length && frame[pos]! >= 0x80) pos++;
  return frame.subarray(pos + 1);
}

/** A Yjs update whose outline is right (counts, client, clock, info byte) and whose content is not. */
function garbageUpdate(rng: Rng): Uint8Array {
  const e = encoding.createEncoder();
  const clients = 1 + rng.int(2);
  encoding.writeVarUint(e, clients);
  for (let c = 0; c < clients; c++) {
    const structs = 1 + rng.int(3);
    encoding.writeVarUint(e, structs);
    encoding.writeVarUint(e, rng.pick([1, 2, 4242, 0x7fffffff, rng.int(1 << 30)]));
    encoding.writeVarUint(e, rng.int(100));
    for (let s = 0; s < structs; s++) {
      const ref = rng.int(32);
      const info = ref | (rng.bool(0.3) ? 0x80 : 0) | (rng.bool(0.2) ? 0x40 : 0) | (rng.bool(0.2) ? 0x20 : 0);
      encoding.writeUint8(e, info);
      if (info & 0x80) {
        encoding.writeVarUint(e, rng.int(5000));
        encoding.writeVarUint(e, rng.int(100));
      } else if (!(info & 0x40)) {
        encoding.writeVarUint(e, 1);
        encoding.writeVarString(e, rng.pick(["t", "text", "m", "", "\u{1F600}"]));
      }
      switch (ref) {
        case 2:
          encoding.writeVarUint(e, 1);
          encoding.writeVarString(e, rng.pick(["{", "[1,", "undefined", "nul", '"x']));
          break;
        case 4:
          encoding.writeVarUint(e, rng.pick([5, 1000, 0xffffff]));
          encoding.writeUint8Array(e, rng.bytes(rng.int(6)));
          break;
        case 7:
          encoding.writeVarUint(e, rng.int(12));
          break;
        case 8:
          encoding.writeVarUint(e, 1 + rng.int(3));
          encoding.writeUint8(e, rng.int(256));
          break;
        default:
          encoding.writeUint8Array(e, rng.bytes(rng.int(8)));
      }
    }
  }
  encoding.writeVarUint(e, rng.int(2));
  if (rng.bool()) encoding.writeUint8Array(e, rng.bytes(rng.int(8)));
  return encoding.toUint8Array(e);
}

function garbageAwareness(rng: Rng): Uint8Array {
  const e = encoding.createEncoder();
  const n = rng.pick([1, 2, 0, 2000]);
  encoding.writeVarUint(e, n);
  for (let i = 0; i < Math.min(n, 3); i++) {
    encoding.writeVarUint(e, rng.int(1 << 20));
    encoding.writeVarUint(e, rng.int(10));
    const choice = rng.int(4);
    if (choice === 0)
      encoding.writeVarUint8Array(e, new Uint8Array([0xc3, 0x28])); // invalid UTF-8
    else if (choice === 1) encoding.writeVarString(e, "{not json");
    else if (choice === 2)
      encoding.writeVarUint(e, 1 << 20); // length past the end
    else encoding.writeVarString(e, "{}");
  }
  const inner = encoding.toUint8Array(e);
  return concat(header(1, inner.length), inner);
}

/** One hostile frame. About a third are random, a third mutated real frames, a third well-framed garbage. */
export function hostileFrame(rng: Rng, real: Uint8Array[]): Uint8Array {
  switch (rng.int(7)) {
    case 0:
      return rng.bytes(rng.int(64));
    case 1:
      return concat(header(rng.int(4), rng.int(4)), rng.bytes(rng.int(48)));
    case 2:
      return concat(header(rng.int(2)), hugeVarint(rng), rng.bytes(rng.int(8)));
    case 3:
    case 4:
      return mutate(rng, rng.pick(real));
    default:
      return wrapped(rng, real);
  }
}
