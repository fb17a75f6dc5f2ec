import { describe, expect, it } from "vitest";
import { api, createDoc, createProject, expectError, expectJson, type TestDocument } from "../../helpers/rest";

describe("POST /v1/docs", () => {
  it("creates a document with the given id, title and metadata", async () => {
    const p = await createProject();
    const doc = await createDoc(p.secretKey, { id: "notes.v1_a-b", title: "Notes", metadata: { owner: "ann", tags: ["a"] } });
    expect(doc).toEqual({
      id: "notes.v1_a-b",
      title: "Notes",
      metadata: { owner: "ann", tags: ["a"] },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      sizeBytes: 0,
    });
    expect(new Date(doc.createdAt).toISOString()).toBe(doc.createdAt);
  });

  it("generates an id when absent (also with no body at all)", async () => {
    const p = await createProject();
    const a = await createDoc(p.secretKey);
    expect(a.id).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/);
    expect(a).toMatchObject({ title: null, metadata: {} });
    const b = await expectJson<TestDocument>(await api("/v1/docs", { method: "POST", token: p.secretKey }), 201);
    expect(b.id).not.toBe(a.id);
  });

  it("409 when the project already has the id; another project may use it", async () => {
    const p = await createProject();
    const q = await createProject();
    await createDoc(p.secretKey, { id: "shared" });
    await expectError(await api("/v1/docs", { token: p.secretKey, json: { id: "shared" } }), 409, "conflict");
    await createDoc(q.secretKey, { id: "shared" });
  });

  it("refuses weird ids with 400, never 500", async () => {
    const p = await createProject();
    for (const id of ["..", ".hidden", "a/b", "%2F", "ünïcode", "日本", "a".repeat(129), "", "a b", 42, null]) {
      const res = await api("/v1/docs", { token: p.secretKey, json: { id } });
      await expectError(res, 400, "invalid_request");
    }
    // 128 characters is the longest allowed.
    await createDoc(p.secretKey, { id: "a".repeat(128) });
  });

  it("refuses metadata over 8 KiB of UTF-8 JSON, or not an object", async () => {
    const p = await createProject();
    // 3000 × "é" is 6000 bytes of UTF-8 but 3000 characters: still under; 4500 × "é" is over.
    await createDoc(p.secretKey, { metadata: { s: "é".repeat(3000) } });
    const big = await expectError(await api("/v1/docs", { token: p.secretKey, json: { metadata: { s: "é".repeat(4500) } } }), 400, "invalid_request");
    expect(JSON.stringify(big.error.details)).toContain("metadata");
    await expectError(await api("/v1/docs", { token: p.secretKey, json: { metadata: { s: "x".repeat(9000) } } }), 400, "invalid_request");
    for (const metadata of [[1, 2], "text", 5, null]) {
      await expectError(await api("/v1/docs", { token: p.secretKey, json: { metadata } }), 400, "invalid_request");
    }
  });

  it("415 for a non-JSON body", async () => {
    const p = await createProject();
    await expectError(
      await api("/v1/docs", { token: p.secretKey, body: "id=x", headers: { "content-type": "application/x-www-form-urlencoded" } }),
      415,
      "unsupported_media_type",
    );
  });
});

