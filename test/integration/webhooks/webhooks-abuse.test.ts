/**
 * Webhooks the way issue 22's attacker used them, through the Worker in workerd with default limits: the
 * delivery log at limit=100 past 100 deliveries, concurrent creates against the endpoint cap, a stale
 * duplicate message through the real Queue, and endpoints pointing inside the network.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { enqueueDeliveries } from "../../../src/webhooks/queue";
import { api, createProject, expectError, expectJson } from "../../helpers/rest";
import { createWebhook, type Delivery, eventually, hookUrl, receiverName, received, waitForRequests } from "../../helpers/webhooks";

type Page = { data: Delivery[]; nextCursor: string | null };
const deliveries = async (secretKey: string, webhookId: string, query = ""): Promise<Page> =>
  expectJson(await api(`/v1/webhooks/${webhookId}/deliveries${query}`, { token: secretKey }), 200);

const testEvent = async (secretKey: string, webhookId: string): Promise<string> =>
  (await expectJson<{ deliveryId: string }>(await api(`/v1/webhooks/${webhookId}/test`, { method: "POST", token: secretKey }), 202)).deliveryId;

describe("the delivery log", () => {
  it("pages at limit=100 past 100 deliveries (one statement, not one bound value per row)", async () => {
    const p = await createProject();
    const hook = await createWebhook(p.secretKey, { url: hookUrl(receiverName("log-100")), events: ["document.created"] });
    const sent: string[] = [];
    for (let i = 0; i < 7; i++) sent.push(...(await Promise.all(Array.from({ length: 20 }, () => testEvent(p.secretKey, hook.id)))));
    expect(sent).toHaveLength(140);
    const first = await deliveries(p.secretKey, hook.id, "?limit=100");
    expect(first.data).toHaveLength(100);
    expect(first.nextCursor).not.toBeNull();
    const second = await deliveries(p.secretKey, hook.id, `?limit=100&cursor=${first.nextCursor}`);
    expect(second.data).toHaveLength(40);
    expect(second.nextCursor).toBeNull();
    const listed = [...first.data, ...second.data];
    expect(new Set(listed.map((d) => d.id))).toEqual(new Set(sent));
    expect(listed.every((d) => d.event === "webhook.test")).toBe(true);
    // Every allowed limit gives the same list.
    for (const limit of [1, 33, 99]) {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Page = await deliveries(p.secretKey, hook.id, `?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
        expect(page.data.length).toBeLessThanOrEqual(limit);
        ids.push(...page.data.map((d) => d.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(ids, `limit=${limit}`).toEqual(listed.map((d) => d.id));
    }
    await expectError(await api(`/v1/webhooks/${hook.id}/deliveries?limit=101`, { token: p.secretKey }), 400, "invalid_request");
  });
});

describe("the endpoint cap under concurrency", () => {
  it("60 concurrent creates leave exactly MAX_WEBHOOKS_PER_PROJECT (20); the rest get 400 and create nothing", async () => {
    const p = await createProject();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => api("/v1/webhooks", { token: p.secretKey, json: { url: `https://example.com/h/${i}`, events: ["document.deleted"] } })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s !== 201)).toEqual(new Array(40).fill(400));
    for (const r of results.filter((res) => res.status === 400)) {
      expect((await r.json()) as unknown).toMatchObject({ error: { code: "invalid_request", message: expect.stringContaining("at most 20") } });
    }
    const { data } = await expectJson<{ data: { id: string }[] }>(await api("/v1/webhooks", { token: p.secretKey }), 200);
    expect(data).toHaveLength(20);
    // The cap counts what exists: one deleted, one more fits, and no more.
    expect((await api(`/v1/webhooks/${data[0]!.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    const again = await Promise.all(
      Array.from({ length: 10 }, () => api("/v1/webhooks", { token: p.secretKey, json: { url: "https://example.com/h", events: ["document.deleted"] } })),
    );
    expect(again.map((r) => r.status).filter((s) => s === 201)).toHaveLength(1);
  });
});

describe("one retry chain per delivery", () => {
  it("a stale duplicate through the real Queue is dropped: one attempt, not two", async () => {
    const p = await createProject();
    const name = receiverName("one-chain");
    const hook = await createWebhook(p.secretKey, { url: hookUrl(name), events: ["document.created"] });
    // A pending delivery with no message yet, as the outbox holds one (what `POST …/test` records, minus its enqueue).
    const eventId = `evt_stale_${name}`;
    const deliveryId = `msg_stale_${name}`;
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare("INSERT INTO webhook_events (id, project_id, type, body, created_at) VALUES (?, ?, 'webhook.test', ?, ?)").bind(
        eventId,
        p.id,
        JSON.stringify({ type: "webhook.test", timestamp: new Date(now).toISOString(), data: { projectId: p.id, webhookId: hook.id } }),
        now,
      ),
      env.DB.prepare(
        "INSERT INTO webhook_deliveries (id, webhook_id, event_id, status, attempts, created_at, started_at, next_attempt_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
      ).bind(deliveryId, hook.id, eventId, now, now, now),
    ]);
    // Three messages for one delivery, all on the real queue, as a backlog makes them: one from before
    // chains (no `c`), then two enqueues (the request's and the relay's), each starting a newer chain.
    await env.WEBHOOK_QUEUE.send({ d: deliveryId });
    await enqueueDeliveries(env, [deliveryId]);
    await enqueueDeliveries(env, [deliveryId]);
    await eventually(async () => expect((await deliveries(p.secretKey, hook.id)).data[0]).toMatchObject({ id: deliveryId, status: "succeeded" }));
    // A later event on the same queue, once it has arrived, the duplicates before it have been consumed.
    const later = await testEvent(p.secretKey, hook.id);
    await eventually(async () => expect((await received(name)).map((r) => r.headers["webhook-id"])).toContain(later));
    const requests = (await received(name)).filter((r) => r.headers["webhook-id"] === deliveryId);
    expect(requests).toHaveLength(1);
    expect((await deliveries(p.secretKey, hook.id)).data.find((d) => d.id === deliveryId)).toMatchObject({ status: "succeeded", attempts: 1 });
  });
});

describe("endpoints inside the network", () => {
  const INTERNAL = [
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://[::1]/",
    "https://0x7f000001/",
    "https://2130706433/",
    "https://0177.0.0.1/",
    "https://127.1/",
    "https://[::ffff:169.254.169.254]/",
    "https://[::ffff:7f00:1]/",
    "https://192.168.0.10/",
    "https://172.16.5.4/",
    "https://100.64.0.1/",
    "https://[fd00::1]/",
    "https://[fe80::1]/",
    "https://localhost/",
    "https://app.localhost/",
    "https://printer.local/",
    "http://127.0.0.1/",
  ];

  it("are refused with 400 on create and on change, outside DEV_MODE, and nothing changes", async () => {
    const p = await createProject();
    for (const url of INTERNAL) {
      const body = await expectError(await api("/v1/webhooks", { token: p.secretKey, json: { url, events: ["document.created"] } }), 400, "invalid_request");
      expect(body.error.details, url).toEqual([expect.objectContaining({ path: ["url"] })]);
    }
    expect(await expectJson(await api("/v1/webhooks", { token: p.secretKey }), 200)).toEqual({ data: [] });
    const hook = await createWebhook(p.secretKey, { url: "https://example.com/ok", events: ["document.deleted"] });
    for (const url of INTERNAL)
      await expectError(await api(`/v1/webhooks/${hook.id}`, { method: "PATCH", token: p.secretKey, json: { url } }), 400, "invalid_request");
    expect(await expectJson(await api(`/v1/webhooks/${hook.id}`, { token: p.secretKey }), 200)).toMatchObject({ url: "https://example.com/ok" });
  });

  it("one stored before the rule is checked again at delivery: not sent, the delivery failed, the endpoint disabled with the reason", async () => {
    const p = await createProject();
    const name = receiverName("stored-internal");
    // As an endpoint created before the rule existed: written straight to D1. Were it sent, the test's
    // outbound service would hand it to the receiver (any host, /hook/… on the receiver's port).
    const hook = await createWebhook(p.secretKey, { url: "https://example.com/placeholder", events: ["document.created"] });
    const internal = hookUrl(name, "169.254.169.254");
    await env.DB.prepare("UPDATE webhooks SET url = ? WHERE id = ?").bind(internal, hook.id).run();
    const deliveryId = await testEvent(p.secretKey, hook.id);
    await eventually(async () => expect((await deliveries(p.secretKey, hook.id)).data[0]).toMatchObject({ id: deliveryId, status: "failed", attempts: 0 }));
    const after = await expectJson(await api(`/v1/webhooks/${hook.id}`, { token: p.secretKey }), 200);
    expect(after).toMatchObject({ enabled: false, disabledReason: expect.stringContaining("169.254.169.254 is a link-local") });
    expect(await received(name)).toEqual([]);
    // Enabled again as it is: 400, it stays disabled. With a public URL it is enabled.
    await expectError(await api(`/v1/webhooks/${hook.id}`, { method: "PATCH", token: p.secretKey, json: { enabled: true } }), 400, "invalid_request");
    expect(await expectJson(await api(`/v1/webhooks/${hook.id}`, { token: p.secretKey }), 200)).toMatchObject({ enabled: false });
    // The same path with a public host delivers: the receiver was reachable all along.
    const control = receiverName("stored-public");
    await env.DB.prepare("UPDATE webhooks SET url = ?, enabled = 1, disabled_reason = NULL WHERE id = ?").bind(hookUrl(control), hook.id).run();
    await testEvent(p.secretKey, hook.id);
    await waitForRequests(control, 1);
  });
});
