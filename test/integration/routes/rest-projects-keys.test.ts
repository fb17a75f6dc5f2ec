import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, api, createDoc, createProject, expectError, expectJson, mintToken } from "../../helpers/rest";

describe("POST /v1/projects", () => {
  it("creates a project with a secret key shown once", async () => {
    const res = await api("/v1/projects", { token: ADMIN_TOKEN, json: { name: "Acme" } });
    const body = await expectJson(res, 201);
    expect(body).toMatchObject({ name: "Acme" });
    expect(body.id).toMatch(/^prj_/);
    expect(body.secretKey).toMatch(/^sk_[A-Za-z0-9_-]{43,}$/);
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
  });

  it("refuses no credential, garbage, a secret key and a client token", async () => {
    await expectError(await api("/v1/projects", { json: { name: "x" } }), 401, "unauthorized");
    await expectError(await api("/v1/projects", { token: "garbage", json: { name: "x" } }), 401, "unauthorized");
    await expectError(await api("/v1/projects", { token: "sk_not-a-real-key", json: { name: "x" } }), 401, "unauthorized");
    const p = await createProject();
    await expectError(await api("/v1/projects", { token: p.secretKey, json: { name: "x" } }), 403, "forbidden");
    const doc = await createDoc(p.secretKey);
    const { token } = await mintToken(p.secretKey, doc.id);
    await expectError(await api("/v1/projects", { token, json: { name: "x" } }), 403, "forbidden");
  });

  it("validates the body: 400 with zod issues, malformed JSON 400, another media type 415", async () => {
    const bad = await expectError(await api("/v1/projects", { token: ADMIN_TOKEN, json: { name: "" } }), 400, "invalid_request");
    expect(Array.isArray(bad.error.details)).toBe(true);
    expect((bad.error.details as { path: string[] }[])[0]!.path).toEqual(["name"]);
    await expectError(await api("/v1/projects", { token: ADMIN_TOKEN, json: {} }), 400, "invalid_request");
    await expectError(await api("/v1/projects", { token: ADMIN_TOKEN, body: "{not json", headers: { "content-type": "application/json" } }), 400, "invalid_request");
    await expectError(await api("/v1/projects", { token: ADMIN_TOKEN, body: "name=x", headers: { "content-type": "text/plain" } }), 415, "unsupported_media_type");
  });
});

describe("GET /v1/project", () => {
  it("returns the caller's project without the secret", async () => {
    const p = await createProject("Mine");
    const body = await expectJson(await api("/v1/project", { token: p.secretKey }), 200);
    expect(body).toEqual({ id: p.id, name: "Mine", createdAt: expect.any(String) });
  });

  it("refuses the admin token (403) and no credential (401)", async () => {
    await expectError(await api("/v1/project", { token: ADMIN_TOKEN }), 403, "forbidden");
    await expectError(await api("/v1/project"), 401, "unauthorized");
    await expectError(await api("/v1/project", { headers: { authorization: "Basic abc" } }), 401, "unauthorized");
  });
});

describe("keys", () => {
  it("creates, lists (never a secret) and revokes keys; a revoked key stops at once", async () => {
    const p = await createProject();
    const created = await expectJson(await api("/v1/keys", { token: p.secretKey, json: { name: "ci" } }), 201);
    expect(created).toMatchObject({ name: "ci", id: expect.stringMatching(/^key_/), secretKey: expect.stringMatching(/^sk_/) });
    expect(created.secretKey).not.toBe(p.secretKey);

    // The new key works, and lastUsedAt gets recorded.
    await expectJson(await api("/v1/project", { token: created.secretKey }), 200);

    const list = await expectJson(await api("/v1/keys", { token: p.secretKey }), 200);
    expect(list.data).toHaveLength(2);
    expect(JSON.stringify(list)).not.toContain("sk_");
    for (const k of list.data) expect(Object.keys(k).sort()).toEqual(["createdAt", "id", "lastUsedAt", "name", "revokedAt"]);

    const res = await api(`/v1/keys/${created.id}`, { method: "DELETE", token: p.secretKey });
    expect(res.status).toBe(204);
    await expectError(await api("/v1/project", { token: created.secretKey }), 401, "unauthorized");

    const after = await expectJson(await api("/v1/keys", { token: p.secretKey }), 200);
    const revoked = after.data.find((k: { id: string }) => k.id === created.id);
    expect(revoked.revokedAt).toEqual(expect.any(String));
  });

  it("records lastUsedAt", async () => {
    const p = await createProject();
    await api("/v1/project", { token: p.secretKey });
    await expect.poll(async () => (await expectJson(await api("/v1/keys", { token: p.secretKey }), 200)).data[0].lastUsedAt).toEqual(expect.any(String));
  });

  it("creates a key without a body", async () => {
    const p = await createProject();
    const created = await expectJson(await api("/v1/keys", { method: "POST", token: p.secretKey }), 201);
    expect(created.secretKey).toMatch(/^sk_/);
  });

  it("lets a key revoke itself", async () => {
    const p = await createProject();
    const keys = await expectJson(await api("/v1/keys", { token: p.secretKey }), 200);
    expect((await api(`/v1/keys/${keys.data[0].id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    await expectError(await api("/v1/keys", { token: p.secretKey }), 401, "unauthorized");
  });

  it("404s for an unknown key or another project's key, which keeps working", async () => {
    const a = await createProject();
    const b = await createProject();
    await expectError(await api("/v1/keys/key_nope", { method: "DELETE", token: a.secretKey }), 404, "not_found");
    const bKeys = await expectJson(await api("/v1/keys", { token: b.secretKey }), 200);
    await expectError(await api(`/v1/keys/${bKeys.data[0].id}`, { method: "DELETE", token: a.secretKey }), 404, "not_found");
    await expectJson(await api("/v1/project", { token: b.secretKey }), 200);
  });

  it("refuses a client token on key routes with 403", async () => {
    const p = await createProject();
    const doc = await createDoc(p.secretKey);
    const { token } = await mintToken(p.secretKey, doc.id);
    await expectError(await api("/v1/keys", { token }), 403, "forbidden");
    await expectError(await api("/v1/keys", { token, json: {} }), 403, "forbidden");
  });
});
