import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { expect, inject, it } from "vitest";
import * as Y from "yjs";
import type { DocRoom } from "../../../src/room/doc-room";
import { roomStub } from "../../../src/room/stub";
import { encodeSyncStep1, encodeUpdate } from "../../../src/sync/frames";
import { createTestDoc, openRaw, waitFor } from "../../helpers/sync";
import { applyPatches, type SequentialTrace } from "../../helpers/traces";

it("after eviction a fresh client is answered from stored bytes, without loading the document", async () => {
  const trace = inject("traces").sveltecomponent as SequentialTrace;
  const d = await createTestDoc();
  const writer = await openRaw(d.docId, await d.token());
  const src = new Y.Doc();
  const text = src.getText("text");
  let sv = Y.encodeStateVector(src);
  trace.txns.forEach((txn, i) => {
    applyPatches(text, txn.patches);
    if (i % 250 === 249 || i === trace.txns.length - 1) {
      writer.ws.send(encodeUpdate(Y.encodeStateAsUpdate(src, sv)));
      sv = Y.encodeStateVector(src);
    }
  });
  const n = writer.received.length;
  writer.ws.send(encodeSyncStep1(Y.encodeStateVector(src)));
  await waitFor(() => writer.received.length > n, "all updates applied");
  writer.ws.close();
  const stub = roomStub(env, d);
  await evictDurableObject(stub);

  const fresh = await openRaw(d.docId, await d.token("read"));
  fresh.ws.send(encodeSyncStep1(new Uint8Array([0])));
  const replica = new Y.Doc();
  await waitFor(() => fresh.received.length >= 2, "greeting and answer");
  const loaded = await runInDurableObject(stub, async (room: DocRoom) => (room as unknown as { parts: { core: { isLoaded: boolean } } }).parts.core.isLoaded);
  expect(loaded).toBe(false);
  await waitFor(() => {
    return fresh.received.some((m) => m[0] === 0 && m[1] === 1);
  }, "step 2");
  for (const m of fresh.received) {
    if (m[0] === 0 && (m[1] === 1 || m[1] === 2)) {
      const dec = m.subarray(2);
      // payload is a varUint8Array: skip its length prefix
      let pos = 0;
      while (dec[pos]! & 0x80) pos++;
      Y.applyUpdate(replica, dec.subarray(pos + 1));
    }
  }
  expect(replica.getText("text").toString()).toBe(trace.endContent);
  fresh.ws.close();
});
