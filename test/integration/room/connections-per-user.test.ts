/**
 * One user cannot hold a document's sockets (issue 22): a read token opening socket after socket meets
 * MAX_CONNECTIONS_PER_USER (default 10) and the per-user upgrade budget with 1013 (which the stock
 * provider retries with its backoff), and another user still connects and syncs.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { readLimits } from "../../../src/room/limits";
import { encodeSyncStep1, encodeUpdate } from "../../../src/sync/frames";
import { createTestDoc, openRaw, type RawSocket, waitFor } from "../../helpers/sync";

describe("connections per user", () => {
  it("one read token's sockets stop at MAX_CONNECTIONS_PER_USER with 1013; another user connects and syncs", async () => {
    const perUser = readLimits(env).maxConnectionsPerUser;
    expect(perUser).toBe(10);
    const d = await createTestDoc();
    const hog = await d.token("read", { userId: "hog" });
    const held: RawSocket[] = [];
    for (let i = 0; i < perUser; i++) held.push(await openRaw(d.docId, hog));
    const refused: RawSocket[] = [];
    for (let i = 0; i < 5; i++) refused.push(await openRaw(d.docId, hog));
    for (const r of refused) expect((await r.closed).code).toBe(1013);
    expect(held.some((s) => s.isClosed())).toBe(false);
    // Another user gets in and syncs a write that the hog's sockets receive.
    const writer = await openRaw(d.docId, await d.token("write", { userId: "writer" }));
    writer.ws.send(encodeSyncStep1(new Uint8Array([0])));
    await waitFor(() => writer.received.length >= 2, "the writer's greeting and answer");
    expect(writer.isClosed()).toBe(false);
    const src = new Y.Doc();
    src.getText("t").insert(0, "hello");
    const seen = held[0]!.received.length;
    writer.ws.send(encodeUpdate(Y.encodeStateAsUpdate(src)));
    await waitFor(() => held[0]!.received.length > seen, "the write to reach a reader");
    // One of the hog's sockets leaves: it may open one again.
    held[0]!.ws.close(1000);
    await held[0]!.closed;
    let again = await openRaw(d.docId, hog);
    for (let tries = 0; tries < 20 && again.isClosed(); tries++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await openRaw(d.docId, hog);
    }
    expect(again.isClosed()).toBe(false);
    for (const s of [...held.slice(1), again, writer]) s.ws.close(1000);
  });

  it("opening and closing sockets fast meets the upgrade budget (1013), for that user only", async () => {
    const d = await createTestDoc();
    const churn = await d.token("read", { userId: "churn" });
    const codes: number[] = [];
    for (let i = 0; i < 30; i++) {
      const s = await openRaw(d.docId, churn);
      if (s.isClosed()) {
        codes.push((await s.closed).code);
        continue;
      }
      await new Promise((r) => setTimeout(r, 5));
      if (s.isClosed()) codes.push((await s.closed).code);
      else {
        s.ws.close(1000);
        await s.closed;
      }
    }
    expect(codes).toContain(1013);
    const other = await openRaw(d.docId, await d.token("read", { userId: "other" }));
    other.ws.send(encodeSyncStep1(new Uint8Array([0])));
    await waitFor(() => other.received.length >= 2 || other.isClosed(), "the other user's greeting");
    expect(other.isClosed()).toBe(false);
    other.ws.close(1000);
  });
});
