/**
 * Catalog reads near the user (D1 read replication through the Sessions API, src/db/session.ts): the document
 * listing and a secret key's metadata read run in a session, every document catalog route answers its bookmark
 * in x-lattice-bookmark and takes it back, and every access check stays on the primary.
 *
 * Locally D1 has no replicas: every session reads the one database, so a stale answer cannot be produced here
 * and "a read with the write's bookmark sees the write" passes with or without the bookmark. What can be checked
 * is the contract (the header, its validation) and where each read goes: the last block hands the app a D1
 * binding that records which statements ran on the binding (the primary) and which in a session, the part a
 * lagging replica would expose. That wrapper is the only stand-in; the database behind it is the real one.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { BOOKMARK } from "../../../src/db/session";
import { api, authHeaders, BASE, createDoc, createProject, expectError, expectJson, mintToken, type TestDocument } from "../../helpers/rest";

const HEADER = "x-lattice-bookmark";

function bookmarkOf(res: Response): string {
  const b = res.headers.get(HEADER);
  expect(b, "x-lattice-bookmark").toMatch(BOOKMARK);
  return b!;
}

const withBookmark = (bookmark: string) => ({ [HEADER]: bookmark });

async function docIds(secretKey: string): Promise<string[]> {
  return (await expectJson<{ data: TestDocument[] }>(await api("/v1/docs", { token: secretKey }), 200)).data.map((d) => d.id);
}

describe("the bookmark on the document catalog routes", () => {
  it("the listing and the metadata still work, answer a bookmark, and take one back", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "a", title: "A" });
    const list = await api("/v1/docs", { token: p.secretKey });
    const b = bookmarkOf(list);
    expect((await expectJson<{ data: TestDocument[] }>(list, 200)).data.map((d) => d.id)).toEqual(["a"]);
    const again = await api("/v1/docs?prefix=a", { token: p.secretKey, headers: withBookmark(b) });
    expect((await expectJson<{ data: TestDocument[] }>(again, 200)).data.map((d) => d.id)).toEqual(["a"]);
    // Bookmarks only move forward.
    expect(bookmarkOf(again) >= b).toBe(true);
    const meta = await api("/v1/docs/a", { token: p.secretKey, headers: withBookmark(b) });
    bookmarkOf(meta);
    expect(await expectJson<TestDocument>(meta, 200)).toMatchObject({ id: "a", title: "A" });
  });

  it("every write answers a bookmark, and a read that sends it back sees the write", async () => {
    const p = await createProject();
    const created = await api("/v1/docs", { token: p.secretKey, json: { id: "w", title: "one" } });
    const b1 = bookmarkOf(created);
    expect(created.status).toBe(201);
    const listed = await expectJson<{ data: TestDocument[] }>(await api("/v1/docs", { token: p.secretKey, headers: withBookmark(b1) }), 200);
    expect(listed.data.map((d) => d.id)).toEqual(["w"]);

    const patched = await api("/v1/docs/w", { method: "PATCH", token: p.secretKey, json: { title: "two" } });
    const b2 = bookmarkOf(patched);
    expect(patched.status).toBe(200);
    expect(b2 > b1).toBe(true);
    expect(await expectJson<TestDocument>(await api("/v1/docs/w", { token: p.secretKey, headers: withBookmark(b2) }), 200)).toMatchObject({ title: "two" });

    const deleted = await api("/v1/docs/w", { method: "DELETE", token: p.secretKey });
    const b3 = bookmarkOf(deleted);
    expect(deleted.status).toBe(204);
    await expectError(await api("/v1/docs/w", { token: p.secretKey, headers: withBookmark(b3) }), 404, "not_found");
    expect(await expectJson(await api("/v1/docs", { token: p.secretKey, headers: withBookmark(b3) }), 200)).toMatchObject({ data: [] });
  });

  it("a malformed bookmark is 400 invalid_request on every route, and changes nothing", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "keep", title: "kept" });
    // The constraint names are not bookmarks: a client may not choose how its session starts.
    const bad = ["first-primary", "first-unconstrained", "", "undefined", "ABCDEF", "00-", "-00", "00--01", "00 01", "0".repeat(257), "00000085-0000024c;drop"];
    for (const b of bad) {
      const headers = withBookmark(b);
      const calls: [string, Parameters<typeof api>[1]][] = [
        ["/v1/docs", { token: p.secretKey, headers }],
        ["/v1/docs/keep", { token: p.secretKey, headers }],
        ["/v1/docs", { token: p.secretKey, headers, json: { id: "new" } }],
        ["/v1/docs/keep", { method: "PATCH", token: p.secretKey, headers, json: { title: "changed" } }],
        ["/v1/docs/keep", { method: "DELETE", token: p.secretKey, headers }],
      ];
      for (const [path, call] of calls) {
        const res = await api(path, call);
        expect(res.headers.get(HEADER), `${call?.method ?? "GET"} ${path} ${JSON.stringify(b)}`).toBeNull();
        const body = await expectError(res, 400, "invalid_request");
        expect(body.error.message).toContain("invalid header");
        expect(body.error.message).toContain(HEADER);
      }
    }
    expect(await docIds(p.secretKey)).toEqual(["keep"]);
    expect(await expectJson<TestDocument>(await api("/v1/docs/keep", { token: p.secretKey }), 200)).toMatchObject({ title: "kept" });
    // The longest accepted is MAX_BOOKMARK_LENGTH characters.
    expect((await api("/v1/docs", { token: p.secretKey, headers: withBookmark("0".repeat(256)) })).status).toBe(200);
  });

  it("a revoked key is refused at once, whatever bookmark it sends", async () => {
    const p = await createProject();
    const key = await expectJson<{ id: string; secretKey: string }>(await api("/v1/keys", { token: p.secretKey, json: { name: "soon revoked" } }), 201);
    const b = bookmarkOf(await api("/v1/docs", { token: key.secretKey }));
    expect((await api(`/v1/keys/${key.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    await expectError(await api("/v1/docs", { token: key.secretKey, headers: withBookmark(b) }), 401, "unauthorized");
    await expectError(await api("/v1/docs", { token: key.secretKey }), 401, "unauthorized");
    await expectError(await api("/v1/docs/x", { token: key.secretKey, headers: withBookmark(b) }), 401, "unauthorized");
  });

  it("a deleted document is refused at once, with the bookmark from before its deletion too", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "gone" });
    const { token } = await mintToken(p.secretKey, "gone", "read");
    const before = bookmarkOf(await api("/v1/docs/gone", { token: p.secretKey }));
    expect((await api("/v1/docs/gone", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    await expectError(await api("/v1/docs/gone", { token: p.secretKey, headers: withBookmark(before) }), 404, "not_found");
    await expectError(await api("/v1/docs/gone", { token, headers: withBookmark(before) }), 404, "not_found");
    await expectError(await api("/v1/docs/gone/json", { token: p.secretKey, headers: withBookmark(before) }), 404, "not_found");
    await expectError(await api("/v1/docs/gone/update", { token }), 404, "not_found");
  });

  it("browsers may send the bookmark and read it (CORS)", async () => {
    const pre = await api("/v1/docs", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "GET", "access-control-request-headers": `authorization, ${HEADER}` },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-headers")!.toLowerCase().split(",")).toContain(HEADER);
    const p = await createProject();
    const res = await api("/v1/docs", { token: p.secretKey, headers: { origin: "https://app.example" } });
    expect(res.headers.get("access-control-expose-headers")!.toLowerCase().split(",")).toContain(HEADER);
  });
});

/** Which statements ran where: "primary" (the binding) or the session started with `start`. */
interface Ran {
  via: "primary" | "session";
  start?: string;
  sql: string;
}

