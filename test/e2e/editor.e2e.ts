/**
 * The demo editor in Chromium against a real `wrangler dev`: what two people writing together would notice.
 * Each test leaves a screenshot in test-results/.
 */
import { describe, expect, it } from "vitest";
import { browserSuite, docText, editorText, eventually, screenshot, typeAtEnd, typeAtStart, uniqueDocId, waitForState, type OpenedPage } from "./harness";

const suite = browserSuite();
const { open } = suite;

/** Both pages hold the same text, and it contains every piece. */
async function converged(pages: OpenedPage[], pieces: string[]): Promise<string> {
  let text = "";
  await eventually(async () => {
    const texts = await Promise.all(pages.map((p) => docText(p.page)));
    for (const t of texts) for (const piece of pieces) expect(t).toContain(piece);
    expect(new Set(texts).size).toBe(1);
    // And the editor shows it, not just the Y.Doc.
    expect(await editorText(pages[0]!.page)).toBe(texts[0]);
    text = texts[0]!;
  });
  return text;
}

describe("the collaborative editor", () => {
  it("home page lists documents and creates a new one", async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1100, height: 720 } });
    suite.opened.push({ context, page: await context.newPage(), name: "" });
    const page = suite.opened.at(-1)!.page;
    await page.goto(suite.server.url);
    await page.locator('input[name="title"]').fill("Meeting notes");
    await page.locator('[data-testid="new-doc"]').click();
    await page.waitForURL(/\/d\/[A-Za-z0-9]+$/);
    await waitForState(page, "live");
    await page.goto(suite.server.url);
    await page.locator('[data-testid="doc-list"] a', { hasText: "Meeting notes" }).waitFor();
    await screenshot(page, "e2e-home");
  });

  it("two pages converge while both type", async () => {
    const docId = uniqueDocId("converge");
    const [a, b] = await Promise.all([open(docId), open(docId)]);
    const fromA = "Alice writes this sentence. ";
    const fromB = "Bob writes another one. ";
    await Promise.all([typeAtEnd(a.page, fromA), typeAtEnd(b.page, fromB)]);
    await converged([a, b], [fromA, fromB]);
    // Again at once, at both ends of the text this time.
    await Promise.all([typeAtStart(a.page, "Start from A. "), typeAtEnd(b.page, "End from B.")]);
    const text = await converged([a, b], [fromA, fromB, "Start from A. ", "End from B."]);
    expect(text.startsWith("Start from A. ")).toBe(true);
    expect(text.endsWith("End from B.")).toBe(true);
    expect(text.length).toBe(fromA.length + fromB.length + "Start from A. End from B.".length);
    await screenshot(a.page, "e2e-converge-a");
    await screenshot(b.page, "e2e-converge-b");
  });

  it("each page sees the other's cursor, name and presence", async () => {
    const docId = uniqueDocId("cursors");
    const a = await open(docId);
    // The second person is on a phone-sized screen: the layout must hold there too.
    const b = await open(docId, { viewport: { width: 390, height: 760 } });
    expect(a.name).not.toBe(b.name);
    await typeAtEnd(
      a.page,
      "Meeting notes\n\nEveryone on this page types into the same Yjs document.\nCarets and selections carry each person's name and colour.",
      5,
    );
    await typeAtEnd(b.page, " Hello from a phone-sized window!", 5);
    // A selects a word, so B sees a selection as well as a caret.
    await a.page.keyboard.press("Control+Home");
    await a.page.keyboard.press("Shift+Control+ArrowRight");

    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as const) {
      await me.page.locator(".cm-ySelectionInfo", { hasText: other.name }).waitFor({ timeout: 15_000 });
      await me.page.locator('[data-testid="peers"] li', { hasText: other.name }).waitFor();
      await me.page.locator('[data-testid="peers"] li', { hasText: me.name }).filter({ hasText: "you" }).waitFor();
    }
    await b.page.locator(".cm-ySelection").first().waitFor({ timeout: 15_000 });
    await screenshot(a.page, "e2e-cursors-a");
    await screenshot(b.page, "e2e-cursors-b-narrow");
  });

  it("a page that goes offline and comes back loses nothing and catches up", async () => {
    const docId = uniqueDocId("offline");
    const [a, b] = await Promise.all([open(docId), open(docId)]);
    await typeAtEnd(a.page, "Before. ");
    await converged([a, b], ["Before. "]);

    await b.context.setOffline(true);
    await waitForState(b.page, "offline");
    await typeAtEnd(a.page, "A while B is away. ");
    await typeAtEnd(b.page, "B typed offline. ");
    await new Promise((r) => setTimeout(r, 1000));
    expect(await docText(b.page)).not.toContain("A while B is away.");
    expect(await docText(a.page)).not.toContain("B typed offline.");
    await screenshot(b.page, "e2e-offline-b-away");

    await b.context.setOffline(false);
    await waitForState(b.page, "live");
    await converged([a, b], ["Before. ", "A while B is away. ", "B typed offline. "]);
    await screenshot(b.page, "e2e-offline-b-back");
  });

  it("restarting wrangler dev mid-session reconnects both pages with nothing lost", async () => {
    const docId = uniqueDocId("restart");
    const [a, b] = await Promise.all([open(docId), open(docId)]);
    await typeAtEnd(a.page, "Written before the restart. ");
    await typeAtEnd(b.page, "B too. ");
    await converged([a, b], ["Written before the restart. ", "B too. "]);

    await suite.server.down();
    await Promise.all([waitForState(a.page, "offline"), waitForState(b.page, "offline")]);
    // Both keep writing while the server is gone; the edits wait in their Y.Docs.
    await typeAtEnd(a.page, "A during the outage. ");
    await typeAtEnd(b.page, "B during the outage. ");
    await screenshot(a.page, "e2e-restart-a-down");

    await suite.server.restart();
    await Promise.all([waitForState(a.page, "live", 45_000), waitForState(b.page, "live", 45_000)]);
    await typeAtEnd(b.page, "After. ");
    const pieces = ["Written before the restart. ", "B too. ", "A during the outage. ", "B during the outage. ", "After. "];
    const text = await converged([a, b], pieces);
    await screenshot(a.page, "e2e-restart-a-back");

    // The server has it all: a fresh page loads the same text.
    const c = await open(docId);
    await eventually(async () => expect(await docText(c.page)).toBe(text));
  });

  it("a read page cannot change the document", async () => {
    const docId = uniqueDocId("read");
    const writer = await open(docId);
    await typeAtEnd(writer.page, "Only writers write here.");
    const reader = await open(docId, { access: "read" });
    await eventually(async () => expect(await docText(reader.page)).toBe("Only writers write here."));

    await reader.page.locator('[data-testid="read-only"]').waitFor();
    expect(await reader.page.locator(".cm-content").getAttribute("contenteditable")).toBe("false");
    await reader.page.locator(".cm-content").click();
    await reader.page.keyboard.type("reader typing", { delay: 10 });
    await reader.page.keyboard.press("Backspace");
    expect(await docText(reader.page)).toBe("Only writers write here.");

    // Even a tampered client that edits its Y.Doc directly changes nothing on the server.
    await reader.page.evaluate("window.lattice.provider.doc.getText('codemirror').insert(0, 'FORGED ')");
    await typeAtEnd(writer.page, " Still mine.");
    await eventually(async () => expect(await docText(reader.page)).toContain("Still mine."));
    await new Promise((r) => setTimeout(r, 500));
    expect(await docText(writer.page)).toBe("Only writers write here. Still mine.");
    const fresh = await open(docId);
    await eventually(async () => expect(await docText(fresh.page)).toBe("Only writers write here. Still mine."));
    // The reader is still listed, as viewing.
    await writer.page.locator('[data-testid="peers"] li', { hasText: reader.name }).filter({ hasText: "viewing" }).waitFor();
    await screenshot(reader.page, "e2e-read-only");
  });
});
