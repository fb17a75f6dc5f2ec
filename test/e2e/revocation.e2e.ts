/**
 * Revoking a key against a real `wrangler dev` with stock y-websocket providers over real sockets (issue 22
 * item 8): key A's sockets on two documents are closed with 4401 "key revoked" by the time the DELETE
 * answers, the providers do not reconnect, their later edits are not stored; key B's sockets go on.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { E2E_ADMIN_TOKEN, eventually, serverSuite } from "./harness";

const suite = serverSuite<WebsocketProvider>();
const open = suite.open;

async function call<T>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${suite.server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

/** A stock provider with default options; only the socket class is Node's. */
function provider(docId: string, token: string) {
  const doc = new Y.Doc();
  const p = new WebsocketProvider(`${suite.server.url.replace(/^http/, "ws")}/v1/sync`, docId, doc, {
    params: { token },
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  });
  const closed: { code: number; reason: string }[] = [];
  p.on("closed", (e) => closed.push(e));
  open.push(p);
  return { p, doc, closed };
}

describe("revoking a key on wrangler dev", () => {
  it("closes its tokens' sockets on every document with 4401 before the 204; the stock provider stays closed; other keys go on", async () => {
    const project = await call<{ id: string; secretKey: string }>("POST", "/v1/projects", E2E_ADMIN_TOKEN, { name: "revocation" });
    const sk = project.json.secretKey;
    const a = (await call<{ id: string; secretKey: string }>("POST", "/v1/keys", sk, { name: "A" })).json;
    const b = (await call<{ id: string; secretKey: string }>("POST", "/v1/keys", sk, { name: "B" })).json;
    const token = async (key: { secretKey: string }, docId: string, userId: string) =>
      (await call<{ token: string }>("POST", `/v1/docs/${docId}/tokens`, key.secretKey, { userId, access: "write" })).json.token;
    for (const id of ["e2e-rev-1", "e2e-rev-2"]) expect((await call("POST", "/v1/docs", sk, { id })).status).toBe(201);

    const a1 = provider("e2e-rev-1", await token(a, "e2e-rev-1", "ann"));
    const a2 = provider("e2e-rev-2", await token(a, "e2e-rev-2", "ann"));
    const b1 = provider("e2e-rev-1", await token(b, "e2e-rev-1", "bob"));
    const b2 = provider("e2e-rev-2", await token(b, "e2e-rev-2", "bob"));
    for (const x of [a1, a2, b1, b2]) await eventually(async () => expect(x.p.synced).toBe(true));

    expect((await call("DELETE", `/v1/keys/${a.id}`, b.secretKey)).status).toBe(204);
    for (const x of [a1, a2]) {
      await eventually(async () => expect(x.closed).toEqual([{ code: 4401, reason: "key revoked" }]));
      expect(x.p.shouldConnect).toBe(false);
    }
    a1.doc.getText("t").insert(0, "after revocation");
    b1.doc.getText("t").insert(0, "from b");
    const stored = async (docId: string) => (await call<{ t?: string }>("GET", `/v1/docs/${docId}/json?types=t:text`, sk)).json.t ?? "";
    await eventually(async () => expect(await stored("e2e-rev-1")).toBe("from b"));
    for (const id of ["e2e-rev-1", "e2e-rev-2"]) {
      await eventually(async () =>
        expect((await call<{ connections: number; users: { userId: string }[] }>("GET", `/v1/docs/${id}/presence`, sk)).json).toMatchObject({
          connections: 1,
          users: [{ userId: "bob" }],
        }),
      );
    }
    expect(b1.closed).toEqual([]);
    expect(b2.closed).toEqual([]);
    expect(b1.p.wsconnected && b2.p.wsconnected).toBe(true);
    expect(a1.p.ws).toBeNull();
  });
});
