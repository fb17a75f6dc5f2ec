/** The contract's credential matrix, over every document route. */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import * as Y from "yjs";
import {
  ADMIN_TOKEN,
  api,
  craftJwt,
  createDoc,
  createProject,
  expectError,
  expectJson,
  mintToken,
  signClientToken,
  wireClaims,
  incarnationOf,
  type Call,
  type TestProject,
} from "../../helpers/rest";

function update(): Uint8Array {
  const d = new Y.Doc();
  d.getText("t").insert(0, "x");
  return Y.encodeStateAsUpdate(d);
}

interface Route {
  name: string;
  /** May a client token for the doc use it (with this access)? */
  client: "read" | "write" | "no";
  call: (docId: string) => [string, Call];
}

const octet = { "content-type": "application/octet-stream" };
const DOC_ROUTES: Route[] = [
  { name: "GET doc", client: "read", call: (id) => [`/v1/docs/${id}`, {}] },
  { name: "PATCH doc", client: "no", call: (id) => [`/v1/docs/${id}`, { method: "PATCH", json: { title: "t" } }] },
  { name: "GET update", client: "read", call: (id) => [`/v1/docs/${id}/update`, {}] },
  { name: "POST update", client: "write", call: (id) => [`/v1/docs/${id}/update`, { method: "POST", body: update(), headers: octet }] },
  { name: "GET json", client: "read", call: (id) => [`/v1/docs/${id}/json`, {}] },
  { name: "GET presence", client: "read", call: (id) => [`/v1/docs/${id}/presence`, {}] },
  { name: "POST tokens", client: "no", call: (id) => [`/v1/docs/${id}/tokens`, { json: { userId: "u", access: "read" } }] },
  // DELETE last within each loop so earlier routes still find the document.
  { name: "DELETE doc", client: "no", call: (id) => [`/v1/docs/${id}`, { method: "DELETE" }] },
];
const COLLECTION_ROUTES: Route[] = [
  { name: "GET docs", client: "no", call: () => ["/v1/docs", {}] },
  { name: "POST docs", client: "no", call: () => ["/v1/docs", { json: {} }] },
  { name: "GET project", client: "no", call: () => ["/v1/project", {}] },
  { name: "GET keys", client: "no", call: () => ["/v1/keys", {}] },
];
const ALL = [...DOC_ROUTES, ...COLLECTION_ROUTES];

function request(route: Route, docId: string, token: string | undefined): Promise<Response> {
  const [path, call] = route.call(docId);
  return api(path, { ...call, token });
}

async function keyIdOf(p: TestProject): Promise<string> {
  const keys = await expectJson(await api("/v1/keys", { token: p.secretKey }), 200);
  return keys.data[0].id;
}

let p: TestProject;
let keyId: string;
beforeAll(async () => {
  p = await createProject("matrix");
  keyId = await keyIdOf(p);
});

async function freshDoc(): Promise<string> {
  return (await createDoc(p.secretKey)).id;
}

