/**
 * The demo page's document header and empty History panel in Chromium against a real `wrangler dev`: a new
 * document is "Untitled" in the editor as in the list (not its random id), its title is set from the
 * editor and reaches the catalog, the list and a reader's page; an empty History panel says so once.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSuite, DEMO_SECRET_KEY, eventually, uniqueDocId } from "./harness";

const suite = browserSuite();
const open = suite.open;

const byTestId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

/** The title in the catalog (`GET /v1/docs/{id}`, the demo project's key). */
async function catalogTitle(docId: string): Promise<string | null> {
  const res = await fetch(`${suite.server.url}/v1/docs/${docId}`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { title: string | null }).title;
}

/** The title the home page's list gives the document. */
async function listedTitle(page: Page, docId: string): Promise<string> {
  await page.goto(suite.server.url);
  return (await page.locator(`a[href="/d/${docId}"] .doc-title`).textContent()) ?? "";
}

describe("the document header", () => {
  it("a new document is Untitled in the editor and the list; the title set in the editor is the list's, the catalog's and a reader's", async () => {
    const docId = uniqueDocId("title");
    const a = await open(docId);
    const title = byTestId(a.page, "doc-title");
    expect(await title.inputValue()).toBe("");
    expect(await title.getAttribute("placeholder")).toBe("Untitled");
    expect(await byTestId(a.page, "doc-heading").textContent()).not.toContain(docId);
    expect(await a.page.title()).toBe("Untitled · Lattice");

    await title.click();
    await title.fill("Meeting notes");
    await title.press("Enter");
    await eventually(async () => expect(await catalogTitle(docId)).toBe("Meeting notes"));
    await eventually(async () => expect(await a.page.title()).toBe("Meeting notes · Lattice"));

    const reader = await open(docId, { access: "read" });
    expect(await byTestId(reader.page, "doc-title").count()).toBe(0); // a reader cannot rename
    expect(await byTestId(reader.page, "doc-heading").textContent()).toBe("Meeting notes");

    expect(await listedTitle(reader.page, docId)).toBe("Meeting notes");
    await a.page.reload();
    await eventually(async () => expect(await byTestId(a.page, "doc-title").inputValue()).toBe("Meeting notes"));
  });
});

describe("the History panel of a document with no versions", () => {
  it("says so once: the status line, and no second empty list", async () => {
    const a = await open(uniqueDocId("no-versions"));
    const current = a.page.locator('[data-testid="history-current"][data-state="none"]');
    await current.waitFor();
    expect(await current.textContent()).toBe("No versions yet. Save one to mark this point.");
    expect(await byTestId(a.page, "version-list").isVisible()).toBe(false);
    const texts = await byTestId(a.page, "history").locator("p:visible, li:visible").allTextContents();
    expect(texts.filter((t) => /yet|none/i.test(t))).toEqual(["No versions yet. Save one to mark this point."]);
  });
});
