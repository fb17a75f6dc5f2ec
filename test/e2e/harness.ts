/** The e2e harness: a real `wrangler dev` in dev mode, Chromium through playwright-core, and page helpers. */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { mintClientToken } from "../../src/auth/client-token";
// @ts-expect-error: a plain .mjs helper shared with `npm run dev` and the benchmarks; typed at the use site below.
import { freePort as freePortUntyped, NODE as NODE_UNTYPED, ROOT as ROOT_UNTYPED, startWranglerDev as startUntyped } from "../../scripts/lib/wrangler-dev.mjs";
export { eventually } from "../helpers/eventually";

export interface WranglerDev {
  url: string;
  stop(signal?: string): Promise<void>;
  output(): string;
}
/** scripts/lib/wrangler-dev.mjs, typed once here for every e2e file. */
export const startWranglerDev = startUntyped as (opts: { port: number; persistTo: string; vars: Record<string, string>; migrate?: boolean }) => Promise<WranglerDev>;
export const freePort = freePortUntyped as () => Promise<number>;
/** The repository's root, and the Node (node@22 from node_modules/.bin) that wrangler and the example servers run with. */
export const ROOT = ROOT_UNTYPED as string;
export const NODE = NODE_UNTYPED as string;

export const RESULTS = join(ROOT, "test-results");
export const E2E_ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef-0123";
export const E2E_TOKEN_SECRET = "e2e-token-secret-0123456789abcdef";
/** The demo project's public secret key (src/routes/dev.ts, which Node cannot import: it pulls in cloudflare:*). */
export const DEMO_SECRET_KEY = "sk_demo_dev_only_not_secret";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** One wrangler dev with its own port and persist dir, which `restart()` keeps so state survives. */
export class Server {
  private dev: WranglerDev | undefined;
  private constructor(
    readonly port: number,
    readonly persistTo: string,
    private readonly extraVars: Record<string, string> = {},
  ) {}

  /** `vars` adds to (or overrides) the dev-mode vars; every limit not named keeps its default. */
  static async start(vars: Record<string, string> = {}): Promise<Server> {
    const s = new Server(await freePort(), mkdtempSync(join(tmpdir(), "lattice-e2e-")), vars);
    await s.up();
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async up(migrate = true): Promise<void> {
    // A dev registry of its own: with the shared one, another `wrangler dev` of this Worker on the machine
    // (a developer's, a benchmark's) registers the same queue consumer and may take this one's messages.
    process.env.WRANGLER_REGISTRY_PATH = join(this.persistTo, "dev-registry");
    // Secrets passed explicitly: CI has no .dev.vars.
    this.dev = await startWranglerDev({
      port: this.port,
      persistTo: this.persistTo,
      migrate,
      vars: { DEV_MODE: "true", ADMIN_TOKEN: E2E_ADMIN_TOKEN, TOKEN_SECRET: E2E_TOKEN_SECRET, ...this.extraVars },
    });
  }

  /** Stops wrangler dev (SIGTERM by default; SIGKILL for a crash: nothing gets to finish). */
  async down(signal?: string): Promise<void> {
    await this.dev?.stop(signal);
    this.dev = undefined;
  }

  /** What wrangler dev and the Worker printed (the last 100 kB), e.g. to check that no secret was logged. */
  output(): string {
    return this.dev?.output() ?? "";
  }

  /**
   * Stops (if still running) and starts again on the same port and persist dir; migrations are already
   * there. `vars` changes vars from here on (e.g. turns a test knob off after a crash).
   */
  async restart(vars: Record<string, string> = {}): Promise<void> {
    await this.down();
    Object.assign(this.extraVars, vars);
    await this.up(false);
  }

  async dispose(): Promise<void> {
    await this.down();
    rmSync(this.persistTo, { recursive: true, force: true });
  }
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium`);
  mkdirSync(RESULTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

let counter = 0;
export const uniqueDocId = (prefix: string) => `${prefix}-${Date.now().toString(36)}${(counter++).toString(36)}`;

export interface OpenedPage {
  page: Page;
  context: BrowserContext;
  name: string;
}

/** A new browser context (its own session, so its own name and colour) on /d/{docId}, waited until live. */
export async function openDoc(
  browser: Browser,
  server: Server,
  docId: string,
  opts: { access?: "read" | "write"; viewport?: { width: number; height: number } } = {},
): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1100, height: 720 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  const query = opts.access === "read" ? "?access=read" : "";
  await page.goto(`${server.url}/d/${encodeURIComponent(docId)}${query}`);
  await waitForState(page, "live");
  const name = await page.locator('[data-testid="name"]').inputValue();
  return { page, context, name };
}

export async function waitForState(page: Page, state: "connecting" | "live" | "offline", timeout = 30_000): Promise<void> {
  await page.locator(`[data-testid="status"][data-state="${state}"]`).waitFor({ timeout });
}

/** The page's Y.Text, straight from its Y.Doc: what the provider has, not what happens to be rendered. */
export function docText(page: Page): Promise<string> {
  return page.evaluate("window.lattice.provider.doc.getText('codemirror').toString()") as Promise<string>;
}

/** What CodeMirror holds in its own state (the DOM also carries remote carets and their name labels). */
export function editorText(page: Page): Promise<string> {
  return page.evaluate("window.lattice.view.state.doc.toString()") as Promise<string>;
}

/** Types at the end of the document, as a person would: click into the editor, go to the end, type. */
export async function typeAtEnd(page: Page, text: string, delay = 15): Promise<void> {
  await typeAt(page, "Control+End", text, delay);
}

export async function typeAtStart(page: Page, text: string, delay = 15): Promise<void> {
  await typeAt(page, "Control+Home", text, delay);
}

async function typeAt(page: Page, key: string, text: string, delay: number): Promise<void> {
  await page.locator(".cm-content").click();
  await page.keyboard.press(key);
  await page.keyboard.type(text, { delay });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(RESULTS, `${name}.png`) });
}

/** A demo document created by the dev route, and its one-hour dev token (user `u-{docId}`). */
export async function devDoc(server: { url: string }, prefix: string): Promise<{ docId: string; token: string }> {
  const docId = uniqueDocId(prefix);
  const res = await fetch(`${server.url}/dev/docs/${docId}/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId: `u-${docId}` }),
  });
  if (res.status !== 201) throw new Error(`dev token: ${res.status} ${await res.text()}`);
  return { docId, token: ((await res.json()) as { token: string }).token };
}

