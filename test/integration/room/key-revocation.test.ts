/**
 * Revoking a key is immediate (issue 22 item 8): every open socket of a token it minted, on every document
 * of the project, is closed with 4401 "key revoked" before `DELETE /v1/keys/{id}` answers; nothing such a
 * socket sends afterwards is stored, and the stock y-websocket provider does not come back. Stock providers
 * through the Worker in workerd, keys and tokens made through the REST API.
 */
import { env, evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import type { RevokedKeys } from "../../../src/room/revoked-keys";
import { roomStub } from "../../../src/room/stub";
import { IdentityHeader } from "../../../src/room/rpc-types";
import { encodeUpdate } from "../../../src/sync/frames";
import { api, createDoc, createProject, expectError, expectJson, incarnationOf, mintToken } from "../../helpers/rest";
import { BASE, openRaw, providersPerTest, synced, waitFor } from "../../helpers/sync";
import { eventually } from "../../helpers/eventually";

const provider = providersPerTest();

async function createKey(secretKey: string, name: string): Promise<{ id: string; secretKey: string }> {
  return expectJson(await api("/v1/keys", { token: secretKey, json: { name } }), 201);
}

/** Every `closed` (permanent close) and `connection-close` the provider reports. */
function watch(p: WebsocketProvider) {
  const closed: { code: number; reason: string }[] = [];
  const closes: number[] = [];
  p.on("closed", (e) => closed.push(e));
  p.on("connection-close", (e) => closes.push(e?.code ?? 0));
  return { closed, closes };
}

async function text(secretKey: string, docId: string): Promise<string> {
  const json = await expectJson<{ t?: string }>(await api(`/v1/docs/${docId}/json?types=t:text`, { token: secretKey }), 200);
  return json.t ?? "";
}

async function connections(secretKey: string, docId: string): Promise<number> {
  return (await expectJson<{ connections: number }>(await api(`/v1/docs/${docId}/presence`, { token: secretKey }), 200)).connections;
}

describe("revoking a key", () => {
  it("closes its tokens' sockets on every document with 4401 before the 204; other keys' sockets stay; nothing sent afterwards is stored", async () => {
    const p = await createProject();
    const a = await createKey(p.secretKey, "A");
    const b = await createKey(p.secretKey, "B");
    const docs = ["rev-1", "rev-2"];
    for (const id of docs) await createDoc(p.secretKey, { id });
    // A document with no socket at all: the fan-out wakes its object too.
    await createDoc(p.secretKey, { id: "rev-idle" });

    const ydocs = new Map<string, Y.Doc>();
    const open = async (key: { secretKey: string }, docId: string, label: string) => {
      const doc = new Y.Doc();
      ydocs.set(label, doc);
      const prov = provider(docId, (await mintToken(key.secretKey, docId, "write", `user-${label}`)).token, doc);
      await synced(prov);
      return { prov, seen: watch(prov) };
    };
    const a1 = await open(a, "rev-1", "a1");
    const a2 = await open(a, "rev-2", "a2");
    const b1 = await open(b, "rev-1", "b1");
    const b2 = await open(b, "rev-2", "b2");
    // A raw socket of key A, to send a frame after the revocation the way a client that has not yet read the close would.
    const raw = await openRaw("rev-1", (await mintToken(a.secretKey, "rev-1", "write", "raw")).token);
    const spare = (await mintToken(a.secretKey, "rev-2", "write", "spare")).token;

    ydocs.get("a1")!.getText("t").insert(0, "before ");
    await eventually(async () => expect(await text(p.secretKey, "rev-1")).toBe("before "));
    await waitFor(() => ydocs.get("b1")!.getText("t").toString() === "before ", "b1 sees a1's edit");

    expect((await api(`/v1/keys/${a.id}`, { method: "DELETE", token: b.secretKey })).status).toBe(204);
    // Both of A's providers, on both documents, are told "key revoked" with a code the stock provider does not retry.
    for (const { prov, seen } of [a1, a2]) {
      await eventually(async () => expect(seen.closed).toEqual([{ code: 4401, reason: "key revoked" }]));
      expect(prov.shouldConnect).toBe(false);
    }
    expect((await raw.closed).code).toBe(4401);

    // What A's clients do now reaches nothing: the provider stays down.
    ydocs.get("a1")!.getText("t").insert(0, "after-provider ");

    // B's sockets are untouched and still sync.
    ydocs.get("b1")!.getText("t").insert(7, "from-b");
    await eventually(async () => expect(await text(p.secretKey, "rev-1")).toBe("before from-b"));
    expect(b1.seen.closes).toEqual([]);
    expect(b2.seen.closes).toEqual([]);
    expect(b1.prov.wsconnected && b2.prov.wsconnected).toBe(true);
    // Only B's socket is left on each document; A's providers did not come back.
    for (const id of docs) await eventually(async () => expect(await connections(p.secretKey, id)).toBe(1));
    expect(a1.prov.ws).toBeNull();
    expect(a2.prov.ws).toBeNull();
    expect(await text(p.secretKey, "rev-1")).toBe("before from-b");

    // A new socket or request with a token A minted before is refused (401), as before.
    const upgrade = await SELF.fetch(`${BASE}/v1/sync/rev-2?token=${spare}`, { headers: { Upgrade: "websocket" } });
    expect(upgrade.status).toBe(401);
    await upgrade.body?.cancel();
    await expectError(await api("/v1/docs/rev-2", { token: spare }), 401, "unauthorized");
    // Revoking again is harmless (it tells every document again, finishing what a failed call left), and a
    // key revoked longer ago than any token lives needs no document told at all.
    expect((await api(`/v1/keys/${a.id}`, { method: "DELETE", token: b.secretKey })).status).toBe(204);
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
      .bind(Date.now() - 26 * 3600 * 1000, a.id)
      .run();
    expect((await api(`/v1/keys/${a.id}`, { method: "DELETE", token: b.secretKey })).status).toBe(204);
  });

  it("reaches past the first pages of a project with many documents", async () => {
    const p = await createProject();
    const a = await createKey(p.secretKey, "A");
    // 230 documents (three pages of REVOKE_PAGE_SIZE), written straight to the catalog; the socket is on the last by id.
    const now = Date.now();
    const ids = Array.from({ length: 229 }, (_, i) => `many-${String(i).padStart(3, "0")}`);
    await env.DB.batch(
      ids.map((id) => env.DB.prepare("INSERT INTO documents (project_id, id, created_at, updated_at) VALUES (?, ?, ?, ?)").bind(p.id, id, now, now)),
    );
    await createDoc(p.secretKey, { id: "zz-last" });
    const doc = new Y.Doc();
    const prov = provider("zz-last", (await mintToken(a.secretKey, "zz-last")).token, doc);
    await synced(prov);
    const seen = watch(prov);
    expect((await api(`/v1/keys/${a.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    await eventually(async () => expect(seen.closed).toEqual([{ code: 4401, reason: "key revoked" }]));
  });

  it("a frame still queued behind the revocation is not applied: the socket is closed with 4401 instead", async () => {
    const p = await createProject();
    const a = await createKey(p.secretKey, "A");
    await createDoc(p.secretKey, { id: "queued" });
    const ref = { projectId: p.id, docId: "queued", incarnation: await incarnationOf(p.id, "queued") };
    const raw = await openRaw("queued", (await mintToken(a.secretKey, "queued")).token);
    await waitFor(() => raw.received.length >= 1, "greeting");
    // The object has been told (it remembers the key) but this socket's frame arrives before its close
    // does: what a frame in flight during DocRoom.revokeKey meets.
    await runInDurableObject(roomStub(env, ref), (room) => (room as unknown as { revokedKeys: RevokedKeys }).revokedKeys.add(a.id, Date.now()));
    const late = new Y.Doc();
    late.getText("t").insert(0, "after");
    raw.ws.send(encodeUpdate(Y.encodeStateAsUpdate(late)));
    expect(await raw.closed).toEqual({ code: 4401, reason: "key revoked" });
    expect(await text(p.secretKey, "queued")).toBe("");
  });

  it("the object remembers the key, across eviction: an upgrade that passed the Worker's check just before is closed with 4401", async () => {
    const p = await createProject();
    const a = await createKey(p.secretKey, "A");
    await createDoc(p.secretKey, { id: "remember" });
    const ref = { projectId: p.id, docId: "remember", incarnation: await incarnationOf(p.id, "remember") };
    expect((await api(`/v1/keys/${a.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    const stub = roomStub(env, ref);
    await evictDurableObject(stub);
    // What the sync route forwards after its D1 check passed (the request raced the revocation).
    const headers = new Headers({ upgrade: "websocket" });
    headers.set(IdentityHeader.user, "late");
    headers.set(IdentityHeader.access, "write");
    headers.set(IdentityHeader.exp, String(Math.floor(Date.now() / 1000) + 600));
    headers.set(IdentityHeader.project, ref.projectId);
    headers.set(IdentityHeader.doc, ref.docId);
    headers.set(IdentityHeader.incarnation, ref.incarnation);
    headers.set(IdentityHeader.saved, "0");
    headers.set(IdentityHeader.key, a.id);
    const res = await stub.fetch(new Request(`${BASE}/v1/sync/remember`, { headers }));
    const ws = res.webSocket!;
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    ws.accept();
    expect(await closed).toBe(4401);
  });
});
