/**
 * The outbox survives a crash between commit and enqueue: with WEBHOOK_TEST_HOLD_ENQUEUE (a DEV_MODE-only
 * knob) a request commits its event but leaves the enqueue to the relay's alarm; `wrangler dev` is killed
 * with SIGKILL right after the 201, before anything is enqueued. Restarted on the same persist dir (knob
 * off), the event is delivered. Also a REST content write killed at once: its document.updated still comes.
 */
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { startReceiver, type Receiver } from "../webhook-receiver";
import { eventually, serverSuite } from "./harness";
import { call, deliveriesOf, newProject, newWebhook } from "./webhook-helpers";

const suite = serverSuite({ WEBHOOK_TEST_HOLD_ENQUEUE: "true" });
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
});

describe("webhooks across a crash", () => {
  it("SIGKILL right after POST /v1/docs commits and before its event is enqueued: after restart it is delivered", async () => {
    const p = await newProject(suite.server.url, "crash");
    const hook = await newWebhook(suite.server.url, p.secretKey, `${receiver.url}/hook/crash`, ["document.created", "document.updated"]);
    await call(suite.server.url, "/v1/docs", { token: p.secretKey, json: { id: "survivor" } });
    const doc = new Y.Doc();
    doc.getText("t").insert(0, "kept");
    const res = await fetch(`${suite.server.url}/v1/docs/survivor/update`, {
      method: "POST",
      headers: { authorization: `Bearer ${p.secretKey}`, "content-type": "application/octet-stream" },
      body: Y.encodeStateAsUpdate(doc),
    });
    expect(res.status).toBe(200);
    const written = (await res.json()) as { stateVector: string };
    await suite.server.down("SIGKILL");
    // Committed, not enqueued: the delivery is recorded, the receiver has nothing.
    expect(receiver.received("crash")).toEqual([]);

    await suite.server.restart({ WEBHOOK_TEST_HOLD_ENQUEUE: "false" });
    const got = await eventually(async () => {
      const r = receiver.received("crash");
      expect(r.map((x) => (JSON.parse(x.body) as { type: string }).type).sort()).toEqual(["document.created", "document.updated"]);
      return r;
    }, 60_000);
    const wh = new Webhook(hook.secret);
    const bodies = got.map((r) => wh.verify(r.body, r.headers) as { type: string; data: Record<string, unknown> });
    expect(bodies.find((b) => b.type === "document.created")!.data).toEqual({ projectId: p.id, docId: "survivor" });
    expect(bodies.find((b) => b.type === "document.updated")!.data).toMatchObject({ docId: "survivor", stateVector: written.stateVector });
    await eventually(async () => {
      const list = await deliveriesOf(suite.server.url, p.secretKey, hook.id);
      expect(list.map((d) => d.status)).toEqual(["succeeded", "succeeded"]);
    });
  }, 120_000);
});
