/**
 * What every answer gets at the Worker's edge (src/http/middleware.ts): CORS for browsers,
 * `Cache-Control: no-store` where secrets pass, 429 in the OpenAPI document, and the refusal to serve
 * at all on weak secrets.
 */
import { createExecutionContext, env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
// Vite's raw import: the committed file itself, so the Worker's copy of its values cannot drift from it.
// @ts-expect-error: no ambient type for `?raw` modules in this project (vite/client types are not loaded).
import devVarsExample from "../../../.dev.vars.example?raw";
import { createApp } from "../../../src/app";
import { DEV_SECRETS } from "../../../src/http/middleware";
import { api, BASE, createDoc, createProject, expectError, expectJson, mintToken } from "../../helpers/rest";

const ORIGIN = "https://app.example.com";
const app = createApp();

/** The real app with some bindings replaced (undefined removes one). */
function withEnv(overrides: Record<string, string | undefined>, path: string, init?: RequestInit): Promise<Response> {
  const e: Record<string, unknown> = { ...env, ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete e[k];
  return Promise.resolve(app.request(`${BASE}${path}`, init, e as unknown as typeof env, createExecutionContext()));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("CORS on /v1", () => {
  it("answers a preflight with 204 and the allowed origin, methods, headers and max age", async () => {
    const res = await SELF.fetch(`${BASE}/v1/docs/some-doc/json`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "GET", "access-control-request-headers": "authorization, content-type" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toContain("GET");
    expect(res.headers.get("access-control-allow-methods")).toContain("PATCH");
    const allowed = res.headers.get("access-control-allow-headers")!.toLowerCase().split(",");
    expect(allowed).toEqual(expect.arrayContaining(["authorization", "content-type"]));
    expect(Number(res.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    // Bearer tokens, never cookies: credentials are not allowed.
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("adds Access-Control-Allow-Origin to answers, errors and unknown routes included", async () => {
    const project = await createProject();
    const doc = await createDoc(project.secretKey);
    const headers = { origin: ORIGIN };
    const ok = await api(`/v1/docs/${doc.id}/json`, { token: project.secretKey, headers });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe("*");
    const unauthorized = await api(`/v1/docs/${doc.id}/json`, { headers });
    await expectError(unauthorized.clone(), 401, "unauthorized");
    expect(unauthorized.headers.get("access-control-allow-origin")).toBe("*");
    const invalid = await api(`/v1/docs/${doc.id}/tokens`, { token: project.secretKey, json: {}, headers });
    await expectError(invalid.clone(), 400, "invalid_request");
    expect(invalid.headers.get("access-control-allow-origin")).toBe("*");
    const missing = await api("/v1/nothing-here", { headers });
    await expectError(missing.clone(), 404, "not_found");
    expect(missing.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("with CORS_ORIGINS set, allows only the listed origins", async () => {
    const list = { CORS_ORIGINS: `${ORIGIN}, https://other.example.com` };
    const preflight = (origin: string) => withEnv(list, "/v1/project", { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET" } });
    const listed = await preflight(ORIGIN);
    expect(listed.status).toBe(204);
    expect(listed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(listed.headers.get("vary")).toContain("Origin");
    expect((await preflight("https://evil.example.com")).headers.get("access-control-allow-origin")).toBeNull();

    const actual = (origin: string) => withEnv(list, "/v1/project", { headers: { origin } });
    expect((await actual("https://other.example.com")).headers.get("access-control-allow-origin")).toBe("https://other.example.com");
    const refused = await actual("https://evil.example.com");
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("leaves the WebSocket upgrade on /v1/sync alone", async () => {
    const project = await createProject();
    const doc = await createDoc(project.secretKey);
    const { token } = await mintToken(project.secretKey, doc.id);
    const res = await SELF.fetch(`${BASE}/v1/sync/${doc.id}?token=${token}`, { headers: { upgrade: "websocket", origin: ORIGIN } });
    expect(res.status).toBe(101);
    expect(res.webSocket).toBeTruthy();
    res.webSocket!.accept();
    res.webSocket!.close(1000, "done");
  });
});

describe("Cache-Control: no-store", () => {
  it("on every answer that carries a secret key or a token", async () => {
    const projectRes = await api("/v1/projects", { token: env.ADMIN_TOKEN, json: { name: "no-store" } });
    expect(projectRes.headers.get("cache-control")).toBe("no-store");
    const project = await expectJson(projectRes, 201);
    const keyRes = await api("/v1/keys", { token: project.secretKey, json: { name: "k" } });
    expect(keyRes.status).toBe(201);
    expect(keyRes.headers.get("cache-control")).toBe("no-store");
    const doc = await createDoc(project.secretKey);
    const tokenRes = await api(`/v1/docs/${doc.id}/tokens`, { token: project.secretKey, json: { userId: "u", access: "read" } });
    expect(tokenRes.status).toBe(201);
    expect(tokenRes.headers.get("cache-control")).toBe("no-store");
    // The demo page's token route (DEV_MODE only).
    const devRes = await withEnv({ DEV_MODE: "true" }, "/dev/docs/no-store-doc/tokens", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "u" }),
    });
    expect(devRes.status).toBe(201);
    expect(devRes.headers.get("cache-control")).toBe("no-store");
    // Errors too.
    expect((await api("/v1/project")).headers.get("cache-control")).toBe("no-store");
  });
});

describe("GET /openapi.json", () => {
  it("declares 429 on every rate-limited operation (those with a security requirement), not on /v1/sync", async () => {
    const spec = await expectJson(await api("/openapi.json"), 200);
    const ops = Object.values(spec.paths as Record<string, Record<string, { security?: unknown[]; responses: Record<string, any> }>>).flatMap((item) =>
      Object.values(item),
    );
    const limited = ops.filter((op) => op.security?.length);
    expect(limited.length).toBeGreaterThan(10);
    for (const op of limited) {
      expect(op.responses["429"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    }
    expect(spec.paths["/v1/docs/{id}/tokens"].post.responses).toHaveProperty("429");
    expect(spec.paths["/v1/sync/{docId}"].get.responses).not.toHaveProperty("429");
    expect(spec.components.schemas.Error.properties.error.properties.code.enum).toContain("misconfigured");
  });
});

describe("weak secrets outside DEV_MODE", () => {
  const strong = "s".repeat(32);
  const cases: [string, Record<string, string | undefined>, string, string | undefined][] = [
    ["missing ADMIN_TOKEN", { ADMIN_TOKEN: undefined }, "ADMIN_TOKEN", undefined],
    ["empty TOKEN_SECRET", { TOKEN_SECRET: "" }, "TOKEN_SECRET", undefined],
    ["31-byte ADMIN_TOKEN", { ADMIN_TOKEN: "a".repeat(31) }, "ADMIN_TOKEN", "a".repeat(31)],
    // Bytes, not characters: 16 two-byte characters are 32 bytes (allowed), 15 and an ASCII letter are 31.
    ["31-byte TOKEN_SECRET of 16 characters", { TOKEN_SECRET: `${"é".repeat(15)}x` }, "TOKEN_SECRET", `${"é".repeat(15)}x`],
    ["development ADMIN_TOKEN", { ADMIN_TOKEN: DEV_SECRETS.ADMIN_TOKEN }, "ADMIN_TOKEN", DEV_SECRETS.ADMIN_TOKEN],
    ["development TOKEN_SECRET", { TOKEN_SECRET: DEV_SECRETS.TOKEN_SECRET }, "TOKEN_SECRET", DEV_SECRETS.TOKEN_SECRET],
  ];

  for (const [name, overrides, variable, value] of cases) {
    it(`${name}: every route but /healthz answers 500 misconfigured, naming ${variable}, never its value`, async () => {
      vi.spyOn(console, "error").mockImplementation(() => undefined);
      for (const [path, init] of [
        ["/v1/project", {}],
        ["/v1/projects", { method: "POST", headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` }, body: "{}" }],
        ["/v1/docs/x/tokens", { method: "POST", body: "{}" }],
        ["/v1/sync/x?token=a.b.c", { headers: { upgrade: "websocket" } }],
        ["/openapi.json", {}],
        ["/reference", {}],
        ["/dev/docs", {}],
      ] as const) {
        const res = await withEnv(overrides, path, init);
        const body = await expectError(res, 500, "misconfigured");
        expect(body.error.message, path).toContain(variable);
        if (value) expect(body.error.message, path).not.toContain(value);
      }
      expect((await withEnv(overrides, "/healthz")).status).toBe(200);
    });
  }

  it("logs the refusal once per isolate, naming the variables, never their values", async () => {
    const logs = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const weak = { ADMIN_TOKEN: "short-admin", TOKEN_SECRET: undefined };
    for (let i = 0; i < 3; i++) await expectError(await withEnv(weak, "/v1/project"), 500, "misconfigured");
    expect(logs).toHaveBeenCalledTimes(1);
    const line = logs.mock.calls[0]!.join(" ");
    expect(line).toContain("ADMIN_TOKEN");
    expect(line).toContain("TOKEN_SECRET");
    expect(line).not.toContain("short-admin");
  });

  it("carries CORS headers, so a page on another origin can read the refusal", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await withEnv({ TOKEN_SECRET: undefined }, "/v1/project", { headers: { origin: ORIGIN } });
    await expectError(res.clone(), 500, "misconfigured");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("serves with 32-byte secrets, and with any secrets under DEV_MODE", async () => {
    expect((await withEnv({ ADMIN_TOKEN: strong, TOKEN_SECRET: strong }, "/openapi.json")).status).toBe(200);
    expect((await withEnv({ DEV_MODE: "true", ADMIN_TOKEN: DEV_SECRETS.ADMIN_TOKEN, TOKEN_SECRET: "x" }, "/openapi.json")).status).toBe(200);
  });

  it("knows the development values that .dev.vars.example holds", () => {
    const vars = Object.fromEntries(
      (devVarsExample as string)
        .split("\n")
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]),
    );
    expect(vars).toEqual(DEV_SECRETS);
  });
});

describe("a request that fails validation", () => {
  it("says which field is wrong and why, on every route (here POST /v1/webhooks, a token and a list), not just 'invalid json'", async () => {
    const p = await createProject();
    const hook = await expectError(
      await api("/v1/webhooks", { token: p.secretKey, json: { url: "https://example.com/hook", events: ["document.exploded"] } }),
      400,
      "invalid_request",
    );
    expect(hook.error.message).toMatch(/^invalid body: events\.0: /);
    expect(hook.error.details).toEqual([expect.objectContaining({ path: ["events", "0"] })]);
    await createDoc(p.secretKey, { id: "v-doc" });
    const token = await expectError(await api("/v1/docs/v-doc/tokens", { token: p.secretKey, json: { userId: "u", access: "admin" } }), 400, "invalid_request");
    expect(token.error.message).toMatch(/^invalid body: access: .*"read"/);
    const list = await expectError(await api("/v1/docs?limit=0", { token: p.secretKey }), 400, "invalid_request");
    expect(list.error.message).toMatch(/^invalid query: limit: /);
    // Many issues: three in the message, all of them in details.
    const many = await expectError(
      await api("/v1/docs/v-doc/tokens", { token: p.secretKey, json: { userId: 1, access: 2, expiresIn: "x", create: "y" } }),
      400,
      "invalid_request",
    );
    expect(many.error.message).toContain("; and 1 more (details)");
    expect(many.error.details).toHaveLength(4);
  });
});
