/**
 * Reads are budgeted (issue 22): rendering or encoding a heavy document costs the object's thread, so a
 * client token's reads draw on its user's byte allowance (MAX_SYNC_BYTES_PER_SECOND, a burst of
 * 2 × MAX_DOC_BYTES; a JSON rendering counts 4 × the stored bytes). Past it: 429 `rate_limited`, for
 * that user only; the application's secret key reads unbudgeted.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { readLimits } from "../../../src/room/limits";
import { api, createDoc, createProject, expectError, mintToken, postUpdate } from "../../helpers/rest";

describe("read budgets", () => {
  it("a read token rendering a heavy document over and over meets 429; another user and the secret key still read", async () => {
    const limits = readLimits(env);
    const p = await createProject();
    const d = await createDoc(p.secretKey);
    // About 1 MB of text, written in chunks under MAX_UPDATE_BYTES.
    const doc = new Y.Doc();
    for (let i = 0; i < 4; i++) {
      const sv = Y.encodeStateVector(doc);
      doc.getText("t").insert(doc.getText("t").length, "x".repeat(256 * 1024));
      expect((await postUpdate(d.id, p.secretKey, Y.encodeStateAsUpdate(doc, sv))).status).toBe(200);
    }
    const reader = (await mintToken(p.secretKey, d.id, "read", "scraper")).token;
    // What the allowance covers: its burst over 4 × ~1 MB per rendering, plus a margin.
    const allowed = Math.ceil((2 * limits.maxDocBytes) / (4 * 1024 * 1024)) + 2;
    let status = 200;
    let reads = 0;
    for (; reads < allowed + 5 && status === 200; reads++) status = (await api(`/v1/docs/${d.id}/json`, { token: reader })).status;
    expect(status).toBe(429);
    expect(reads).toBeGreaterThan(3);
    await expectError(await api(`/v1/docs/${d.id}/json`, { token: reader }), 429, "rate_limited");
    // The whole state as bytes is budgeted from the same allowance (what is left of it goes first).
    let updateStatus = 200;
    for (let i = 0; i < 10 && updateStatus === 200; i++) updateStatus = (await api(`/v1/docs/${d.id}/update`, { token: reader })).status;
    expect(updateStatus).toBe(429);
    const other = (await mintToken(p.secretKey, d.id, "read", "someone-else")).token;
    expect((await api(`/v1/docs/${d.id}/json`, { token: other })).status).toBe(200);
    expect((await api(`/v1/docs/${d.id}/json`, { token: p.secretKey })).status).toBe(200);
  }, 120_000);
});
