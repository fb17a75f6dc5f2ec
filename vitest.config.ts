import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The plugin reads wrangler.toml once per test file, and wrangler says "Using secrets defined in .dev.vars" each
// time once `npm run dev` has made that file (36 lines per run). The tests set their own ADMIN_TOKEN and
// TOKEN_SECRET below, so the line says nothing about them. Only wrangler's info lines go: its warnings and errors
// still print, and WRANGLER_LOG=log brings the rest back.
process.env.WRANGLER_LOG ??= "warn";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
            TOKEN_SECRET: "test-token-secret-0123456789abcdef",
            // Low enough that test/integration/room/limits-live.test.ts reaches it cheaply; above what any other test opens.
            MAX_CONNECTIONS_PER_DOC: "64",
            // Relays 2 and up get their feed from relay 0 or 1 (a tree): test/integration/relay/relay.test.ts routes to four.
            RELAY_TREE_WIDTH: "2",
            // The 21 MB document test (bulk text, ~2× in memory) needs more than the 8 MiB default.
            MAX_DOC_BYTES: String(64 * 1024 * 1024),
            // Room for one version of that size but not two (test/integration/versions/versions.test.ts reaches the 413).
            MAX_VERSION_BYTES: String(32 * 1024 * 1024),
          },
          // Every outbound fetch of the tests and the Worker goes through here. A webhook URL must be https on
          // a public host (src/webhooks/url.ts), so endpoints name https://webhook-receiver.example.com:<port>/hook/…
          // (test/helpers/webhooks.ts) and a request for /hook/… on any host with a port is handed to the receiver
          // on the host at that port: a URL that should have been refused would show up there. Redirects are
          // returned, never followed, as the real network does for `redirect: "manual"`.
          outboundService: async (request: Request) => {
            const url = new URL(request.url);
            const target = url.pathname.startsWith("/hook/") && url.port ? `http://127.0.0.1:${url.port}${url.pathname}${url.search}` : request.url;
            const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
            return fetch(target, { method: request.method, headers: request.headers, body, redirect: "manual" });
          },
          // A second, tight limiter for test/integration/auth/rate-limit.test.ts (the app's own allows
          // 6,000 a minute per credential, more than the suite sends).
          ratelimits: { RATE_LIMITER_TIGHT: { namespace_id: "9001", simple: { limit: 3, period: 60 } } },
        },
      }),
    ],
    test: {
      include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
      setupFiles: ["./test/helpers/apply-migrations.ts"],
      // The second: a webhook receiver on the host (test/webhook-receiver.ts) that the queue consumer delivers to.
      globalSetup: ["./test/global-setup.ts", "./test/webhook-receiver-setup.ts"],
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  };
});
