/**
 * The API reference at /reference in Chromium, offline: every request that is not to the local Worker is
 * aborted, and the page must still render the operations from /openapi.json (Scalar comes from the
 * Worker's own assets, copied there by scripts/build-web.mjs). Leaves test-results/e2e-reference.png.
 */
import { describe, expect, it } from "vitest";
import { browserSuite, screenshot } from "./harness";

const suite = browserSuite();

describe("the API reference", () => {
  it("renders from the Worker's own origin alone, with no third-party request", async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      const origin = new URL(suite.server.url).origin;
      const elsewhere: string[] = [];
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      // As if offline: anything not to the local server fails, and is remembered.
      await page.route("**", (route) => {
        const url = route.request().url();
        if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === origin) return route.continue();
        elsewhere.push(url);
        return route.abort("internetdisconnected");
      });
      const scripts: { url: string; status: number; type: string | undefined }[] = [];
      page.on("response", (res) => {
        if (res.request().resourceType() === "script") scripts.push({ url: res.url(), status: res.status(), type: res.headers()["content-type"] });
      });

      await page.goto(`${suite.server.url}/reference`);
      // The document's title and an operation summary from /openapi.json, rendered by Scalar.
      await page.getByRole("heading", { name: "Lattice", exact: true }).waitFor({ timeout: 30_000 });
      await page.getByText("Create a project and its first secret key").first().waitFor();
      await screenshot(page, "e2e-reference");
      // Scalar's hosted AI chat is switched off (src/app.ts).
      expect(await page.getByText("Ask AI").count()).toBe(0);
      // So are the parts that sell Scalar's hosted services, which Scalar shows on localhost unless told not to:
      // the developer tools bar ("Deploy on Scalar") and the "Generate SDKs & MCP" card.
      expect(await page.locator(".api-reference-toolbar").count()).toBe(0);
      expect(await page.locator(".explore-scalar-cta").count()).toBe(0);
      expect(await page.getByText("Generate SDKs").count()).toBe(0);

      expect(scripts).toEqual([expect.objectContaining({ url: `${origin}/build/scalar/api-reference.js`, status: 200 })]);
      expect(scripts[0]!.type).toContain("javascript");
      expect(elsewhere).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
