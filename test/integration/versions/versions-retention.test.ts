/**
 * Issue 22, items 2, 3 and 11 (versions), the way they were found: a collaborator with a write token,
 * through the Worker (SELF.fetch, real tokens), every version limit at its default (MAX_VERSION_BYTES is
 * 32 MiB in this suite, vitest.config.ts). History no collaborator can erase, restores no collaborator can
 * block, named versions capped under concurrency, a version's real size counted, named versions and
 * restores rate-limited per user.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DocRoom } from "../../../src/room/doc-room";
import { readLimits, retentionLimits } from "../../../src/room/limits";
import { SqlVersionStore } from "../../../src/versions/store";
import { CLIENT_NAMED_SHARE, MAX_NAMED_VERSIONS, VERSION_WRITES_PER_MINUTE, versionCost } from "../../../src/versions/policy";
import { api, createProject, expectError, expectJson, mintToken } from "../../helpers/rest";
import { editableDoc, json, list, setText, stubOf, takeAutoVersionNow, takeVersion, type Version } from "../../helpers/versions";

const restore = (path: string, versionId: string, token: string) => api(`${path}/versions/${versionId}/restore`, { method: "POST", token });

/** Every version of a kind, through the pages. */
async function all(path: string, token: string, kind: Version["kind"]): Promise<Version[]> {
  const out: Version[] = [];
  let cursor: string | null = "";
  while (cursor !== null) {
    const page: { data: Version[]; nextCursor: string | null } = await list(path, token, `?kind=${kind}&limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    out.push(...page.data);
    cursor = page.nextCursor;
  }
  return out;
}

/** The document's object with this one limit of its version store changed (the rest stay at their values). */
async function withStoreLimit(p: Awaited<ReturnType<typeof createProject>>, docId: string, writesPerMinute: number): Promise<void> {
  await runInDurableObject(await stubOf(p, docId), (room: DocRoom, ctx) => {
    const r = (room as unknown as { h: { versions: { store: SqlVersionStore } } }).h.versions;
    r.store = new SqlVersionStore(ctx.storage.sql, (fn) => fn(), { ...retentionLimits(readLimits(env)), writesPerMinute });
    ctx.storage.sql.exec(`DELETE FROM version_writes`); // every allowance full at the new rate
  });
}

/** The owner writes GOOD and the object takes its automatic version; then a collaborator, mallory, gets a write token. */
async function goodThenMallory() {
  const p = await createProject();
  const d = await editableDoc(p);
  await d.edit(setText("GOOD"));
  await takeAutoVersionNow(p, d.id);
  const [good] = await all(d.path, p.secretKey, "auto");
  const mallory = (await mintToken(p.secretKey, d.id, "write", "mallory")).token;
  return { p, d, good: good!, mallory };
}

/** Item 2's start: mallory overwrites GOOD and takes a named version of that. */
async function overwrittenByMallory() {
  const s = await goodThenMallory();
  await s.d.edit(setText("BAD"), s.mallory);
  return { ...s, named: await takeVersion(s.d.path, s.mallory, "mine") };
}

describe("the version limits", () => {
  it("default to the documented numbers and read wrangler.toml's [vars]", () => {
    for (const l of [readLimits({} as typeof env), readLimits(env)])
      expect([l.maxNamedVersions, l.maxNamedVersionsPerUser, l.maxBeforeRestoreVersions, l.versionWritesPerMinute]).toEqual([500, 50, 50, 10]);
    expect(retentionLimits(readLimits(env))).toEqual({
      maxAuto: 100,
      maxBytes: 32 * 1024 * 1024, // vitest.config.ts
      maxNamed: 500,
      maxNamedPerUser: 50,
      maxBeforeRestore: 50,
      writesPerMinute: 10,
    });
  });
});

describe("a write token cannot erase history (issue 22, item 2)", () => {
  it("101 restores in a row: past the rate they are 429 with Retry-After, and the automatic version holding GOOD answers 200", async () => {
    const { p, d, good, mallory, named } = await overwrittenByMallory();

    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 101; i++) {
      const res = await restore(d.path, named.id, mallory);
      statuses.push(res.status);
      if (res.status === 429 && !limited) limited = res;
      else await res.arrayBuffer();
    }
    // The named version took one of the minute's VERSION_WRITES_PER_MINUTE; the restores the rest.
    expect(statuses.filter((s) => s === 200)).toHaveLength(VERSION_WRITES_PER_MINUTE - 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(101 - (VERSION_WRITES_PER_MINUTE - 1));
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = await expectError(limited!, 429, "rate_limited");
    expect(body.error.message).toMatch(/named versions and restores/);

    expect(await expectJson(await api(`${d.path}/versions/${good.id}/json`, { token: mallory }), 200)).toEqual({ t: "GOOD" });
    await expectJson(await restore(d.path, good.id, p.secretKey), 200);
    expect(await json(d.path, p.secretKey)).toEqual({ t: "GOOD" });
  });

  it("with the rate lifted, 101 restores keep the automatic version holding GOOD and the owner's before-restore version: a user's restores push out only their own", async () => {
    const { p, d, good, mallory, named } = await overwrittenByMallory();
    // The owner edits and restores once: their before-restore version holds the edit.
    await d.edit(setText("OWNER EDIT"));
    const owners = await expectJson<{ before: string }>(await restore(d.path, good.id, p.secretKey), 200);
    await withStoreLimit(p, d.id, 1000);
    for (let i = 0; i < 101; i++) {
      const res = await restore(d.path, named.id, mallory);
      expect(res.status, `restore ${i}: ${await res.text()}`).toBe(200);
    }

    const limits = readLimits(env);
    expect(await all(d.path, p.secretKey, "before-restore")).toHaveLength(limits.maxBeforeRestoreVersions);
    expect((await all(d.path, p.secretKey, "auto")).map((v) => v.id)).toEqual([good.id]);
    // Mallory's restores pushed out only mallory's own before-restore versions.
    expect(await expectJson(await api(`${d.path}/versions/${owners.before}/json`, { token: mallory }), 200)).toEqual({ t: "OWNER EDIT" });
    expect(await expectJson(await api(`${d.path}/versions/${good.id}/json`, { token: mallory }), 200)).toEqual({ t: "GOOD" });
  });
});

describe("a write token cannot block restores (issue 22, item 3)", () => {
  it("a collaborator fills the document and the client share of named versions; the owner's secret-key restore still succeeds", async () => {
    const { p, d, good, mallory } = await goodThenMallory();
    // ~3 MB of text (MAX_UPDATE_BYTES is 1 MiB a request).
    const chunk = "0123456789abcdef".repeat(60 * 1024);
    for (let i = 0; i < 3; i++) await d.edit((doc) => doc.getText("t").insert(doc.getText("t").length, chunk), mallory);
    await takeAutoVersionNow(p, d.id);

    // A quarter of MAX_VERSION_BYTES (8 MiB here) holds two of these; the third is refused.
    const share = readLimits(env).maxVersionBytes * CLIENT_NAMED_SHARE;
    const taken: Version[] = [];
    for (;;) {
      const res = await api(`${d.path}/versions`, { token: mallory, json: { name: `fill ${taken.length}` } });
      if (res.status !== 201) {
        const refused = await expectError(res, 413, "payload_too_large");
        expect(refused.error.message).toMatch(/client tokens may hold at most/);
        break;
      }
      taken.push((await res.json()) as Version);
    }
    expect(taken.length).toBe(Math.floor(share / taken[0]!.sizeBytes));
    // Then restores until the rate says no: each takes a before-restore version of ~3 MB.
    let restores = 0;
    for (let res = await restore(d.path, taken[0]!.id, mallory); res.status === 200; res = await restore(d.path, taken[0]!.id, mallory)) restores++;
    expect(restores).toBe(VERSION_WRITES_PER_MINUTE - taken.length);

    const owner = await expectJson<{ before: string }>(await restore(d.path, good.id, p.secretKey), 200);
    expect(await json(d.path, p.secretKey)).toEqual({ t: "GOOD" });
    expect(await expectJson<Version>(await api(`${d.path}/versions/${owner.before}`, { token: p.secretKey }), 200)).toMatchObject({
      kind: "before-restore",
      createdBy: null,
    });
    // Both automatic versions are still there, and the collaborator's named ones.
    expect(await all(d.path, p.secretKey, "auto")).toHaveLength(2);
    expect((await all(d.path, p.secretKey, "named")).map((v) => v.id).sort()).toEqual(taken.map((v) => v.id).sort());
  });
});

describe("named versions are bounded (issue 22, item 11)", () => {
  it(`600 concurrent named versions from 60 users: ${MAX_NAMED_VERSIONS} are taken, the rest are 413 with the documented message`, async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("x"));
    const tokens = await Promise.all(Array.from({ length: 60 }, async (_, i) => (await mintToken(p.secretKey, d.id, "write", `user-${i}`)).token));
    const calls = tokens.flatMap((token) => Array.from({ length: 10 }, (_, j) => api(`${d.path}/versions`, { token, json: { name: `v${j}` } })));
    const responses = await Promise.all(
      calls.map(async (call) => {
        const r = await call;
        return { status: r.status, text: await r.text() };
      }),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(MAX_NAMED_VERSIONS);
    expect(statuses.filter((s) => s === 413)).toHaveLength(600 - MAX_NAMED_VERSIONS);
    for (const r of responses.filter((x) => x.status === 413))
      expect(JSON.parse(r.text)).toEqual({
        error: { code: "payload_too_large", message: expect.stringMatching(/at most 500 named versions \(MAX_NAMED_VERSIONS\)/) },
      });
    expect(await all(d.path, p.secretKey, "named")).toHaveLength(MAX_NAMED_VERSIONS);
    // The secret key is held to the same count; deleting one makes room.
    await expectError(await api(`${d.path}/versions`, { token: p.secretKey, json: {} }), 413, "payload_too_large");
    const [first] = await all(d.path, p.secretKey, "named");
    expect((await api(`${d.path}/versions/${first!.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    await takeVersion(d.path, p.secretKey, "room again");
  });

  it("600 concurrent named versions with the secret key (no rate): capped at the same count", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("x"));
    const responses = await Promise.all(Array.from({ length: 600 }, () => api(`${d.path}/versions`, { token: p.secretKey, json: {} })));
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(statuses.filter((s) => s === 201)).toHaveLength(MAX_NAMED_VERSIONS);
    expect(statuses.filter((s) => s === 413)).toHaveLength(100);
    expect(await all(d.path, p.secretKey, "named")).toHaveLength(MAX_NAMED_VERSIONS);
  });

  it("a named version is charged its real size (state, name, row), not the 2 bytes of an empty document's state", async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    const cost = async () =>
      runInDurableObject(await stubOf(p, d.id), (room: DocRoom) =>
        (room as unknown as { h: { versions: { store: SqlVersionStore } } }).h.versions.store.costBytes(),
      );
    for (let i = 0; i < 100; i++) await takeVersion(d.path, p.secretKey, "n".repeat(256));
    const [one] = await all(d.path, p.secretKey, "named");
    expect(one!.sizeBytes).toBe(2); // all that item 11 saw charged
    // What each costs in the object's storage is measured in test/integration/versions/versions-store.test.ts ("costs what it takes in storage").
    expect(await cost()).toBe(100 * versionCost(2, "n".repeat(256)));
    expect(versionCost(2, "n".repeat(256))).toBeGreaterThan(500);
  });
});

