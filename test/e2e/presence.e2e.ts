/**
 * Presence at scale against a real `wrangler dev` with every limit at its default: hundreds of
 * unmodified y-websocket providers (Node's `ws`, default options), each a different user, joining one by
 * one and in bursts. The stock provider echoes every awareness change it applies, so every newcomer's
 * first echo names everyone present: nobody may be closed for that, everyone must see everyone, a
 * cursor move must reach everyone, and a leaver must disappear from every peer before y-protocols' own
 * 30 s timeout would have removed it. Speed lives in bench W8; here only behaviour.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { devDoc, eventually, serverSuite, shortToken } from "./harness";

const suite = serverSuite<WebsocketProvider>();

interface Joined {
  p: WebsocketProvider;
  closes: number[];
}

async function join(docId: string, devToken: string, userId: string): Promise<Joined> {
  const p = new WebsocketProvider(`${suite.server.url.replace(/^http/, "ws")}/v1/sync`, docId, new Y.Doc(), {
    params: { token: await shortToken(docId, devToken, 3600, userId) },
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  });
  suite.open.push(p);
  const closes: number[] = [];
  p.on("connection-close", (e) => closes.push((e as { code: number } | null)?.code ?? 0));
  p.on("closed", (e) => closes.push(e.code));
  p.awareness.setLocalStateField("user", { name: userId });
  return { p, closes };
}

const sees = (j: Joined) => j.p.awareness.getStates().size;

describe("hundreds of stock providers in one document", () => {
  it("100 join one by one, then 200 in bursts of 50: nobody is closed, everyone sees all 300, a cursor move reaches everyone, leavers disappear", async () => {
    const { docId, token } = await devDoc(suite.server, "crowd");
    const crowd: Joined[] = [];
    for (let i = 0; i < 100; i++) {
      const j = await join(docId, token, `one-${i}`);
      crowd.push(j);
      await eventually(async () => expect(j.p.synced).toBe(true), 30_000);
    }
    await eventually(async () => expect(crowd.filter((j) => sees(j) !== 100)).toHaveLength(0), 30_000);
    for (let b = 0; b < 4; b++) {
      crowd.push(...(await Promise.all(Array.from({ length: 50 }, (_, i) => join(docId, token, `burst-${b}-${i}`)))));
      const n = crowd.length;
      await eventually(async () => expect(crowd.filter((j) => sees(j) !== n)).toHaveLength(0), 30_000);
    }
    expect(crowd.flatMap((j) => j.closes)).toEqual([]);
    expect(crowd.every((j) => j.p.wsconnected)).toBe(true);

    // A real change (a cursor) reaches every peer.
    const mover = crowd[123]!;
    mover.p.awareness.setLocalStateField("cursor", { anchor: 42 });
    const moverId = mover.p.awareness.clientID;
    await eventually(
      async () => expect(crowd.filter((j) => (j.p.awareness.getStates().get(moverId) as { cursor?: { anchor: number } })?.cursor?.anchor !== 42)).toHaveLength(0),
      10_000,
    );

    // 30 leave: within 10 s (y-protocols' own timeout is 30 s) every remaining peer has dropped them.
    const leaving = crowd.splice(0, 30);
    for (const j of leaving) j.p.destroy();
    const gone = new Set(leaving.map((j) => j.p.awareness.clientID));
    await eventually(
      async () => expect(crowd.filter((j) => sees(j) !== 270 || [...j.p.awareness.getStates().keys()].some((id) => gone.has(id)))).toHaveLength(0),
      10_000,
    );
    expect(crowd.flatMap((j) => j.closes)).toEqual([]);
  }, 240_000);
});
