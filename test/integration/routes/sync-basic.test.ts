import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { mintClientToken } from "../../../src/auth/client-token";
import { encodeAwareness, encodeUpdate } from "../../../src/sync/frames";
import { BASE, createTestDoc, openRaw, synced, waitFor, providersPerTest } from "../../helpers/sync";
import type { WebsocketProvider } from "y-websocket";
import { env } from "cloudflare:test";
import { drizzle } from "drizzle-orm/d1";
import { eq } from "drizzle-orm";
import { apiKeys } from "../../../src/db/schema";

const provider = providersPerTest();

describe("sync route checks, in the contract's order", () => {
  const upgrade = { headers: { Upgrade: "websocket" } };

  it("426 without a WebSocket upgrade", async () => {
    const d = await createTestDoc();
    const res = await SELF.fetch(`${BASE}/v1/sync/${d.docId}?token=${await d.token()}`);
    expect(res.status).toBe(426);
    expect(await res.json()).toMatchObject({ error: { code: "upgrade_required" } });
  });

  it("401 without, with a garbage, a badly signed or an expired token", async () => {
    const d = await createTestDoc();
    const badSig = await mintClientToken("another-secret", {
      userId: "u",
      projectId: d.projectId,
      docId: d.docId,
      access: "write",
      keyId: d.keyId,
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    const expired = await d.token("write", { exp: Math.floor(Date.now() / 1000) - 5 });
    for (const query of ["", "?token=", "?token=garbage", `?token=${badSig}`, `?token=${expired}`]) {
      const res = await SELF.fetch(`${BASE}/v1/sync/${d.docId}${query}`, upgrade);
      expect(res.status, query).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
    }
  });

  it("403 for a token of another document", async () => {
    const d = await createTestDoc();
    const other = await createTestDoc();
    const res = await SELF.fetch(`${BASE}/v1/sync/${other.docId}?token=${await d.token()}`, upgrade);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "forbidden" } });
  });

  it("404 for a document the catalog does not have", async () => {
    const d = await createTestDoc();
    const token = await d.token("write", { docId: "no-such-doc" });
    const res = await SELF.fetch(`${BASE}/v1/sync/no-such-doc?token=${token}`, upgrade);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("401 once the key that minted the token is revoked", async () => {
    const d = await createTestDoc();
    const token = await d.token();
    await drizzle(env.DB).update(apiKeys).set({ revokedAt: Date.now() }).where(eq(apiKeys.id, d.keyId));
    const res = await SELF.fetch(`${BASE}/v1/sync/${d.docId}?token=${token}`, upgrade);
    expect(res.status).toBe(401);
  });
});

describe("collaboration through real y-websocket providers", () => {
  it("two clients converge while both type, and a late joiner gets everything", async () => {
    const d = await createTestDoc();
    const a = provider(d.docId, await d.token("write", { userId: "alice" }));
    const b = provider(d.docId, await d.token("write", { userId: "bob" }));
    await Promise.all([synced(a), synced(b)]);
    const ta = a.doc.getText("t");
    const tb = b.doc.getText("t");
    for (let i = 0; i < 50; i++) {
      ta.insert(0, "a");
      tb.insert(tb.length, "b");
    }
    await waitFor(() => ta.length === 100 && tb.length === 100, "both sides to see 100 characters");
    expect(ta.toString()).toBe(tb.toString());

    const late = provider(d.docId, await d.token("read", { userId: "carol" }));
    await synced(late);
    await waitFor(() => late.doc.getText("t").toString() === ta.toString(), "late joiner to converge");
  });

  it("fans awareness out and removes only the leaver's state", async () => {
    const d = await createTestDoc();
    const a = provider(d.docId, await d.token("write", { userId: "alice" }));
    const b = provider(d.docId, await d.token("write", { userId: "bob" }));
    const c = provider(d.docId, await d.token("read", { userId: "carol" }));
    await Promise.all([synced(a), synced(b), synced(c)]);
    a.awareness.setLocalStateField("user", { name: "alice" });
    b.awareness.setLocalStateField("user", { name: "bob" });
    c.awareness.setLocalStateField("user", { name: "carol" });
    const sees = (p: WebsocketProvider, id: number) => p.awareness.getStates().has(id);
    await waitFor(() => sees(a, b.doc.clientID) && sees(a, c.doc.clientID) && sees(b, a.doc.clientID), "awareness fan-out");
    expect(a.awareness.getStates().get(c.doc.clientID)).toMatchObject({ user: { name: "carol" } });

    // A provider going away without saying goodbye: the server removes and announces its state.
    b.ws?.close();
    b.shouldConnect = false;
    await waitFor(() => !sees(a, b.doc.clientID) && !sees(c, b.doc.clientID), "bob's state removed");
    expect(sees(a, c.doc.clientID)).toBe(true);
    expect(sees(c, a.doc.clientID)).toBe(true);
  });

  it("a read connection receives everything but its writes are ignored and it stays open", async () => {
    const d = await createTestDoc();
    const writer = provider(d.docId, await d.token("write"));
    await synced(writer);
    writer.doc.getText("t").insert(0, "hello");
    const reader = await openRaw(d.docId, await d.token("read"));
    // The reader tries to write: an update frame and a sync step 2.
    const rogue = new Y.Doc();
    rogue.getText("t").insert(0, "EVIL");
    const evil = Y.encodeStateAsUpdate(rogue);
    reader.ws.send(encodeUpdate(evil));
    reader.ws.send(encodeAwareness([{ clientId: 4242, clock: 1, stateJson: '{"user":"reader"}' }]));
    await waitFor(() => writer.awareness.getStates().has(4242), "reader's awareness to arrive (allowed)");
    expect(writer.doc.getText("t").toString()).toBe("hello");
    const res = await SELF.fetch(`${BASE}/v1/sync/${d.docId}?token=${await d.token()}`, { headers: { Upgrade: "websocket" } });
    const probe = res.webSocket!;
    probe.accept();
    probe.close();
    expect(reader.isClosed()).toBe(false);
    // And a fresh client sees no trace of the rogue write.
    const fresh = provider(d.docId, await d.token("read"));
    await synced(fresh);
    expect(fresh.doc.getText("t").toString()).toBe("hello");
    reader.ws.close();
  });
});
