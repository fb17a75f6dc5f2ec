/** Helpers for the version tests through the Worker (test/integration/versions*.test.ts). */
import { env, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import * as Y from "yjs";
import type { DocRoom } from "../../src/room/doc-room";
import { roomStub } from "../../src/room/stub";
import type { AutoVersionState } from "../../src/versions/policy";
import { api, createDoc, expectJson, incarnationOf, postUpdate, type TestProject } from "./rest";

export interface Version {
  id: string;
  name: string | null;
  kind: "named" | "auto" | "before-restore";
  createdAt: string;
  createdBy: string | null;
  sizeBytes: number;
}

/** A document edited through REST from a local replica: `edit` sends exactly what the callback changed. */
export async function editableDoc(p: TestProject, id?: string) {
  const d = await createDoc(p.secretKey, id ? { id } : {});
  const local = new Y.Doc();
  return {
    id: d.id,
    local,
    path: `/v1/docs/${d.id}`,
    async edit(fn: (doc: Y.Doc) => void, token = p.secretKey): Promise<void> {
      const sv = Y.encodeStateVector(local);
      fn(local);
      const res = await postUpdate(d.id, token, Y.encodeStateAsUpdate(local, sv));
      expect(res.status, await res.clone().text()).toBe(200);
    },
  };
}

export const setText = (text: string) => (doc: Y.Doc) => {
  const t = doc.getText("t");
  t.delete(0, t.length);
  t.insert(0, text);
};

export async function takeVersion(path: string, token: string, name?: string): Promise<Version> {
  return expectJson<Version>(await api(`${path}/versions`, { token, json: name === undefined ? {} : { name } }), 201);
}

export async function list(path: string, token: string, query = ""): Promise<{ data: Version[]; nextCursor: string | null }> {
  return expectJson(await api(`${path}/versions${query}`, { token }), 200);
}

export const json = async (path: string, token: string) => expectJson<Record<string, unknown>>(await api(`${path}/json`, { token }), 200);

export async function stubOf(p: TestProject, docId: string) {
  return roomStub(env, { projectId: p.id, docId, incarnation: await incarnationOf(p.id, docId) });
}

/** Has the object take its automatic version now, as its alarm does once a burst has ended; returns when it was taken. */
export async function takeAutoVersionNow(p: TestProject, docId: string): Promise<number | undefined> {
  return runInDurableObject(await stubOf(p, docId), (room: DocRoom) => {
    // The object's versions (src/versions/room.ts): their burst state and the alarm duty that takes one.
    const r = (room as unknown as { h: { versions: { auto: AutoVersionState; duty: { run(now: number): number } } } }).h.versions;
    r.auto = { firstChangeAt: 0, lastChangeAt: 0 };
    r.duty.run(Date.now());
    return r.auto.lastVersionAt;
  });
}
