/**
 * Webhooks through the Worker in workerd: the REST surface, the events recorded with the catalog change,
 * and real deliveries through the Queue binding and its consumer to a receiver on the host.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import worker from "../../../src/index";
import { EVENT_TYPES } from "../../../src/webhooks/events";
import { api, b64url, createDoc, createProject, expectError, expectJson, mintToken, postUpdate, ADMIN_TOKEN } from "../../helpers/rest";
import { createWebhook, type Delivery, eventually, hookUrl, planAnswers, receiverName, waitForRequests } from "../../helpers/webhooks";

const ALL = ["document.created", "document.deleted", "document.updated"];

async function deliveries(secretKey: string, webhookId: string, query = ""): Promise<{ data: Delivery[]; nextCursor: string | null }> {
  return expectJson(await api(`/v1/webhooks/${webhookId}/deliveries${query}`, { token: secretKey }), 200);
}

describe("webhook endpoints: REST", () => {
  it("create shows the whsec_ secret once; list and get never show it", async () => {
    const p = await createProject();
    const created = await expectJson(
      await api("/v1/webhooks", { token: p.secretKey, json: { url: "https://example.com/hook", events: ["document.created"], description: "index" } }),
      201,
    );
    expect(created).toEqual({
      id: expect.stringMatching(/^wh_/),
      url: "https://example.com/hook",
      events: ["document.created"],
      description: "index",
      enabled: true,
      disabledReason: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const list = await api("/v1/webhooks", { token: p.secretKey });
    const listText = await list.text();
    expect(list.status).toBe(200);
    expect(JSON.parse(listText).data).toHaveLength(1);
    const one = await api(`/v1/webhooks/${created.id}`, { token: p.secretKey });
    const oneText = await one.text();
    expect(JSON.parse(oneText)).toMatchObject({ id: created.id, url: "https://example.com/hook" });
    for (const text of [listText, oneText]) {
      expect(text).not.toContain(created.secret);
      expect(text).not.toContain(created.secret.slice(6, 20));
      expect(text).not.toMatch(/secret/i);
    }
  });

  it("patch changes url, events, description and enabled; delete removes it", async () => {
    const p = await createProject();
    const { id } = await expectJson(await api("/v1/webhooks", { token: p.secretKey, json: { url: "https://a.example.com/x", events: ["document.created"] } }), 201);
    const patched = await expectJson(
      await api(`/v1/webhooks/${id}`, {
        method: "PATCH",
        token: p.secretKey,
        json: { url: "https://b.example.com/y", events: ["document.updated", "document.deleted"], description: "d", enabled: false },
      }),
      200,
    );
    expect(patched).toMatchObject({ url: "https://b.example.com/y", events: ["document.updated", "document.deleted"], description: "d", enabled: false });
    expect(patched).not.toHaveProperty("secret");
    expect((await api(`/v1/webhooks/${id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    await expectError(await api(`/v1/webhooks/${id}`, { token: p.secretKey }), 404, "not_found");
    await expectError(await api(`/v1/webhooks/${id}`, { method: "DELETE", token: p.secretKey }), 404, "not_found");
  });

  it("400 with the error envelope for unknown events and bad urls", async () => {
    const p = await createProject();
    const bad: unknown[] = [
      { url: "https://example.com/h", events: ["document.exploded"] },
      { url: "https://example.com/h", events: [] },
      { url: "https://example.com/h", events: ["webhook.test"] },
      { url: "https://example.com/h", events: ["document.created", "document.created"] },
      { url: "https://example.com/h" },
      { url: "http://example.com/h", events: ["document.created"] },
      { url: "http://localhost:8080/h", events: ["document.created"] }, // only with DEV_MODE
      { url: "http://127.0.0.1/h", events: ["document.created"] },
      { url: "ftp://example.com/h", events: ["document.created"] },
      { url: "not a url", events: ["document.created"] },
      { url: "https://user:pw@example.com/h", events: ["document.created"] },
      { url: `https://example.com/${"a".repeat(2100)}`, events: ["document.created"] },
      { url: 42, events: ["document.created"] },
    ];
    for (const json of bad) {
      const body = await expectError(await api("/v1/webhooks", { token: p.secretKey, json }), 400, "invalid_request");
      expect(body.error.details, JSON.stringify(json).slice(0, 80)).toBeDefined();
    }
    const { id } = await expectJson(await api("/v1/webhooks", { token: p.secretKey, json: { url: "https://example.com/h", events: ["document.created"] } }), 201);
    await expectError(await api(`/v1/webhooks/${id}`, { method: "PATCH", token: p.secretKey, json: { url: "http://example.com" } }), 400, "invalid_request");
    await expectError(await api(`/v1/webhooks/${id}`, { method: "PATCH", token: p.secretKey, json: { events: ["nope"] } }), 400, "invalid_request");
    await expectError(await api(`/v1/webhooks/${id}/deliveries?cursor=bad!`, { token: p.secretKey }), 400, "invalid_request");
    await expectError(await api(`/v1/webhooks/${id}/deliveries?limit=0`, { token: p.secretKey }), 400, "invalid_request");
  });

  it("another project's webhook is 404 on every route; client and admin tokens are 403; no credential 401", async () => {
    const p = await createProject();
    const q = await createProject();
    // Subscribed to nothing this test causes: example.com is not reachable from the tests.
    const { id } = await expectJson(await api("/v1/webhooks", { token: p.secretKey, json: { url: "https://example.com/h", events: ["document.deleted"] } }), 201);
    const routes: [string, string, unknown?][] = [
      ["GET", `/v1/webhooks/${id}`],
      ["PATCH", `/v1/webhooks/${id}`, { enabled: false }],
      ["DELETE", `/v1/webhooks/${id}`],
      ["POST", `/v1/webhooks/${id}/rotate-secret`],
      ["POST", `/v1/webhooks/${id}/test`],
      ["GET", `/v1/webhooks/${id}/deliveries`],
      ["POST", `/v1/webhooks/${id}/deliveries/msg_x/retry`],
    ];
    for (const [method, path, json] of routes) await expectError(await api(path, { method, token: q.secretKey, json }), 404, "not_found");
    expect(await expectJson(await api("/v1/webhooks", { token: q.secretKey }), 200)).toEqual({ data: [] });

    await createDoc(p.secretKey, { id: "d" });
    const { token } = await mintToken(p.secretKey, "d");
    const all: [string, string, unknown?][] = [
      ["GET", "/v1/webhooks"],
      ["POST", "/v1/webhooks", { url: "https://example.com/h", events: ["document.created"] }],
      ...routes,
    ];
    for (const [method, path, json] of all) {
      await expectError(await api(path, { method, token, json }), 403, "forbidden");
      await expectError(await api(path, { method, token: ADMIN_TOKEN, json }), 403, "forbidden");
      await expectError(await api(path, { method, json }), 401, "unauthorized");
      await expectError(await api(path, { method, token: "sk_not_a_real_key", json }), 401, "unauthorized");
    }
    // Untouched by all of that.
    expect(await expectJson(await api(`/v1/webhooks/${id}`, { token: p.secretKey }), 200)).toMatchObject({ enabled: true });
  });

  it("the OpenAPI document lists the routes and every event in its webhooks section", async () => {
    const doc = await expectJson(await api("/openapi.json"), 200);
    expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_TYPES].sort());
    expect(EVENT_TYPES).toEqual(expect.arrayContaining(["document.created", "document.deleted", "document.updated", "webhook.test"]));
    expect(doc.webhooks["document.updated"].post.requestBody.content["application/json"].schema).toBeDefined();
    for (const path of [
      "/v1/webhooks",
      "/v1/webhooks/{id}",
      "/v1/webhooks/{id}/rotate-secret",
      "/v1/webhooks/{id}/test",
      "/v1/webhooks/{id}/deliveries",
      "/v1/webhooks/{id}/deliveries/{deliveryId}/retry",
    ]) {
      expect(doc.paths, path).toHaveProperty([path]);
    }
  });
});

describe("webhook events and deliveries (the real queue)", () => {
  it("document.created is recorded with the document (visible at once), delivered signed; a tampered body fails verification", async () => {
    const p = await createProject();
    const name = receiverName("created");
    const hook = await createWebhook(p.secretKey, { url: hookUrl(name), events: ALL });
    await createDoc(p.secretKey, { id: "doc-a" });
    // Written in the document's own batch: the delivery exists by the time the 201 is out.
    const first = await deliveries(p.secretKey, hook.id);
    expect(first.data.map((d) => d.event)).toEqual(["document.created"]);
    // A conflict records nothing.
    await expectError(await api("/v1/docs", { token: p.secretKey, json: { id: "doc-a" } }), 409, "conflict");
    expect((await deliveries(p.secretKey, hook.id)).data).toHaveLength(1);

    const [req] = await waitForRequests(name, 1);
    const body = JSON.parse(req!.body);
    expect(body).toEqual({ type: "document.created", timestamp: expect.any(String), data: { projectId: p.id, docId: "doc-a" } });
    expect(req!.headers["webhook-id"]).toBe(first.data[0]!.id);
    expect(req!.headers["user-agent"]).toMatch(/Lattice/);
    expect(req!.headers["content-type"]).toBe("application/json");
    const wh = new Webhook(hook.secret);
    expect(wh.verify(req!.body, req!.headers)).toEqual(body);
    expect(() => wh.verify(req!.body.replace("doc-a", "doc-b"), req!.headers)).toThrow();
    expect(() => new Webhook(`whsec_${btoa("another secret of 32 bytes......")}`).verify(req!.body, req!.headers)).toThrow();
    await eventually(async () =>
      expect((await deliveries(p.secretKey, hook.id)).data[0]).toMatchObject({ status: "succeeded", attempts: 1, lastResponseStatus: 200 }),
    );
  });

  it("document.deleted after DELETE; only subscribed event types are sent", async () => {
    const p = await createProject();
    const name = receiverName("deleted");
    const hook = await createWebhook(p.secretKey, { url: hookUrl(name), events: ["document.deleted"] });
    await createDoc(p.secretKey, { id: "gone" });
    expect((await api("/v1/docs/gone", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    const list = await deliveries(p.secretKey, hook.id);
    expect(list.data.map((d) => d.event)).toEqual(["document.deleted"]);
    const [req] = await waitForRequests(name, 1);
    expect(JSON.parse(req!.body)).toMatchObject({ type: "document.deleted", data: { projectId: p.id, docId: "gone" } });
  });

  it("500 then 200: the same webhook-id comes again after the first backoff step (5 s), then the delivery succeeded", async () => {
    const p = await createProject();
    const name = receiverName("retry");
    await planAnswers(name, [500]);
    const hook = await createWebhook(p.secretKey, { url: hookUrl(name), events: ["document.created"] });
    await createDoc(p.secretKey, { id: "r" });
    await eventually(async () => {
      const [d] = (await deliveries(p.secretKey, hook.id)).data;
      expect(d).toMatchObject({ status: "pending", attempts: 1, lastResponseStatus: 500, nextAttemptAt: expect.any(String) });
    });
    const reqs = await waitForRequests(name, 2, 25_000);
    expect(reqs.map((r) => r.status)).toEqual([500, 200]);
    expect(reqs[1]!.headers["webhook-id"]).toBe(reqs[0]!.headers["webhook-id"]);
    // The production schedule's first step: at least 5 s between the attempts.
    expect(reqs[1]!.at - reqs[0]!.at).toBeGreaterThanOrEqual(4_900);
    new Webhook(hook.secret).verify(reqs[1]!.body, reqs[1]!.headers);
    await eventually(async () => expect((await deliveries(p.secretKey, hook.id)).data[0]).toMatchObject({ status: "succeeded", attempts: 2, nextAttemptAt: null }));
  }, 40_000);

  it("document.updated after a REST write carries the document's state vector, size and time", async () => {
    const p = await createProject();
    const name = receiverName("updated");
    const hook = await createWebhook(p.secretKey, { url: hookUrl(name), events: ["document.updated"] });
    await createDoc(p.secretKey, { id: "u" });
    const doc = new Y.Doc();
    doc.getText("t").insert(0, "hello");
    const { stateVector } = await expectJson(await postUpdate("u", p.secretKey, Y.encodeStateAsUpdate(doc)), 200);
    expect(stateVector).toBe(b64url(Y.encodeStateVector(doc)));
    const [req] = await waitForRequests(name, 1);
    const body = new Webhook(hook.secret).verify(req!.body, req!.headers) as any;
    expect(body).toMatchObject({ type: "document.updated", data: { projectId: p.id, docId: "u", stateVector, sizeBytes: expect.any(Number) } });
    expect(body.data.sizeBytes).toBeGreaterThan(0);
    expect(new Date(body.data.updatedAt).toISOString()).toBe(body.data.updatedAt);
    // The receiver's next step: what changed since a state vector.
    const since = await api(`/v1/docs/u/update?stateVector=${b64url(Y.encodeStateVector(new Y.Doc()))}`, { token: p.secretKey });
    const replica = new Y.Doc();
    Y.applyUpdate(replica, new Uint8Array(await since.arrayBuffer()));
    expect(replica.getText("t").toString()).toBe("hello");
    expect((await deliveries(p.secretKey, hook.id)).data.map((d) => d.event)).toEqual(["document.updated"]);
  });

  it("webhook.test goes through the same path; after rotate-secret both secrets verify (two signatures)", async () => {
    const p = await createProject();
    const name = receiverName("rotate");
    const hook = await createWebhook(p.secretKey, { url: hookUrl(name), events: ["document.created"] });
    const rotated = await expectJson(await api(`/v1/webhooks/${hook.id}/rotate-secret`, { method: "POST", token: p.secretKey }), 200);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23.9 * 3600 * 1000);
    const sent = await expectJson(await api(`/v1/webhooks/${hook.id}/test`, { method: "POST", token: p.secretKey }), 202);
    const [req] = await waitForRequests(name, 1);
    expect(req!.headers["webhook-id"]).toBe(sent.deliveryId);
    expect(req!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(new Webhook(rotated.secret).verify(req!.body, req!.headers)).toMatchObject({ type: "webhook.test", data: { webhookId: hook.id } });
    expect(new Webhook(hook.secret).verify(req!.body, req!.headers)).toMatchObject({ type: "webhook.test" });
    // Neither secret shows again.
    const text = await (await api(`/v1/webhooks/${hook.id}`, { token: p.secretKey })).text();
    expect(text).not.toContain(rotated.secret);
    expect(text).not.toContain(hook.secret);
  });

  it("a disabled endpoint gets no events and no test; enabled again, it does", async () => {
    const p = await createProject();
    const name = receiverName("disabled");
    const hook = await createWebhook(p.secretKey, { url: hookUrl(name), events: ["document.created"] });
    await expectJson(await api(`/v1/webhooks/${hook.id}`, { method: "PATCH", token: p.secretKey, json: { enabled: false } }), 200);
    await createDoc(p.secretKey, { id: "while-off" });
    await expectError(await api(`/v1/webhooks/${hook.id}/test`, { method: "POST", token: p.secretKey }), 409, "conflict");
    expect((await deliveries(p.secretKey, hook.id)).data).toEqual([]);
    await expectJson(await api(`/v1/webhooks/${hook.id}`, { method: "PATCH", token: p.secretKey, json: { enabled: true } }), 200);
    await createDoc(p.secretKey, { id: "while-on" });
    const [req] = await waitForRequests(name, 1);
    expect(JSON.parse(req!.body).data.docId).toBe("while-on");
  });

  it("the consumer retries after the schedule's delay for attempt n (production scale); the dead-letter queue fails the delivery", async () => {
    const p = await createProject();
    const name = receiverName("consumer");
    await planAnswers(name, [500, 500, 500, 500]);
    const hook = await createWebhook(p.secretKey, { url: hookUrl(name), events: ["document.created"] });
    await createDoc(p.secretKey, { id: "c" });
    const [d] = (await deliveries(p.secretKey, hook.id)).data;
    // The delivery's current chain: a message of another one is dropped (tested below).
    const { chain: c } = (await env.DB.prepare("SELECT chain FROM webhook_deliveries WHERE id = ?").bind(d!.id).first<{ chain: number }>())!;
    for (const [attempts, delay] of [
      [3, 120],
      [6, 3600],
      [9, 6 * 3600],
    ] as const) {
      const batch = createMessageBatch("lattice-webhooks", [{ id: `m${attempts}`, timestamp: new Date(), attempts, body: { d: d!.id, c } }]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env);
      const result = await getQueueResult(batch, ctx);
      // Retried (the plugin's getQueueResult does not report the delay: the delivery's next attempt does).
      expect(result.retryMessages, `after attempt ${attempts}`).toEqual([{ msgId: `m${attempts}` }]);
      const row = await env.DB.prepare("SELECT last_attempt_at AS last, next_attempt_at AS next, status FROM webhook_deliveries WHERE id = ?")
        .bind(d!.id)
        .first<{ last: number; next: number; status: string }>();
      expect({ status: row!.status, delay: (row!.next - row!.last) / 1000 }, `after attempt ${attempts}`).toEqual({ status: "pending", delay });
    }
    const dead = createMessageBatch("lattice-webhooks-dlq", [{ id: "dl", timestamp: new Date(), attempts: 1, body: { d: d!.id, c } }]);
    const ctx = createExecutionContext();
    await worker.queue(dead, env);
    expect((await getQueueResult(dead, ctx)).explicitAcks).toEqual(["dl"]);
    expect((await deliveries(p.secretKey, hook.id)).data[0]).toMatchObject({ id: d!.id, status: "failed", nextAttemptAt: null });
  });

  it("deliveries page newest first with a cursor", async () => {
    const p = await createProject();
    const hook = await createWebhook(p.secretKey, { url: hookUrl(receiverName("page")), events: ["document.created"] });
    for (const id of ["p1", "p2", "p3"]) await createDoc(p.secretKey, { id });
    const one = await deliveries(p.secretKey, hook.id, "?limit=2");
    expect(one.data).toHaveLength(2);
    expect(one.nextCursor).not.toBeNull();
    const two = await deliveries(p.secretKey, hook.id, `?limit=2&cursor=${one.nextCursor}`);
    expect(two.data).toHaveLength(1);
    expect(two.nextCursor).toBeNull();
    const all = [...one.data, ...two.data];
    expect(new Set(all.map((d) => d.id)).size).toBe(3);
    const times = all.map((d) => Date.parse(d.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("after 3 days of failures the delivery is failed and the endpoint disabled with its reason; retry redelivers a failed one", async () => {
    const p = await createProject();
    const name = receiverName("give-up");
    await planAnswers(name, [503, 503]);
    const hook = await createWebhook(p.secretKey, { url: hookUrl(name), events: ["document.created"] });
    await createDoc(p.secretKey, { id: "f" });
    const [first] = await eventually(async () => {
      const { data } = await deliveries(p.secretKey, hook.id);
      expect(data[0]).toMatchObject({ attempts: 1, status: "pending" });
      return data;
    });
    // As if this had been failing for three days: the run began then, and so did the endpoint's failures.
    const threeDaysAgo = Date.now() - 3 * 24 * 3600 * 1000 - 60_000;
    await env.DB.batch([
      env.DB.prepare("UPDATE webhook_deliveries SET started_at = ? WHERE id = ?").bind(threeDaysAgo, first!.id),
      env.DB.prepare("UPDATE webhooks SET failing_since = ? WHERE id = ?").bind(threeDaysAgo, hook.id),
    ]);
    await eventually(async () => {
      const [d] = (await deliveries(p.secretKey, hook.id)).data;
      expect(d).toMatchObject({ status: "failed", attempts: 2, lastResponseStatus: 503, nextAttemptAt: null });
    }, 25_000);
    const disabled = await expectJson(await api(`/v1/webhooks/${hook.id}`, { token: p.secretKey }), 200);
    expect(disabled.enabled).toBe(false);
    expect(disabled.disabledReason).toMatch(/3 days/);

    await expectError(await api(`/v1/webhooks/${hook.id}/deliveries/${first!.id}/retry`, { method: "POST", token: p.secretKey }), 409, "conflict");
    expect(await expectJson(await api(`/v1/webhooks/${hook.id}`, { method: "PATCH", token: p.secretKey, json: { enabled: true } }), 200)).toMatchObject({
      enabled: true,
      disabledReason: null,
    });
    await expectError(await api(`/v1/webhooks/${hook.id}/deliveries/msg_nope/retry`, { method: "POST", token: p.secretKey }), 404, "not_found");
    expect(await expectJson(await api(`/v1/webhooks/${hook.id}/deliveries/${first!.id}/retry`, { method: "POST", token: p.secretKey }), 202)).toEqual({
      deliveryId: first!.id,
    });
    const reqs = await waitForRequests(name, 3);
    expect(reqs.map((r) => r.headers["webhook-id"])).toEqual([first!.id, first!.id, first!.id]);
    await eventually(async () => expect((await deliveries(p.secretKey, hook.id)).data[0]).toMatchObject({ status: "succeeded", attempts: 3 }));
    // Only a failed one can be retried.
    await expectError(await api(`/v1/webhooks/${hook.id}/deliveries/${first!.id}/retry`, { method: "POST", token: p.secretKey }), 409, "conflict");
  }, 40_000);
});