/** A write token with the dev token's claims (its incarnation included), expiring in `seconds`, for `userId` (the dev token's by default). */
export function shortToken(docId: string, devToken: string, seconds: number, userId = `u-${docId}`): Promise<string> {
  const claims = JSON.parse(Buffer.from(devToken.split(".")[1]!, "base64url").toString()) as { inc?: string };
  return mintClientToken(E2E_TOKEN_SECRET, {
    userId,
    projectId: "demo",
    docId,
    access: "write",
    keyId: "demo-key",
    exp: Math.floor(Date.now() / 1000) + seconds,
    incarnation: claims.inc,
  });
}

/**
 * A wrangler dev and a Chromium for one test file: started before its tests, stopped after them (every page
 * in `suite.opened` is closed first). Tests read `suite.server` and `suite.browser`.
 */
export function browserSuite() {
  const opened: OpenedPage[] = [];
  const suite = {
    server: undefined as unknown as Server,
    browser: undefined as unknown as Browser,
    /** Pages closed after the file's tests: `open` adds its own; a test that makes a context itself may add it. */
    opened,
    /** openDoc on this suite's browser and server, closed after the file's tests. */
    async open(docId: string, opts?: Parameters<typeof openDoc>[3]): Promise<OpenedPage> {
      const p = await openDoc(suite.browser, suite.server, docId, opts);
      opened.push(p);
      return p;
    },
  };
  beforeAll(async () => {
    [suite.server, suite.browser] = await Promise.all([Server.start(), launch()]);
  });
  afterAll(async () => {
    await Promise.all(opened.map((p) => p.context.close().catch(() => undefined)));
    await suite.browser?.close();
    await suite.server?.dispose();
  });
  return suite;
}

/**
 * One `wrangler dev` for a test file, and the providers (or clients) its tests open: destroyed after the file.
 * `vars` as for `Server.start` (every limit not named keeps its default).
 */
export function serverSuite<P extends { destroy(): void } = { destroy(): void }>(vars: Record<string, string> = {}) {
  const suite = { server: undefined as unknown as Server, open: [] as P[] };
  beforeAll(async () => {
    suite.server = await Server.start(vars);
  });
  afterAll(async () => {
    for (const p of suite.open) p.destroy();
    await suite.server?.dispose();
  });
  return suite;
}
