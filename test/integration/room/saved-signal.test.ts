/**
 * The opt-in `saved` signal (message type 100): after each commit that includes updates, every connection
 * that asked with `saved=1` receives the state vector of what is now durable, and once right after the
 * server's sync step 2. Connections that did not ask never see type 100 (y-websocket 3 logs unknown types).
 */
import { env, runInDurableObject } from "cloudflare:test";
import * as decoding from "lib0/decoding";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import type { DocRoom } from "../../../src/room/doc-room";
import { roomStub } from "../../../src/room/stub";
import { encodeSyncStep1, encodeUpdate, MessageType } from "../../../src/sync/frames";
import { createTestDoc, openRaw, waitFor, type RawSocket } from "../../helpers/sync";

/** The state vectors of every message 100 the socket received, in order. */
function savedVectors(raw: RawSocket): Map<number, number>[] {
  const out: Map<number, number>[] = [];
  for (const m of raw.received) {
    const d = decoding.createDecoder(m);
    if (decoding.readVarUint(d) !== MessageType.saved) continue;
    out.push(Y.decodeStateVector(decoding.readVarUint8Array(d)));
  }
  return out;
}

/** What the object has written to storage, as a state vector. */
async function storedVector(d: { projectId: string; docId: string }): Promise<Map<number, number>> {
  return runInDurableObject(roomStub(env, d), (instance: DocRoom) => {
    const store = (instance as unknown as { parts: { store: { load(): Uint8Array[]; hasPending: boolean } } }).parts.store;
    expect(store.hasPending).toBe(false);
    const doc = new Y.Doc();
    for (const u of store.load()) Y.applyUpdate(doc, u);
    return Y.decodeStateVector(Y.encodeStateVector(doc));
  });
}

describe("the saved signal (message 100, opt-in)", () => {
  it("an opted-in socket gets one after its sync step 2, then one after each committed burst, covering its update", async () => {
    const d = await createTestDoc();
    const raw = await openRaw(d.docId, await d.token(), { query: "saved=1" });
    raw.ws.send(encodeSyncStep1(new Uint8Array([0])));
    await waitFor(() => savedVectors(raw).length === 1, "the saved message after step 2");
    expect(savedVectors(raw)[0]!.size).toBe(0); // nothing stored yet
    const src = new Y.Doc();
    src.clientID = 4242;
    for (let burst = 1; burst <= 3; burst++) {
      const sv = Y.encodeStateVector(src);
      src.getText("t").insert(0, `burst ${burst} `);
      raw.ws.send(encodeUpdate(Y.encodeStateAsUpdate(src, sv)));
      await waitFor(() => savedVectors(raw).at(-1)?.get(4242) === Y.getState(src.store, 4242), `saved after burst ${burst}`);
      // "Saved" means stored: what the message claims is in the object's storage.
      expect((await storedVector(d)).get(4242)).toBeGreaterThanOrEqual(savedVectors(raw).at(-1)!.get(4242)!);
    }
    // At most one per commit: three bursts, three messages (plus the one after step 2).
    expect(savedVectors(raw)).toHaveLength(4);
    raw.ws.close();
  });

  it("a socket that did not ask never gets type 100, even with the header forged; a read socket that asked does", async () => {
    const d = await createTestDoc();
    const plain = await openRaw(d.docId, await d.token("write"), { headers: { "x-lattice-saved": "1" } });
    const reader = await openRaw(d.docId, await d.token("read", { userId: "reader" }), { query: "saved=1" });
    for (const s of [plain, reader]) s.ws.send(encodeSyncStep1(new Uint8Array([0])));
    const src = new Y.Doc();
    src.getText("t").insert(0, "hello");
    plain.ws.send(encodeUpdate(Y.encodeStateAsUpdate(src)));
    await waitFor(() => savedVectors(reader).some((sv) => sv.get(src.clientID) === 5), "the reader's saved message");
    await waitFor(() => plain.received.length >= 2, "the writer's step 2");
    expect(savedVectors(plain)).toHaveLength(0);
    for (const s of [plain, reader]) s.ws.close();
  });
});
