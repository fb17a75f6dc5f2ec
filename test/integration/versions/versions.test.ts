/**
 * Version history (issue 15) through the Worker in workerd: the REST contract and its status rules, restore
 * with a live stock y-websocket provider, forks, automatic versions and retention on the object's alarm,
 * eviction, a 20 MB document, and the `version.created` / `document.restored` webhook events.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import type { DocRoom } from "../../../src/room/doc-room";
import { readLimits } from "../../../src/room/limits";
import type { AutoVersionState } from "../../../src/versions/policy";
import { api, createProject, expectError, expectJson, mintToken } from "../../helpers/rest";
import { synced, waitFor, providersPerTest } from "../../helpers/sync";
import { editableDoc, json, list, setText, stubOf, takeAutoVersionNow, takeVersion, type Version } from "../../helpers/versions";
import { createWebhook, hookUrl, receiverName, waitForRequests } from "../../helpers/webhooks";

const provider = providersPerTest();

describe("versions: the REST contract", () => {
  it("takes named versions, lists them newest first with kind filter and cursor, reads metadata, state and JSON", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("one"));
    const writer = (await mintToken(p.secretKey, d.id, "write", "ana")).token;
    const v1 = await takeVersion(d.path, p.secretKey, "First");
    expect(v1).toEqual({ id: expect.any(String), name: "First", kind: "named", createdAt: expect.any(String), createdBy: null, sizeBytes: expect.any(Number) });
    expect(new Date(v1.createdAt).toISOString()).toBe(v1.createdAt);
    await d.edit(setText("two"));
    const v2 = await takeVersion(d.path, writer);
    expect(v2).toMatchObject({ name: null, kind: "named", createdBy: "ana" });
    await d.edit(setText("three"));
    const v3 = await takeVersion(d.path, writer, "Third");

    const all = await list(d.path, p.secretKey);
    expect(all.data.map((v) => v.id)).toEqual([v3.id, v2.id, v1.id]);
    expect(all.nextCursor).toBeNull();
    const page1 = await list(d.path, p.secretKey, "?limit=2");
    expect(page1.data.map((v) => v.id)).toEqual([v3.id, v2.id]);
    const page2 = await list(d.path, p.secretKey, `?limit=2&cursor=${page1.nextCursor}`);
    expect(page2).toEqual({ data: [v1], nextCursor: null });
    expect((await list(d.path, p.secretKey, "?kind=auto")).data).toEqual([]);
    expect((await list(d.path, p.secretKey, "?kind=named")).data).toHaveLength(3);
    await expectError(await api(`${d.path}/versions?cursor=not-a-cursor`, { token: p.secretKey }), 400, "invalid_request");
    await expectError(await api(`${d.path}/versions?limit=0`, { token: p.secretKey }), 400, "invalid_request");
    await expectError(await api(`${d.path}/versions?limit=101`, { token: p.secretKey }), 400, "invalid_request");
    await expectError(await api(`${d.path}/versions?kind=weekly`, { token: p.secretKey }), 400, "invalid_request");

    expect(await expectJson(await api(`${d.path}/versions/${v2.id}`, { token: p.secretKey }), 200)).toEqual(v2);
    const res = await api(`${d.path}/versions/${v1.id}/update`, { token: p.secretKey });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    const state = new Uint8Array(await res.arrayBuffer());
    expect(state.length).toBe(v1.sizeBytes);
    const back = new Y.Doc();
    Y.applyUpdate(back, state);
    expect(back.getText("t").toString()).toBe("one");
    expect(await expectJson(await api(`${d.path}/versions/${v2.id}/json`, { token: p.secretKey }), 200)).toEqual({ t: "two" });
    expect(await expectJson(await api(`${d.path}/versions/${v2.id}/json?types=t:text,other:map`, { token: p.secretKey }), 200)).toEqual({
      t: "two",
      other: {},
    });
    // The document itself did not move.
    expect(await json(d.path, p.secretKey)).toEqual({ t: "three" });
  });

  it("renames and deletes; unknown versions are 404, bad bodies 400", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("x"));
    const v = await takeVersion(d.path, p.secretKey, "old");
    const writer = (await mintToken(p.secretKey, d.id, "write")).token;
    const renamed = await expectJson<Version>(await api(`${d.path}/versions/${v.id}`, { method: "PATCH", token: writer, json: { name: "new" } }), 200);
    expect(renamed).toEqual({ ...v, name: "new" });
    await expectError(await api(`${d.path}/versions/${v.id}`, { method: "PATCH", token: writer, json: { name: "" } }), 400, "invalid_request");
    await expectError(await api(`${d.path}/versions`, { token: writer, json: { name: 5 } }), 400, "invalid_request");
    expect((await api(`${d.path}/versions/${v.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    for (const suffix of ["", "/update", "/json"]) await expectError(await api(`${d.path}/versions/${v.id}${suffix}`, { token: p.secretKey }), 404, "not_found");
    await expectError(await api(`${d.path}/versions/${v.id}`, { method: "DELETE", token: p.secretKey }), 404, "not_found");
    await expectError(await api(`${d.path}/versions/${v.id}/restore`, { method: "POST", token: p.secretKey }), 404, "not_found");
    await expectError(await api(`/v1/docs/no-such-doc/versions`, { token: p.secretKey }), 404, "not_found");
  });

  it("read tokens list and read but cannot create, restore, rename, fork or delete (403); write tokens cannot fork or delete", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("x"));
    const v = await takeVersion(d.path, p.secretKey, "v");
    const reader = (await mintToken(p.secretKey, d.id, "read")).token;
    const writer = (await mintToken(p.secretKey, d.id, "write")).token;
    expect((await list(d.path, reader)).data).toHaveLength(1);
    for (const suffix of ["", "/update", "/json"]) expect((await api(`${d.path}/versions/${v.id}${suffix}`, { token: reader })).status).toBe(200);
    await expectError(await api(`${d.path}/versions`, { token: reader, json: {} }), 403, "forbidden");
    await expectError(await api(`${d.path}/versions/${v.id}/restore`, { method: "POST", token: reader }), 403, "forbidden");
    await expectError(await api(`${d.path}/versions/${v.id}`, { method: "PATCH", token: reader, json: { name: "n" } }), 403, "forbidden");
    for (const token of [reader, writer]) {
      await expectError(await api(`${d.path}/versions/${v.id}`, { method: "DELETE", token }), 403, "forbidden");
      await expectError(await api(`${d.path}/versions/${v.id}/fork`, { token, json: {} }), 403, "forbidden");
    }
    // A token for another document of the same project.
    const other = await editableDoc(p);
    const otherToken = (await mintToken(p.secretKey, other.id, "write")).token;
    await expectError(await api(`${d.path}/versions`, { token: otherToken }), 403, "forbidden");
    expect((await list(d.path, p.secretKey)).data).toHaveLength(1);
  });

  it("another project's document is 404 for every version route", async () => {
    const p = await createProject();
    const q = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("mine"));
    const v = await takeVersion(d.path, p.secretKey, "v");
    const calls: [string, Parameters<typeof api>[1]][] = [
      [`${d.path}/versions`, {}],
      [`${d.path}/versions`, { json: {} }],
      [`${d.path}/versions/${v.id}`, {}],
      [`${d.path}/versions/${v.id}/update`, {}],
      [`${d.path}/versions/${v.id}/json`, {}],
      [`${d.path}/versions/${v.id}/restore`, { method: "POST" }],
      [`${d.path}/versions/${v.id}/fork`, { json: {} }],
      [`${d.path}/versions/${v.id}`, { method: "PATCH", json: { name: "n" } }],
      [`${d.path}/versions/${v.id}`, { method: "DELETE" }],
    ];
    for (const [path, call] of calls) await expectError(await api(path, { ...call, token: q.secretKey }), 404, "not_found");
    expect((await list(d.path, p.secretKey)).data).toEqual([v]);
  });

  it("the routes are in the OpenAPI document", async () => {
    const doc = await expectJson(await api("/openapi.json"), 200);
    for (const path of [
      "/v1/docs/{id}/versions",
      "/v1/docs/{id}/versions/{versionId}",
      "/v1/docs/{id}/versions/{versionId}/update",
      "/v1/docs/{id}/versions/{versionId}/json",
      "/v1/docs/{id}/versions/{versionId}/restore",
      "/v1/docs/{id}/versions/{versionId}/fork",
    ])
      expect(doc.paths[path], path).toBeDefined();
    expect(Object.keys(doc.paths["/v1/docs/{id}/versions/{versionId}"]).sort()).toEqual(["delete", "get", "patch"]);
    expect(doc.components.schemas.Version.required).toEqual(expect.arrayContaining(["id", "name", "kind", "createdAt", "createdBy", "sizeBytes"]));
  });
});

describe("restore", () => {
  it("reaches a live stock provider as an update, with no reconnect; JSON equals the version's; restoring `before` undoes it", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit((doc) => {
      doc.getText("t").insert(0, "Hello", { bold: true });
      doc.getMap("m").set("n", 1);
      const arr = new Y.Array<unknown>();
      arr.push([1, "two", { three: 3 }]);
      doc.getMap("m").set("list", arr);
      const frag = doc.getXmlFragment("x");
      const para = new Y.XmlElement("paragraph");
      para.insert(0, [new Y.XmlText("para")]);
      frag.insert(0, [para]);
    });
    const writer = (await mintToken(p.secretKey, d.id, "write", "bo")).token;
    const v = await takeVersion(d.path, writer, "good");
    const versionJson = await expectJson(await api(`${d.path}/versions/${v.id}/json?types=x:xml`, { token: writer }), 200);

    const live = provider(d.id, writer);
    await synced(live);
    let disconnects = 0;
    live.on("status", (e: { status: string }) => {
      if (e.status !== "connected") disconnects++;
    });
    const socket = live.ws;
    // Edits after the version, from the live client and from REST.
    live.doc.getText("t").insert(5, ", world");
    await d.edit((doc) => {
      doc.getMap("m").set("n", 2);
      doc.getMap("m").delete("list");
      doc.getXmlFragment("x").insert(1, [new Y.XmlElement("heading")]);
    });
    await waitFor(() => live.doc.getMap("m").get("n") === 2, "the REST edit to reach the provider");
    const beforeJson = await expectJson(await api(`${d.path}/json?types=x:xml`, { token: writer }), 200);
    expect(beforeJson).not.toEqual(versionJson);

    const restored = await expectJson<{ restoredFrom: string; before: string }>(
      await api(`${d.path}/versions/${v.id}/restore`, { method: "POST", token: writer }),
      200,
    );
    expect(restored).toEqual({ restoredFrom: v.id, before: expect.any(String) });
    expect(await expectJson(await api(`${d.path}/json?types=x:xml`, { token: writer }), 200)).toEqual(versionJson);
    await waitFor(() => live.doc.getText("t").toString() === "Hello", "the restore to reach the provider");
    expect(live.doc.getText("t").toDelta()).toEqual([{ insert: "Hello", attributes: { bold: true } }]);
    expect(live.doc.getMap("m").toJSON()).toEqual({ n: 1, list: [1, "two", { three: 3 }] });
    expect(live.doc.getXmlFragment("x").toString()).toBe("<paragraph>para</paragraph>");
    expect(disconnects).toBe(0);
    expect(live.ws).toBe(socket);

    const before = await expectJson<Version>(await api(`${d.path}/versions/${restored.before}`, { token: writer }), 200);
    expect(before).toMatchObject({ kind: "before-restore", createdBy: "bo" });
    expect((await list(d.path, writer, "?kind=before-restore")).data.map((x) => x.id)).toEqual([restored.before]);
    const undo = await expectJson<{ before: string }>(await api(`${d.path}/versions/${restored.before}/restore`, { method: "POST", token: p.secretKey }), 200);
    expect(await expectJson(await api(`${d.path}/json?types=x:xml`, { token: writer }), 200)).toEqual(beforeJson);
    await waitFor(() => live.doc.getText("t").toString() === "Hello, world", "the undo to reach the provider");
    expect(undo.before).not.toBe(restored.before);
    expect(live.ws).toBe(socket);
    // A replica that saw none of it converges on the same content.
    const fresh = provider(d.id, writer);
    await synced(fresh);
    expect(fresh.doc.getText("t").toString()).toBe("Hello, world");
  });

  it("is refused with 413 when the before-restore version cannot fit, and the document is unchanged (see the 20 MB test); an unchanged restore is still a restore", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("same"));
    const v = await takeVersion(d.path, p.secretKey);
    const r = await expectJson<{ restoredFrom: string; before: string }>(
      await api(`${d.path}/versions/${v.id}/restore`, { method: "POST", token: p.secretKey }),
      200,
    );
    expect(r.restoredFrom).toBe(v.id);
    expect(await json(d.path, p.secretKey)).toEqual({ t: "same" });
  });
});

describe("restore with two live writers typing through it", () => {
  it("every replica and the server converge: the version's text, with the marks typed after the restore reached the server", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("version text"));
    const v = await takeVersion(d.path, p.secretKey);
    await d.edit(setText("replaced entirely"));
    const a = provider(d.id, (await mintToken(p.secretKey, d.id, "write", "a")).token);
    const b = provider(d.id, (await mintToken(p.secretKey, d.id, "write", "b")).token);
    await Promise.all([synced(a), synced(b)]);
    const socketA = a.ws;
    const typing = (who: typeof a, mark: string) =>
      (async () => {
        for (let i = 0; i < 30; i++) {
          who.doc.getText("t").insert(0, mark);
          await new Promise((r) => setTimeout(r, 3));
        }
      })();
    const [restore] = await Promise.all([api(`${d.path}/versions/${v.id}/restore`, { method: "POST", token: p.secretKey }), typing(a, "A"), typing(b, "B")]);
    expect(restore.status).toBe(200);
    const text = (x: typeof a) => x.doc.getText("t").toString();
    const sv = (x: typeof a) => [...Y.decodeStateVector(Y.encodeStateVector(x.doc))].sort().join();
    // Converged: each replica has every update of the other (the server's restore included), and the same text.
    await waitFor(() => sv(a) === sv(b) && text(a) === text(b) && a.doc.store.clients.size === 4, "the replicas to converge");
    await expect.poll(async () => (await json(d.path, p.secretKey)).t).toBe(text(a));
    // Marks the server held when it restored were replaced with the rest; everything else is the version's text.
    expect(text(a).replace(/[AB]/g, "")).toBe("version text");
    expect(a.ws).toBe(socketA);
  });
});

describe("restore refused by the document limits", () => {
  it("413, the document unchanged, and the before-restore version it took is gone again", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("a long paragraph ".repeat(200)));
    const v = await takeVersion(d.path, p.secretKey, "long");
    await d.edit(setText("short"));
    const stub = await stubOf(p, d.id);
    // This object's limits only: the restore's update (the long text again) no longer fits.
    const cap = await runInDurableObject(stub, async (room: DocRoom) => {
      const r = room as unknown as { limits: { maxDocBytes: number }; storedBytes(): number };
      await room.compact();
      const old = r.limits.maxDocBytes;
      r.limits.maxDocBytes = r.storedBytes() + 200;
      return old;
    });
    await expectError(await api(`${d.path}/versions/${v.id}/restore`, { method: "POST", token: p.secretKey }), 413, "payload_too_large");
    expect(await json(d.path, p.secretKey)).toEqual({ t: "short" });
    expect((await list(d.path, p.secretKey)).data).toEqual([v]);
    await runInDurableObject(stub, (room: DocRoom) => {
      (room as unknown as { limits: { maxDocBytes: number } }).limits.maxDocBytes = cap;
    });
    await expectJson(await api(`${d.path}/versions/${v.id}/restore`, { method: "POST", token: p.secretKey }), 200);
    expect(await json(d.path, p.secretKey)).toEqual({ t: "a long paragraph ".repeat(200) });
  });
});

describe("fork", () => {
  it("creates an independent document in the same project with the version's content", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("source v1"));
    const v = await takeVersion(d.path, p.secretKey, "v1");
    await d.edit(setText("source later"));
    const fork = await expectJson(await api(`${d.path}/versions/${v.id}/fork`, { token: p.secretKey, json: { id: "the-fork", title: "Fork" } }), 201);
    expect(fork).toMatchObject({ id: "the-fork", title: "Fork", metadata: {}, sizeBytes: expect.any(Number) });
    expect(fork.sizeBytes).toBeGreaterThan(0);
    expect(await expectJson(await api("/v1/docs/the-fork", { token: p.secretKey }), 200)).toMatchObject({ id: "the-fork", title: "Fork" });
    expect(await json("/v1/docs/the-fork", p.secretKey)).toEqual({ t: "source v1" });
    // Edit one, the other does not change; both ways.
    const forkToken = (await mintToken(p.secretKey, "the-fork", "write")).token;
    const forkLive = provider("the-fork", forkToken);
    await synced(forkLive);
    forkLive.doc.getText("t").insert(0, ">> ");
    await expect.poll(async () => (await json("/v1/docs/the-fork", p.secretKey)).t).toBe(">> source v1");
    expect(await json(d.path, p.secretKey)).toEqual({ t: "source later" });
    await d.edit(setText("source edited again"));
    expect(await json("/v1/docs/the-fork", p.secretKey)).toEqual({ t: ">> source v1" });
    // The fork has no versions of its own; a generated id when none is given; an existing id is 409.
    expect((await list("/v1/docs/the-fork", p.secretKey)).data).toEqual([]);
    const generated = await expectJson(await api(`${d.path}/versions/${v.id}/fork`, { method: "POST", token: p.secretKey }), 201);
    expect(generated.id).toMatch(/^[A-Za-z0-9_-]{21}$/);
    expect(await json(`/v1/docs/${generated.id}`, p.secretKey)).toEqual({ t: "source v1" });
    await expectError(await api(`${d.path}/versions/${v.id}/fork`, { token: p.secretKey, json: { id: "the-fork" } }), 409, "conflict");
    expect(await json("/v1/docs/the-fork", p.secretKey)).toEqual({ t: ">> source v1" });
  });
});

describe("automatic versions and retention, on the object's alarm", () => {
  it("the limits default to the issue's values and read the vars", () => {
    const defaults = readLimits({} as typeof env);
    expect([defaults.versionIntervalSeconds, defaults.maxAutoVersions, defaults.maxVersionBytes]).toEqual([600, 100, 64 * 1024 * 1024]);
    const l = readLimits(env);
    expect([l.versionIntervalSeconds, l.maxAutoVersions]).toEqual([600, 100]); // wrangler.toml
    expect(l.maxVersionBytes).toBe(32 * 1024 * 1024); // vitest.config.ts, for the 20 MB test
  });

  it("takes one at the end of a burst (production timing, the clock moved through the object's state), not before", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("burst"));
    const stub = await stubOf(p, d.id);
    const state = () => runInDurableObject(stub, (room: DocRoom) => ({ ...(room as unknown as { h: { versions: { auto: AutoVersionState } } }).h.versions.auto }));
    const first = await state();
    expect(first.firstChangeAt).toEqual(expect.any(Number));
    // The alarm runs for other duties; the burst has not ended, so no version.
    await runDurableObjectAlarm(stub);
    expect((await list(d.path, p.secretKey)).data).toEqual([]);
    // 61 s later, as far as the policy can tell.
    await runInDurableObject(stub, async (room: DocRoom, ctx) => {
      const r = (room as unknown as { h: { versions: { auto: AutoVersionState } } }).h.versions;
      r.auto = { firstChangeAt: first.firstChangeAt! - 61_000, lastChangeAt: first.lastChangeAt! - 61_000 };
      await ctx.storage.setAlarm(Date.now());
    });
    await runDurableObjectAlarm(stub);
    const autos = (await list(d.path, p.secretKey, "?kind=auto")).data;
    expect(autos).toHaveLength(1);
    expect(autos[0]).toMatchObject({ kind: "auto", name: null, createdBy: null });
    expect(await expectJson(await api(`${d.path}/versions/${autos[0]!.id}/json`, { token: p.secretKey }), 200)).toEqual({ t: "burst" });
    // The burst is in that version: nothing more is due until the next change.
    expect(await state()).toEqual({ lastVersionAt: expect.any(Number) });
    await runInDurableObject(stub, (_room, ctx) => ctx.storage.setAlarm(Date.now()));
    await runDurableObjectAlarm(stub);
    expect((await list(d.path, p.secretKey, "?kind=auto")).data).toHaveLength(1);
  });

  it("keeps the last MAX_AUTO_VERSIONS automatic versions; named ones stay; all survive eviction", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("keep"));
    const named = await takeVersion(d.path, p.secretKey, "named");
    const stub = await stubOf(p, d.id);
    await runInDurableObject(stub, (room: DocRoom) => {
      const r = (room as unknown as { h: { versions: { auto: AutoVersionState; duty: { run(now: number): number } } } }).h.versions;
      for (let i = 0; i < 103; i++) {
        r.auto = { firstChangeAt: 0, lastChangeAt: 0 };
        r.duty.run(Date.now());
      }
    });
    const autos: Version[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page: { data: Version[]; nextCursor: string | null } = await list(d.path, p.secretKey, `?kind=auto&limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      autos.push(...page.data);
      cursor = page.nextCursor;
    }
    expect(autos).toHaveLength(100);
    const before = await list(d.path, p.secretKey, "?limit=3");
    await evictDurableObject(stub);
    expect(await list(d.path, p.secretKey, "?limit=3")).toEqual(before);
    expect((await list(d.path, p.secretKey, "?kind=named")).data).toEqual([named]);
  });
});

describe("versions are erased with the document", () => {
  it("DELETE /v1/docs/{id} drops them from the object's storage", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("x"));
    await takeVersion(d.path, p.secretKey, "v");
    const stub = await stubOf(p, d.id);
    expect((await api(d.path, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    const left = await runInDurableObject(stub, (_room, ctx) => ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM versions").one().n);
    expect(left).toBe(0);
  });
});

describe("webhook events", () => {
  it("version.created for named, before-restore and automatic versions, document.restored for a restore; one event each", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    const name = receiverName("versions");
    await createWebhook(p.secretKey, { url: hookUrl(name), events: ["version.created", "document.restored"] });
    await d.edit(setText("v"));
    const v = await takeVersion(d.path, p.secretKey, "Named");
    await d.edit(setText("later"));
    const r = await expectJson<{ before: string }>(await api(`${d.path}/versions/${v.id}/restore`, { method: "POST", token: p.secretKey }), 200);
    // And an automatic one, as the alarm takes it at the end of the burst (the clock moved through the object's state).
    const auto = await takeAutoVersionNow(p, d.id);
    expect(auto).toEqual(expect.any(Number));
    const autoId = (await list(d.path, p.secretKey, "?kind=auto")).data[0]!.id;
    const got = await waitForRequests(name, 4, 30_000);
    const bodies = got.map((g) => JSON.parse(g.body) as { type: string; data: Record<string, unknown> });
    const byType = (t: string) => bodies.filter((b) => b.type === t).map((b) => b.data);
    expect(byType("version.created")).toEqual(
      expect.arrayContaining([
        { projectId: p.id, docId: d.id, versionId: v.id, kind: "named", name: "Named" },
        { projectId: p.id, docId: d.id, versionId: r.before, kind: "before-restore", name: null },
        { projectId: p.id, docId: d.id, versionId: autoId, kind: "auto", name: null },
      ]),
    );
    expect(byType("document.restored")).toEqual([{ projectId: p.id, docId: d.id, restoredFrom: v.id, before: r.before }]);
    expect(bodies.map((b) => b.type).sort()).toEqual(["document.restored", "version.created", "version.created", "version.created"]);
  });
});

describe("a 20 MB document", () => {
  it("takes a version and reads it back; past MAX_VERSION_BYTES a named version and a restore are 413 and the document is unchanged", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    const chunk = "0123456789abcdef".repeat(60 * 1024); // 960 KiB per REST update, under MAX_UPDATE_BYTES
    for (let i = 0; i < 22; i++) await d.edit((doc) => doc.getText("t").insert(doc.getText("t").length, chunk));
    const v = await takeVersion(d.path, p.secretKey, "big");
    expect(v.sizeBytes).toBeGreaterThan(20 * 1024 * 1024);
    const res = await api(`${d.path}/versions/${v.id}/update`, { token: p.secretKey });
    const back = new Y.Doc();
    Y.applyUpdate(back, new Uint8Array(await res.arrayBuffer()));
    expect(back.getText("t").toString() === d.local.getText("t").toString()).toBe(true);

    // 32 MiB of versions in this suite: a second one of this size cannot fit (nothing automatic to prune).
    const refused = await expectError(await api(`${d.path}/versions`, { token: p.secretKey, json: { name: "again" } }), 413, "payload_too_large");
    expect(refused.error.message).toMatch(/at most/);
    await d.edit((doc) => doc.getText("t").insert(0, "HEAD"));
    await expectError(await api(`${d.path}/versions/${v.id}/restore`, { method: "POST", token: p.secretKey }), 413, "payload_too_large");
    const now = new Y.Doc();
    Y.applyUpdate(now, new Uint8Array(await (await api(`${d.path}/update`, { token: p.secretKey })).arrayBuffer()));
    expect(now.getText("t").toString().slice(0, 8)).toBe("HEAD0123");
    expect(now.getText("t").length).toBe(22 * chunk.length + 4);
    expect((await list(d.path, p.secretKey)).data.map((x) => x.id)).toEqual([v.id]);
  });
});
