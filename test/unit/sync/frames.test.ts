import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as awarenessProtocol from "y-protocols/awareness";
import * as syncProtocol from "y-protocols/sync";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { decodeFrame, encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate, MessageType } from "../../../src/sync/frames";
import { validateUpdate } from "../../../src/sync/cost/update-check";

/** A document exercising every kind of content Yjs encodes. */
function richDoc(): Y.Doc {
  const doc = new Y.Doc();
  const text = doc.getText("text");
  text.insert(0, "héllo wörld 🎉");
  text.format(0, 5, { bold: true });
  text.insertEmbed(3, { image: "x.png" });
  text.delete(1, 2);
  const map = doc.getMap("map");
  map.set("n", 42);
  map.set("f", 1.5);
  map.set("big", (2n ** 40n) as unknown as number);
  map.set("s", "str");
  map.set("nested", { a: [1, null, true, false, "x"], b: { c: new Uint8Array([1, 2]) } });
  map.set("bin", new Uint8Array([9, 8, 7]));
  map.set("sub", new Y.Map());
  const arr = doc.getArray("arr");
  arr.insert(0, [1, "two", { three: 3 }]);
  arr.push([new Y.Text("inner")]);
  arr.push([new Y.Doc()]);
  arr.delete(0, 1);
  const xml = doc.getXmlFragment("xml");
  const el = new Y.XmlElement("p");
  el.setAttribute("class", "c");
  el.insert(0, [new Y.XmlText("para")]);
  xml.insert(0, [el, new Y.XmlHook("hook") as unknown as Y.XmlElement]);
  return doc;
}

describe("frames a real y-websocket client sends decode exactly", () => {
  it("sync step 1, step 2 and update, as y-protocols encodes them", () => {
    const doc = richDoc();
    const e1 = encoding.createEncoder();
    encoding.writeVarUint(e1, MessageType.sync);
    syncProtocol.writeSyncStep1(e1, doc);
    const step1 = decodeFrame(encoding.toUint8Array(e1));
    expect(step1).toEqual({ ok: true, value: { kind: "sync-step1", stateVector: Y.encodeStateVector(doc) } });

    const e2 = encoding.createEncoder();
    encoding.writeVarUint(e2, MessageType.sync);
    syncProtocol.writeSyncStep2(e2, doc, new Uint8Array([0]));
    const step2 = decodeFrame(encoding.toUint8Array(e2));
    expect(step2.ok && step2.value.kind).toBe("sync-step2");
    if (step2.ok && step2.value.kind === "sync-step2") {
      expect(step2.value.update).toEqual(Y.encodeStateAsUpdate(doc));
      expect(step2.value.clientIds).toEqual(new Set([doc.clientID]));
    }

    const e3 = encoding.createEncoder();
    encoding.writeVarUint(e3, MessageType.sync);
    syncProtocol.writeUpdate(e3, Y.encodeStateAsUpdate(doc));
    const upd = decodeFrame(encoding.toUint8Array(e3));
    expect(upd.ok && upd.value.kind).toBe("sync-update");
  });

  it("awareness updates and query-awareness", () => {
    const doc = new Y.Doc();
    const aw = new awarenessProtocol.Awareness(doc);
    aw.setLocalState({ user: { name: "Ada", color: "#f00" }, cursor: null });
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MessageType.awareness);
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(aw, [doc.clientID]));
    const frame = decodeFrame(encoding.toUint8Array(e));
    expect(frame).toEqual({
      ok: true,
      value: {
        kind: "awareness",
        entries: [{ clientId: doc.clientID, clock: 1, stateJson: JSON.stringify(aw.getLocalState()), removed: false }],
      },
    });
    expect(decodeFrame(new Uint8Array([MessageType.queryAwareness]))).toEqual({ ok: true, value: { kind: "query-awareness" } });
    aw.destroy();
  });

  it("the server's own messages are what y-protocols reads", () => {
    const doc = richDoc();
    const replica = new Y.Doc();
    for (const msg of [encodeSyncStep2(Y.encodeStateAsUpdate(doc)), encodeUpdate(Y.encodeStateAsUpdate(doc))]) {
      const decoder = decoding.createDecoder(msg);
      expect(decoding.readVarUint(decoder)).toBe(MessageType.sync);
      syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), replica, null);
    }
    expect(replica.getText("text").toString()).toBe(doc.getText("text").toString());
    const step1 = encodeSyncStep1(Y.encodeStateVector(doc));
    expect(decodeFrame(step1).ok).toBe(true);
    const aw = encodeAwareness([{ clientId: 7, clock: 3, stateJson: '{"a":1}' }]);
    const decoded = decodeFrame(aw);
    expect(decoded.ok && decoded.value.kind === "awareness" && decoded.value.entries[0]).toMatchObject({ clientId: 7, clock: 3 });
  });
});

