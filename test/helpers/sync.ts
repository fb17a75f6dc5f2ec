/** Helpers for sync tests: catalog rows straight in D1, client tokens, real y-websocket providers, raw sockets. */
import { env, SELF } from "cloudflare:test";
import { drizzle } from "drizzle-orm/d1";
import { afterEach } from "vitest";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { mintClientToken, type Access } from "../../src/auth/client-token";
import { apiKeys, documents, projects } from "../../src/db/schema";
import { WorkerdWebSocket } from "./workerd-websocket";

export const BASE = "http://lattice.test";

let counter = 0;
const unique = (p: string) => `${p}${Date.now().toString(36)}${(counter++).toString(36)}`;

export interface TestDoc {
  projectId: string;
  keyId: string;
  docId: string;
  token(access?: Access, opts?: { userId?: string; exp?: number; docId?: string }): Promise<string>;
}

/** A project, a live key and a document, written directly to D1 (the REST routes have their own tests). */
export async function createTestDoc(docId = unique("doc-")): Promise<TestDoc> {
  const db = drizzle(env.DB);
  const projectId = unique("prj_");
  const keyId = unique("key_");
  const now = Date.now();
  await db.insert(projects).values({ id: projectId, name: "test", createdAt: now });
  await db.insert(apiKeys).values({ id: keyId, projectId, name: "test", hash: unique("hash"), createdAt: now });
  await db.insert(documents).values({ projectId, id: docId, createdAt: now, updatedAt: now });
  return {
    projectId,
    keyId,
    docId,
    token: (access = "write", opts = {}) =>
      mintClientToken(env.TOKEN_SECRET, {
        userId: opts.userId ?? "user-1",
        projectId,
        docId: opts.docId ?? docId,
        access,
        keyId,
        exp: opts.exp ?? Math.floor(Date.now() / 1000) + 3600,
      }),
  };
}

export function syncUrl(docId: string, token: string): string {
  return `${BASE.replace(/^http/, "ws")}/v1/sync/${encodeURIComponent(docId)}?token=${encodeURIComponent(token)}`;
}

/** An unmodified y-websocket provider connected through the Worker. */
export function connectProvider(docId: string, token: string, doc = new Y.Doc()): WebsocketProvider {
  return new WebsocketProvider(`${BASE.replace(/^http/, "ws")}/v1/sync`, docId, doc, {
    params: { token },
    // y-websocket types its polyfill as the DOM WebSocket; the adapter implements the part it uses.
    WebSocketPolyfill: WorkerdWebSocket as never,
    disableBc: true,
    maxBackoffTime: 200,
  });
}

export async function waitFor(check: () => boolean, what = "condition", timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const synced = (p: WebsocketProvider) => waitFor(() => p.synced, "provider synced");

/** A raw socket: every received frame is kept, the close is recorded. */
export interface RawSocket {
  ws: WebSocket;
  received: Uint8Array[];
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
}

/** `query` adds to the URL (e.g. `saved=1`); `headers` to the upgrade request. */
export async function openRaw(docId: string, token: string, opts: { query?: string; headers?: Record<string, string> } = {}): Promise<RawSocket> {
  const extra = opts.query ? `&${opts.query}` : "";
  const res = await SELF.fetch(`${BASE}/v1/sync/${encodeURIComponent(docId)}?token=${encodeURIComponent(token)}${extra}`, {
    headers: { Upgrade: "websocket", ...opts.headers },
  });
  const ws = res.webSocket;
  if (!ws) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  ws.binaryType = "arraybuffer";
  ws.accept();
  const received: Uint8Array[] = [];
  let done = false;
  ws.addEventListener("message", (e) => {
    if (typeof e.data !== "string") received.push(new Uint8Array(e.data as ArrayBuffer));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener("close", (e) => {
      done = true;
      resolve({ code: e.code, reason: e.reason });
    });
  });
  return { ws, received, closed, isClosed: () => done };
}

export function destroyAll(...providers: WebsocketProvider[]): void {
  for (const p of providers) p.destroy();
}

/** Providers for one test file, destroyed after each test: call once at the top of the file. */
export function providersPerTest(): (docId: string, token: string, doc?: Y.Doc) => WebsocketProvider {
  const open: WebsocketProvider[] = [];
  afterEach(() => destroyAll(...open.splice(0)));
  return (docId, token, doc) => {
    const p = connectProvider(docId, token, doc);
    open.push(p);
    return p;
  };
}
