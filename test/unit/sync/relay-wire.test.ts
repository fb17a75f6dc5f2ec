import * as encoding from "lib0/encoding";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { encodeAwareness, MessageType } from "../../../src/sync/frames";
import { decodeLink, encodeLink, type LinkMessage, LinkType, MAX_ROSTER } from "../../../src/sync/relay-wire";
import { prng } from "../../helpers/fuzz";

function typed(text: string): { update: Uint8Array; stateVector: Uint8Array } {
  const doc = new Y.Doc();
  doc.getText("t").insert(0, text);
  return { update: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) };
}

const { update, stateVector } = typed("héllo 🌍");
const awareness = encodeAwareness([{ clientId: 7, clock: 3, stateJson: JSON.stringify({ user: { name: "Zoë 👩‍💻" } }) }]);
const empty = new Uint8Array();
const BIG = Number.MAX_SAFE_INTEGER;

/** Every message type, in ordinary and edge shapes (empty arrays and strings, unicode, the largest numbers). */
const MESSAGES: LinkMessage[] = [
  { type: "feed", epoch: "0b6c7f0e-5b1a-4d1e-9a55-8f0e2d1c3b4a", seq: 1, update },
  { type: "feed", epoch: "", seq: 0, update: empty },
  { type: "feed", epoch: "e", seq: BIG, update: new Uint8Array(300).fill(0xab) },
  { type: "catchUp", epoch: "e1", seq: 42, forward: update, base: update, resync: false },
  { type: "catchUp", epoch: "e1", seq: BIG, forward: empty, base: empty, resync: true },
  { type: "catchUp", epoch: "ép⊕ch", seq: 2 ** 32 + 1, forward: update, base: empty, resync: true },
  { type: "access", userId: "user-1", rule: "write" },
  { type: "access", userId: "ユーザー🦊", rule: "" },
  { type: "access", userId: "", rule: "" },
  { type: "revoke", keyId: "key_abc123" },
  { type: "revoke", keyId: "" },
  { type: "erase" },
  { type: "refused", tag: 0, code: 4403, reason: "no write access" },
  { type: "refused", tag: BIG, code: 1013, reason: "" },
  { type: "refused", tag: 9, code: 4429, reason: "trop de mises à jour ⏱" },
  { type: "hello", index: 0, roster: [] },
  { type: "hello", index: 50, roster: [{ tag: 3, userId: "carol", access: "write" }], viaParent: true },
  {
    type: "hello",
    index: 199,
    roster: [
      { tag: 0, userId: "alice", access: "write" },
      { tag: 1, userId: "Björk 🎵", access: "read" },
      { tag: BIG, userId: "", access: "read" },
    ],
  },
  { type: "up", from: { tag: 3, userId: "alice", claim: "write", keyId: "k1" }, frame: update },
  { type: "up", from: { tag: BIG, userId: "日本語", claim: "read", keyId: "" }, frame: empty },
  { type: "upAwareness", from: { tag: 4, userId: "bob", claim: "read", keyId: "k2" }, frame: awareness },
  { type: "upAwareness", from: { tag: 0, userId: "", claim: "write", keyId: "🔑" }, frame: empty },
  { type: "leave", tag: 0 },
  { type: "leave", tag: BIG },
  { type: "since", epoch: "e1", seq: 17, stateVector, fresh: false },
  { type: "since", epoch: "", seq: 0, stateVector: empty, fresh: true },
  { type: "since", epoch: "e2", seq: BIG, stateVector, fresh: true },
];

/** Every message but the awareness frame (passed through unread, so neither truncation nor trailing bytes are its decoder's to see). */
const ENCODED = MESSAGES.map((m) => ({ m, bytes: encodeLink(m) }));

const label = (m: LinkMessage) => JSON.stringify(m, (_, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 140);

/** decodeLink, which must never throw. */
function decode(bytes: Uint8Array) {
  let result: ReturnType<typeof decodeLink> | undefined;
  expect(() => {
    result = decodeLink(bytes);
  }).not.toThrow();
  return result!;
}

function hello(n: number, entries: number): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, LinkType.hello);
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, n);
  for (let i = 0; i < entries; i++) {
    encoding.writeVarUint(e, i);
    encoding.writeVarString(e, `u${i}`);
    encoding.writeVarString(e, i % 2 ? "write" : "read");
  }
  return encoding.toUint8Array(e);
}

describe("encodeLink / decodeLink round trip", () => {
  it("covers every link message type", () => {
    const types = new Set([...MESSAGES.map((m) => m.type), "awareness"]);
    expect([...types].sort()).toEqual(Object.keys(LinkType).sort());
  });

  for (const { m, bytes } of ENCODED) {
    it(label(m), () => {
      const d = decode(bytes);
      expect(d.ok).toBe(true);
      if (d.ok) expect(d.value).toEqual(m);
    });
  }

  it("an awareness frame is passed through as is, both ways", () => {
    const frame = awareness;
    expect(frame[0]).toBe(MessageType.awareness);
    expect(encodeLink({ type: "awareness", frame })).toBe(frame);
    const d = decode(frame);
    expect(d.ok).toBe(true);
    if (d.ok && d.value.type === "awareness") expect(d.value.frame).toBe(frame);
    else expect.unreachable(`decoded as ${d.ok ? d.value.type : d.error}`);
  });

  it("a roster of exactly MAX_ROSTER sockets decodes", () => {
    const d = decode(hello(MAX_ROSTER, MAX_ROSTER));
    expect(d.ok).toBe(true);
    if (d.ok && d.value.type === "hello") {
      expect(d.value.roster).toHaveLength(MAX_ROSTER);
      expect(d.value.roster.at(-1)).toEqual({ tag: MAX_ROSTER - 1, userId: `u${MAX_ROSTER - 1}`, access: "write" });
    }
  });
});

