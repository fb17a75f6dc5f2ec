/** Shared helpers for tests that talk to the REST API through the Worker (SELF.fetch). */
import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import { mintClientToken, type ClientTokenClaims } from "../../src/auth/client-token";

export const BASE = "https://lattice.test";
export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

export interface Call {
  method?: string;
  token?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** One request to the Worker; `json` sends a JSON body, `body` a raw one. */
export function api(path: string, call: Call = {}): Promise<Response> {
  const headers: Record<string, string> = { ...authHeaders(call.token), ...call.headers };
  let body = call.body;
  if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers["content-type"] ??= "application/json";
  }
  return SELF.fetch(`${BASE}${path}`, { method: call.method ?? (body === undefined ? "GET" : "POST"), headers, body });
}

/** Asserts the status and the contract's error envelope; returns the body. */
export async function expectError(res: Response, status: number, code: string): Promise<{ error: { code: string; message: string; details?: unknown } }> {
  const text = await res.text();
  expect({ status: res.status, text }).toMatchObject({ status });
  const body = JSON.parse(text) as { error: { code: string; message: string; details?: unknown } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  return body;
}

export async function expectJson<T = any>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect({ status: res.status, text }).toMatchObject({ status });
  return JSON.parse(text) as T;
}

export interface TestProject {
  id: string;
  name: string;
  secretKey: string;
}

let counter = 0;

export async function createProject(name = `project-${++counter}`): Promise<TestProject> {
  return expectJson<TestProject>(await api("/v1/projects", { token: ADMIN_TOKEN, json: { name } }), 201);
}

export interface TestDocument {
  id: string;
  title: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  sizeBytes: number;
}

export async function createDoc(secretKey: string, body: { id?: string; title?: string; metadata?: unknown } = {}): Promise<TestDocument> {
  return expectJson<TestDocument>(await api("/v1/docs", { token: secretKey, json: body }), 201);
}

export async function mintToken(
  secretKey: string,
  docId: string,
  access: "read" | "write" = "write",
  userId = "user-1",
): Promise<{ token: string; expiresAt: string; url: string; syncBase: string; created: boolean }> {
  return expectJson(await api(`/v1/docs/${encodeURIComponent(docId)}/tokens`, { token: secretKey, json: { userId, access } }), 201);
}

/** A token signed with the server's secret but with claims chosen by the test (e.g. already expired). */
export function signClientToken(claims: ClientTokenClaims): Promise<string> {
  return mintClientToken(env.TOKEN_SECRET, claims);
}

function b64url(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A JWT built by hand: any header, any payload, signed HS256 with `secret`, or unsigned when secret is null. */
export async function craftJwt(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | null): Promise<string> {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (secret === null) return `${input}.`;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)));
  return `${input}.${b64url(sig)}`;
}

/** Claims in the wire form the server signs (see src/auth/client-token.ts). */
export function wireClaims(c: { userId: string; projectId: string; docId: string; access: string; keyId: string; exp: number; incarnation?: string }) {
  const inc = c.incarnation ? { inc: c.incarnation } : {};
  return { sub: c.userId, prj: c.projectId, doc: c.docId, acc: c.access, kid: c.keyId, iat: Math.floor(Date.now() / 1000), exp: c.exp, ...inc };
}

/** Which creation of the id a document is, straight from D1 (the API does not show it): tokens and objects are bound to it. */
export async function incarnationOf(projectId: string, docId: string): Promise<string> {
  const row = await env.DB.prepare("SELECT incarnation FROM documents WHERE project_id = ? AND id = ?").bind(projectId, docId).first<{ incarnation: string }>();
  if (!row) throw new Error(`no document ${projectId}/${docId}`);
  return row.incarnation;
}

export function postUpdate(docId: string, token: string, update: Uint8Array, contentType = "application/octet-stream"): Promise<Response> {
  return api(`/v1/docs/${encodeURIComponent(docId)}/update`, {
    method: "POST",
    token,
    body: update,
    headers: { "content-type": contentType },
  });
}

export function fromB64url(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

export { b64url };
