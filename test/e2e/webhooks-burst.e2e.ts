/**
 * document.updated coalescing with the production throttle (WEBHOOK_THROTTLE_SECONDS = 30, the default):
 * two stock y-websocket clients edit one document for 90 s; the endpoint gets at most 4 events, and the
 * last one's state vector is the document's. About two minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { startReceiver, type Receiver } from "../webhook-receiver";
import { serverSuite } from "./harness";
import { call, newProject, newWebhook } from "./webhook-helpers";

const BURST_MS = 90_000;
const THROTTLE_MS = 30_000;

const suite = serverSuite();
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const svEntries = (sv: Uint8Array) => [...Y.decodeStateVector(sv).entries()].sort((a, b) => a[0] - b[0]);

describe("document.updated under a 90 s editing burst", () => {
  it("two live clients: at most 4 events, the last carrying the document's state vector", async () => {
    const p = await newProject(suite.server.url, "burst");
    const hook = await newWebhook(suite.server.url, p.secretKey, `${receiver.url}/hook/burst`, ["document.updated"]);
    await call(suite.server.url, "/v1/docs", { token: p.secretKey, json: { id: "burst" } });
    const providers = await Promise.all(
      ["ann", "bob"].map(async (userId) => {
        const { token } = await call<{ token: string }>(suite.server.url, "/v1/docs/burst/tokens", { token: p.secretKey, json: { userId, access: "write" } });
        const provider = new WebsocketProvider(`${suite.server.url.replace(/^http/, "ws")}/v1/sync`, "burst", new Y.Doc(), {
          params: { token },
          WebSocketPolyfill: WebSocket as never,
          disableBc: true,
        });
        await new Promise<void>((r) => (provider.synced ? r() : provider.once("sync", () => r())));
        return provider;
      }),
    );

    const start = Date.now();
    let edits = 0;
    await Promise.all(
      providers.map(async (provider, i) => {
        const text = provider.doc.getText("t");
        while (Date.now() - start < BURST_MS) {
          text.insert(text.length, i === 0 ? "a" : "b");
          edits++;
          await sleep(40);
        }
      }),
    );
    // Both clients have everything, and the server has it durably.
    await sleep(1_000);
    expect(providers[0]!.doc.getText("t").toString()).toBe(providers[1]!.doc.getText("t").toString());
    const res = await fetch(`${suite.server.url}/v1/docs/burst/update`, { headers: { authorization: `Bearer ${p.secretKey}` } });
    const serverDoc = new Y.Doc();
    Y.applyUpdate(serverDoc, new Uint8Array(await res.arrayBuffer()));
    expect(serverDoc.getText("t").length).toBe(edits);
    for (const provider of providers) provider.destroy();

    // Long enough for one more throttle window after the last change: anything still owed has come.
    await sleep(THROTTLE_MS + 5_000);
    const events = receiver.received("burst").map((r) => JSON.parse(r.body) as { type: string; data: { stateVector: string; docId: string } });
    expect(events.every((e) => e.type === "document.updated" && e.data.docId === "burst")).toBe(true);
    console.info(`${edits} edits in ${BURST_MS / 1000} s → ${events.length} document.updated events`);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeLessThanOrEqual(4);
    const last = events[events.length - 1]!;
    expect(svEntries(Buffer.from(last.data.stateVector, "base64url"))).toEqual(svEntries(Y.encodeStateVector(serverDoc)));
    expect(svEntries(Y.encodeStateVector(providers[0]!.doc))).toEqual(svEntries(Y.encodeStateVector(serverDoc)));
    // Every delivery is on record as succeeded.
    const { data } = await call<{ data: { status: string }[] }>(suite.server.url, `/v1/webhooks/${hook.id}/deliveries`, { token: p.secretKey });
    expect(data.map((d) => d.status)).toEqual(events.map(() => "succeeded"));
  }, 200_000);
});