describe("decodeLink refuses malformed messages without throwing", () => {
  it("truncated at every byte position of every message", () => {
    const accepted: string[] = [];
    for (const { m, bytes } of ENCODED) {
      // A hello cut just before its optional `viaParent` flag is a whole hello without it.
      const whole = m.type === "hello" && m.viaParent ? bytes.length - 1 : -1;
      for (let n = 0; n < bytes.length; n++) {
        if (n === whole) continue;
        const d = decode(bytes.subarray(0, n));
        if (d.ok) accepted.push(`${label(m)} cut at ${n}`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it("with a trailing byte", () => {
    for (const { m, bytes } of ENCODED) {
      for (const extra of [0, 1, 0xff]) {
        // A hello's optional last field is `viaParent`, written only when true: a trailing 1 is that flag.
        if (m.type === "hello" && !m.viaParent && extra === 1) continue;
        const longer = new Uint8Array([...bytes, extra]);
        const d = decode(longer);
        expect(d.ok, `${label(m)} + ${extra}`).toBe(false);
      }
    }
  });

  it("of an unknown type, including y-websocket's other types and the gaps between link types", () => {
    const known = new Set<number>(Object.values(LinkType));
    const unknown = [MessageType.sync, MessageType.auth, MessageType.queryAwareness, MessageType.saved, 4, 127, 128, 199, 206, 209, 215, 255, 256, 2 ** 40];
    for (const type of unknown) {
      expect(known.has(type)).toBe(false);
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, type);
      encoding.writeVarString(e, "e1");
      encoding.writeVarUint(e, 1);
      const d = decode(encoding.toUint8Array(e));
      expect(d.ok, `type ${type}`).toBe(false);
      if (!d.ok) expect(d.error).toContain(String(type));
    }
  });

  it("a roster longer than MAX_ROSTER, whether or not its entries follow", () => {
    for (const bytes of [hello(MAX_ROSTER + 1, 0), hello(MAX_ROSTER + 1, MAX_ROSTER + 1), hello(2 ** 40, 3)]) {
      const d = decode(bytes);
      expect(d.ok).toBe(false);
    }
  });

  it("a roster that claims more entries than it has", () => {
    expect(decode(hello(5, 4)).ok).toBe(false);
    expect(decode(hello(5, 5)).ok).toBe(true);
  });

  it("a string that is not UTF-8, and a number past 2^53", () => {
    const typeThen = (type: number, ...rest: number[]) => {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, type);
      return new Uint8Array([...encoding.toUint8Array(e), ...rest]);
    };
    expect(decode(typeThen(LinkType.revoke, 2, 0xc3, 0x28)).ok).toBe(false);
    expect(decode(typeThen(LinkType.leave, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)).ok).toBe(false);
    // 2^53, one past the largest safe integer, in the fewest bytes it takes; the safe one just below decodes.
    expect(decode(typeThen(LinkType.leave, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10)).ok).toBe(false);
    expect(decode(typeThen(LinkType.leave, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f))).toEqual({ ok: true, value: { type: "leave", tag: BIG } });
  });

  it("random bytes and random mutations of real messages never throw", () => {
    const rng = prng(0x11bc);
    const types = Object.values(LinkType);
    for (let i = 0; i < 20_000; i++) {
      let bytes: Uint8Array;
      const kind = rng.int(10);
      if (kind < 3) bytes = rng.bytes(rng.int(40));
      else if (kind < 5) {
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, rng.pick(types));
        encoding.writeUint8Array(e, rng.bytes(rng.int(40)));
        bytes = encoding.toUint8Array(e);
      } else {
        bytes = new Uint8Array(rng.pick(ENCODED).bytes);
        for (let k = 1 + rng.int(3); k > 0 && bytes.length > 0; k--) bytes[rng.int(bytes.length)] = rng.int(256);
      }
      const d = decodeLink(bytes);
      expect(typeof d.ok).toBe("boolean");
    }
  });
});

describe("a hello's viaParent flag", () => {
  it("is written only when true and read back as written", () => {
    const plain = encodeLink({ type: "hello", index: 7, roster: [] });
    const flagged = encodeLink({ type: "hello", index: 7, roster: [], viaParent: true });
    expect(flagged.length).toBe(plain.length + 1);
    expect(decode(flagged)).toEqual({ ok: true, value: { type: "hello", index: 7, roster: [], viaParent: true } });
    expect(decode(plain)).toEqual({ ok: true, value: { type: "hello", index: 7, roster: [] } });
  });
});
