/**
 * Access that changes live (issue 25): a stored rule per user and document, applied to open stock
 * providers at once, to REST and to new upgrades; listed, bounded, removable; announced as access.changed.
 */
import { createExecutionContext, env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { createApp } from "../../../src/app";
import { eventually } from "../../helpers/eventually";
import { api, BASE as REST_BASE, createDoc, createProject, expectError, expectJson, mintToken } from "../../helpers/rest";
import { BASE, providersPerTest, synced, waitFor } from "../../helpers/sync";

const provider = providersPerTest();
const upgrade = { headers: { Upgrade: "websocket" } };
const app = createApp();

function watch(p: WebsocketProvider) {
  const closed: { code: number; reason: string }[] = [];
  p.on("closed", (e) => closed.push(e));
  return closed;
}

async function text(secretKey: string, docId: string): Promise<string> {
  return (await expectJson<{ t?: string }>(await api(`/v1/docs/${docId}/json?types=t:text`, { token: secretKey }), 200)).t ?? "";
}

const put = (secretKey: string, docId: string, userId: string, access: string) =>
  api(`/v1/docs/${docId}/access/${encodeURIComponent(userId)}`, { method: "PUT", token: secretKey, json: { access } });

async function open(secretKey: string, docId: string, userId: string, access: "read" | "write" = "write") {
  const doc = new Y.Doc();
  const token = (await mintToken(secretKey, docId, access, userId)).token;
  const prov = provider(docId, token, doc);
  await synced(prov);
  return { doc, prov, token, closed: watch(prov) };
}

describe("access rules", () => {
  it("none: the user's open sockets close with 4403 (not retried), their tokens answer 403 on REST and upgrades; others go on; DELETE gives the tokens back", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "kick" });
    const a = await open(p.secretKey, "kick", "alice");
    const b = await open(p.secretKey, "kick", "bob");
    a.doc.getText("t").insert(0, "a");
    await waitFor(() => b.doc.getText("t").toString() === "a", "bob sees alice");

    const res = await put(p.secretKey, "kick", "alice", "none");
    expect(await expectJson(res, 200)).toMatchObject({ userId: "alice", access: "none", updatedAt: expect.any(String) });
    await eventually(async () => expect(a.closed).toEqual([{ code: 4403, reason: "access removed" }]), 2_000);
    expect(a.prov.shouldConnect).toBe(false);
    // REST with alice's token (minted before the change) and a fresh one: 403; a new upgrade: 403.
    await expectError(await api("/v1/docs/kick/json", { token: a.token }), 403, "forbidden");
    const fresh = (await mintToken(p.secretKey, "kick", "write", "alice")).token;
    await expectError(await api("/v1/docs/kick/json", { token: fresh }), 403, "forbidden");
    expect((await SELF.fetch(`${BASE}/v1/sync/kick?token=${fresh}`, upgrade)).status).toBe(403);
    // Bob is untouched.
    b.doc.getText("t").insert(1, "b");
    await eventually(async () => expect(await text(p.secretKey, "kick")).toBe("ab"));
    expect(b.closed).toEqual([]);

    expect((await api("/v1/docs/kick/access/alice", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    expect((await api("/v1/docs/kick/json", { token: fresh })).status).toBe(200);
    const again = await open(p.secretKey, "kick", "alice");
    expect(again.doc.getText("t").toString()).toBe("ab");
  });

  it("read: the socket stays open and its edits are ignored; write again: the edits made meanwhile land, without reconnecting", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "down" });
    const a = await open(p.secretKey, "down", "alice");
    a.doc.getText("t").insert(0, "1");
    await eventually(async () => expect(await text(p.secretKey, "down")).toBe("1"));

    expect((await put(p.secretKey, "down", "alice", "read")).status).toBe(200);
    a.doc.getText("t").insert(1, "2");
    await new Promise((r) => setTimeout(r, 500));
    expect(await text(p.secretKey, "down")).toBe("1");
    await expectError(
      await api("/v1/docs/down/update", { method: "POST", token: a.token, body: new Uint8Array([0, 0]), headers: { "content-type": "application/octet-stream" } }),
      403,
      "forbidden",
    );
    expect(a.closed).toEqual([]);

    expect((await put(p.secretKey, "down", "alice", "write")).status).toBe(200);
    a.doc.getText("t").insert(2, "3");
    await eventually(async () => expect(await text(p.secretKey, "down")).toBe("123"));
    expect(a.closed).toEqual([]);
  });

  it("write widens a read token, on its open socket too", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "up" });
    const r = await open(p.secretKey, "up", "reader", "read");
    r.doc.getText("t").insert(0, "x");
    await new Promise((res) => setTimeout(res, 300));
    expect(await text(p.secretKey, "up")).toBe("");
    expect((await put(p.secretKey, "up", "reader", "write")).status).toBe(200);
    await eventually(async () => expect(await text(p.secretKey, "up")).toBe("x"));
  });

  it("lists the rules a page at a time; bad input changes nothing", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "list" });
    for (const u of ["u3", "u1", "u2"]) expect((await put(p.secretKey, "list", u, "read")).status).toBe(200);
    const first = await expectJson<{ data: { userId: string }[]; nextCursor: string }>(await api("/v1/docs/list/access?limit=2", { token: p.secretKey }), 200);
    expect(first.data.map((r) => r.userId)).toEqual(["u1", "u2"]);
    const second = await expectJson<{ data: { userId: string }[]; nextCursor: null }>(
      await api(`/v1/docs/list/access?limit=2&cursor=${first.nextCursor}`, { token: p.secretKey }),
      200,
    );
    expect(second).toEqual({ data: [expect.objectContaining({ userId: "u3", access: "read" })], nextCursor: null });
    await expectError(await put(p.secretKey, "list", "u1", "admin"), 400, "invalid_request");
    await expectError(await api("/v1/docs/list/access?cursor=%%%", { token: p.secretKey }), 400, "invalid_request");
    await expectError(await put(p.secretKey, "missing", "u1", "read"), 404, "not_found");
    // A client token cannot change access, even its own.
    const token = (await mintToken(p.secretKey, "list", "write", "u1")).token;
    await expectError(await put(token, "list", "u1", "write"), 403, "forbidden");
    // Another project's secret key sees no such document.
    const other = await createProject();
    await expectError(await put(other.secretKey, "list", "u1", "write"), 404, "not_found");
    const after = await expectJson<{ data: { userId: string; access: string }[] }>(await api("/v1/docs/list/access", { token: p.secretKey }), 200);
    expect(after.data.map((r) => `${r.userId}:${r.access}`)).toEqual(["u1:read", "u2:read", "u3:read"]);
  });

  it("at most MAX_ACCESS_RULES_PER_DOC users have a rule; changing an existing one always works; concurrent PUTs keep the cap", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "cap" });
    const small = { ...env, MAX_ACCESS_RULES_PER_DOC: "3" } as unknown as typeof env;
    const call = (userId: string, access: string): Promise<Response> =>
      Promise.resolve(
        app.request(
          `${REST_BASE}/v1/docs/cap/access/${userId}`,
          { method: "PUT", headers: { authorization: `Bearer ${p.secretKey}`, "content-type": "application/json" }, body: JSON.stringify({ access }) },
          small,
          createExecutionContext(),
        ),
      );
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => call(`u${i}`, "read")));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    for (const r of results.filter((r) => r.status !== 200)) await expectError(r, 400, "invalid_request");
    const kept = (await expectJson<{ data: { userId: string }[] }>(await api("/v1/docs/cap/access", { token: p.secretKey }), 200)).data.map((r) => r.userId);
    expect(kept).toHaveLength(3);
    expect((await call(kept[0]!, "write")).status).toBe(200);
  });

  it("a rule belongs to one creation of the document: deleted and created again, the id starts with no rules", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "again" });
    expect((await put(p.secretKey, "again", "alice", "none")).status).toBe(200);
    expect((await api("/v1/docs/again", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    await createDoc(p.secretKey, { id: "again" });
    expect((await expectJson<{ data: unknown[] }>(await api("/v1/docs/again/access", { token: p.secretKey }), 200)).data).toEqual([]);
    const token = (await mintToken(p.secretKey, "again", "write", "alice")).token;
    expect((await api("/v1/docs/again/json", { token })).status).toBe(200);
  });

  it("records access.changed with who and what, for a subscribed endpoint", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "evt" });
    await expectJson(await api("/v1/webhooks", { token: p.secretKey, json: { url: "https://hooks.example.com/x", events: ["access.changed"] } }), 201);
    expect((await put(p.secretKey, "evt", "alice", "read")).status).toBe(200);
    expect((await api("/v1/docs/evt/access/alice", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    const rows = await env.DB.prepare("SELECT body FROM webhook_events WHERE project_id = ? AND type = 'access.changed' ORDER BY created_at")
      .bind(p.id)
      .all<{ body: string }>();
    expect(rows.results.map((r) => JSON.parse(r.body).data)).toEqual([
      { projectId: p.id, docId: "evt", userId: "alice", access: "read" },
      { projectId: p.id, docId: "evt", userId: "alice", access: null },
    ]);
  });
});
