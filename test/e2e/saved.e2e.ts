/**
 * The demo's save state ("Saving…" / "Saved", from @lattice-sync/client's `saved`) in Chromium against a
 * real `wrangler dev`: "Saved" shows only once the server has committed the text, never while the server
 * is down, and again after it comes back, with nothing lost.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSuite, DEMO_SECRET_KEY, docText, screenshot, typeAtEnd, uniqueDocId, waitForState } from "./harness";

const suite = browserSuite();

const saveState = (page: Page) => page.locator('[data-testid="saved"]').getAttribute("data-state");
const connState = (page: Page) => page.locator('[data-testid="status"]').getAttribute("data-state");

async function serverText(docId: string): Promise<string> {
  const res = await fetch(`${suite.server.url}/v1/docs/${docId}/json`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as Record<string, string>).codemirror ?? "";
}

/** Polls the pill until it says "saved" and, at that moment, reads what the server has stored. */
async function untilSaved(page: Page, docId: string, timeout = 30_000): Promise<{ local: string; stored: string }> {
  const until = Date.now() + timeout;
  for (;;) {
    if ((await saveState(page)) === "saved") {
      const local = await docText(page);
      return { local, stored: await serverText(docId) };
    }
    if (Date.now() > until) throw new Error(`never saved (state ${await saveState(page)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the save state", () => {
  it('"Saved" only after the server committed; never while it is down; again after it is back, nothing lost', async () => {
    const docId = uniqueDocId("saved");
    const a = await suite.open(docId);
    const { page } = a;
    // y-websocket logs "Unable to compute message" for a message type it has no handler for: the client registers one for 100.
    const consoleErrors: string[] = [];
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    expect(await saveState(page)).toBe("saved"); // nothing typed yet

    // Typing: "Saving…" at once; "Saved" only when the REST JSON (the committed document) has the text.
    for (const piece of ["First line. ", "Second line. ", "Third. "]) {
      await typeAtEnd(page, piece, 5);
      const { local, stored } = await untilSaved(page, docId);
      expect(local).toContain(piece);
      expect(stored).toBe(local);
    }
    // Read in the same task as the edit: the pill turns "saving" synchronously, before any server answer.
    const rightAfter = await page.evaluate(`(() => {
      const v = window.lattice.view;
      v.dispatch({ changes: { from: v.state.doc.length, insert: "!" } });
      return document.querySelector('[data-testid="saved"]').dataset.state;
    })()`);
    expect(rightAfter).toBe("saving");
    await untilSaved(page, docId);

    // The server goes away while the user types.
    await typeAtEnd(page, "Typed as the server stops. ", 5);
    await suite.server.down();
    await typeAtEnd(page, "Typed while it is down. ", 5);
    await waitForState(page, "offline");
    for (const until = Date.now() + 4000; Date.now() < until; ) {
      expect(await saveState(page)).toBe("saving");
      expect(await connState(page)).not.toBe("live");
      await new Promise((r) => setTimeout(r, 100));
    }
    await screenshot(page, "e2e-saved-server-down");

    // Back: it reconnects and saves everything.
    await suite.server.restart();
    await waitForState(page, "live");
    const { local, stored } = await untilSaved(page, docId);
    expect(stored).toBe(local);
    for (const piece of ["First line. ", "Second line. ", "Third. !", "Typed as the server stops. ", "Typed while it is down. "]) expect(stored).toContain(piece);
    expect(await page.locator('[data-testid="saved"]').textContent()).toBe("Saved");
    await screenshot(page, "e2e-saved");
    expect(consoleErrors.filter((e) => /compute message/.test(e))).toEqual([]);
  });
});
