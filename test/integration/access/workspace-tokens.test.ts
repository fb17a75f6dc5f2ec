/**
 * Workspace tokens (issue 25): one token for a set of documents (ids and prefixes) of one project, on the
 * sync URL and the client-token REST routes; documents created on first open when the token says so.
 */
import { createExecutionContext, env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { createApp } from "../../../src/app";
import { api, BASE as REST_BASE, createDoc, createProject, expectError, expectJson } from "../../helpers/rest";
import { BASE, providersPerTest, synced } from "../../helpers/sync";

const provider = providersPerTest();
const upgrade = { headers: { Upgrade: "websocket" } };

const workspaceToken = (secretKey: string, body: Record<string, unknown>) => api("/v1/tokens", { token: secretKey, json: body });

async function mint(secretKey: string, docs: { ids?: string[]; prefixes?: string[] }, extra: Record<string, unknown> = {}) {
  return expectJson<{ token: string; expiresAt: string; syncBase: string }>(
    await workspaceToken(secretKey, { userId: "ws-user", access: "write", docs, ...extra }),
    201,
  );
}

describe("workspace tokens", () => {
  it("open every listed id and every id under a prefix, on REST and the sync URL; anything else is 403", async () => {
    const p = await createProject();
    for (const id of ["ws_42.a", "ws_42.b", "solo", "ws_43.c"]) await createDoc(p.secretKey, { id });
    const { token, syncBase } = await mint(p.secretKey, { ids: ["solo"], prefixes: ["ws_42."] });
    expect(syncBase).toMatch(/\/v1\/sync$/);
    for (const id of ["ws_42.a", "ws_42.b", "solo"]) expect((await api(`/v1/docs/${id}/json`, { token })).status, id).toBe(200);
    await expectError(await api("/v1/docs/ws_43.c/json", { token }), 403, "forbidden");
    expect((await SELF.fetch(`${BASE}/v1/sync/ws_43.c?token=${token}`, upgrade)).status).toBe(403);
    // Fifty documents, one token: two of them live on stock providers, and they converge like any others.
    const a = new Y.Doc();
    const b = new Y.Doc();
    const pa = provider("ws_42.a", token, a);
    const pb = provider("ws_42.b", token, b);
    await Promise.all([synced(pa), synced(pb)]);
    a.getText("t").insert(0, "in a");
    b.getText("t").insert(0, "in b");
    for (const [id, text] of [
      ["ws_42.a", "in a"],
      ["ws_42.b", "in b"],
    ]) {
      await expect.poll(async () => (await (await api(`/v1/docs/${id}/json?types=t:text`, { token: p.secretKey })).json()) as unknown).toEqual({ t: text });
    }
  });

  it("read access is read-only everywhere; a token is per project: the same ids in another project are not its documents", async () => {
    const p = await createProject();
    const other = await createProject();
    await createDoc(p.secretKey, { id: "team.x" });
    await createDoc(other.secretKey, { id: "team.y" });
    const { token } = await expectJson<{ token: string }>(await workspaceToken(p.secretKey, { userId: "r", access: "read", docs: { prefixes: ["team."] } }), 201);
    expect((await api("/v1/docs/team.x/json", { token })).status).toBe(200);
    await expectError(
      await api("/v1/docs/team.x/update", { method: "POST", token, body: new Uint8Array([0, 0]), headers: { "content-type": "application/octet-stream" } }),
      403,
      "forbidden",
    );
    // team.y matches the prefix but is another project's: the token's project has no such document.
    await expectError(await api("/v1/docs/team.y/json", { token }), 404, "not_found");
    expect((await SELF.fetch(`${BASE}/v1/sync/team.y?token=${token}`, upgrade)).status).toBe(404);
  });

  it("with create: true, opening a missing document under a prefix creates it; without it, or outside the prefixes, 404 and nothing created", async () => {
    const p = await createProject();
    const creating = (await mint(p.secretKey, { ids: ["listed"], prefixes: ["nb_1."] }, { create: true })).token;
    const plain = (await mint(p.secretKey, { prefixes: ["nb_1."] })).token;
    expect((await SELF.fetch(`${BASE}/v1/sync/nb_1.new?token=${plain}`, upgrade)).status).toBe(404);
    expect((await SELF.fetch(`${BASE}/v1/sync/listed?token=${creating}`, upgrade)).status).toBe(404);
    await expectError(await api("/v1/docs/nb_1.new", { token: p.secretKey }), 404, "not_found");
    const prov = provider("nb_1.new", creating);
    await synced(prov);
    expect(await expectJson(await api("/v1/docs/nb_1.new", { token: p.secretKey }), 200)).toMatchObject({ id: "nb_1.new" });
    const list = await expectJson<{ data: { id: string }[] }>(await api("/v1/docs?prefix=nb_1.", { token: p.secretKey }), 200);
    expect(list.data.map((d) => d.id)).toEqual(["nb_1.new"]);
  });

  it("bad sets are 400 and mint nothing; only a secret key mints", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "d" });
    const bad: Record<string, unknown>[] = [
      { docs: {} },
      { docs: { ids: [] } },
      { docs: { ids: Array.from({ length: 51 }, (_, i) => `d${i}`) } },
      { docs: { prefixes: Array.from({ length: 11 }, (_, i) => `p${i}.`) } },
      { docs: { prefixes: [""] } },
      { docs: { prefixes: ["../x"] } },
      { docs: { ids: ["has space"] } },
      { docs: { ids: Array.from({ length: 50 }, (_, i) => `${"x".repeat(100)}${i}`) } },
      { docs: { ids: ["d"] }, create: true },
      { docs: "everything" },
    ];
    for (const body of bad) await expectError(await workspaceToken(p.secretKey, { userId: "u", access: "write", ...body }), 400, "invalid_request");
    const client = (await mint(p.secretKey, { ids: ["d"] })).token;
    await expectError(await workspaceToken(client, { userId: "u", access: "write", docs: { ids: ["d"] } }), 403, "forbidden");
  });

  it("a stored rule applies to a workspace token's user like to any other", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "w.1" });
    await createDoc(p.secretKey, { id: "w.2" });
    const { token } = await mint(p.secretKey, { prefixes: ["w."] });
    expect((await api("/v1/docs/w.1/access/ws-user", { method: "PUT", token: p.secretKey, json: { access: "none" } })).status).toBe(200);
    await expectError(await api("/v1/docs/w.1/json", { token }), 403, "forbidden");
    expect((await api("/v1/docs/w.2/json", { token })).status).toBe(200);
  });

  it("create on open is bounded: at most MAX_DOCS_CREATED_PER_PREFIX documents under the prefix, concurrent opens included; past it 403, nothing created", async () => {
    const p = await createProject();
    const { token } = await mint(p.secretKey, { prefixes: ["cap."] }, { create: true });
    const small = { ...env, MAX_DOCS_CREATED_PER_PREFIX: "3" } as unknown as typeof env;
    const app = createApp();
    const open = async (id: string) => {
      const res = await app.request(`${REST_BASE}/v1/sync/${id}?token=${token}`, { headers: { Upgrade: "websocket" } }, small, createExecutionContext());
      res.webSocket?.accept();
      res.webSocket?.close(1000);
      return res.status;
    };
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => open(`cap.d${i}`)));
    expect(statuses.filter((s) => s === 101)).toHaveLength(3);
    expect(statuses.filter((s) => s === 403)).toHaveLength(9);
    const list = await expectJson<{ data: { id: string }[] }>(await api("/v1/docs?prefix=cap.", { token: p.secretKey }), 200);
    expect(list.data).toHaveLength(3);
    // An existing document under the prefix still opens.
    expect(await open(list.data[0]!.id)).toBe(101);
  });
});
