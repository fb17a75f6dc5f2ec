import { defineConfig } from "vitest/config";

/**
 * Browser end-to-end tests: Node drives Debian's Chromium (playwright-core) against a real `wrangler dev`.
 * Not the workers pool: these tests start processes and a browser. `npm run test:e2e` builds the front end first.
 */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    environment: "node",
    pool: "forks",
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
  },
});
