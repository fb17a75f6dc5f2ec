/**
 * A newcomer's first calls against the Worker as `npm run dev` runs it (wrangler dev, DEV_MODE), on a fresh
 * state: the README's first REST call with the public demo key works without any /dev route having run
 * first, and one token call (`create: true`) gives what a stock y-websocket provider needs, used exactly
 * as the answer's `syncBase` says: `new WebsocketProvider(syncBase, docId, doc, { params: { token } })`.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { DEMO_SECRET_KEY, eventually, serverSuite } from "./harness";

const auth = { authorization: `Bearer ${DEMO_SECRET_KEY}` };
const suite = serverSuite(); // a new persist dir: no project, no key yet (the harness only polled /healthz)

describe("npm run dev on a fresh state", () => {
  it("the demo key answers on /v1 from the first request: lists (empty), creates, lists again", async () => {
    const first = await fetch(`${suite.server.url}/v1/docs`, { headers: auth });
    expect(first.status, await first.clone().text()).toBe(200);
    expect(await first.json()).toMatchObject({ data: [] });
    const created = await fetch(`${suite.server.url}/v1/docs`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ id: "first-doc" }),
    });
    expect(created.status).toBe(201);
    const listed = (await (await fetch(`${suite.server.url}/v1/docs`, { headers: auth })).json()) as { data: { id: string }[] };
    expect(listed.data.map((d) => d.id)).toEqual(["first-doc"]);
  });
});

describe("one call for a token, the document created if needed, and the stock provider", () => {
  /** What an app's token endpoint does: POST …/tokens with create: true. */
  async function tokenFor(docId: string, userId: string) {
    const res = await fetch(`${suite.server.url}/v1/docs/${docId}/tokens`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ userId, access: "write", create: true }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { token: string; syncBase: string; url: string; created: boolean };
  }

  it("new WebsocketProvider(syncBase, docId, doc, { params: { token } }) syncs two clients and the server keeps it", async () => {
    const docId = "made-by-token";
    const a = await tokenFor(docId, "ada");
    const b = await tokenFor(docId, "bob");
    expect([a.created, b.created]).toEqual([true, false]);
    expect(a.url).toBe(`${a.syncBase}/${docId}`);
    const docs = [new Y.Doc(), new Y.Doc()];
    const providers = [a, b].map(
      (t, i) => new WebsocketProvider(t.syncBase, docId, docs[i]!, { params: { token: t.token }, WebSocketPolyfill: WebSocket as never }),
    );
    const closes: number[] = [];
    for (const p of providers) p.on("connection-close", (e) => closes.push(e?.code ?? 0));
    try {
      await eventually(async () => expect(providers.every((p) => p.synced)).toBe(true));
      docs[0]!.getText("t").insert(0, "hello from ada");
      await eventually(async () => expect(docs[1]!.getText("t").toString()).toBe("hello from ada"));
      await eventually(async () => {
        const res = await fetch(`${suite.server.url}/v1/docs/${docId}/json`, { headers: auth });
        expect(await res.json()).toEqual({ t: "hello from ada" });
      });
      expect(closes).toEqual([]); // connected at the first try: no refused upgrade, no reconnect loop
    } finally {
      for (const p of providers) p.destroy();
    }
  });
});
