import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { craftEndClaims } from "../../helpers/crafted-update";
import { api, b64url, BASE, createDoc, createProject, expectError, expectJson, fromB64url, mintToken, postUpdate } from "../../helpers/rest";

function sampleUpdate(): { doc: Y.Doc; update: Uint8Array } {
  const doc = new Y.Doc();
  doc.getText("title").insert(0, "Hello");
  doc.getMap("meta").set("n", 1);
  doc.getArray("list").push(["a", "b"]);
  const frag = doc.getXmlFragment("body");
  const p = new Y.XmlElement("p");
  p.insert(0, [new Y.XmlText("hi")]);
  frag.insert(0, [p]);
  return { doc, update: Y.encodeStateAsUpdate(doc) };
}

async function getUpdate(docId: string, token: string, query = ""): Promise<Uint8Array> {
  const res = await api(`/v1/docs/${docId}/update${query}`, { token });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/octet-stream");
  return new Uint8Array(await res.arrayBuffer());
}

describe("POST and GET /v1/docs/{id}/update", () => {
  it("round-trips a real Yjs update, and GET …/json shows the content", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "rt" });
    const { doc, update } = sampleUpdate();
    const applied = await expectJson(await postUpdate("rt", p.secretKey, update), 200);
    expect(applied.stateVector).toBe(b64url(Y.encodeStateVector(doc)));

    const replica = new Y.Doc();
    Y.applyUpdate(replica, await getUpdate("rt", p.secretKey));
    expect(replica.getText("title").toString()).toBe("Hello");
    expect(replica.getMap("meta").toJSON()).toEqual({ n: 1 });

    const json = await expectJson(await api("/v1/docs/rt/json", { token: p.secretKey }), 200);
    expect(json).toEqual({ title: "Hello", meta: { n: 1 }, list: ["a", "b"], body: "<p>hi</p>" });
  });

  it("answers only what a state vector lacks", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "sv" });
    const { doc, update } = sampleUpdate();
    await expectJson(await postUpdate("sv", p.secretKey, update), 200);
    const known = Y.encodeStateVector(doc);
    doc.getText("title").insert(5, " world");
    await expectJson(await postUpdate("sv", p.secretKey, Y.encodeStateAsUpdate(doc, known)), 200);

    const stale = new Y.Doc();
    Y.applyUpdate(stale, update);
    const diff = await getUpdate("sv", p.secretKey, `?stateVector=${b64url(Y.encodeStateVector(stale))}`);
    expect(diff.length).toBeLessThan(Y.encodeStateAsUpdate(doc).length);
    Y.applyUpdate(stale, diff);
    expect(stale.getText("title").toString()).toBe("Hello world");
  });

  it("400 for a bad state vector", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "badsv" });
    for (const sv of ["!!!", "_w", "a"]) {
      await expectError(await api(`/v1/docs/badsv/update?stateVector=${sv}`, { token: p.secretKey }), 400, "invalid_request");
    }
  });

  it("a malformed update gets 400 and changes nothing", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "mal" });
    await expectJson(await postUpdate("mal", p.secretKey, sampleUpdate().update), 200);
    const before = await getUpdate("mal", p.secretKey);
    const { update } = sampleUpdate();
    for (const bad of [new Uint8Array([1, 2, 3]), update.slice(0, update.length - 3), new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]), new Uint8Array(0)]) {
      await expectError(await postUpdate("mal", p.secretKey, bad), 400, "invalid_request");
    }
    expect(await getUpdate("mal", p.secretKey)).toEqual(before);
  });

  it("413 for an update whose conflicts would take too long to merge (14 KB, 4 million steps); the document is unchanged", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "walk" });
    const text = new Y.Doc();
    text.clientID = 1;
    text.getText("t").insert(0, "x".repeat(600_000));
    await expectJson(await postUpdate("walk", p.secretKey, Y.encodeStateAsUpdate(text)), 200);
    const before = await getUpdate("walk", p.secretKey);
    // 2,000 inserts by client 2, each naming an origin inside the text and no right origin, origins descending.
    const walk = craftEndClaims(2000, 600_000);
    expect(walk.length).toBeLessThan(16_000);
    const refused = await expectError(await postUpdate("walk", p.secretKey, walk), 413, "payload_too_large");
    expect(refused.error.message).toMatch(/merge/);
    expect(await getUpdate("walk", p.secretKey)).toEqual(before);
  });

  it("415 for another content type, 413 over the size limit", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "lim" });
    const { update } = sampleUpdate();
    await expectError(await postUpdate("lim", p.secretKey, update, "application/json"), 415, "unsupported_media_type");
    await expectError(await postUpdate("lim", p.secretKey, update, "text/plain"), 415, "unsupported_media_type");
    await expectError(await api("/v1/docs/lim/update", { method: "POST", token: p.secretKey, body: update }), 415, "unsupported_media_type");
    await expectError(await postUpdate("lim", p.secretKey, new Uint8Array(1024 * 1024 + 1)), 413, "payload_too_large");
    // Still usable afterwards.
    await expectJson(await postUpdate("lim", p.secretKey, update), 200);
  });

  it("404 for an unknown document on every content route", async () => {
    const p = await createProject();
    await expectError(await api("/v1/docs/ghost/update", { token: p.secretKey }), 404, "not_found");
    await expectError(await postUpdate("ghost", p.secretKey, sampleUpdate().update), 404, "not_found");
    await expectError(await api("/v1/docs/ghost/json", { token: p.secretKey }), 404, "not_found");
    await expectError(await api("/v1/docs/ghost/presence", { token: p.secretKey }), 404, "not_found");
    await expectError(await api("/v1/docs/ghost/tokens", { token: p.secretKey, json: { userId: "u", access: "read" } }), 404, "not_found");
  });

  it("writes updatedAt and sizeBytes back to the catalog", async () => {
    const p = await createProject();
    const created = await createDoc(p.secretKey, { id: "size" });
    await expectJson(await postUpdate("size", p.secretKey, sampleUpdate().update), 200);
    await expect
      .poll(async () => (await expectJson(await api("/v1/docs/size", { token: p.secretKey }), 200)).sizeBytes, { timeout: 15_000, interval: 250 })
      .toBeGreaterThan(0);
    const doc = await expectJson(await api("/v1/docs/size", { token: p.secretKey }), 200);
    expect(Date.parse(doc.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
  });
});

