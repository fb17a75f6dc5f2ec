/**
 * Hostile frames through a live Durable Object (openRaw): each bad frame closes only its own socket with
 * 1002/1003/1009, the document is unchanged, and two honest providers stay in sync throughout.
 * Plus the limits that are cheap to show live: 10,000 client ids (4422), someone else's awareness id,
 * and a revoked key's tokens refused for new connections.
 */
import { env, SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as encoding from "lib0/encoding";
import { describe, expect, inject, it } from "vitest";
import * as Y from "yjs";
import { apiKeys } from "../../../src/db/schema";
import { readLimits } from "../../../src/room/limits";
import { roomStub } from "../../../src/room/stub";
import { decodeFrame, encodeAwareness, encodeUpdate } from "../../../src/sync/frames";
import { hostileFrame, prng, realFrames } from "../../helpers/fuzz";
import { BASE, createTestDoc, openRaw, synced, waitFor, providersPerTest } from "../../helpers/sync";
import type { SequentialTrace } from "../../helpers/traces";
import { storedUpdate } from "../../helpers/room-calls";

const LIVE_FRAMES = 2000;
const PARALLEL = 40;

const provider = providersPerTest();

const real = realFrames(inject("traces").friendsforever_flat as SequentialTrace, 100);

/** Frames the contract says must close the socket: undecodable (1002), text (1003), too big (1009). */
function badFrames(n: number, seed: number): { frame: Uint8Array | string; code: number }[] {
  const rng = prng(seed);
  const out: { frame: Uint8Array | string; code: number }[] = [];
  // One over the frame limit (the platform's 32 MiB by default): it is costly to send, so only once.
  const big = new Uint8Array(readLimits(env).maxFrameBytes + 1);
  while (out.length < n) {
    const i = out.length;
    if (i === 7) out.push({ frame: big, code: 1009 });
    else if (i % 50 === 3) out.push({ frame: rng.pick(["hello", "", "\u0000", JSON.stringify({ type: "sync" })]), code: 1003 });
    else {
      const frame = hostileFrame(rng, real);
      const decoded = decodeFrame(frame);
      if (decoded.ok) continue; // accepted frames are the unit fuzz's business; here every frame must close
      out.push({ frame, code: 1002 });
    }
  }
  return out;
}

describe("hostile frames against a live object", () => {
  it(`${LIVE_FRAMES} bad frames each close only their socket, with the contract's code; the document does not change`, async () => {
    const d = await createTestDoc();
    const a = provider(d.docId, await d.token("write", { userId: "a" }));
    const b = provider(d.docId, await d.token("write", { userId: "b" }));
    await Promise.all([synced(a), synced(b)]);
    a.doc.getText("t").insert(0, "base");
    await waitFor(() => b.doc.getText("t").toString() === "base", "b to see the base text");
    const stub = roomStub(env, d);
    // A user of its own per socket: one user opening 2,000 sockets meets the upgrade budget first (1013).
    const token = (i: number) => d.token("write", { userId: `attacker-${i}` });
    const frames = badFrames(LIVE_FRAMES, 0xbad);
    const wrong: string[] = [];
    for (let i = 0; i < frames.length; i += PARALLEL) {
      await Promise.all(
        frames.slice(i, i + PARALLEL).map(async ({ frame, code }, j) => {
          const raw = await openRaw(d.docId, await token(i + j));
          raw.ws.send(frame);
          const closed = await raw.closed;
          if (closed.code !== code) wrong.push(`frame ${i + j}: expected ${code}, got ${closed.code}`);
        }),
      );
      if ((i / PARALLEL) % 10 === 5) {
        // Mid-way, the honest clients still collaborate.
        const marker = `${i}:`;
        b.doc.getText("t").insert(0, marker);
        await waitFor(() => a.doc.getText("t").toString().startsWith(marker), "a to see b's edit during the attack");
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(a.wsconnected && b.wsconnected).toBe(true);
    // Only the honest edits changed the document.
    const after = new Y.Doc();
    Y.applyUpdate(after, await storedUpdate(stub, d));
    expect(after.getText("t").toString()).toBe(a.doc.getText("t").toString());
    expect(b.doc.getText("t").toString()).toBe(a.doc.getText("t").toString());
    expect(after.getText("t").toString().endsWith("base")).toBe(true);
    expect([...Y.decodeStateVector(Y.encodeStateVector(after)).keys()].sort()).toEqual([a.doc.clientID, b.doc.clientID].sort());
  }, 120_000);

  it("an update carrying 10,000 Yjs client ids is refused with 4422 and not applied", async () => {
    const d = await createTestDoc();
    const a = provider(d.docId, await d.token("write", { userId: "a" }));
    await synced(a);
    a.doc.getText("t").insert(0, "kept");
    const stub = roomStub(env, d);
    for (let text = ""; text !== "kept"; ) {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, await storedUpdate(stub, d));
      text = doc.getText("t").toString();
    }
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 10_000);
    for (let i = 0; i < 10_000; i++) {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, 5_000_000 + i);
      encoding.writeVarUint(e, 0);
      encoding.writeUint8(e, 4);
      encoding.writeVarUint(e, 1);
      encoding.writeVarString(e, "t");
      encoding.writeVarString(e, "x");
    }
    encoding.writeVarUint(e, 0);
    const raw = await openRaw(d.docId, await d.token("write", { userId: "attacker" }));
    raw.ws.send(encodeUpdate(encoding.toUint8Array(e)));
    expect((await raw.closed).code).toBe(4422);
    const after = new Y.Doc();
    Y.applyUpdate(after, await storedUpdate(stub, d));
    expect(after.getText("t").toString()).toBe("kept");
    expect(after.store.clients.size).toBe(1);
  });

  it("awareness for someone else's client id is ignored: the owner's state stays", async () => {
    const d = await createTestDoc();
    const owner = provider(d.docId, await d.token("write", { userId: "owner" }));
    const watcher = provider(d.docId, await d.token("read", { userId: "watcher" }));
    await Promise.all([synced(owner), synced(watcher)]);
    owner.awareness.setLocalStateField("user", { name: "owner" });
    const id = owner.doc.clientID;
    await waitFor(() => watcher.awareness.getStates().has(id), "the watcher to see the owner");
    const raw = await openRaw(d.docId, await d.token("write", { userId: "impostor" }));
    raw.ws.send(encodeAwareness([{ clientId: id, clock: 1000, stateJson: JSON.stringify({ user: { name: "impostor" } }) }]));
    raw.ws.send(encodeAwareness([{ clientId: id, clock: 1001, stateJson: "null" }]));
    raw.ws.close();
    // The owner's next change still reaches the watcher, and nothing of the impostor's ever did.
    owner.awareness.setLocalStateField("user", { name: "owner-2" });
    await waitFor(() => (watcher.awareness.getStates().get(id) as { user?: { name: string } })?.user?.name === "owner-2", "the owner's update");
    const presence = await (await SELF.fetch(`${BASE}/v1/docs/${d.docId}/presence`, { headers: { authorization: `Bearer ${await d.token("read")}` } })).json<{
      users: { userId: string; clientIds: number[] }[];
    }>();
    expect(presence.users.find((u) => u.userId === "impostor")?.clientIds ?? []).toEqual([]);
  });

  it("a revoked key's tokens are refused for new connections (401), with the JSON envelope", async () => {
    const d = await createTestDoc();
    const token = await d.token("write");
    const ok = await openRaw(d.docId, token);
    await drizzle(env.DB).update(apiKeys).set({ revokedAt: Date.now() }).where(eq(apiKeys.id, d.keyId));
    const res = await SELF.fetch(`${BASE}/v1/sync/${d.docId}?token=${encodeURIComponent(token)}`, { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    ok.ws.close();
  });
});