describe("401: no credential or one that is not valid at all", () => {
  it("no credential, garbage, malformed header, unknown sk_", async () => {
    const id = await freshDoc();
    for (const route of ALL) {
      for (const token of [undefined, "garbage", "sk_", "sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a.b.c"]) {
        const res = await request(route, id, token);
        await expectError(res, 401, "unauthorized");
      }
      await expectError(
        await api(route.call(id)[0], { ...route.call(id)[1], headers: { ...route.call(id)[1].headers, authorization: "Basic Zm9v" } }),
        401,
        "unauthorized",
      );
    }
  });

  it("a revoked key, and client tokens it minted", async () => {
    const q = await createProject();
    const id = (await createDoc(q.secretKey)).id;
    const extra = await expectJson(await api("/v1/keys", { token: q.secretKey, json: { name: "to revoke" } }), 201);
    const { token } = await mintToken(extra.secretKey, id, "write");
    await expectJson(await api(`/v1/docs/${id}`, { token }), 200);
    expect((await api(`/v1/keys/${extra.id}`, { method: "DELETE", token: q.secretKey })).status).toBe(204);
    for (const route of ALL) {
      await expectError(await request(route, id, extra.secretKey), 401, "unauthorized");
      await expectError(await request(route, id, token), 401, "unauthorized");
    }
    // The sync route refuses it too.
    const ws = await api(`/v1/sync/${id}?token=${token}`, { headers: { upgrade: "websocket" } });
    expect(ws.status).toBe(401);
    // The project's other key is untouched.
    await expectJson(await api(`/v1/docs/${id}`, { token: q.secretKey }), 200);
  });

  it("a token with a bad signature, alg none, or expired", async () => {
    const id = await freshDoc();
    const exp = Math.floor(Date.now() / 1000) + 600;
    const incarnation = await incarnationOf(p.id, id);
    const claims = wireClaims({ userId: "u", projectId: p.id, docId: id, access: "write", keyId, exp, incarnation });
    const wrongSecret = await craftJwt({ alg: "HS256", typ: "JWT" }, claims, "not-the-server-secret-0123456789");
    const algNone = await craftJwt({ alg: "none", typ: "JWT" }, claims, null);
    const algNoneSigned = await craftJwt({ alg: "none", typ: "JWT" }, claims, env.TOKEN_SECRET);
    const expired = await signClientToken({ userId: "u", projectId: p.id, docId: id, access: "write", keyId, exp: Math.floor(Date.now() / 1000) - 10, incarnation });
    const good = await craftJwt({ alg: "HS256", typ: "JWT" }, claims, env.TOKEN_SECRET);
    const [h, pl, sig] = good.split(".");
    const tampered = `${h}.${pl}.${sig!.slice(0, -2)}${sig!.endsWith("AA") ? "BB" : "AA"}`;
    // The hand-made HS256 token is accepted: the failures below are the crafted defects, not the crafting.
    await expectJson(await api(`/v1/docs/${id}`, { token: good }), 200);
    for (const route of ALL) {
      for (const token of [wrongSecret, algNone, algNoneSigned, expired, tampered]) {
        await expectError(await request(route, id, token), 401, "unauthorized");
      }
    }
  });
});

describe("403: a valid credential of the wrong kind", () => {
  it("the admin token on every document and project route", async () => {
    const id = await freshDoc();
    for (const route of ALL) await expectError(await request(route, id, ADMIN_TOKEN), 403, "forbidden");
  });

  it("a client token on secret-key routes, and a token for another document", async () => {
    const id = await freshDoc();
    const other = await freshDoc();
    const { token } = await mintToken(p.secretKey, id, "write");
    for (const route of ALL) {
      if (route.client !== "no") {
        await expectError(await request(route, other, token), 403, "forbidden");
      } else {
        await expectError(await request(route, id, token), 403, "forbidden");
      }
    }
  });

  it("a read token writing; reading is fine", async () => {
    const id = await freshDoc();
    const { token } = await mintToken(p.secretKey, id, "read");
    for (const route of DOC_ROUTES) {
      const res = await request(route, id, token);
      if (route.client === "read") expect(res.status, route.name).toBe(200);
      else await expectError(res, 403, "forbidden");
    }
    const after = await api(`/v1/docs/${id}/json`, { token });
    expect(await after.json()).toEqual({});
  });

  it("a write token may use every route the contract allows it", async () => {
    const id = await freshDoc();
    const { token } = await mintToken(p.secretKey, id, "write");
    for (const route of DOC_ROUTES.filter((r) => r.client !== "no")) {
      expect((await request(route, id, token)).status, route.name).toBe(200);
    }
  });
});

describe("404: another project's document, never data", () => {
  it("another project's key gets 404 on every document route and the document is untouched", async () => {
    const id = await freshDoc();
    await expectJson(await api(`/v1/docs/${id}/update`, { method: "POST", body: update(), headers: octet, token: p.secretKey }), 200);
    const stranger = await createProject();
    for (const route of DOC_ROUTES) {
      const res = await request(route, id, stranger.secretKey);
      const body = await expectError(res, 404, "not_found");
      expect(JSON.stringify(body)).not.toContain(id);
    }
    const list = await expectJson(await api("/v1/docs", { token: stranger.secretKey }), 200);
    expect(list.data).toEqual([]);
    expect(await expectJson(await api(`/v1/docs/${id}/json`, { token: p.secretKey }), 200)).toEqual({ t: "x" });
  });

  it("a client token from another project is for another document (403), never data", async () => {
    const stranger = await createProject();
    const theirs = (await createDoc(stranger.secretKey)).id;
    const { token } = await mintToken(stranger.secretKey, theirs, "write");
    const mine = await freshDoc();
    await expectError(await api(`/v1/docs/${mine}`, { token }), 403, "forbidden");
  });

  it("a secret key on the admin route is refused", async () => {
    await expectError(await api("/v1/projects", { token: p.secretKey, json: { name: "x" } }), 403, "forbidden");
  });
});
