/**
 * Deleting a document is atomic and final: the object is erased first and left as a tombstone, and each
 * creation of an id has its own incarnation (its own object, bound into its tokens). Nothing of a deleted
 * document (content, late writes, live sockets, tokens) reaches one re-created with the same id.
 */
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import type { DocRoom } from "../../../src/room/doc-room";
import { roomStub } from "../../../src/room/stub";
import { api, BASE, createDoc, createProject, expectError, expectJson, incarnationOf, mintToken, postUpdate } from "../../helpers/rest";

function textUpdate(text: string): Uint8Array {
  const d = new Y.Doc();
  d.getText("t").insert(0, text);
  return Y.encodeStateAsUpdate(d);
}

const json = (id: string, token: string) => api(`/v1/docs/${id}/json`, { token });

describe("deleting and re-creating a document", () => {
  it("a failed erase answers 500 and keeps the catalog row, so the DELETE can be retried; the retry removes it for good", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "retry-me" });
    await expectJson(await postUpdate("retry-me", p.secretKey, textUpdate("precious")), 200);
    const stub = roomStub(env, { projectId: p.id, docId: "retry-me", incarnation: await incarnationOf(p.id, "retry-me") });
    await runInDurableObject(stub, (_instance: DocRoom, state) => {
      const real = state.storage.deleteAll.bind(state.storage);
      state.storage.deleteAll = (async () => {
        state.storage.deleteAll = real;
        throw new Error("injected erase failure");
      }) as typeof state.storage.deleteAll;
    });
    await expectError(await api("/v1/docs/retry-me", { method: "DELETE", token: p.secretKey }), 500, "internal");
    // The catalog row was not touched, so the DELETE can be retried; the content is already refused.
    await expectJson(await api("/v1/docs/retry-me", { token: p.secretKey }), 200);
    await expectError(await json("retry-me", p.secretKey), 404, "not_found");
    expect((await api("/v1/docs/retry-me", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    await expectError(await json("retry-me", p.secretKey), 404, "not_found");
    // Re-created: empty, whatever the first attempt left behind.
    await createDoc(p.secretKey, { id: "retry-me" });
    expect(await expectJson(await json("retry-me", p.secretKey), 200)).toEqual({});
  });

  it("a write that passed the catalog check before the DELETE cannot land in the erased object", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "racing" });
    const ref = { projectId: p.id, docId: "racing", incarnation: await incarnationOf(p.id, "racing") };
    expect((await api("/v1/docs/racing", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    // What the route would do next for a request that read the row just before it was deleted.
    const stub = roomStub(env, ref);
    expect(await stub.applyUpdate(ref, textUpdate("late"))).toMatchObject({ ok: false, reason: "gone" });
    expect(await stub.readUpdate(ref)).toMatchObject({ ok: false, reason: "gone" });
    await createDoc(p.secretKey, { id: "racing" });
    expect(await expectJson(await json("racing", p.secretKey), 200)).toEqual({});
  });

  it("tokens minted for the deleted document open nothing of the re-created one", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "reborn" });
    const { token: old } = await mintToken(p.secretKey, "reborn");
    await expectJson(await postUpdate("reborn", old, textUpdate("first life")), 200);
    expect((await api("/v1/docs/reborn", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    await createDoc(p.secretKey, { id: "reborn" });
    await expectError(await json("reborn", old), 404, "not_found");
    await expectError(await postUpdate("reborn", old, textUpdate("sneaked in")), 404, "not_found");
    const upgrade = await SELF.fetch(`${BASE}/v1/sync/reborn?token=${encodeURIComponent(old)}`, { headers: { Upgrade: "websocket" } });
    expect(upgrade.status).toBe(404);
    expect(upgrade.webSocket).toBeNull();
    // A token for the new creation works, and sees only the new document.
    const { token: fresh } = await mintToken(p.secretKey, "reborn");
    expect(await expectJson(await json("reborn", fresh), 200)).toEqual({});
  });
});
