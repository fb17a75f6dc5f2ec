import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { MERGE_MAX_BYTES, MERGE_MAX_UPDATES, mergeOrKeep, release, type Held } from "../../../src/sync/coalesce";
import { decodeFrame, encodeAwareness, encodeSyncStep1, encodeUpdate } from "../../../src/sync/frames";

/** A writer whose every transaction becomes one update to broadcast. */
function writer(clientID: number) {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const out: Uint8Array[] = [];
  doc.on("update", (u: Uint8Array) => out.push(u));
  return {
    doc,
    type(text: string): Uint8Array {
      const t = doc.getText("t");
      t.insert(t.length, text);
      return out.at(-1)!;
    },
  };
}

function deliver(held: Held<string>[], conns: string[]) {
  const got = new Map<string, Uint8Array[]>(conns.map((c) => [c, []]));
  release(held, conns, (c, m) => got.get(c)!.push(m));
  return got;
}

/** Applies every update a connection got to a fresh doc; returns its text and the message kinds. */
function replay(messages: Uint8Array[]) {
  const doc = new Y.Doc();
  const kinds: string[] = [];
  for (const m of messages) {
    const f = decodeFrame(m);
    if (!f.ok) throw new Error(f.error.reason);
    kinds.push(f.value.kind);
    if (f.value.kind === "sync-update" || f.value.kind === "sync-step2") Y.applyUpdate(doc, f.value.update);
  }
  return { text: doc.getText("t").toString(), kinds };
}

describe("release", () => {
  it("merges a burst into one message per reader; a writer gets only the others' updates", () => {
    const a = writer(1);
    const b = writer(2);
    const held: Held<string>[] = [
      { update: a.type("a1"), except: "A" },
      { update: b.type("b1"), except: "B" },
      { update: a.type("a2"), except: "A" },
    ];
    const got = deliver(held, ["A", "B", "R"]);
    expect(got.get("R")).toHaveLength(1);
    expect(got.get("A")).toEqual([encodeUpdate(held[1]!.update!)]); // a single update travels alone
    expect(got.get("B")).toHaveLength(1);
    const ref = new Y.Doc();
    Y.applyUpdate(ref, Y.encodeStateAsUpdate(a.doc));
    Y.applyUpdate(ref, Y.encodeStateAsUpdate(b.doc));
    expect(replay(got.get("R")!).text).toBe(ref.getText("t").toString());
    expect(replay(got.get("B")!).text).toBe("a1a2");
    expect(replay(got.get("A")!).text).toBe("b1");
  });

  it("keeps each connection's order: other messages end a run and go out between the merged parts", () => {
    const a = writer(1);
    const awareness = encodeAwareness([{ clientId: 9, clock: 1, stateJson: '{"user":"r"}' }]);
    const step1 = encodeSyncStep1(new Uint8Array([0]));
    const held: Held<string>[] = [
      { update: a.type("1"), except: "A" },
      { update: a.type("2"), except: "A" },
      { message: awareness },
      { update: a.type("3"), except: "A" },
      { message: step1, to: "R" },
      { update: a.type("4"), except: "A" },
      { update: a.type("5"), except: "A" },
    ];
    const got = deliver(held, ["A", "R", "S"]);
    expect(replay(got.get("R")!).kinds).toEqual(["sync-update", "awareness", "sync-update", "sync-step1", "sync-update"]);
    expect(replay(got.get("R")!).text).toBe("12345");
    // A direct send to R ends the run for everyone (kept simple): S gets "3" and "45" apart.
    expect(replay(got.get("S")!).kinds).toEqual(["sync-update", "awareness", "sync-update", "sync-update"]);
    expect(replay(got.get("S")!).text).toBe("12345");
    expect(got.get("A")).toEqual([awareness]);
  });

  it("cuts runs at MERGE_MAX_UPDATES updates and at MERGE_MAX_BYTES", () => {
    const a = writer(1);
    const n = 2 * MERGE_MAX_UPDATES + 5;
    const held: Held<string>[] = [];
    for (let i = 0; i < n; i++) held.push({ update: a.type(String.fromCharCode(97 + (i % 26))), except: "A" });
    const got = deliver(held, ["A", "R"]);
    expect(got.get("R")).toHaveLength(3);
    expect(replay(got.get("R")!).text).toBe(a.doc.getText("t").toString());

    const big = writer(2);
    const chunk = "x".repeat(Math.ceil(MERGE_MAX_BYTES / 3));
    const heldBig: Held<string>[] = [0, 1, 2, 3].map(() => ({ update: big.type(chunk), except: "B" }));
    const gotBig = deliver(heldBig, ["B", "R"]);
    expect(gotBig.get("R")!.length).toBe(2);
    for (const m of gotBig.get("R")!) expect(m.length).toBeLessThan(MERGE_MAX_BYTES + 64);
    expect(replay(gotBig.get("R")!).text).toBe(chunk.repeat(4));
  });

  it("sends nothing to nobody and handles an outbox of direct sends unchanged", () => {
    const step1 = encodeSyncStep1(new Uint8Array([0]));
    expect(deliver([], ["R"]).get("R")).toEqual([]);
    const got = deliver(
      [
        { message: step1, to: "R" },
        { message: step1, to: "S" },
      ],
      ["R", "S", "T"],
    );
    expect(got.get("R")).toEqual([step1]);
    expect(got.get("S")).toEqual([step1]);
    expect(got.get("T")).toEqual([]);
  });

  it("keeps updates as they were when Yjs refuses to merge them, instead of throwing", () => {
    const good = Y.encodeStateAsUpdate(writer(1).doc);
    const bad = new Uint8Array([1, 1, 200, 7]);
    expect(() => Y.mergeUpdates([good, bad])).toThrow();
    expect(mergeOrKeep([good, bad])).toEqual([good, bad]);
    expect(mergeOrKeep([good])).toEqual([good]);
  });
});
