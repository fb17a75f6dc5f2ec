/**
 * The demo's History panel (issue 15) in Chromium against a real `wrangler dev`: one person names a
 * version, writes more and restores the version from the panel; both open pages then show the version's
 * text, the second one live on the socket it already had. Screenshot: test-results/e2e-history.png.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSuite, DEMO_SECRET_KEY, docText, editorText, eventually, screenshot, typeAtEnd, uniqueDocId, waitForState } from "./harness";

const suite = browserSuite();
const { open } = suite;

const byTestId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);
const versionItem = (page: Page, text: string) => byTestId(page, "version-item").filter({ hasText: text });

/** What the server's committed document holds (`GET /v1/docs/{id}/json`, the demo project's key). */
async function serverText(docId: string): Promise<string> {
  const res = await fetch(`${suite.server.url}/v1/docs/${docId}/json`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as Record<string, string>).codemirror ?? "";
}

/** Fails the test with the panel's own error text instead of a bare timeout. */
async function noPanelError(page: Page): Promise<void> {
  const error = byTestId(page, "history-error");
  if (await error.isVisible()) throw new Error(`History panel error: ${await error.textContent()}`);
}

describe("the History panel", () => {
  const draft = "The first draft, worth keeping. ";
  const more = "Then a second thought, to be undone.";
  let docId: string;

  it("names a version, restores it after more typing, and both pages show the version's text", async () => {
    docId = uniqueDocId("history");
    const [a, b] = await Promise.all([open(docId, { viewport: { width: 1200, height: 900 } }), open(docId)]);
    await typeAtEnd(a.page, draft, 5);
    await eventually(async () => expect(await docText(b.page)).toBe(draft));

    // Name a version from the panel: it is listed and named as the current one.
    await byTestId(a.page, "version-name").fill("First draft");
    await byTestId(a.page, "save-version").click();
    await eventually(async () => {
      await noPanelError(a.page);
      expect(await versionItem(a.page, "First draft").count()).toBe(1);
    });
    const named = versionItem(a.page, "First draft");
    expect(await named.getAttribute("data-kind")).toBe("named");
    await a.page.locator('[data-testid="history-current"][data-state="current"]', { hasText: "First draft" }).waitFor();

    // Type more: the panel says the document has moved on.
    await typeAtEnd(a.page, more, 5);
    await eventually(async () => expect(await docText(b.page)).toBe(draft + more));
    await a.page.locator('[data-testid="history-current"][data-state="edited"]', { hasText: "Edited since First draft" }).waitFor();

    // Page 2 must take the restore live: no reload, and the same WebSocket as before.
    await b.page.evaluate("window.__beforeRestore = { ws: window.lattice.provider.ws }");

    // Preview the version: its text, read-only.
    await named.click();
    const previewText = byTestId(a.page, "version-preview-text");
    await eventually(async () => expect(await previewText.textContent()).toBe(draft));
    expect(await named.getAttribute("aria-pressed")).toBe("true");
    expect(
      await a.page.evaluate(
        `(() => { const el = document.querySelector('[data-testid="version-preview-text"]'); return el.tagName === "PRE" && !el.isContentEditable; })()`,
      ),
    ).toBe(true);
    await previewText.click();
    await a.page.keyboard.type("not here", { delay: 5 });
    expect(await previewText.textContent()).toBe(draft);
    expect(await docText(a.page)).toBe(draft + more);

    // Restore it from the panel, through the confirm step.
    await byTestId(a.page, "version-restore").click();
    await byTestId(a.page, "version-restore-yes").click();

    // Both pages show the version's text, in the Y.Doc and in the editor; so does the server.
    await eventually(async () => {
      await noPanelError(a.page);
      for (const p of [a, b]) {
        expect(await docText(p.page)).toBe(draft);
        expect(await editorText(p.page)).toBe(draft);
      }
    });
    expect(await serverText(docId)).toBe(draft);
    expect(await b.page.evaluate("window.__beforeRestore?.ws === window.lattice.provider.ws")).toBe(true);
    await waitForState(b.page, "live", 1000);

    // The list has the named version, marked current again, and the automatic before-restore one.
    const before = byTestId(a.page, "version-item").and(a.page.locator('[data-kind="before-restore"]'));
    await before.first().waitFor();
    await a.page.locator('[data-testid="history-current"][data-state="current"]', { hasText: "First draft" }).waitFor();
    expect(await named.getAttribute("data-current")).toBe("true");
    await byTestId(a.page, "history-message").filter({ hasText: "Restored" }).waitFor();
    await a.page.evaluate("window.scrollTo(0, 0)");
    await screenshot(a.page, "e2e-history");

    // The before-restore version holds what the restore replaced, so the restore can be undone.
    await before.first().click();
    await eventually(async () => expect(await previewText.textContent()).toBe(draft + more));
    // A rename keeps the kind.
    await a.page.locator(".rename-box summary").click();
    await byTestId(a.page, "version-rename-input").fill("Second thoughts");
    await byTestId(a.page, "version-rename").click();
    await eventually(async () => {
      await noPanelError(a.page);
      expect(await versionItem(a.page, "Second thoughts").getAttribute("data-kind")).toBe("before-restore");
    });

    // Page 2's panel shows both versions once it refreshes.
    await byTestId(b.page, "history-refresh").click();
    await versionItem(b.page, "First draft").waitFor();
    await versionItem(b.page, "Second thoughts").waitFor();
    await noPanelError(b.page);
  });

  it("a read-only page lists and previews versions but offers no save or restore", async () => {
    const reader = await open(docId, { access: "read" });
    const named = versionItem(reader.page, "First draft");
    await named.waitFor();
    expect(await byTestId(reader.page, "save-version").isVisible()).toBe(false);
    await named.click();
    await eventually(async () => expect(await byTestId(reader.page, "version-preview-text").textContent()).toBe(draft));
    expect(await byTestId(reader.page, "version-restore").count()).toBe(0);
    await noPanelError(reader.page);
  });

  it("an error from the API is shown in the panel, not swallowed", async () => {
    const writer = await open(uniqueDocId("history-error"));
    await typeAtEnd(writer.page, "Too much to keep.", 5);
    await writer.page.route(/\/versions$/, (route) =>
      route.request().method() === "POST"
        ? route.fulfill({ status: 413, json: { error: { code: "too_large", message: "this version would exceed the document's version storage" } } })
        : route.continue(),
    );
    await byTestId(writer.page, "save-version").click();
    const error = byTestId(writer.page, "history-error");
    await error.waitFor();
    expect(await error.textContent()).toBe("Could not save a version: this version would exceed the document's version storage (413 too_large)");
    expect(await byTestId(writer.page, "version-item").count()).toBe(0);
  });
});
