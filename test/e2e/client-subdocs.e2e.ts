/**
 * @lattice-sync/client's subdocuments in Node over `ws`, against a real `wrangler dev`, with workspace tokens
 * from `POST /v1/tokens`: a token whose prefix covers the parent covers its subdocuments, which are opened on
 * `{parentId}.{guid}` (created on first open with `create: true`), synced between two clients and stored as
 * documents of their own; a token that names only the parent is refused for the subdocument (`forbidden`),
 * and the parent stays live.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import * as Y from "yjs";
import { connect, type LatticeClient } from "../../packages/client/src/index";
import { DEMO_SECRET_KEY, eventually, serverSuite, uniqueDocId } from "./harness";

const suite = serverSuite<LatticeClient>();

async function workspaceToken(docs: { ids?: string[]; prefixes?: string[] }): Promise<string> {
  const res = await fetch(`${suite.server.url}/v1/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${DEMO_SECRET_KEY}`, "content-type": "application/json" },
    // `create` needs a prefix to create under.
    body: JSON.stringify({ userId: "subdocs", access: "write", docs, create: (docs.prefixes?.length ?? 0) > 0 }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

function client(docId: string, token: string, asked: string[] = []) {
  const c = connect({
    url: suite.server.url,
    docId,
    getToken: (id) => (asked.push(id), token),
    WebSocketPolyfill: WebSocket as never,
  });
  suite.open.push(c);
  return c;
}

const api = (path: string) => fetch(`${suite.server.url}/v1/docs/${path}`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });

describe("subdocuments with a workspace token", () => {
  it('a prefix "ws_x." covers "ws_x.notes" and its subdocuments: synced between two clients, stored on their own', async () => {
    const ws = `${uniqueDocId("ws")}.`;
    const parent = `${ws}notes`;
    const token = await workspaceToken({ prefixes: [ws] });
    const asked: string[] = [];
    const a = client(parent, token, asked);
    await a.whenSynced();
    const sub = new Y.Doc();
    a.doc.getMap<Y.Doc>("sections").set("intro", sub);
    sub.getText("t").insert(0, "in a subdocument");
    const subClient = a.subdocs.get(sub)!;
    expect(subClient.docId).toBe(`${parent}.${sub.guid}`);
    await Promise.all([subClient.whenSaved(), a.whenSaved()]);
    expect(a.statusOf(sub)).toMatchObject({ state: "live", synced: true, saved: true });
    expect(asked).toEqual([parent, `${parent}.${sub.guid}`]);

    // Another client gets the subdocument unloaded, and syncs it once it loads it.
    const b = client(parent, token);
    await b.whenSynced();
    const remote = b.doc.getMap<Y.Doc>("sections").get("intro")!;
    expect(remote.guid).toBe(sub.guid);
    expect(b.subdocs.size).toBe(0);
    remote.load();
    await b.subdocs.get(remote)!.whenSynced();
    expect(remote.getText("t").toString()).toBe("in a subdocument");
    remote.getText("t").insert(0, "B: ");
    await eventually(async () => expect(sub.getText("t").toString()).toBe("B: in a subdocument"));

    // Its own document on the server; the parent holds only the reference.
    const stored = await api(`${encodeURIComponent(subClient.docId)}/json`);
    expect(stored.status).toBe(200);
    await b.subdocs.get(remote)!.whenSaved();
    expect(await (await api(`${encodeURIComponent(subClient.docId)}/json`)).json()).toEqual({ t: "B: in a subdocument" });

    // Removing it disconnects it in both clients.
    a.doc.getMap<Y.Doc>("sections").delete("intro");
    expect(a.subdocs.size).toBe(0);
    expect(subClient.provider.shouldConnect).toBe(false);
    await eventually(async () => expect(b.subdocs.size).toBe(0));
  });

  it("a token that names only the parent: the subdocument is refused (closed, forbidden), the parent stays live", async () => {
    const parent = uniqueDocId("only-parent");
    expect(
      (
        await fetch(`${suite.server.url}/v1/docs`, {
          method: "POST",
          headers: { authorization: `Bearer ${DEMO_SECRET_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ id: parent }),
        })
      ).status,
    ).toBe(201);
    const c = client(parent, await workspaceToken({ ids: [parent] }));
    await c.whenSynced();
    const sub = new Y.Doc();
    c.doc.getMap<Y.Doc>("m").set("x", sub);
    await expect(c.subdocs.get(sub)!.whenSynced()).rejects.toThrow(/forbidden/);
    expect(c.statusOf(sub)).toMatchObject({ state: "closed", reason: "forbidden" });
    expect(c.status.state).toBe("live");
  });
});
