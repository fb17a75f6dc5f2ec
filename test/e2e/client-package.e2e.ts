/**
 * @lattice-sync/client as a user gets it before it is published: `npm pack` of packages/client (its prepack
 * builds dist/), installed with yjs, y-websocket and ws into a scratch app in a temporary directory outside
 * the repository. The app, a plain Node ESM script, connects to a real `wrangler dev`, writes, waits for
 * whenSaved(), and the server has the text; `npm ls yjs` shows one Yjs, and Yjs's own double-import warning
 * never shows. The installs come from npm's cache when they can (`--prefer-offline`), the registry otherwise.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_SECRET_KEY, NODE, ROOT, serverSuite } from "./harness";

const run = promisify(execFile);
const NPM_QUIET = ["--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"];

const suite = serverSuite();
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "lattice-client-app-"));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** The version range the repository itself uses for `name`, so the scratch app installs what CI has cached. */
function rootRange(name: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  return pkg.dependencies[name] ?? pkg.devDependencies[name]!;
}

const APP = `
import { connect } from "@lattice-sync/client";
import WebSocket from "ws";
import * as Y from "yjs";

const doc = new Y.Doc();
const lattice = connect({ url: process.env.LATTICE_URL, docId: process.env.DOC_ID, doc, getToken: () => process.env.TOKEN, WebSocketPolyfill: WebSocket });
await lattice.whenSynced();
doc.getText("t").insert(0, "written by the packed client");
await lattice.whenSaved();
console.log(JSON.stringify({ state: lattice.status.state, saved: lattice.status.saved }));
lattice.destroy();
`;

describe("the packed client package", () => {
  it("installs from its tarball into an app outside the repository and syncs there, with one copy of Yjs", async () => {
    const { stdout: packed } = await run("npm", ["pack", "--pack-destination", scratch, "--loglevel=error"], { cwd: join(ROOT, "packages", "client") });
    const tarball = readdirSync(scratch).find((f) => f.endsWith(".tgz"));
    expect(tarball, packed).toBe("lattice-sync-client-0.1.0.tgz");

    const app = join(scratch, "app");
    await run("mkdir", [app]);
    const dependencies = { "@lattice-sync/client": `file:../${tarball}`, yjs: rootRange("yjs"), "y-websocket": rootRange("y-websocket"), ws: rootRange("ws") };
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch-app", private: true, type: "module", dependencies }, null, 2));
    writeFileSync(join(app, "app.mjs"), APP);
    await run("npm", ["install", ...NPM_QUIET], { cwd: app, timeout: 240_000 });

    // One Yjs: the client and y-websocket use the app's (peer dependencies), none of their own.
    const { stdout: yjsCopies } = await run("npm", ["ls", "yjs", "--all", "--parseable"], { cwd: app });
    expect(yjsCopies.trim().split("\n")).toEqual([join(app, "node_modules", "yjs")]);

    const docId = `packed-${Date.now().toString(36)}`;
    const minted = await fetch(`${suite.server.url}/v1/docs/${docId}/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${DEMO_SECRET_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ userId: "packed", access: "write", create: true }),
    });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    const { stdout, stderr } = await run(NODE, ["app.mjs"], {
      cwd: app,
      env: { ...process.env, LATTICE_URL: suite.server.url, DOC_ID: docId, TOKEN: token },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout.trim())).toEqual({ state: "live", saved: true });
    expect(stderr).not.toMatch(/already imported/i);
    const stored = await fetch(`${suite.server.url}/v1/docs/${docId}/json`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
    expect(await stored.json()).toEqual({ t: "written by the packed client" });
  });
});