describe("GET /v1/docs/{id}/json", () => {
  it("uses ?types= for roots whose content cannot tell", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "types" });
    const json = await expectJson(await api("/v1/docs/types/json?types=notes:text,items:array,tree:xml,conf:map", { token: p.secretKey }), 200);
    expect(json).toEqual({ notes: "", items: [], tree: "", conf: {} });
  });

  it("400 for a malformed types list or a kind that contradicts the content", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "badtypes" });
    await expectJson(await postUpdate("badtypes", p.secretKey, sampleUpdate().update), 200);
    for (const t of ["title:blob", "title", ":text", "a:text,,b:map", "a:text:map"]) {
      await expectError(await api(`/v1/docs/badtypes/json?types=${encodeURIComponent(t)}`, { token: p.secretKey }), 400, "invalid_request");
    }
    await expectJson(await api("/v1/docs/badtypes/json", { token: p.secretKey }), 200);
    await expectError(await api("/v1/docs/badtypes/json?types=meta:text", { token: p.secretKey }), 400, "invalid_request");
  });
});

describe("POST /v1/docs/{id}/tokens", () => {
  it("mints a token with expiry and the WebSocket URL of the request's host", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "tok" });
    const before = Date.now();
    const res = await mintToken(p.secretKey, "tok", "read");
    expect(res.token.split(".")).toHaveLength(3);
    expect(res.url).toBe("wss://lattice.test/v1/sync/tok");
    // What y-websocket takes as its server URL (it appends the document id), beside the document's own URL.
    expect(res.syncBase).toBe("wss://lattice.test/v1/sync");
    expect(res.created).toBe(false);
    const exp = Date.parse(res.expiresAt);
    expect(exp).toBeGreaterThanOrEqual(before + 3599_000);
    expect(exp).toBeLessThanOrEqual(Date.now() + 3601_000);

    const plain = await SELF.fetch("http://other.host:8787/v1/docs/tok/tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${p.secretKey}`, "content-type": "application/json" },
      body: JSON.stringify({ userId: "u", access: "write", expiresIn: 60 }),
    });
    const body = await expectJson(plain, 201);
    expect(body.url).toBe("ws://other.host:8787/v1/sync/tok");
    expect(Date.parse(body.expiresAt)).toBeLessThanOrEqual(Date.now() + 61_000);
  });

  it("400 for a bad body", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "tokbad" });
    for (const json of [
      { access: "read" },
      { userId: "", access: "read" },
      { userId: "u", access: "admin" },
      { userId: "u", access: "read", expiresIn: 59 },
      { userId: "u", access: "read", expiresIn: 86401 },
      { userId: "u", access: "read", expiresIn: 100.5 },
    ]) {
      await expectError(await api("/v1/docs/tokbad/tokens", { token: p.secretKey, json }), 400, "invalid_request");
    }
  });

  it("the token reads the document over REST and opens the WebSocket", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "tokuse" });
    const { token } = await mintToken(p.secretKey, "tokuse", "write");
    expect((await expectJson(await api("/v1/docs/tokuse", { token }), 200)).id).toBe("tokuse");
    await expectJson(await postUpdate("tokuse", token, sampleUpdate().update), 200);
    const ws = await SELF.fetch(`${BASE}/v1/sync/tokuse?token=${token}`, { headers: { upgrade: "websocket" } });
    expect(ws.status).toBe(101);
    ws.webSocket!.accept();
    ws.webSocket!.close(1000);
  });
});

