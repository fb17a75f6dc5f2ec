/**
 * Version history (issue 15) on a real `wrangler dev`, with the stock y-websocket provider over Node's `ws`:
 *
 * - automatic versions appear after a burst, on the object's own alarm (VERSION_INTERVAL_SECONDS=2 here;
 *   the production timing is unit-tested in test/unit/versions/policy.test.ts);
 * - versions survive a restart of wrangler dev on the same persist dir;
 * - a restore reaches a live provider as an update, with no reconnect, and `GET …/json` equals the version's.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { DEMO_SECRET_KEY, devDoc, eventually, serverSuite } from "./harness";

interface Version {
  id: string;
  name: string | null;
  kind: string;
  sizeBytes: number;
}

const suite = serverSuite<WebsocketProvider>({ VERSION_INTERVAL_SECONDS: "2" });
const open = suite.open;

function connect(docId: string, token: string): WebsocketProvider {
  const p = new WebsocketProvider(`${suite.server.url.replace(/^http/, "ws")}/v1/sync`, docId, new Y.Doc(), {
    params: { token },
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  });
  open.push(p);
  return p;
}

const synced = (p: WebsocketProvider) => eventually(async () => expect(p.synced).toBe(true), 30_000);

async function call<T>(path: string, init: { method?: string; json?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${suite.server.url}${path}`, {
    method: init.method ?? (init.json === undefined ? "GET" : "POST"),
    headers: { authorization: `Bearer ${DEMO_SECRET_KEY}`, ...(init.json === undefined ? {} : { "content-type": "application/json" }) },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

describe("versions on wrangler dev", () => {
  it("takes automatic versions after a burst, keeps every version across a restart, and restores into a live provider without a reconnect", async () => {
    const { docId, token } = await devDoc(suite.server, "versions");
    const path = `/v1/docs/${docId}`;
    const writer = connect(docId, token);
    await synced(writer);
    writer.doc.getText("t").insert(0, "first burst");

    // The object's alarm takes it, about 2 s after the burst's first change.
    const auto = await eventually(async () => {
      const { body } = await call<{ data: Version[] }>(`${path}/versions?kind=auto`);
      expect(body.data).toHaveLength(1);
      return body.data[0]!;
    }, 30_000);
    expect((await call(`${path}/versions/${auto.id}/json`)).body).toEqual({ t: "first burst" });

    const named = await call<Version>(`${path}/versions`, { json: { name: "before the second burst" } });
    expect(named.status).toBe(201);
    writer.doc.getText("t").insert(11, ", second burst");
    await eventually(async () => expect((await call(`${path}/json`)).body).toEqual({ t: "first burst, second burst" }));
    const listed = await eventually(async () => {
      const { body } = await call<{ data: Version[] }>(`${path}/versions`);
      expect(body.data.filter((v) => v.kind === "auto")).toHaveLength(2);
      return body.data;
    }, 30_000);

    await suite.server.restart();
    expect((await call<{ data: Version[] }>(`${path}/versions`)).body.data).toEqual(listed);
    expect((await call(`${path}/versions/${named.body.id}/json`)).body).toEqual({ t: "first burst" });

    // The provider reconnected after the restart; from here on it must not reconnect again.
    await eventually(async () => expect(writer.wsconnected && writer.synced).toBe(true), 30_000);
    const socket = writer.ws;
    let statusChanges = 0;
    writer.on("status", () => statusChanges++);
    const restored = await call<{ restoredFrom: string; before: string }>(`${path}/versions/${named.body.id}/restore`, { method: "POST" });
    expect(restored.status).toBe(200);
    expect(restored.body.restoredFrom).toBe(named.body.id);
    await eventually(async () => expect(writer.doc.getText("t").toString()).toBe("first burst"));
    expect((await call(`${path}/json`)).body).toEqual({ t: "first burst" });
    expect(writer.ws).toBe(socket);
    expect(statusChanges).toBe(0);
    // Undo: the before-restore version gives the pre-restore content back, to the live provider too.
    expect((await call(`${path}/versions/${restored.body.before}/restore`, { method: "POST" })).status).toBe(200);
    await eventually(async () => expect(writer.doc.getText("t").toString()).toBe("first burst, second burst"));
    expect((await call(`${path}/json`)).body).toEqual({ t: "first burst, second burst" });
  });
});
