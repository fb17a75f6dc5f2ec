/**
 * One allowance for every way content enters a document (issue 22): a restore made with a client token
 * is charged to that token's user like their own writes, so restores cannot bring in Yjs client ids past
 * MAX_CLIENT_IDS_PER_USER; a secret key's restore is the application's own and charged to no user.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import type { DocRoom } from "../../../src/room/doc-room";
import { roomStub } from "../../../src/room/stub";
import { api, createDoc, createProject, expectJson, incarnationOf, mintToken, postUpdate } from "../../helpers/rest";

/** The Yjs client ids `userId` introduced into the document, as the object counts them against the hourly budget. */
async function introducedBy(projectId: string, docId: string, userId: string): Promise<number> {
  const stub = roomStub(env, { projectId, docId, incarnation: await incarnationOf(projectId, docId) });
  return runInDurableObject(stub, async (room: DocRoom) =>
    (room as unknown as { parts: { store: { clientIdsIntroduced(u: string, since: number): number } } }).parts.store.clientIdsIntroduced(userId, 0),
  );
}

describe("a restore is charged to whoever restores", () => {
  it("each restore by a write token counts its new client id against that user; a secret-key restore against nobody", async () => {
    const p = await createProject();
    const d = await createDoc(p.secretKey);
    const doc = new Y.Doc();
    const write = async (fn: (t: Y.Text) => void) => {
      const sv = Y.encodeStateVector(doc);
      fn(doc.getText("t"));
      expect((await postUpdate(d.id, p.secretKey, Y.encodeStateAsUpdate(doc, sv))).status).toBe(200);
    };
    const version = async (name: string) =>
      (await expectJson<{ id: string }>(await api(`/v1/docs/${d.id}/versions`, { token: p.secretKey, json: { name } }), 201)).id;
    await write((t) => t.insert(0, "GOOD"));
    const good = await version("good");
    await write((t) => {
      t.delete(0, t.length);
      t.insert(0, "BAD");
    });
    const bad = await version("bad");
    const collab = (await mintToken(p.secretKey, d.id, "write", "collab")).token;
    // Alternating restores: each one writes its version's text anew, with a Yjs client id of its own.
    for (const v of [good, bad, good]) {
      const res = await api(`/v1/docs/${d.id}/versions/${v}/restore`, { method: "POST", token: collab });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    expect(await introducedBy(p.id, d.id, "collab")).toBe(3);
    expect((await api(`/v1/docs/${d.id}/versions/${bad}/restore`, { method: "POST", token: p.secretKey })).status).toBe(200);
    expect(await introducedBy(p.id, d.id, "collab")).toBe(3);
    expect(await expectJson(await api(`/v1/docs/${d.id}/json`, { token: p.secretKey }), 200)).toEqual({ t: "BAD" });
  });
});
