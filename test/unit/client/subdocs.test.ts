/**
 * @lattice-sync/client's subdocuments, with no server: which id a loaded subdocument is opened on, that an
 * id the server would refuse is reported (closed, `bad-request`, `error`) and never asked a token for, and
 * that removing or destroying a subdocument, or the client, closes it. `getToken` never answers, so no
 * socket is opened: the clients stay "connecting".
 */
import { afterEach, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { connect, isDocId, subdocId, type LatticeClient, type SubdocEvent } from "../../../packages/client/src/index";

const UUID = "0b5e3c4e-8d7f-4a39-9f0c-2a1d4e5f6a7b";
const open: LatticeClient[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.destroy();
});

/** A client whose getToken records the ids it was asked for and never answers. */
function client(docId: string, doc = new Y.Doc()) {
  const asked: string[] = [];
  const c = connect({ url: "http://127.0.0.1:9", docId, doc, getToken: (id) => (asked.push(id), new Promise<string>(() => {})) });
  const events: SubdocEvent[] = [];
  c.on("subdoc", (e) => events.push(e));
  open.push(c);
  return { c, asked, events, doc };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("subdocument ids", () => {
  it("parent id, a dot, the guid; a uuid under a workspace prefix is a valid id", () => {
    expect(subdocId("ws_42.notes", UUID)).toBe(`ws_42.notes.${UUID}`);
    expect(isDocId(subdocId("ws_42.notes", UUID))).toBe(true);
    expect(isDocId(subdocId("a".repeat(91), UUID))).toBe(true); // 128 characters
    expect(isDocId(subdocId("a".repeat(92), UUID))).toBe(false); // 129
    expect(isDocId(subdocId("doc", "a/b"))).toBe(false);
    expect(isDocId(subdocId("doc", ""))).toBe(true); // "doc." is a valid id (a prefix would cover it)
  });
});

describe("loaded subdocuments", () => {
  it("a subdocument added locally is opened on the derived id, with the same token source", async () => {
    const { c, asked, events, doc } = client("ws_42.notes");
    const sub = new Y.Doc({ guid: UUID });
    doc.getMap("sections").set("a", sub);
    expect(c.subdocs.get(sub)?.docId).toBe(`ws_42.notes.${UUID}`);
    expect(c.statusOf(sub)).toMatchObject({ state: "connecting", saved: true });
    expect(events.map((e) => [e.docId, e.status.state, e.removed])).toEqual([[`ws_42.notes.${UUID}`, "connecting", false]]);
    await tick();
    expect(asked).toEqual(["ws_42.notes", `ws_42.notes.${UUID}`]);
    // A local edit in the subdocument: its own saved turns false; the parent's status does not change.
    const parentStatus = c.status;
    sub.getText("t").insert(0, "x");
    expect(c.statusOf(sub)?.saved).toBe(false);
    expect(c.status).toBe(parentStatus);
    expect(events.at(-1)).toMatchObject({ doc: sub, removed: false, status: { saved: false } });
  });

  it("an id that is not a valid document id: closed with an error, no token asked for, no connection", async () => {
    const parent = "p".repeat(100);
    const { c, asked, events, doc } = client(parent);
    const sub = new Y.Doc({ guid: UUID });
    doc.getMap("sections").set("a", sub);
    const s = c.statusOf(sub)!;
    expect(s).toMatchObject({ state: "closed", reason: "bad-request", code: 0, synced: false });
    expect(s.error).toMatch(/not a valid document id/);
    expect(events).toHaveLength(1);
    await tick();
    expect(asked).toEqual([parent]);
    await expect(c.subdocs.get(sub)!.whenSynced()).rejects.toThrow(/bad-request/);
    expect(c.subdocs.get(sub)!.provider.wsconnected || c.subdocs.get(sub)!.provider.wsconnecting).toBe(false);
  });

  it("a subdocument that arrives unloaded (a remote one) is opened only when the app loads it", () => {
    const source = new Y.Doc();
    source.getMap("sections").set("a", new Y.Doc({ guid: UUID }));
    const { c, events, doc } = client("notes");
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(source));
    const sub = [...doc.getSubdocs()][0]!;
    expect(sub.shouldLoad).toBe(false);
    expect(c.subdocs.size).toBe(0);
    sub.load();
    expect(c.subdocs.get(sub)?.docId).toBe(`notes.${UUID}`);
    expect(events).toHaveLength(1);
  });

  it("removing a subdocument, destroying one, or destroying the client closes it", () => {
    const { c, events, doc } = client("notes");
    const map = doc.getMap<Y.Doc>("sections");
    const [a, b, d] = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
    map.set("a", a);
    map.set("b", b);
    map.set("d", d);
    expect(c.subdocs.size).toBe(3);
    const clientOfA = c.subdocs.get(a)!;
    map.delete("a");
    expect(c.subdocs.has(a)).toBe(false);
    expect(events.at(-1)).toMatchObject({ doc: a, docId: `notes.${a.guid}`, removed: true });
    // Destroyed: its awareness is stopped too (y-websocket's own, which would keep a timer running).
    expect(clientOfA.provider.shouldConnect).toBe(false);
    b.destroy();
    expect(c.subdocs.has(b)).toBe(false);
    expect(events.at(-1)).toMatchObject({ doc: b, removed: true });
    c.destroy();
    expect(c.subdocs.size).toBe(0);
    expect(events.at(-1)).toMatchObject({ doc: d, removed: true });
  });

  it("subdocuments of a subdocument: opened on the subdocument's id plus their guid, reported to the top client", () => {
    const { c, events, doc } = client("ws");
    const sub = new Y.Doc({ guid: "s1" });
    doc.getMap("m").set("a", sub);
    const inner = new Y.Doc({ guid: "s2" });
    sub.getMap("m").set("b", inner);
    expect(c.subdocs.get(sub)?.subdocs.get(inner)?.docId).toBe("ws.s1.s2");
    expect(c.statusOf(inner)?.state).toBe("connecting");
    expect([...new Set(events.map((e) => e.docId))]).toEqual(["ws.s1", "ws.s1.s2"]);
  });
});
