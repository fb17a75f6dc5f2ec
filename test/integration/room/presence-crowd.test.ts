/**
 * Presence with unmodified y-websocket providers inside workerd (through the Worker, one user each):
 * the stock provider echoes every awareness change it applies, so each newcomer's first echo names
 * everyone present. Nobody may be closed for that, and everyone must see everyone.
 */
import { describe, expect, it } from "vitest";
import type { WebsocketProvider } from "y-websocket";
import { createTestDoc, providersPerTest, synced, waitFor } from "../../helpers/sync";

const provider = providersPerTest();

/** Every close the provider saw, and whether it gave up (the stock provider's `closed`, for 4400–4499). */
function watchCloses(p: WebsocketProvider): { code: number }[] {
  const closes: { code: number }[] = [];
  p.on("connection-close", (e) => closes.push({ code: (e as { code: number } | null)?.code ?? 0 }));
  p.on("closed", (e) => closes.push({ code: e.code }));
  return closes;
}

describe("a room of stock providers", () => {
  it("40 providers join one by one, each with its own user: nobody is closed, everyone sees all 40", async () => {
    const d = await createTestDoc();
    const providers: WebsocketProvider[] = [];
    const closes: { code: number }[][] = [];
    for (let i = 0; i < 40; i++) {
      const p = provider(d.docId, await d.token("write", { userId: `user-${i}` }));
      closes.push(watchCloses(p));
      p.awareness.setLocalStateField("user", { name: `user-${i}` });
      providers.push(p);
      await synced(p);
    }
    const everyone = providers.map((p) => p.awareness.clientID).sort((a, b) => a - b);
    await waitFor(() => providers.every((p) => p.awareness.getStates().size === 40), "every provider to see all 40", 30_000);
    for (const p of providers) expect([...p.awareness.getStates().keys()].sort((a, b) => a - b)).toEqual(everyone);
    expect(closes.flat()).toEqual([]);
    expect(providers.every((p) => p.wsconnected)).toBe(true);
  }, 120_000);

  it("60 providers join in bursts of 20, then 20 leave: the rest see exactly who is left, with no reconnect", async () => {
    const d = await createTestDoc();
    const providers: WebsocketProvider[] = [];
    const closes: { code: number }[][] = [];
    for (let b = 0; b < 3; b++) {
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => d.token("write", { userId: `burst-${b}-${i}` })));
      const joined = burst.map((token) => provider(d.docId, token));
      for (const p of joined) closes.push(watchCloses(p));
      providers.push(...joined);
      await Promise.all(joined.map(synced));
      // Each burst meets a room whose presence is settled: its greeting names everyone, and so do its echoes.
      const n = providers.length;
      await waitFor(() => providers.every((p) => p.awareness.getStates().size === n), `every provider to see all ${n}`, 30_000);
    }
    const leaving = providers.slice(0, 20);
    const staying = providers.slice(20);
    for (const p of leaving) p.destroy();
    const left = new Set(staying.map((p) => p.awareness.clientID));
    // Well inside y-protocols' 30 s timeout: the removal is the server's, not the clients' own expiry.
    await waitFor(
      () => staying.every((p) => [...p.awareness.getStates().keys()].every((id) => left.has(id)) && p.awareness.getStates().size === 40),
      "the leavers to disappear",
      10_000,
    );
    expect(closes.slice(20).flat()).toEqual([]);
  }, 120_000);
});
