/**
 * Convergence under chaos (fast-check): 3–6 real y-websocket providers make random edits on a Y.Text,
 * a Y.Map and a Y.Array, disconnect and reconnect at random, the object is evicted, and REST writes are
 * mixed in. After quiescence every client and the server (GET …/update) hold the same state.
 *
 * `npm test` runs a few runs with a fixed seed. Long mode: `CHAOS_RUNS=2000 npx vitest run test/integration/room/chaos.test.ts`
 * (CHAOS_SEED picks another seed; a failure prints the seed and path to replay it).
 */
import { env, evictDurableObject, SELF } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { roomStub } from "../../../src/room/stub";
import { BASE, connectProvider, createTestDoc, destroyAll, waitFor } from "../../helpers/sync";

const knobs = inject("knobs");
const RUNS = knobs.CHAOS_RUNS ?? 25;
const SEED = knobs.CHAOS_SEED ?? 20261127;

const open: WebsocketProvider[] = [];
afterEach(() => destroyAll(...open.splice(0)));

type Action =
  | { kind: "text"; client: number; pos: number; del: number; ins: string }
  | { kind: "map"; client: number; key: string; value: number | string | null }
  | { kind: "array"; client: number; pos: number; del: number; ins: number[] }
  | { kind: "disconnect"; client: number }
  | { kind: "connect"; client: number }
  | { kind: "evict" }
  | { kind: "rest"; pos: number; ins: string; key: string }
  | { kind: "pause"; ms: number };

const client = fc.nat(5);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("text" as const), client, pos: fc.nat(50), del: fc.nat(3), ins: fc.string({ maxLength: 6 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("map" as const),
      client,
      key: fc.constantFrom("a", "b", "c", "d"),
      value: fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("array" as const), client, pos: fc.nat(20), del: fc.nat(2), ins: fc.array(fc.integer(), { maxLength: 3 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("disconnect" as const), client }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("connect" as const), client }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("evict" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("rest" as const), pos: fc.nat(50), ins: fc.string({ minLength: 1, maxLength: 6 }), key: fc.constantFrom("a", "e") }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("pause" as const), ms: fc.integer({ min: 0, max: 30 }) }) },
);

function view(doc: Y.Doc) {
  const map = doc.getMap("m").toJSON();
  // Keys sorted: a map's iteration order depends on each replica's insertion order, its content does not.
  const sorted = Object.fromEntries(
    Object.keys(map)
      .sort()
      .map((k) => [k, map[k]]),
  );
  return { text: doc.getText("t").toString(), map: sorted, array: doc.getArray("a").toJSON() };
}

async function serverDoc(docId: string, token: string): Promise<Y.Doc> {
  const res = await SELF.fetch(`${BASE}/v1/docs/${docId}/update`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`GET update: ${res.status} ${await res.text()}`);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()));
  return doc;
}

function apply(doc: Y.Doc, a: Action): void {
  doc.transact(() => {
    if (a.kind === "text") {
      const t = doc.getText("t");
      const pos = Math.min(a.pos, t.length);
      t.delete(pos, Math.min(a.del, t.length - pos));
      if (a.ins) t.insert(pos, a.ins);
    } else if (a.kind === "map") {
      if (a.value === null) doc.getMap("m").delete(a.key);
      else doc.getMap("m").set(a.key, a.value);
    } else if (a.kind === "array") {
      const arr = doc.getArray<number>("a");
      const pos = Math.min(a.pos, arr.length);
      arr.delete(pos, Math.min(a.del, arr.length - pos));
      if (a.ins.length > 0) arr.insert(pos, a.ins);
    }
  });
}

describe("convergence under chaos", () => {
  it(
    `clients, object evictions and REST writers converge (${RUNS} runs, seed ${SEED})`,
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 3, max: 6 }), fc.array(action, { minLength: 5, maxLength: 40 }), async (n, actions) => {
          const d = await createTestDoc();
          const token = await d.token("write", { userId: "rest" });
          const providers: WebsocketProvider[] = [];
          for (let i = 0; i < n; i++) {
            const p = connectProvider(d.docId, await d.token("write", { userId: `c${i}` }));
            open.push(p);
            providers.push(p);
          }
          const stub = roomStub(env, d);
          const rest = new Y.Doc();
          try {
            for (const a of actions) {
              switch (a.kind) {
                case "disconnect":
                  providers[a.client % n]!.disconnect();
                  break;
                case "connect":
                  providers[a.client % n]!.connect();
                  break;
                case "evict":
                  try {
                    await evictDurableObject(stub);
                  } catch (e) {
                    // Evicting an object that is not in memory (already evicted, never woken) is a no-op here.
                    if (!String(e).includes("not currently running")) throw e;
                  }
                  break;
                case "pause":
                  await new Promise((r) => setTimeout(r, a.ms));
                  break;
                case "rest": {
                  // A REST writer edits on top of what the server holds, and POSTs the diff.
                  Y.applyUpdate(rest, Y.encodeStateAsUpdate(await serverDoc(d.docId, token)));
                  const sv = Y.encodeStateVector(rest);
                  apply(rest, { kind: "text", client: 0, pos: a.pos, del: 0, ins: a.ins });
                  rest.getMap("m").set(a.key, `rest:${a.ins}`);
                  const res = await SELF.fetch(`${BASE}/v1/docs/${d.docId}/update`, {
                    method: "POST",
                    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
                    body: Y.encodeStateAsUpdate(rest, sv),
                  });
                  if (res.status !== 200) throw new Error(`POST update: ${res.status} ${await res.text()}`);
                  break;
                }
                default:
                  apply(providers[a.client % n]!.doc, a);
              }
            }
            // Quiescence: everyone back online, then every client equals the server.
            for (const p of providers) if (!p.shouldConnect) p.connect();
            let server = view(await serverDoc(d.docId, token));
            await waitFor(() => providers.every((p) => p.synced && p.wsconnected), "every provider to reconnect and sync", 15_000);
            const until = Date.now() + 15_000;
            for (;;) {
              server = view(await serverDoc(d.docId, token));
              const s = JSON.stringify(server);
              if (providers.every((p) => JSON.stringify(view(p.doc)) === s)) break;
              if (Date.now() > until) {
                expect(providers.map((p) => view(p.doc))).toEqual(providers.map(() => server));
                throw new Error("views differ only in serialisation");
              }
              await new Promise((r) => setTimeout(r, 20));
            }
            // Nothing any client wrote is missing on the server (every client's state vector is covered).
            const serverSv = Y.decodeStateVector(Y.encodeStateVector(await serverDoc(d.docId, token)));
            for (const p of providers) {
              for (const [id, clock] of Y.decodeStateVector(Y.encodeStateVector(p.doc))) expect(serverSv.get(id) ?? 0).toBeGreaterThanOrEqual(clock);
            }
          } finally {
            destroyAll(...providers);
            open.splice(0);
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
    Math.max(60_000, RUNS * 20_000),
  );
});
