/**
 * `npm run deploy` (scripts/deploy.mjs) with every HTTP(S) request of its processes sent to a recording proxy
 * on this machine that answers none of them (wrangler honours HTTPS_PROXY), and a made-up API token so
 * wrangler does not stop at "not logged in". The real Cloudflare API cannot be reached from here; the proxy
 * is what proves that a run made no remote call:
 *
 * - `--dry-run` builds and bundles the Worker, lists the migrations, and sends nothing;
 * - an unknown option is refused before anything runs;
 * - with the placeholder database_id a real deploy stops before any remote call, naming it;
 * - the control: with a real-looking database_id, the preflight does call the API (through the proxy), so a
 *   silent proxy is not why the other runs sent nothing;
 * - against a stand-in API, a missing secret is named and the run stops having sent only GET requests.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE, ROOT } from "./harness";

const trees: string[] = [];
/** A copy of the tree's deploy inputs whose wrangler.toml has a real-looking database_id (removed after the file). */
function withDatabaseId(): string {
  const tree = mkdtempSync(join(tmpdir(), "lattice-deploy-test-"));
  trees.push(tree);
  for (const f of ["scripts", "migrations", ".dev.vars.example", "package.json"]) cpSync(join(ROOT, f), join(tree, f), { recursive: true });
  for (const d of ["node_modules", "src", "web"]) symlinkSync(join(ROOT, d), join(tree, d));
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8").replace(/database_id = "[^"]*"/, 'database_id = "4d2c7c1e-8f8a-4b57-9d3e-2f8e5a1c0b9d"');
  writeFileSync(join(tree, "wrangler.toml"), toml);
  return tree;
}

let proxy: HttpServer;
let proxyUrl: string;
const requests: string[] = [];

beforeAll(async () => {
  proxy = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(502).end();
  });
  proxy.on("connect", (req, socket) => {
    requests.push(`CONNECT ${req.url}`);
    socket.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const address = proxy.address();
  if (!address || typeof address === "string") throw new Error("no proxy address");
  proxyUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
  await new Promise<void>((r) => proxy.close(() => r()));
});

/** Runs scripts/deploy.mjs of the tree at `root` (this repository by default) with `args`, through the proxy. */
function deploy(args: string[], root = ROOT, extraEnv: Record<string, string> = {}): Promise<{ code: number; out: string; requests: string[] }> {
  const before = requests.length;
  const env = {
    ...process.env,
    HTTPS_PROXY: proxyUrl,
    HTTP_PROXY: proxyUrl,
    https_proxy: proxyUrl,
    http_proxy: proxyUrl,
    NO_PROXY: "",
    no_proxy: "",
    CLOUDFLARE_API_TOKEN: "made-up-token-for-the-test",
    CLOUDFLARE_ACCOUNT_ID: "0123456789abcdef0123456789abcdef",
    ...extraEnv,
  };
  return new Promise((resolve) => {
    execFile(NODE, [join(root, "scripts", "deploy.mjs"), ...args], { cwd: root, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`, requests: requests.slice(before) });
    });
  });
}

describe("npm run deploy", () => {
  it("--dry-run builds, bundles and lists the migrations, and sends no request anywhere", async () => {
    const r = await deploy(["--dry-run"]);
    expect(r.code, r.out).toBe(0);
    expect(r.requests).toEqual([]);
    expect(r.out).toContain("wrangler deploy --dry-run");
    expect(r.out).toMatch(/--dry-run: exiting now/); // wrangler's own line: it bundled, uploaded nothing
    expect(r.out).toContain("0000_init.sql");
    expect(r.out).toContain("lattice-webhooks-dlq");
    expect(r.out).toContain("database_id is the placeholder");
    expect(r.out).toContain("nothing was sent to Cloudflare");
  });

  it("refuses an unknown option (a typo of --dry-run) and does nothing", async () => {
    const r = await deploy(["--dryrun"]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('unknown option "--dryrun"');
    expect(r.out).not.toContain("> npm run build");
    expect(r.requests).toEqual([]);
  });

  it("stops before any remote call while database_id is the placeholder, and says how to get one", async () => {
    const r = await deploy([]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("npx wrangler d1 create lattice");
    expect(r.out).not.toContain("> npm run build");
    expect(r.requests).toEqual([]);
  });

  it("control: with a real database_id the preflight asks the API (read-only) and stops when it cannot", async () => {
    const r = await deploy([], withDatabaseId());
    expect(r.code).not.toBe(0);
    expect(
      r.requests.some((q) => q.includes("api.cloudflare.com")),
      JSON.stringify(r.requests),
    ).toBe(true);
    expect(r.out).not.toContain("> npm run build");
    expect(r.out).not.toContain("queues create");
  });

  // The real Cloudflare API cannot be reached from here: a stand-in (wrangler's CLOUDFLARE_API_BASE_URL) answers
  // the two read-only calls the preflight makes and records every request.
  it("the preflight names a missing secret and stops before any change (only GET requests reach the API)", async () => {
    const calls: string[] = [];
    const api = createServer((req, res) => {
      calls.push(`${req.method} ${req.url}`);
      const ok = (result: unknown) =>
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ success: true, errors: [], messages: [], result }));
      if (req.method === "GET" && /\/workers\/scripts\/lattice\/secrets/.test(req.url ?? "")) return ok([{ name: "ADMIN_TOKEN", type: "secret_text" }]);
      if (req.method === "GET" && /\/queues(\?|$)/.test(req.url ?? ""))
        return ok([
          {
            queue_id: "q1",
            queue_name: "lattice-webhooks",
            created_on: "2026-01-01T00:00:00Z",
            modified_on: "2026-01-01T00:00:00Z",
            producers_total_count: 1,
            consumers_total_count: 1,
          },
        ]);
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ success: false, errors: [{ code: 1, message: "not in this test" }], messages: [], result: null }));
    });
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    try {
      const address = api.address() as { port: number };
      const noProxy = { HTTPS_PROXY: "", HTTP_PROXY: "", https_proxy: "", http_proxy: "" };
      const r = await deploy([], withDatabaseId(), { ...noProxy, CLOUDFLARE_API_BASE_URL: `http://127.0.0.1:${address.port}/client/v4` });
      expect(r.code, r.out).toBe(1);
      expect(r.out).toContain("secret TOKEN_SECRET: npx wrangler secret put TOKEN_SECRET");
      expect(r.out).not.toContain("secret ADMIN_TOKEN");
      expect(r.out).toContain("Nothing was changed.");
      expect(r.out).not.toContain("> npm run build");
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(
        calls.filter((c) => !c.startsWith("GET ")),
        JSON.stringify(calls),
      ).toEqual([]);
    } finally {
      await new Promise<void>((r) => api.close(() => r()));
    }
  });
});