describe("named versions and restores are rate-limited per user", () => {
  it(`${VERSION_WRITES_PER_MINUTE} a minute per user and document, then 429 with Retry-After; other users and the secret key are not held to it`, async () => {
    const p = await createProject();
    const d = await editableDoc(p);
    await d.edit(setText("x"));
    const ana = (await mintToken(p.secretKey, d.id, "write", "ana")).token;
    // A second token for the same user shares the allowance.
    const ana2 = (await mintToken(p.secretKey, d.id, "write", "ana")).token;
    const bo = (await mintToken(p.secretKey, d.id, "write", "bo")).token;
    const first = await takeVersion(d.path, ana);
    for (let i = 1; i < VERSION_WRITES_PER_MINUTE; i++) await takeVersion(d.path, i % 2 ? ana2 : ana);
    const named = await api(`${d.path}/versions`, { token: ana2, json: {}, headers: { origin: "https://app.example" } });
    expect(named.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    // A browser page may read it.
    expect(named.headers.get("access-control-expose-headers")).toMatch(/retry-after/i);
    await expectError(named, 429, "rate_limited");
    const restored = await restore(d.path, first.id, ana);
    expect(Number(restored.headers.get("retry-after"))).toBeLessThanOrEqual(60 / VERSION_WRITES_PER_MINUTE);
    await expectError(restored, 429, "rate_limited");
    expect(await all(d.path, p.secretKey, "named")).toHaveLength(VERSION_WRITES_PER_MINUTE);
    expect(await all(d.path, p.secretKey, "before-restore")).toHaveLength(0);
    await takeVersion(d.path, bo);
    await takeVersion(d.path, p.secretKey);
    await expectJson(await restore(d.path, first.id, p.secretKey), 200);
  });

  it("the OpenAPI document declares 429 on taking a version and on restoring", async () => {
    const doc = await expectJson(await api("/openapi.json"), 200);
    for (const op of [doc.paths["/v1/docs/{id}/versions"].post, doc.paths["/v1/docs/{id}/versions/{versionId}/restore"].post]) {
      expect(op.responses["429"].description).toMatch(/VERSION_WRITES_PER_MINUTE/);
      expect(op.responses["429"].headers["retry-after"]).toBeDefined();
    }
  });
});
