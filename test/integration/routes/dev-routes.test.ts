import { createExecutionContext, env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyClientToken } from "../../../src/auth/client-token";
import { hashSecretKey } from "../../../src/auth/secret-key";
import { createApp } from "../../../src/app";
import { DEMO_KEY_ID, DEMO_PROJECT_ID, DEMO_SECRET_KEY } from "../../../src/routes/dev";
import { BASE } from "../../helpers/sync";

/** The app as `npm run dev` runs it: the same bindings with DEV_MODE switched on. */
const devApp = createApp();
const devEnv = { ...env, DEV_MODE: "true" } as unknown as typeof env;
function dev(path: string, init?: RequestInit): Promise<Response> {
  return Promise.resolve(devApp.fetch(new Request(`${BASE}${path}`, init), devEnv, createExecutionContext()));
}
const postJson = (body: unknown): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("/dev routes", () => {
  it('do not exist unless DEV_MODE is "true" (wrangler.toml\'s default is "false")', async () => {
    for (const [path, init] of [
      ["/dev/docs", undefined],
      ["/dev/docs", postJson({})],
      ["/dev/docs/x/tokens", postJson({ userId: "u" })],
      ["/dev/docs/x/wakeups", undefined],
      ["/dev/docs/x", { ...postJson({ title: "t" }), method: "PATCH" }],
    ] as const) {
      const res = await SELF.fetch(`${BASE}${path}`, init);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
    }
    // Nor does the demo key: outside dev mode it is unknown, like any other.
    const listed = await SELF.fetch(`${BASE}/v1/docs`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
    expect(listed.status).toBe(401);
    const rows = await env.DB.prepare("SELECT id FROM projects WHERE id = ?").bind(DEMO_PROJECT_ID).all();
    expect(rows.results).toHaveLength(0);
  });

  it("in dev mode create the demo project on first use, with the documented key", async () => {
    const res = await dev("/dev/docs");
    expect(res.status).toBe(200);
    const key = await env.DB.prepare("SELECT project_id, hash, revoked_at FROM api_keys WHERE id = ?").bind(DEMO_KEY_ID).first();
    expect(key).toEqual({ project_id: DEMO_PROJECT_ID, hash: await hashSecretKey(DEMO_SECRET_KEY), revoked_at: null });
  });

  it("create and list documents", async () => {
    const created = await dev("/dev/docs", postJson({ title: "Notes" }));
    expect(created.status).toBe(201);
    const doc = (await created.json()) as { id: string; title: string };
    expect(doc.title).toBe("Notes");
    expect((await dev("/dev/docs", postJson({ id: doc.id }))).status).toBe(409);
    expect((await dev("/dev/docs", postJson({ id: "bad id!" }))).status).toBe(400);
    const list = (await (await dev("/dev/docs")).json()) as { data: { id: string }[] };
    expect(list.data.map((d) => d.id)).toContain(doc.id);
  });

  it("mint a token for a document, creating it when missing, that the sync route accepts", async () => {
    const res = await dev("/dev/docs/fresh-doc/tokens", postJson({ userId: "alice", access: "read" }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { token: string; url: string; expiresAt: string };
    expect(body.url).toBe("ws://lattice.test/v1/sync/fresh-doc");
    const claims = await verifyClientToken(env.TOKEN_SECRET, body.token);
    expect(claims).toMatchObject({ ok: true, value: { userId: "alice", docId: "fresh-doc", projectId: DEMO_PROJECT_ID, keyId: DEMO_KEY_ID, access: "read" } });
    const list = (await (await dev("/dev/docs")).json()) as { data: { id: string }[] };
    expect(list.data.map((d) => d.id)).toContain("fresh-doc");

    const ws = await SELF.fetch(`${BASE}/v1/sync/fresh-doc?token=${body.token}`, { headers: { Upgrade: "websocket" } });
    expect(ws.status).toBe(101);
    ws.webSocket?.accept();
    ws.webSocket?.close();
  });

  it("report an object's wake-up count, which is off by default (DEBUG_WAKEUPS, as in production)", async () => {
    const res = await dev("/dev/docs/woken/tokens", postJson({ userId: "alice" }));
    const { token } = (await res.json()) as { token: string };
    const ws = await SELF.fetch(`${BASE}/v1/sync/woken?token=${token}`, { headers: { Upgrade: "websocket" } });
    expect(ws.status).toBe(101);
    ws.webSocket?.accept();
    ws.webSocket?.close();
    // The object was constructed, but wrangler.toml's DEBUG_WAKEUPS is "false": it counted nothing.
    expect(await (await dev("/dev/docs/woken/wakeups")).json()).toEqual({ wakeups: 0 });
    expect((await dev("/dev/docs/never-made/wakeups")).status).toBe(404);
  });

  it("refuse a bad body or id", async () => {
    expect((await dev("/dev/docs/x/tokens", postJson({ access: "write" }))).status).toBe(400);
    expect((await dev("/dev/docs/x/tokens", postJson({ userId: "u", access: "admin" }))).status).toBe(400);
    expect((await dev("/dev/docs/x/tokens", { method: "POST", headers: { "content-type": "application/json" }, body: "{" })).status).toBe(400);
    // As on every /v1 route: a body that is not declared JSON is refused with 415.
    expect((await dev("/dev/docs/x/tokens", { method: "POST", body: "{" })).status).toBe(415);
  });

  it("rename a document from the editor: its title in the list, an empty one clears it; a bad title or id changes nothing", async () => {
    const patch = (id: string, body: unknown) => dev(`/dev/docs/${id}`, { ...postJson(body), method: "PATCH" });
    const created = (await (await dev("/dev/docs", postJson({ id: "to-rename" }))).json()) as { title: string | null };
    expect(created.title).toBeNull();
    const renamed = await patch("to-rename", { title: "  Meeting notes " });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ id: "to-rename", title: "Meeting notes" });
    const titleOf = async () =>
      ((await (await dev("/dev/docs")).json()) as { data: { id: string; title: string | null }[] }).data.find((d) => d.id === "to-rename")?.title;
    expect(await titleOf()).toBe("Meeting notes");
    for (const body of [{ title: "x".repeat(201) }, { title: 7 }, {}, { name: "x" }])
      expect((await patch("to-rename", body)).status, JSON.stringify(body)).toBe(400);
    expect((await patch("bad id!", { title: "x" })).status).toBe(400);
    expect((await patch("never-made", { title: "x" })).status).toBe(404);
    expect(await titleOf()).toBe("Meeting notes");
    expect(await (await patch("to-rename", { title: "" })).json()).toMatchObject({ title: null });
  });
});
