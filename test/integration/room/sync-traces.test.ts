import { describe, expect, inject, it } from "vitest";
import type { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { applyPatches, concurrentUpdatesByAgent, covers, type ConcurrentTrace, type SequentialTrace } from "../../helpers/traces";
import { createTestDoc, synced, waitFor, providersPerTest } from "../../helpers/sync";

const provider = providersPerTest();

const traces = inject("traces");
const BATCH = 20;
const yieldNow = () => new Promise((r) => setTimeout(r, 0));

describe.each(["friendsforever_flat", "sveltecomponent"])("replaying the %s trace keystroke by keystroke", (name) => {
  it("every client, and one joining afterwards, ends with exactly endContent", async () => {
    const trace = traces[name] as SequentialTrace;
    const d = await createTestDoc();
    const writer = provider(d.docId, await d.token("write", { userId: "writer" }));
    const reader = provider(d.docId, await d.token("read", { userId: "reader" }));
    await Promise.all([synced(writer), synced(reader)]);
    const text = writer.doc.getText("text");
    if (trace.startContent) text.insert(0, trace.startContent);
    // Keystroke-level edits, sent in groups of BATCH transactions per message: the harness's per-message
    // cost inside workerd would otherwise dominate the suite (bench/ replays one message per keystroke).
    for (let i = 0; i < trace.txns.length; i += BATCH) {
      writer.doc.transact(() => {
        for (const txn of trace.txns.slice(i, i + BATCH)) applyPatches(text, txn.patches);
      });
      if ((i / BATCH) % 20 === 19) await yieldNow();
    }
    expect(text.toString()).toBe(trace.endContent);
    await waitFor(() => reader.doc.getText("text").toString() === trace.endContent, "the reader to reach endContent", 120_000);
    const late = provider(d.docId, await d.token("read", { userId: "late" }));
    await synced(late);
    expect(late.doc.getText("text").toString()).toBe(trace.endContent);
  }, 180_000);
});

describe("replaying concurrent-friendsforever across two writers", () => {
  it("both writers, a reader and a late joiner converge on endContent", async () => {
    const trace = traces["concurrent-friendsforever"] as ConcurrentTrace;
    const perAgent = concurrentUpdatesByAgent(trace);
    const d = await createTestDoc();
    const writers = await Promise.all(perAgent.map(async (_, i) => provider(d.docId, await d.token("write", { userId: `agent-${i}` }))));
    const reader = provider(d.docId, await d.token("read"));
    await Promise.all([...writers, reader].map(synced));
    // Each writer pushes its own agent's edits, each only once its document has seen what the agent had
    // seen (through the server, from the other writer): the two streams interleave for real.
    await Promise.all(
      perAgent.map(async (updates, agent) => {
        const doc = writers[agent]!.doc;
        let i = 0;
        while (i < updates.length) {
          const next = updates[i]!;
          await waitFor(() => covers(doc, next.needs), `agent ${agent}'s edit ${i} to have its parents`, 60_000);
          doc.transact(() => {
            for (let n = 0; n < BATCH && i < updates.length && covers(doc, updates[i]!.needs); n++, i++) {
              Y.applyUpdate(doc, updates[i]!.update);
            }
          }, "replay");
          await yieldNow();
        }
      }),
    );
    const done = (p: WebsocketProvider) => p.doc.getText("text").toString() === trace.endContent;
    await waitFor(() => writers.every(done) && done(reader), "every client to reach endContent", 120_000);
    const late = provider(d.docId, await d.token("read"));
    await synced(late);
    expect(late.doc.getText("text").toString()).toBe(trace.endContent);
  }, 180_000);
});