describe("presence and delete", () => {
  it("presence lists live connections by user", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "pres" });
    expect(await expectJson(await api("/v1/docs/pres/presence", { token: p.secretKey }), 200)).toEqual({ connections: 0, users: [] });

    const { token } = await mintToken(p.secretKey, "pres", "read", "ann");
    const res = await SELF.fetch(`${BASE}/v1/sync/pres?token=${token}`, { headers: { upgrade: "websocket" } });
    const ws = res.webSocket!;
    ws.accept();
    const presence = await expectJson(await api("/v1/docs/pres/presence", { token }), 200);
    expect(presence).toEqual({ connections: 1, users: [{ userId: "ann", access: "read", clientIds: [] }] });
    ws.close(1000);
  });

  it("DELETE closes sockets with 4404, erases content, 404s later, and the id can be created again empty", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "del", title: "gone soon" });
    await expectJson(await postUpdate("del", p.secretKey, sampleUpdate().update), 200);
    const { token } = await mintToken(p.secretKey, "del");
    const res = await SELF.fetch(`${BASE}/v1/sync/del?token=${token}`, { headers: { upgrade: "websocket" } });
    const ws = res.webSocket!;
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
    ws.accept();

    expect((await api("/v1/docs/del", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    expect(await closed).toBe(4404);

    await expectError(await api("/v1/docs/del", { token: p.secretKey }), 404, "not_found");
    await expectError(await api("/v1/docs/del/update", { token: p.secretKey }), 404, "not_found");
    await expectError(await api("/v1/docs/del/json", { token }), 404, "not_found");
    await expectError(await api("/v1/docs/del", { method: "DELETE", token: p.secretKey }), 404, "not_found");
    const again = await SELF.fetch(`${BASE}/v1/sync/del?token=${token}`, { headers: { upgrade: "websocket" } });
    expect(again.status).toBe(404);

    const fresh = await createDoc(p.secretKey, { id: "del" });
    expect(fresh).toMatchObject({ title: null, sizeBytes: 0 });
    expect(await expectJson(await api("/v1/docs/del/json", { token: p.secretKey }), 200)).toEqual({});
    const replica = new Y.Doc();
    Y.applyUpdate(replica, fromB64url(b64url(new Uint8Array(await (await api("/v1/docs/del/update", { token: p.secretKey })).arrayBuffer()))));
    expect(replica.share.size).toBe(0);
  });
});
