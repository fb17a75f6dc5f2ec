/**
 * Relays in workerd (issue 26): the Worker routes by the routing record (documents.relays, set here straight
 * in D1 as the document's object would publish it), stock y-websocket providers connect unmodified, a writer
 * on a relay is read on the document's object and on the other relays, nothing reaches a socket twice, an
 * evicted relay catches up, and deletion, rules and revocation reach relay sockets.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import type { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { documents } from "../../../src/db/schema";
import type { DocRelay } from "../../../src/relay/doc-relay";
import type { DocRoom } from "../../../src/room/doc-room";
import { relayStub, roomStub } from "../../../src/room/stub";
import { decodeFrame, encodeUpdate } from "../../../src/sync/frames";
import { eventually } from "../../helpers/eventually";
import { api, createDoc, createProject, expectJson, incarnationOf, mintToken } from "../../helpers/rest";
import { openRaw, providersPerTest, type RawSocket, synced, waitFor } from "../../helpers/sync";

const provider = providersPerTest();

async function setup() {
  const p = await createProject();
  const d = await createDoc(p.secretKey);
  const ref = { projectId: p.id, docId: d.id, incarnation: await incarnationOf(p.id, d.id) };
  const token = async (userId: string, access: "read" | "write" = "write") => (await mintToken(p.secretKey, d.id, access, userId)).token;
  return { p, d, ref, token };
}

/** A document with one writer synced on its own object (`name`), then routed to one relay: later sockets land there. */
async function withOneRelay(name: string) {
  const ctx = await setup();
  const writer = provider(ctx.d.id, await ctx.token(name));
  await synced(writer);
  await routeToRelays(ctx.ref, 1);
  return { ...ctx, writer };
}

/** Publishes the routing record as the document's object does when its audience passes RELAY_AFTER_CONNECTIONS. */
async function routeToRelays(ref: { projectId: string; docId: string }, relays: number): Promise<void> {
  await drizzle(env.DB)
    .update(documents)
    .set({ relays })
    .where(and(eq(documents.projectId, ref.projectId), eq(documents.id, ref.docId)));
}

/** The routing record as the catalog holds it now. */
async function publishedRelays(ref: { projectId: string; docId: string }): Promise<number | undefined> {
  const rows = await drizzle(env.DB)
    .select({ relays: documents.relays })
    .from(documents)
    .where(and(eq(documents.projectId, ref.projectId), eq(documents.id, ref.docId)));
  return rows[0]?.relays;
}

const text = (p: WebsocketProvider) => p.doc.getText("t").toString();

/** Applies `updates` in order to a fresh document; `repeated` counts those that brought nothing new (a socket got them twice). */
function replay(updates: Uint8Array[]): { doc: Y.Doc; repeated: number } {
  const doc = new Y.Doc();
  let repeated = 0;
  for (const u of updates) {
    const before = Y.encodeStateVector(doc);
    Y.applyUpdate(doc, u);
    if (Buffer.from(Y.encodeStateVector(doc)).equals(Buffer.from(before))) repeated++;
  }
  return { doc, repeated };
}

/** The sync updates (message 0/2) a raw socket received after its first `skip` frames. */
function updatesIn(frames: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of frames) {
    const d = decodeFrame(f);
    if (d.ok && d.value.kind === "sync-update") out.push(d.value.update);
  }
  return out;
}

