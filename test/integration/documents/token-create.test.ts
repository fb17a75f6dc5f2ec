/**
 * `POST /v1/docs/{id}/tokens` with `create: true`: one call that creates the document when the project has
 * none with this id and mints the token (y-sweet's getOrCreateDocAndToken). Its bounds are those of the two
 * calls it replaces: a secret key only, the document id pattern, the token body's limits, and the key's
 * rate limit; a refused call creates nothing.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { ADMIN_TOKEN, api, authHeaders, BASE, createDoc, createProject, expectError, expectJson, mintToken, type TestProject } from "../../helpers/rest";

const mintOrCreate = (p: TestProject | { secretKey: string }, id: string, extra: Record<string, unknown> = {}) =>
  api(`/v1/docs/${encodeURIComponent(id)}/tokens`, { token: p.secretKey, json: { userId: "u", access: "write", create: true, ...extra } });

async function docIds(p: TestProject): Promise<string[]> {
  return (await expectJson<{ data: { id: string }[] }>(await api("/v1/docs", { token: p.secretKey }), 200)).data.map((d) => d.id);
}

describe("POST /v1/docs/{id}/tokens with create: true", () => {
  it("creates a missing document once and mints a token that opens it; later calls find it", async () => {
    const p = await createProject();
    const first = await expectJson(await mintOrCreate(p, "gc-new"), 201);
    expect(first).toMatchObject({ created: true, syncBase: "wss://lattice.test/v1/sync", url: "wss://lattice.test/v1/sync/gc-new" });
    const doc = await expectJson(await api("/v1/docs/gc-new", { token: first.token }), 200);
    expect(doc).toMatchObject({ id: "gc-new", title: null, metadata: {} });
    const ws = await SELF.fetch(`${BASE}/v1/sync/gc-new?token=${first.token}`, { headers: { upgrade: "websocket" } });
    expect(ws.status).toBe(101);
    ws.webSocket!.accept();
    ws.webSocket!.close(1000);

    const again = await expectJson(await mintOrCreate(p, "gc-new"), 201);
    expect(again.created).toBe(false);
    expect(await expectJson(await api("/v1/docs/gc-new", { token: again.token }), 200)).toEqual(doc); // the same creation, untouched
    expect(await docIds(p)).toEqual(["gc-new"]);
  });

  it("a creation sends document.created like POST /v1/docs, once; a call that finds the document sends none", async () => {
    const p = await createProject();
    const hook = await expectJson(await api("/v1/webhooks", { token: p.secretKey, json: { url: "https://example.com/hook", events: ["document.created"] } }), 201);
    await expectJson(await mintOrCreate(p, "gc-event"), 201);
    await expectJson(await mintOrCreate(p, "gc-event"), 201);
    const log = await expectJson<{ data: { event: string }[] }>(await api(`/v1/webhooks/${hook.id}/deliveries`, { token: p.secretKey }), 200);
    expect(log.data.map((d) => d.event)).toEqual(["document.created"]);
  });

  it("an existing document is found, not replaced: its title stays and create: false still answers 404 for a missing one", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "gc-old", title: "Kept" });
    expect((await expectJson(await mintOrCreate(p, "gc-old"), 201)).created).toBe(false);
    expect((await expectJson(await api("/v1/docs/gc-old", { token: p.secretKey }), 200)).title).toBe("Kept");
    await expectError(await mintOrCreate(p, "gc-missing", { create: false }), 404, "not_found");
    await expectError(await api("/v1/docs/gc-missing/tokens", { token: p.secretKey, json: { userId: "u", access: "read" } }), 404, "not_found");
    expect(await docIds(p)).toEqual(["gc-old"]);
  });

  it("the same id in another project is that project's own document", async () => {
    const a = await createProject();
    const b = await createProject();
    await createDoc(a.secretKey, { id: "gc-shared", title: "A's" });
    const tb = await expectJson(await mintOrCreate(b, "gc-shared"), 201);
    expect(tb.created).toBe(true);
    expect((await expectJson(await api("/v1/docs/gc-shared", { token: tb.token }), 200)).title).toBeNull();
    expect((await expectJson(await api("/v1/docs/gc-shared", { token: a.secretKey }), 200)).title).toBe("A's");
  });

  it("abuse: bad bodies, bad ids and credentials other than a secret key are refused and create nothing", async () => {
    const p = await createProject();
    for (const extra of [
      { create: "yes" },
      { create: 1 },
      { create: null },
      { userId: "" },
      { access: "admin" },
      { expiresIn: 86401 },
      { userId: "u".repeat(257) },
    ]) {
      await expectError(await mintOrCreate(p, "gc-abuse", extra), 400, "invalid_request");
    }
    for (const id of ["bad id!", ".dot-first", "x".repeat(129)]) await expectError(await mintOrCreate(p, id), 400, "invalid_request");
    const other = await createDoc(p.secretKey, { id: "gc-other" });
    const clientToken = (await mintToken(p.secretKey, other.id, "write")).token;
    await expectError(await mintOrCreate({ secretKey: clientToken }, "gc-abuse"), 403, "forbidden");
    await expectError(await mintOrCreate({ secretKey: ADMIN_TOKEN }, "gc-abuse"), 403, "forbidden");
    await expectError(await mintOrCreate({ secretKey: "sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, "gc-abuse"), 401, "unauthorized");
    expect(await docIds(p)).toEqual(["gc-other"]);
  });

  it("abuse: each call counts against the key's rate limit; over it, 429 and nothing is created", async () => {
    const p = await createProject();
    // The real app and the real rate limiting binding, configured tighter (3 a minute) for this test.
    const app = createApp();
    const tightEnv = { ...env, RATE_LIMITER: env.RATE_LIMITER_TIGHT };
    const call = async (id: string) => {
      const ctx = createExecutionContext();
      const res = await app.request(
        `${BASE}/v1/docs/${id}/tokens`,
        {
          method: "POST",
          headers: { ...authHeaders(p.secretKey), "content-type": "application/json" },
          body: JSON.stringify({ userId: "u", access: "write", create: true }),
        },
        tightEnv,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    };
    for (const id of ["gc-r1", "gc-r2", "gc-r3"]) expect((await call(id)).status).toBe(201);
    await expectError(await call("gc-r4"), 429, "rate_limited");
    expect(await docIds(p)).toEqual(["gc-r1", "gc-r2", "gc-r3"]);
  });
});
