/**
 * The apps in examples/, each as `npm run example:…` serves it (its page and its token endpoint, which holds
 * the secret key), against a real `wrangler dev` as `npm run dev` runs it, in Chromium: two pages of each
 * open the same document, and what is typed in one appears in the other. Nothing of Lattice is imported by
 * the pages but the token answer: the stock y-websocket provider, Tiptap's Collaboration extension (React)
 * and y-codemirror.next. Also: the pages load one copy of Yjs ("Yjs was already imported" never shows).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { browserSuite, DEMO_SECRET_KEY, eventually, freePort, NODE, ROOT, uniqueDocId } from "./harness";

const suite = browserSuite();
const servers: ChildProcess[] = [];
afterAll(() => {
  for (const s of servers) s.kill();
});

/** Starts `node examples/serve.mjs <name>` against the suite's Lattice; resolves with its URL once it listens. */
async function serveExample(name: string): Promise<string> {
  const port = await freePort();
  const child = spawn(NODE, [join(ROOT, "examples", "serve.mjs"), name], {
    env: { ...process.env, PORT: String(port), LATTICE_URL: suite.server.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  servers.push(child);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d;
      if (output.includes(`http://localhost:${port}`)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`examples/serve.mjs ${name} exited with ${code}:\n${output}`)));
  });
  return `http://127.0.0.1:${port}`;
}

/** A page of the example on `docId`, in its own browser context, once its provider has synced. */
async function openExample(url: string, docId: string): Promise<{ page: Page; warnings: string[] }> {
  const context = await suite.browser.newContext();
  const page = await context.newPage();
  const warnings: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "warning" || m.type() === "error") warnings.push(m.text());
  });
  page.on("pageerror", (e) => warnings.push(e.message));
  await page.goto(`${url}/?doc=${encodeURIComponent(docId)}`);
  await page.waitForFunction("window.example?.provider.synced === true", undefined, { timeout: 30_000 });
  return { page, warnings };
}

const cases = [
  { name: "tiptap-react", editor: ".ProseMirror" },
  { name: "codemirror", editor: ".cm-content" },
];

describe.each(cases)("examples/$name", ({ name, editor }) => {
  it("two pages on one document: text typed in one appears in the other, both ways, through Lattice", async () => {
    const url = await serveExample(name);
    const docId = uniqueDocId(name);
    const [a, b] = [await openExample(url, docId), await openExample(url, docId)];
    await a.page.locator(editor).click();
    await a.page.keyboard.type("Hello from the first page.", { delay: 10 });
    await eventually(async () => expect(await b.page.locator(editor).textContent()).toContain("Hello from the first page."));
    await b.page.locator(editor).click();
    await b.page.keyboard.press("Control+End");
    await b.page.keyboard.type(" And back.", { delay: 10 });
    await eventually(async () => expect(await a.page.locator(editor).textContent()).toContain("And back."));
    // The document was created by the token endpoint's first call, and Lattice stored what was typed.
    await eventually(async () => {
      const res = await fetch(`${suite.server.url}/v1/docs/${docId}/json`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
      expect(res.status).toBe(200);
      expect(JSON.stringify(await res.json())).toContain("Hello from the first page. And back.");
    });
    expect([...a.warnings, ...b.warnings].filter((w) => /already imported|error/i.test(w))).toEqual([]);
  });
});
