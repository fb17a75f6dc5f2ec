/**
 * Crash without loss: a real `wrangler dev` (child process group) takes writes from y-websocket clients in
 * Node and from REST, and is killed with SIGKILL at a random moment; restarted on the same persist dir,
 * it must hold every update that was acknowledged before the kill: seen by another client, or answered
 * 200 by `POST …/update`. KILL_POINTS kill points (default 20), seeded (CRASH_SEED).
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { prng } from "../helpers/fuzz";
import { serverSuite } from "./harness";

const KILL_POINTS = Number(process.env.KILL_POINTS ?? 20);
const SEED = Number(process.env.CRASH_SEED ?? 0xc0ffee);
const ADMIN = "crash-admin-token-0123456789abcdef";
/** Not dev mode: no demo project, no /dev routes; `restart()` keeps the port and the persist dir. */
const suite = serverSuite({ ADMIN_TOKEN: ADMIN, TOKEN_SECRET: "crash-token-secret-0123456789abcdef", DEV_MODE: "false" });
const url = () => suite.server.url;

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function serverKeys(docId: string, secretKey: string): Promise<Set<string>> {
  const res = await fetch(`${url()}/v1/docs/${docId}/update`, { headers: { authorization: `Bearer ${secretKey}` } });
  if (res.status !== 200) throw new Error(`GET update: ${res.status} ${await res.text()}`);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()));
  return new Set(doc.getMap("acks").keys());
}

describe("crash without loss", () => {
  it(`SIGKILL at ${KILL_POINTS} random moments loses no acknowledged update`, async () => {
    const rng = prng(SEED);
    const project = await json<{ secretKey: string }>(
      await fetch(`${url()}/v1/projects`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "crash" }),
      }),
      201,
    );
    const key = project.secretKey;
    const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const doc = await json<{ id: string }>(await fetch(`${url()}/v1/docs`, { method: "POST", headers: auth, body: JSON.stringify({ id: "crash-doc" }) }), 201);
    const acked = new Set<string>();
    let totalAcked = 0;
    const perPoint: number[] = [];

    for (let k = 0; k < KILL_POINTS; k++) {
      const tokens = await Promise.all(
        ["A", "B", "C"].map(async (userId) =>
          json<{ token: string }>(
            await fetch(`${url()}/v1/docs/${doc.id}/tokens`, { method: "POST", headers: auth, body: JSON.stringify({ userId, access: "write" }) }),
            201,
          ),
        ),
      );
      const providers = tokens.map(
        ({ token }) =>
          new WebsocketProvider(`${url().replace(/^http/, "ws")}/v1/sync`, doc.id, new Y.Doc(), {
            params: { token },
            WebSocketPolyfill: WebSocket as never,
            disableBc: true,
            maxBackoffTime: 200,
          }),
      );
      const names = ["A", "B", "C"];
      // Seen by another client = acknowledged: the server stores before it forwards.
      providers.forEach((p, i) =>
        p.doc.getMap("acks").observe((e) => {
          for (const key of e.keysChanged) if (!key.startsWith(`${names[i]}:`)) acked.add(key);
        }),
      );
      await Promise.all(providers.map((p) => new Promise<void>((r) => (p.synced ? r() : p.once("sync", () => r())))));
      let running = true;
      const writers = providers
        .filter((_, i) => i !== 1) // B only watches
        .map(async (p, i) => {
          const name = i === 0 ? "A" : "C";
          for (let n = 0; running; n++) {
            p.doc.getMap("acks").set(`${name}:${k}:${n}`, "x".repeat(1 + (n % 50)));
            await new Promise((r) => setTimeout(r, 2 + (n % 5)));
          }
        });
      // A REST writer: its update counts once it has a 200.
      const restWriter = (async () => {
        const src = new Y.Doc();
        for (let n = 0; running; n++) {
          const sv = Y.encodeStateVector(src);
          src.getMap("acks").set(`R:${k}:${n}`, n);
          try {
            const res = await fetch(`${url()}/v1/docs/${doc.id}/update`, {
              method: "POST",
              headers: { authorization: `Bearer ${key}`, "content-type": "application/octet-stream" },
              body: Y.encodeStateAsUpdate(src, sv),
            });
            if (res.status === 200) acked.add(`R:${k}:${n}`);
            else await res.text();
          } catch {
            // the server died under the request: not acknowledged
          }
        }
      })();
      // A random moment, mid-write.
      await new Promise((r) => setTimeout(r, 150 + rng.int(1200)));
      await suite.server.down("SIGKILL");
      running = false;
      // The clients go away with the server: none may re-send its local state and hide a loss.
      for (const p of providers) p.destroy();
      await Promise.all([...writers, restWriter]);
      const ackedNow = [...acked];
      totalAcked = ackedNow.length;
      await suite.server.restart();
      const present = await serverKeys(doc.id, key);
      const lost = ackedNow.filter((x) => !present.has(x));
      expect(lost, `kill point ${k}: lost ${lost.length} of ${ackedNow.length} acknowledged updates`).toEqual([]);
      perPoint.push(ackedNow.length - perPoint.reduce((a, b) => a + b, 0));
    }
    console.info(`acknowledged updates per kill point: ${perPoint.join(", ")}; 0 lost`);
    // The writers did write: dozens of acknowledged updates per kill point.
    expect(totalAcked).toBeGreaterThan(KILL_POINTS * 10);
  }, 240_000);
});
