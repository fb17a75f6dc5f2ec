/**
 * A write that storage refuses never becomes visible: the REST caller gets 500 and the document is
 * unchanged; live sockets are closed with 1011 (retried by the stock client), nobody receives the
 * unwritten update, and on reconnect the writer's own copy brings it back, durably this time.
 * The failure is injected into the object's real SQLite transaction, once.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import type { DocRoom } from "../../../src/room/doc-room";
import { roomStub } from "../../../src/room/stub";
import { api, createDoc, createProject, expectError, expectJson, incarnationOf, postUpdate } from "../../helpers/rest";
import { createTestDoc, openRaw, providersPerTest, synced, waitFor } from "../../helpers/sync";

const provider = providersPerTest();

/** Makes the object's next storage transaction throw, as a full disk or a storage outage would. */
async function failNextWrite(stub: DurableObjectStub<DocRoom>): Promise<void> {
  await runInDurableObject(stub, (instance: DocRoom) => {
    const store = (instance as unknown as { parts: { store: { transaction: <T>(fn: () => T) => T } } }).parts.store;
    const real = store.transaction;
    store.transaction = () => {
      store.transaction = real;
      throw new Error("injected storage failure");
    };
  });
}

/** What the object has in storage, read back as a fresh replica would load it. */
async function storedText(stub: DurableObjectStub<DocRoom>, root: string): Promise<string> {
  return runInDurableObject(stub, (instance: DocRoom) => {
    const store = (instance as unknown as { parts: { store: { load(): Uint8Array[] } } }).parts.store;
    const doc = new Y.Doc();
    for (const u of store.load()) Y.applyUpdate(doc, u);
    return doc.getText(root).toString();
  });
}

describe("a write storage refuses", () => {
  it("REST: 500 internal, the document unchanged; the next write succeeds", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "fails-once" });
    const base = new Y.Doc();
    base.getText("t").insert(0, "kept");
    await expectJson(await postUpdate("fails-once", p.secretKey, Y.encodeStateAsUpdate(base)), 200);
    const stub = roomStub(env, { projectId: p.id, docId: "fails-once", incarnation: await incarnationOf(p.id, "fails-once") });
    await failNextWrite(stub);
    const sv = Y.encodeStateVector(base);
    base.getText("t").insert(4, " and lost");
    await expectError(await postUpdate("fails-once", p.secretKey, Y.encodeStateAsUpdate(base, sv)), 500, "internal");
    expect(await expectJson(await api("/v1/docs/fails-once/json", { token: p.secretKey }), 200)).toEqual({ t: "kept" });
    expect(await storedText(stub, "t")).toBe("kept");
    // Retrying the same write is safe and now durable.
    await expectJson(await postUpdate("fails-once", p.secretKey, Y.encodeStateAsUpdate(base)), 200);
    expect(await storedText(stub, "t")).toBe("kept and lost");
  });

  it("sockets: closed with 1011, the update reaches nobody unwritten, and the writer's reconnect stores it", async () => {
    const d = await createTestDoc();
    const stub = roomStub(env, d);
    const a = provider(d.docId, await d.token("write", { userId: "a" }));
    const b = provider(d.docId, await d.token("write", { userId: "b" }));
    await Promise.all([synced(a), synced(b)]);
    a.doc.getText("t").insert(0, "base ");
    await waitFor(() => b.doc.getText("t").toString() === "base ", "b to see the base");
    const watcher = await openRaw(d.docId, await d.token("read", { userId: "w" }));
    await waitFor(() => watcher.received.length >= 1, "the watcher's greeting");
    const seenBefore = watcher.received.length;

    await failNextWrite(stub);
    a.doc.getText("t").insert(5, "after the failure");
    expect((await watcher.closed).code).toBe(1011);
    // Nothing went out about the unwritten update: the watcher received no message after its greeting.
    expect(watcher.received.length).toBe(seenBefore);
    // The stock client reconnects by itself and sends what the server lacks.
    await waitFor(() => b.doc.getText("t").toString() === "base after the failure", "b to converge after the re-sync");
    expect(await storedText(stub, "t")).toBe("base after the failure");
  });
});