describe("GET /v1/docs (list)", () => {
  it("pages through every document exactly once, ordered by id", async () => {
    const p = await createProject();
    const ids = Array.from({ length: 45 }, (_, i) => `doc-${String(i).padStart(3, "0")}`);
    // Created out of order: the listing orders by id, not by creation.
    for (const id of [...ids].reverse()) await createDoc(p.secretKey, { id });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const page: { data: TestDocument[]; nextCursor: string | null } = await expectJson(await api(`/v1/docs?limit=7${q}`, { token: p.secretKey }), 200);
      expect(page.data.length).toBeLessThanOrEqual(7);
      seen.push(...page.data.map((d) => d.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(7);
    expect(seen).toEqual(ids);
  });

  it("defaults to 20, and nextCursor is null on the last page", async () => {
    const p = await createProject();
    for (let i = 0; i < 21; i++) await createDoc(p.secretKey, { id: `d${String(i).padStart(2, "0")}` });
    const first = await expectJson(await api("/v1/docs", { token: p.secretKey }), 200);
    expect(first.data).toHaveLength(20);
    expect(first.nextCursor).toEqual(expect.any(String));
    const last = await expectJson(await api(`/v1/docs?cursor=${first.nextCursor}`, { token: p.secretKey }), 200);
    expect(last.data.map((d: TestDocument) => d.id)).toEqual(["d20"]);
    expect(last.nextCursor).toBeNull();
    // Exactly a full page: no phantom empty page after it.
    const exact = await expectJson(await api("/v1/docs?limit=21", { token: p.secretKey }), 200);
    expect(exact.data).toHaveLength(21);
    expect(exact.nextCursor).toBeNull();
  });

  it("filters by prefix literally (no LIKE wildcards, case-sensitive)", async () => {
    const p = await createProject();
    for (const id of ["a_1", "a_2", "ab", "A_3", "b_1", "a-x"]) await createDoc(p.secretKey, { id });
    const list = async (prefix: string) =>
      (await expectJson(await api(`/v1/docs?prefix=${encodeURIComponent(prefix)}`, { token: p.secretKey }), 200)).data.map((d: TestDocument) => d.id);
    expect(await list("a_")).toEqual(["a_1", "a_2"]);
    expect(await list("a")).toEqual(["a-x", "a_1", "a_2", "ab"]);
    expect(await list("A")).toEqual(["A_3"]);
    expect(await list("zzz")).toEqual([]);
    await expectError(await api("/v1/docs?prefix=%25", { token: p.secretKey }), 400, "invalid_request");
  });

  it("400 for a bad cursor or limit", async () => {
    const p = await createProject();
    for (const q of ["cursor=!!!", "cursor=Zm9vL2Jhcg", "cursor=%C3%A9", "limit=0", "limit=101", "limit=abc", "limit=1.5"]) {
      await expectError(await api(`/v1/docs?${q}`, { token: p.secretKey }), 400, "invalid_request");
    }
  });

  it("lists only the caller's project", async () => {
    const p = await createProject();
    const q = await createProject();
    await createDoc(p.secretKey, { id: "mine" });
    await createDoc(q.secretKey, { id: "theirs" });
    const list = await expectJson(await api("/v1/docs", { token: p.secretKey }), 200);
    expect(list.data.map((d: TestDocument) => d.id)).toEqual(["mine"]);
  });
});

describe("GET / PATCH /v1/docs/{id}", () => {
  it("gets a document", async () => {
    const p = await createProject();
    const doc = await createDoc(p.secretKey, { id: "g1", title: "T" });
    expect(await expectJson(await api("/v1/docs/g1", { token: p.secretKey }), 200)).toEqual(doc);
  });

  it("404 for an unknown document and 4xx for weird ids", async () => {
    const p = await createProject();
    await expectError(await api("/v1/docs/nope", { token: p.secretKey }), 404, "not_found");
    for (const path of ["/v1/docs/..", "/v1/docs/a%2Fb", "/v1/docs/%2F", "/v1/docs/%C3%BC", `/v1/docs/${"a".repeat(129)}`, "/v1/docs/.x"]) {
      const res = await api(path, { token: p.secretKey });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toMatch(/^(invalid_request|not_found)$/);
    }
  });

  it("patches title and metadata (metadata replaced, title cleared with null)", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "p1", title: "Old", metadata: { a: 1 } });
    const patched = await expectJson(await api("/v1/docs/p1", { method: "PATCH", token: p.secretKey, json: { title: "New" } }), 200);
    expect(patched).toMatchObject({ id: "p1", title: "New", metadata: { a: 1 } });
    const meta = await expectJson(await api("/v1/docs/p1", { method: "PATCH", token: p.secretKey, json: { metadata: { b: 2 } } }), 200);
    expect(meta).toMatchObject({ title: "New", metadata: { b: 2 } });
    const cleared = await expectJson(await api("/v1/docs/p1", { method: "PATCH", token: p.secretKey, json: { title: null } }), 200);
    expect(cleared.title).toBeNull();
    expect(await expectJson(await api("/v1/docs/p1", { token: p.secretKey }), 200)).toEqual(cleared);
  });

  it("PATCH: 404 unknown, 400 invalid, 415 not JSON", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "p2" });
    await expectError(await api("/v1/docs/none", { method: "PATCH", token: p.secretKey, json: { title: "x" } }), 404, "not_found");
    await expectError(await api("/v1/docs/p2", { method: "PATCH", token: p.secretKey, json: { metadata: { s: "x".repeat(9000) } } }), 400, "invalid_request");
    await expectError(await api("/v1/docs/p2", { method: "PATCH", token: p.secretKey, json: { title: 5 } }), 400, "invalid_request");
    await expectError(
      await api("/v1/docs/p2", { method: "PATCH", token: p.secretKey, body: "{", headers: { "content-type": "application/json" } }),
      400,
      "invalid_request",
    );
    await expectError(
      await api("/v1/docs/p2", { method: "PATCH", token: p.secretKey, body: "title", headers: { "content-type": "text/plain" } }),
      415,
      "unsupported_media_type",
    );
  });
});