describe("relays", () => {
  it("carry a writer's edits to the document's object and to other relays, and count every socket", async () => {
    const { p, d, ref, token } = await setup();
    const direct = provider(d.id, await token("direct"));
    await synced(direct);
    await routeToRelays(ref, 2);
    const relayed: WebsocketProvider[] = [];
    for (let i = 0; i < 8; i++) relayed.push(provider(d.id, await token(`viewer-${i}`)));
    await Promise.all(relayed.map(synced));
    const [r0, r1] = await Promise.all([relayStub(env, ref, 0).stats(), relayStub(env, ref, 1).stats()]);
    // Eight sockets, all on relays (which ones is the routing record's: the document's object publishes its own plan meanwhile).
    expect(r0.sockets + r1.sockets).toBe(8);

    relayed[0]!.doc.getText("t").insert(0, "from a relay");
    await waitFor(() => text(direct) === "from a relay" && relayed.every((r) => text(r) === "from a relay"), "relay writer read everywhere");
    direct.doc.getText("t").insert(0, "> ");
    await waitFor(() => relayed.every((r) => text(r) === "> from a relay"), "direct writer read on relays");

    const presence = await expectJson<{ connections: number; users: { userId: string }[] }>(await api(`/v1/docs/${d.id}/presence`, { token: p.secretKey }), 200);
    expect(presence.connections).toBe(9);
    expect(new Set(presence.users.map((u) => u.userId))).toEqual(new Set(["direct", ...relayed.map((_, i) => `viewer-${i}`)]));
  });

  it("send each committed edit to a relay socket exactly once, across evictions of the document's object", async () => {
    const { d, ref, token, writer } = await withOneRelay("writer");
    const reader = await openRaw(d.id, await token("reader", "read"));
    await waitFor(() => reader.received.length >= 1, "greeting");
    const t = writer.doc.getText("t");
    const expectUpdates = (n: number) => waitFor(() => updatesIn(reader.received).length >= n, `${n} updates`);

    for (let i = 0; i < 5; i++) {
      t.insert(t.length, String(i));
      await expectUpdates(i + 1);
    }
    // The document's object is evicted: its sockets hibernate (the link among them), and it wakes in a new
    // epoch. The relay sees the next number from another epoch, asks, and gets what its state vector lacks.
    await evictDurableObject(roomStub(env, ref));
    t.insert(t.length, "a");
    await expectUpdates(6);
    // Evicted again, closing its sockets this time: the link drops, the relay opens it again within a second
    // (its alarm) and catches up on what was written meanwhile; the stock writer reconnects on its own.
    await evictDurableObject(roomStub(env, ref), { webSockets: "close" });
    await synced(writer);
    t.insert(t.length, "b");
    await eventually(async () => {
      const s = await relayStub(env, ref, 0).stats();
      if (!s.live) throw new Error("relay not back");
      return s;
    });
    t.insert(t.length, "c");
    await waitFor(() => {
      const doc = new Y.Doc();
      for (const u of updatesIn(reader.received)) Y.applyUpdate(doc, u);
      return doc.getText("t").toString() === "01234abc";
    }, "the reader has everything");
    await new Promise((r) => setTimeout(r, 200));
    const updates = updatesIn(reader.received);
    // Seven single edits, and the writer's re-sync after its reconnect (empty for the reader): never anything twice.
    expect(updates.length).toBeGreaterThanOrEqual(8);
    const { repeated } = replay(updates);
    expect(repeated).toBe(0);
    reader.ws.close();
  }, 120_000);

  it("close every relay socket with 4404 when the document is deleted, and refuse new ones", async () => {
    const { p, d, ref, token, writer: direct } = await withOneRelay("direct");
    const onRelay = await openRaw(d.id, await token("viewer"));
    await waitFor(() => onRelay.received.length >= 1, "greeting");
    expect((await relayStub(env, ref, 0).stats()).sockets).toBe(1);
    expect((await api(`/v1/docs/${d.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    expect((await onRelay.closed).code).toBe(4404);
  });

  it("apply a stored rule and a key's revocation to relay sockets", async () => {
    const { p, d, ref, token, writer: direct } = await withOneRelay("direct");
    const kicked = await openRaw(d.id, await token("kicked"));
    const revoked = await openRaw(d.id, await token("other"));
    await waitFor(() => kicked.received.length >= 1 && revoked.received.length >= 1, "greetings");
    const put = await api(`/v1/docs/${d.id}/access/kicked`, { method: "PUT", token: p.secretKey, json: { access: "none" } });
    expect(put.status).toBe(200);
    expect((await kicked.closed).code).toBe(4403);
    expect(revoked.isClosed()).toBe(false);
    // The project's first key minted every token here: revoking it closes the rest, relay sockets included.
    const keys = await expectJson<{ data: { id: string }[] }>(await api("/v1/keys", { token: p.secretKey }), 200);
    const second = await expectJson<{ secretKey: string }>(await api("/v1/keys", { token: p.secretKey, json: { name: "second" } }), 201);
    for (const k of keys.data) await api(`/v1/keys/${k.id}`, { method: "DELETE", token: second.secretKey });
    expect((await revoked.closed).code).toBe(4401);
  });

  it("count a user's sockets over every object of the document: the 11th is refused with 1013", async () => {
    const { d, ref, token } = await setup();
    const t = await token("many");
    const direct: RawSocket[] = [];
    for (let i = 0; i < 4; i++) direct.push(await openRaw(d.id, t));
    await routeToRelays(ref, 2);
    const relayed: RawSocket[] = [];
    for (let i = 0; i < 6; i++) relayed.push(await openRaw(d.id, t));
    await waitFor(() => [...direct, ...relayed].every((s) => s.received.length >= 1), "ten greetings");
    const eleventh = await openRaw(d.id, t);
    expect((await eleventh.closed).code).toBe(1013);
    // One closes: the user may open one again.
    relayed[0]!.ws.close(1000);
    await eventually(async () => {
      const again = await openRaw(d.id, t);
      await waitFor(() => again.received.length >= 1 || again.isClosed(), "answer");
      if (again.isClosed()) throw new Error("still refused");
      return again;
    });
  });

  it("ignore every x-lattice-* header a client sends: a client cannot open a relay's link or claim another user", async () => {
    const { p, d, token } = await setup();
    const raw = await openRaw(d.id, await token("honest", "read"), { headers: { "x-lattice-relay": "0", "x-lattice-user": "admin", "x-lattice-access": "write" } });
    // A link gets nothing until it says hello; a socket is greeted with a sync step 1 at once.
    await waitFor(() => raw.received.length >= 1, "greeting");
    const first = decodeFrame(raw.received[0]!);
    expect(first.ok && first.value.kind).toBe("sync-step1");
    const presence = await expectJson<{ users: { userId: string; access: string }[] }>(await api(`/v1/docs/${d.id}/presence`, { token: p.secretKey }), 200);
    expect(presence.users).toEqual([{ userId: "honest", access: "read", clientIds: [] }]);
    raw.ws.close();
  });

  it("show writers' presence everywhere and a relay's read-only viewers on that relay only", async () => {
    const { d, ref, token } = await setup();
    const direct = provider(d.id, await token("direct"));
    direct.awareness.setLocalStateField("user", { name: "direct" });
    await synced(direct);
    await routeToRelays(ref, 1);
    const writer = provider(d.id, await token("relay-writer"));
    writer.awareness.setLocalStateField("user", { name: "relay-writer" });
    const viewer = provider(d.id, await token("relay-viewer", "read"));
    viewer.awareness.setLocalStateField("user", { name: "relay-viewer" });
    await Promise.all([synced(writer), synced(viewer)]);
    const names = (p: WebsocketProvider) => new Set([...p.awareness.getStates().values()].map((s) => (s as { user?: { name: string } }).user?.name).filter(Boolean));
    await waitFor(() => names(writer).size === 3 && names(viewer).size === 3, "everyone on the relay sees everyone");
    await waitFor(() => names(direct).has("relay-writer"), "the relay's writer is seen on the document's object");
    // Given time to travel, the read-only viewer on the relay still is not seen there.
    await new Promise((r) => setTimeout(r, 300));
    expect(names(direct)).toEqual(new Set(["direct", "relay-writer"]));
  });

  it("feed relays past the tree's width from a relay, not from the document's object: edits still reach everyone once, and DELETE reaches them", async () => {
    const { p, d, ref, token } = await setup();
    const direct = provider(d.id, await token("direct"));
    await synced(direct);
    // RELAY_TREE_WIDTH is 2 in this suite: relays 0 and 1 are fed by the document's object, 2 and 3 by them.
    // The document's object publishes its own plan (one relay, for an audience this small) on the first relayed
    // socket: once it has, the record is set to four again, and it stays (the plan does not change again).
    await routeToRelays(ref, 4);
    const crowd: WebsocketProvider[] = [provider(d.id, await token("viewer-first"))];
    await synced(crowd[0]!);
    await eventually(async () => expect(await publishedRelays(ref)).toBe(1));
    await routeToRelays(ref, 4);
    for (let i = 0; i < 15; i++) crowd.push(provider(d.id, await token(`viewer-${i}`)));
    await Promise.all(crowd.map(synced));
    const perRelay = await Promise.all([0, 1, 2, 3].map(async (k) => (await relayStub(env, ref, k).work()).sockets));
    expect(perRelay.reduce((a, b) => a + b, 0)).toBe(16);
    // 15 sockets at random over four relays: the second level holds some (all on 0 and 1: 1 in 32,768).
    expect(perRelay[2]! + perRelay[3]!).toBeGreaterThan(0);
    const reader = await openRaw(d.id, await token("counter", "read"));
    await waitFor(() => reader.received.length >= 1, "greeting");

    const t = direct.doc.getText("t");
    for (let i = 0; i < 3; i++) {
      t.insert(t.length, String(i));
      await waitFor(() => crowd.every((c) => text(c) === t.toString()), `edit ${i} everywhere`);
    }
    const onRelay = crowd.find((c) => text(c) === t.toString())!;
    onRelay.doc.getText("t").insert(0, ">");
    await waitFor(() => text(direct) === ">012" && crowd.every((c) => text(c) === ">012"), "a relay writer's edit everywhere");
    await waitFor(() => updatesIn(reader.received).length >= 4, "four updates at the reader");
    expect(updatesIn(reader.received)).toHaveLength(4);

    // The document's object feeds only the first level; every relay still has its own link to it.
    const work = await roomStub(env, ref).work();
    expect(work.fed).toBeLessThanOrEqual(2);
    expect(work.links).toBeGreaterThan(work.fed);

    const closed = crowd.map((c) => new Promise<number>((resolve) => c.on("closed", (e: { code: number }) => resolve(e.code))));
    expect((await api(`/v1/docs/${d.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    expect(new Set(await Promise.all(closed))).toEqual(new Set([4404]));
  });

  it("catch up a relay evicted with its socket open: its stored feed position gets the socket exactly what it missed", async () => {
    const { d, ref, token, writer } = await withOneRelay("writer");
    const reader = await openRaw(d.id, await token("reader", "read"));
    await waitFor(() => reader.received.length >= 1, "greeting");
    const t = writer.doc.getText("t");
    for (let i = 0; i < 3; i++) {
      t.insert(t.length, String(i));
      await waitFor(() => updatesIn(reader.received).length >= i + 1, `update ${i}`);
    }
    // A relay holding its link cannot be evicted (an open outgoing WebSocket keeps an object), and when a link
    // with sockets behind it drops, the document's object wakes the relay at once. So, to evict it with its socket
    // open: the object forgets the relay's roster (no wake-up), the relay drops its link, and then it is evicted.
    await runInDurableObject(roomStub(env, ref), async (room: DocRoom) => {
      (room as unknown as { links: { roster: { replace(link: number, rows: []): void } } }).links.roster.replace(0, []);
    });
    const relay = relayStub(env, ref, 0);
    await runInDurableObject(relay, async (r: DocRelay) => (r as unknown as { upstream: { close(): void } }).upstream.close());
    await evictDurableObject(relay);
    // Written while the relay is gone: the document's object numbers them in the same epoch.
    t.insert(t.length, "a");
    t.insert(t.length, "b");
    await new Promise((r) => setTimeout(r, 100));
    expect(updatesIn(reader.received)).toHaveLength(3);
    // Woken (as the document's object or the relay's alarm would): it asks for what follows its stored position.
    expect(await relay.wake()).toBe(true);
    await waitFor(() => {
      const doc = new Y.Doc();
      for (const u of updatesIn(reader.received)) Y.applyUpdate(doc, u);
      return doc.getText("t").toString() === "012ab";
    }, "the reader has what was written while its relay was gone");
    expect(reader.isClosed()).toBe(false);
    t.insert(t.length, "c");
    await waitFor(() => updatesIn(reader.received).length >= 5, "the feed goes on");
    await new Promise((r) => setTimeout(r, 200));
    const { repeated, doc: seen } = replay(updatesIn(reader.received));
    expect(repeated).toBe(0);
    expect(seen.getText("t").toString()).toBe("012abc");
    reader.ws.close();
  });

  it("take a big offline edit and a fast writer on a relay, and ignore what a read token sends there", async () => {
    const { d, ref, token, writer: direct } = await withOneRelay("direct");
    // Edited offline first: ~200 KB in 2,000 inserts, sent whole as the sync step 2 of its first connection.
    const offline = new Y.Doc();
    for (let i = 0; i < 2000; i++) offline.getText("t").insert(offline.getText("t").length, `${"x".repeat(100)}${i % 10}`);
    const writer = provider(d.id, await token("writer"), offline);
    await synced(writer);
    await waitFor(() => text(direct).length === offline.getText("t").length, "the offline edit on the document's object", 20_000);
    // Then typing as fast as the provider sends: 1,000 single-character updates in one go.
    for (let i = 0; i < 1000; i++) writer.doc.getText("t").insert(0, "y");
    await waitFor(() => text(direct) === text(writer), "the fast writer's edits on the document's object", 20_000);
    // A read token on a relay: what it sends is ignored, its socket stays open, and it still reads.
    const reader = await openRaw(d.id, await token("reader", "read"));
    await waitFor(() => reader.received.length >= 1, "greeting");
    const forged = new Y.Doc();
    forged.getText("t").insert(0, "should not land");
    reader.ws.send(encodeUpdate(Y.encodeStateAsUpdate(forged)));
    writer.doc.getText("t").insert(0, "z");
    await waitFor(() => text(direct).startsWith("z"), "a later write lands");
    await new Promise((r) => setTimeout(r, 200));
    expect(text(direct)).not.toContain("should not land");
    expect(reader.isClosed()).toBe(false);
    expect(updatesIn(reader.received).length).toBeGreaterThanOrEqual(1);
    reader.ws.close();
  }, 60_000);
});