describe("validateUpdate accepts what Yjs writes and refuses what it cannot read", () => {
  it("accepts every content kind, v1", () => {
    const doc = richDoc();
    expect(() => validateUpdate(Y.encodeStateAsUpdate(doc))).not.toThrow();
    // An update with only deletions, and the empty update.
    const before = Y.encodeStateVector(doc);
    doc.getText("text").delete(0, 3);
    expect(() => validateUpdate(Y.encodeStateAsUpdate(doc, before))).not.toThrow();
    expect(validateUpdate(new Uint8Array([0, 0]))).toEqual(new Set());
  });

  it("refuses every truncation and trailing garbage of a real update", () => {
    const update = Y.encodeStateAsUpdate(richDoc());
    for (let len = 0; len < update.length; len++) {
      expect(() => validateUpdate(update.subarray(0, len)), `truncated to ${len}`).toThrow();
    }
    const padded = new Uint8Array(update.length + 1);
    padded.set(update);
    padded[update.length] = 5;
    expect(() => validateUpdate(padded)).toThrow();
  });

  it("refuses bad JSON content and unknown content refs", () => {
    // Hand-built: one client, one struct, clock 0, Item with ContentJSON (ref 2) holding "{", parent root "t".
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1); // clients
    encoding.writeVarUint(e, 1); // structs
    encoding.writeVarUint(e, 99); // client
    encoding.writeVarUint(e, 0); // clock
    encoding.writeUint8(e, 2); // info: ContentJSON, no origins
    encoding.writeVarUint(e, 1); // parent is a root type
    encoding.writeVarString(e, "t");
    encoding.writeVarUint(e, 1);
    encoding.writeVarString(e, "{not json");
    encoding.writeVarUint(e, 0); // delete set
    expect(() => validateUpdate(encoding.toUint8Array(e))).toThrow();
    const bad = encoding.toUint8Array(e);
    bad[4] = 0x1b; // content ref 27: no such content
    expect(() => validateUpdate(bad)).toThrow();
  });
});

describe("decodeFrame rejects malformed frames without throwing", () => {
  const cases: [string, number[]][] = [
    ["empty", []],
    ["sync without sub-type", [0]],
    ["sync step 1 without payload", [0, 0]],
    ["payload length past the end", [0, 2, 10, 1, 2]],
    ["unterminated varint", [0xff, 0xff, 0xff]],
    ["varint of 9 bytes", [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    ["unknown sync sub-type", [0, 7, 0]],
    ["update that is garbage", [0, 2, 3, 0xff, 0xff, 0xff]],
    ["awareness with a state that is not UTF-8", [1, 5, 1, 1, 1, 1, 0xff]],
    ["awareness with truncated entry", [1, 3, 1, 5, 1]],
    ["trailing bytes after a sync message", [0, 0, 1, 0, 9]],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      const r = decodeFrame(new Uint8Array(bytes));
      expect(r.ok).toBe(false);
    });
  }

  it("a well-formed frame of an unknown type is reported as unknown, not an error", () => {
    expect(decodeFrame(new Uint8Array([9, 1, 2, 3]))).toEqual({ ok: true, value: { kind: "unknown", messageType: 9 } });
    expect(decodeFrame(new Uint8Array([2, 0]))).toEqual({ ok: true, value: { kind: "unknown", messageType: 2 } });
  });
});
