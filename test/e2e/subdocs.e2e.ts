/**
 * Subdocuments through @lattice-sync/client, in the demo's sections page (/s/{id}) in Chromium against a real
 * `wrangler dev`: a document whose two sections are Yjs subdocuments, opened with one workspace token (the
 * document's id and the prefix "{id}."). Each section is synced as a document of its own, `{id}.{guid}`,
 * created on first open; its status and saved signal are shown per section; typing in one page's section
 * reaches the other page's.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { DEMO_SECRET_KEY, browserSuite, eventually, screenshot, uniqueDocId, waitForState } from "./harness";

const suite = browserSuite();
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/** A new browser context on /s/{docId}, waited until the document and both sections are live. */
async function openSections(docId: string): Promise<Page> {
  const context = await suite.browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  suite.opened.push({ context, page, name: "" });
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`${suite.server.url}/s/${encodeURIComponent(docId)}`);
  await waitForState(page, "live");
  for (const key of ["a", "b"]) await page.locator(`[data-testid="section-status"][data-section="${key}"][data-client-state="live"]`).waitFor({ timeout: 30_000 });
  return page;
}

const sectionDocId = (page: Page, key: string) => page.locator(`[data-testid="section-status"][data-section="${key}"]`).getAttribute("data-doc-id");
/** The section's Y.Text, from the subdocument in the page's Y.Doc. */
const sectionText = (page: Page, key: string) =>
  page.evaluate(`window.lattice.client.doc.getMap("sections").get(${JSON.stringify(key)}).getText("text").toString()`) as Promise<string>;

async function typeInSection(page: Page, key: string, text: string): Promise<void> {
  await page.locator(`[data-testid="section-${key}"] .cm-content`).click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(text, { delay: 15 });
}

const api = (path: string) => fetch(`${suite.server.url}/v1/docs/${path}`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });

describe("subdocuments in the sections demo", () => {
  it("two pages: each section is its own document on the server, typing in one page's section reaches the other, with status and saved per section", async () => {
    const docId = uniqueDocId("sections");
    const a = await openSections(docId);
    const b = await openSections(docId);

    // Both pages sync the same two subdocuments, on `${docId}.${guid}`.
    const ids = await Promise.all(["a", "b"].map((k) => sectionDocId(a, k)));
    for (const id of ids) expect(id).toMatch(new RegExp(`^${docId}\\.${UUID}$`));
    expect(ids[0]).not.toBe(ids[1]);
    expect(await Promise.all(["a", "b"].map((k) => sectionDocId(b, k)))).toEqual(ids);

    // The saved signal of section A in page A: false while the edit is on its way, then true.
    await a.evaluate(`(() => {
      const sub = window.lattice.client.doc.getMap("sections").get("a");
      window.savedLog = [];
      window.lattice.client.on("subdoc", (e) => { if (e.doc === sub) window.savedLog.push(e.status.saved); });
    })()`);
    await typeInSection(a, "a", "Written in section A on page A.");
    await typeInSection(b, "b", "Section B from page B.");
    await eventually(async () => {
      expect(await sectionText(b, "a")).toBe("Written in section A on page A.");
      expect(await sectionText(a, "b")).toBe("Section B from page B.");
      // And the other page's editor shows it.
      expect(await b.locator('[data-testid="section-a"] .cm-content').textContent()).toContain("Written in section A on page A.");
    });
    await a.locator('[data-testid="section-status"][data-section="a"][data-saved="saved"]').waitFor();
    await b.locator('[data-testid="section-status"][data-section="b"][data-saved="saved"]').waitFor();
    const log = (await a.evaluate("window.savedLog")) as boolean[];
    expect(log).toContain(false);
    expect(log.at(-1)).toBe(true);
    expect(await a.evaluate(`window.lattice.client.statusOf(window.lattice.client.doc.getMap("sections").get("a"))`)).toMatchObject({
      state: "live",
      synced: true,
      saved: true,
    });
    // The sections' text is not in the parent: each section is a document of its own on the server.
    for (const [i, text] of ["Written in section A on page A.", "Section B from page B."].entries()) {
      const meta = await api(encodeURIComponent(ids[i]!));
      expect(meta.status).toBe(200);
      const json = await api(`${encodeURIComponent(ids[i]!)}/json`);
      expect(json.status).toBe(200);
      expect(((await json.json()) as { text?: string }).text).toBe(text);
    }
    expect((await api(encodeURIComponent(docId))).status).toBe(200);
    await screenshot(a, "e2e-subdocs-a");
    await screenshot(b, "e2e-subdocs-b");
  });

  it("a page opened later gets the sections' text from their own documents", async () => {
    const docId = uniqueDocId("sections-later");
    const a = await openSections(docId);
    await typeInSection(a, "b", "Kept in section B.");
    await a.locator('[data-testid="section-status"][data-section="b"][data-saved="saved"]').waitFor();
    await a.context().close();
    const c = await openSections(docId);
    await eventually(async () => expect(await sectionText(c, "b")).toBe("Kept in section B."));
  });
});
