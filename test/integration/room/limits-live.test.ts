/**
 * Connections per document on a live object. The suite runs with MAX_CONNECTIONS_PER_DOC = 64
 * (vitest.config.ts bindings) so that the limit is cheap to reach; production's default is 1000.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { readLimits } from "../../../src/room/limits";
import { encodeSyncStep1, encodeUpdate } from "../../../src/sync/frames";
import { createTestDoc, openRaw, waitFor } from "../../helpers/sync";

describe("connections per document", () => {
  it("the connection past the limit is closed with 1013 (retried by the stock client); the others stay, and a place frees up when one leaves", async () => {
    const max = readLimits(env).maxConnectionsPerDoc;
    expect(max).toBeLessThanOrEqual(64);
    const d = await createTestDoc();
    // One user each: a single user is held to MAX_CONNECTIONS_PER_USER long before the room fills.
    const token = () => d.token("write", { userId: `user-${Math.random().toString(36).slice(2)}` });
    const sockets = [];
    for (let i = 0; i < max; i++) sockets.push(await openRaw(d.docId, await token()));
    const extra = await openRaw(d.docId, await token());
    expect((await extra.closed).code).toBe(1013);
    expect(sockets.some((s) => s.isClosed())).toBe(false);
    // The room still works for those inside: an update from the first reaches the last.
    const src = new Y.Doc();
    src.getText("t").insert(0, "still here");
    const last = sockets.at(-1)!;
    const seen = last.received.length;
    sockets[0]!.ws.send(encodeUpdate(Y.encodeStateAsUpdate(src)));
    await waitFor(() => last.received.length > seen, "the update to reach the last socket");
    // One leaves: a newcomer gets in.
    sockets[0]!.ws.close(1000);
    await sockets[0]!.closed;
    let newcomer = await openRaw(d.docId, await token());
    for (let tries = 0; tries < 20 && newcomer.isClosed(); tries++) {
      await new Promise((r) => setTimeout(r, 50));
      newcomer = await openRaw(d.docId, await token());
    }
    newcomer.ws.send(encodeSyncStep1(new Uint8Array([0])));
    await waitFor(() => newcomer.received.length >= 2 || newcomer.isClosed(), "the newcomer's reply");
    expect(newcomer.isClosed()).toBe(false);
    for (const s of [...sockets.slice(1), newcomer]) s.ws.close(1000);
  });
});