/** The real binding, recording each statement and whether it ran on the binding or in a session. */
function recordingDb(ran: Ran[]): D1Database {
  const real = env.DB;
  return {
    prepare: (sql: string) => {
      ran.push({ via: "primary", sql });
      return real.prepare(sql);
    },
    batch: (s: D1PreparedStatement[]) => real.batch(s),
    exec: (sql: string) => real.exec(sql),
    dump: () => real.dump(),
    withSession: (start?: string) => {
      const session = real.withSession(start);
      return {
        prepare: (sql: string) => {
          ran.push({ via: "session", start, sql });
          return session.prepare(sql);
        },
        batch: (s: D1PreparedStatement[]) => session.batch(s),
        getBookmark: () => session.getBookmark(),
      };
    },
  } as unknown as D1Database;
}

describe("where each catalog read goes (a recording binding; the database is the real one)", () => {
  const app = createApp();

  async function call(ran: Ran[], path: string, init: RequestInit & { token: string }): Promise<Response> {
    const ctx = createExecutionContext();
    const headers = { ...authHeaders(init.token), ...(init.body ? { "content-type": "application/json" } : {}), ...(init.headers as Record<string, string>) };
    const res = await app.request(`${BASE}${path}`, { ...init, headers }, { ...env, DB: recordingDb(ran) }, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }
  const onTable = (ran: Ran[], table: string) => ran.filter((r) => r.sql.includes(`"${table}"`));

  it("the listing and a secret key's metadata read run in a session from the client's bookmark; the key check on the primary", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "m" });
    const b = bookmarkOf(await api("/v1/docs", { token: p.secretKey }));
    for (const path of ["/v1/docs", "/v1/docs/m"]) {
      const ran: Ran[] = [];
      expect((await call(ran, path, { token: p.secretKey, headers: withBookmark(b) })).status).toBe(200);
      expect(
        onTable(ran, "api_keys").map((r) => r.via),
        path,
      ).toEqual(["primary"]);
      expect(onTable(ran, "documents"), path).toEqual([expect.objectContaining({ via: "session", start: b })]);
      const fresh: Ran[] = [];
      expect((await call(fresh, path, { token: p.secretKey })).status).toBe(200);
      expect(onTable(fresh, "documents"), path).toEqual([expect.objectContaining({ via: "session", start: "first-unconstrained" })]);
    }
  });

  it("what decides access reads the primary: a client token's document and rule, a token's key, a document before its content", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "t" });
    const { token } = await mintToken(p.secretKey, "t", "read");
    const b = bookmarkOf(await api("/v1/docs", { token: p.secretKey }));
    const ran: Ran[] = [];
    expect((await call(ran, "/v1/docs/t", { token, headers: withBookmark(b) })).status).toBe(200);
    expect((await call(ran, "/v1/docs/t/json", { token: p.secretKey, headers: withBookmark(b) })).status).toBe(200);
    expect((await call(ran, "/v1/docs/t/tokens", { method: "POST", token: p.secretKey, body: JSON.stringify({ userId: "u", access: "read" }) })).status).toBe(201);
    expect(ran.length).toBeGreaterThan(0);
    expect(ran.filter((r) => r.via === "session")).toEqual([]);
  });

  it("writes run in a session that starts on the primary; a revoked key starts none", async () => {
    const p = await createProject();
    const ran: Ran[] = [];
    expect((await call(ran, "/v1/docs", { method: "POST", token: p.secretKey, body: JSON.stringify({ id: "x" }) })).status).toBe(201);
    expect((await call(ran, "/v1/docs/x", { method: "PATCH", token: p.secretKey, body: JSON.stringify({ title: "y" }) })).status).toBe(200);
    expect((await call(ran, "/v1/docs/x", { method: "DELETE", token: p.secretKey })).status).toBe(204);
    const docs = onTable(ran, "documents");
    expect(docs.length).toBeGreaterThanOrEqual(3);
    for (const r of docs) expect(r).toMatchObject({ via: "session", start: "first-primary" });

    const keys = await expectJson<{ data: { id: string }[] }>(await api("/v1/keys", { token: p.secretKey }), 200);
    expect((await api(`/v1/keys/${keys.data[0]!.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    const refused: Ran[] = [];
    await expectError(await call(refused, "/v1/docs", { token: p.secretKey }), 401, "unauthorized");
    expect(refused.map((r) => r.via)).toEqual(["primary"]);
  });
});
