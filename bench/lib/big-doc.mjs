// W7: a document at the size cap (MAX_DOC_BYTES, 8 MiB by default). It is written through one socket in
// large updates, read back by a fresh client while the object is warm, and again after a restart (cold);
// the server's peak memory is sampled through each step.
import * as Y from "yjs";
import { rssBytes } from "./proc.mjs";
import { TEXT } from "./traces.mjs";
import { client, connectAll, mb, round, withTimeout } from "./workloads.mjs";
import { step1Message } from "./yws.mjs";

/** Updates that build a text of about `bytes` encoded bytes, `chunk` characters per update. */
export function bigDocTrace(bytes, chunk = 256 * 1024) {
  const doc = new Y.Doc();
  const text = doc.getText(TEXT);
  const updates = [];
  doc.on("update", (u) => updates.push(u));
  const line = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n";
  const block = line.repeat(Math.ceil(chunk / line.length)).slice(0, chunk);
  let total = 0;
  while (total + chunk + 64 <= bytes) {
    text.insert(text.length, block);
    total += updates.at(-1).length;
  }
  return { updates, bytes: total, chars: text.length, encodedBytes: Y.encodeStateAsUpdate(doc).length };
}

/** Samples the server's RSS every 50 ms while `fn` runs; returns [fn's result, peak MB]. */
async function withPeakRss(target, fn) {
  let peak = rssBytes(target.serverPids());
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(target.serverPids()))), 50);
  try {
    return [await fn(), mb(peak)];
  } finally {
    clearInterval(timer);
  }
}

/** Writes the document; done when a step 1 sent after the last update is answered (after its commit). */
export async function loadBigDoc(target, docId, trace) {
  const rssBeforeMB = mb(rssBytes(target.serverPids()));
  const [seconds, rssPeakMB] = await withPeakRss(target, async () => {
    const writer = await client(target, [docId, 0], {});
    await connectAll([writer]);
    const t0 = performance.now();
    for (const u of trace.updates) {
      writer.sendUpdate(u);
      await writer.drain(1 << 20);
    }
    const seen = writer.received;
    writer.send(step1Message(undefined, writer.address));
    await withTimeout(
      (async () => {
        while (writer.received === seen && !writer.closed) await new Promise((r) => setTimeout(r, 5));
      })(),
      120_000,
      "big doc load",
    );
    if (writer.closed) throw new Error(`the server closed the writer (${writer.closeCode}) while loading ${trace.bytes} bytes`);
    const s = (performance.now() - t0) / 1000;
    await writer.close();
    return s;
  });
  return { bytes: trace.bytes, updates: trace.updates.length, seconds: round(seconds, 2), rssBeforeMB, rssPeakMB };
}

/** A fresh client's sync of the document: connect → synced, the bytes it got and the server's peak RSS. */
export async function syncBigDoc(target, docId, trace) {
  const rssBeforeMB = mb(rssBytes(target.serverPids()));
  let bytes = 0;
  const [c, rssPeakMB] = await withPeakRss(target, async () => {
    const reader = await client(target, [docId, 1, "read"], { onUpdate: (u) => (bytes += u.length) });
    await reader.connect();
    await withTimeout(reader.synced, 120_000, "big doc sync");
    await reader.close();
    return reader;
  });
  return {
    connectToSyncedMs: round(c.tSynced - c.tStart),
    bytesReceived: bytes,
    complete: bytes >= trace.bytes * 0.99,
    rssBeforeMB,
    rssPeakMB,
  };
}
