/**
 * Webhooks end to end on a real `wrangler dev` (its local queue, consumer and Durable Objects) delivering to
 * a receiver in this Node process: retries with the backoff schedule (scaled down: WEBHOOK_BACKOFF_SCALE,
 * a DEV_MODE-only knob), Standard Webhooks signatures checked with the `standardwebhooks` package, and no
 * secret in the Worker's logs.
 */
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../webhook-receiver";
import { eventually, serverSuite } from "./harness";
import { call, deliveriesOf, newProject, newWebhook } from "./webhook-helpers";

const SCALE = 0.2; // 5 s → 1 s, 30 s → 6 s

const suite = serverSuite({ WEBHOOK_BACKOFF_SCALE: String(SCALE) });
let receiver: Receiver;
const secrets: string[] = [];

beforeAll(async () => {
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
});

describe("webhook delivery on wrangler dev", () => {
  it("500, 500, 200: the same webhook-id three times, on the backoff schedule, each signature verifying; a tampered body does not", async () => {
    const p = await newProject(suite.server.url, "webhooks-e2e");
    secrets.push(p.secretKey);
    receiver.answer("retry", [500, 500]);
    const hook = await newWebhook(suite.server.url, p.secretKey, `${receiver.url}/hook/retry`, ["document.created"]);
    secrets.push(hook.secret);
    await call(suite.server.url, "/v1/docs", { token: p.secretKey, json: { id: "retried" } });

    const got = await eventually(async () => {
      const r = receiver.received("retry");
      expect(r.length).toBeGreaterThanOrEqual(3);
      return r;
    }, 40_000);
    expect(got.map((r) => r.status)).toEqual([500, 500, 200]);
    const ids = new Set(got.map((r) => r.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    // The schedule's first two steps, scaled: 5 s and 30 s × 0.2.
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(5 * SCALE * 1000 - 50);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(30 * SCALE * 1000 - 50);
    const wh = new Webhook(hook.secret);
    for (const r of got) expect(wh.verify(r.body, r.headers)).toMatchObject({ type: "document.created", data: { projectId: p.id, docId: "retried" } });
    // Each attempt is signed afresh (its own timestamp), the id stays.
    expect(new Set(got.map((r) => r.headers["webhook-signature"])).size).toBeGreaterThan(1);
    const last = got[2]!;
    expect(() => wh.verify(last.body.replace("retried", "retriee"), last.headers)).toThrow();
    expect(() => wh.verify(last.body, { ...last.headers, "webhook-id": "msg_other" })).toThrow();

    await eventually(async () => {
      const [d] = await deliveriesOf(suite.server.url, p.secretKey, hook.id);
      expect(d).toMatchObject({ id: [...ids][0], event: "document.created", status: "succeeded", attempts: 3, lastResponseStatus: 200 });
    });
  }, 60_000);

  it("a redirect is not followed: it counts as a failed attempt", async () => {
    const p = await newProject(suite.server.url, "webhooks-redirect");
    secrets.push(p.secretKey);
    receiver.answer("redirect", [307]);
    const hook = await newWebhook(suite.server.url, p.secretKey, `${receiver.url}/hook/redirect`, ["document.deleted"]);
    secrets.push(hook.secret);
    await call(suite.server.url, "/v1/docs", { token: p.secretKey, json: { id: "r" } });
    await call(suite.server.url, "/v1/docs/r", { method: "DELETE", token: p.secretKey, status: 204 });
    const got = await eventually(async () => {
      const r = receiver.received("redirect");
      expect(r.length).toBeGreaterThanOrEqual(2);
      return r;
    }, 20_000);
    expect(got.map((r) => r.status)).toEqual([307, 200]);
    expect(JSON.parse(got[1]!.body)).toMatchObject({ type: "document.deleted", data: { docId: "r" } });
  }, 30_000);

  it("no secret (key or signing secret, rotated ones included) appears in the Worker's output", async () => {
    const p = await newProject(suite.server.url, "webhooks-logs");
    secrets.push(p.secretKey);
    const hook = await newWebhook(suite.server.url, p.secretKey, `${receiver.url}/hook/logs`, ["document.created"]);
    const rotated = await call<{ secret: string }>(suite.server.url, `/v1/webhooks/${hook.id}/rotate-secret`, { method: "POST", token: p.secretKey, status: 200 });
    secrets.push(hook.secret, rotated.secret);
    await call(suite.server.url, `/v1/webhooks/${hook.id}/test`, { method: "POST", token: p.secretKey, status: 202 });
    await eventually(async () => expect(receiver.received("logs")).toHaveLength(1));
    const out = suite.server.output();
    expect(out.length).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(out).not.toContain(s);
      expect(out).not.toContain(s.replace(/^whsec_/, ""));
    }
  });
});
