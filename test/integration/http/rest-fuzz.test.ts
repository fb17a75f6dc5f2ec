/**
 * REST fuzz generated from /openapi.json: for every operation, random and boundary values for every
 * path and query parameter and for the body (unicode, %2F, .., very long strings, numbers out of range,
 * wrong types, missing fields, huge bodies), with valid credentials and some without. Every answer must
 * be a status the operation documents or one of the contract's 4xx, non-2xx answers carry the JSON error
 * envelope, and nothing answers 500.
 */
import { describe, expect, it } from "vitest";
import { prng, type Rng } from "../../helpers/fuzz";
import { ADMIN_TOKEN, api, createDoc, createProject, expectJson, mintToken } from "../../helpers/rest";

const CASES_PER_OPERATION = 40;
const CONTRACT_4XX = new Set([400, 401, 403, 404, 405, 409, 413, 415, 426, 429]);

interface Operation {
  parameters?: { name: string; in: "path" | "query" | "header"; required?: boolean; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, unknown>;
}
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  $ref?: string;
  anyOf?: Schema[];
  oneOf?: Schema[];
}

const WEIRD_STRINGS = [
  "",
  " ",
  ".",
  "..",
  "../..",
  "..%2F..%2Fetc%2Fpasswd",
  "%2F",
  "a%2Fb",
  "%00",
  "\u0000",
  "%",
  "%zz",
  "a/b",
  "-",
  "_",
  "a".repeat(128),
  "a".repeat(129),
  "x".repeat(5000),
  "é",
  "\u{1F600}",
  "\uFFFD",
  "\u202E",
  "null",
  "undefined",
  "0",
  "-1",
  "1e309",
  "NaN",
  "true",
  "[]",
  "{}",
  "' OR 1=1 --",
  "<script>",
  "%E0%A4%A",
  "doc.",
  ".hidden",
];
const WEIRD_NUMBERS = [0, -1, 1, 59, 60, 86400, 86401, 100, 101, 2 ** 31, 2 ** 53, -(2 ** 53), 1.5, 1e308, Number.MAX_SAFE_INTEGER + 2];

function randomString(rng: Rng): string {
  if (rng.bool(0.6)) return rng.pick(WEIRD_STRINGS);
  const n = rng.pick([1, 3, 10, 127, 128, 129, 300]);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCodePoint(rng.pick([0x20 + rng.int(95), 0x80 + rng.int(0x780), 0x4e00 + rng.int(100), 0x1f300 + rng.int(200)]));
  return s;
}

function randomJson(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 5 : 7)) {
    case 0:
      return randomString(rng);
    case 1:
      return rng.pick(WEIRD_NUMBERS);
    case 2:
      return rng.pick([true, false, null]);
    case 3:
      return rng.pick(WEIRD_STRINGS);
    case 4:
      return rng.pick([[], {}, "", 0]);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) o[randomString(rng).slice(0, 20)] = randomJson(rng, depth + 1);
      return o;
    }
  }
}

/** A value for a schema: mostly near its boundaries, often of the wrong type. */
function valueFor(rng: Rng, schema: Schema | undefined, spec: Spec): unknown {
  const s = resolve(schema, spec);
  if (!s || rng.bool(0.25)) return randomJson(rng);
  if (s.enum && rng.bool(0.6)) return rng.pick(s.enum);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "string": {
      if (rng.bool(0.3) && s.maxLength !== undefined) return "a".repeat(s.maxLength + rng.pick([0, 1]));
      if (rng.bool(0.2) && s.minLength !== undefined) return "a".repeat(Math.max(0, s.minLength - rng.pick([0, 1])));
      return randomString(rng);
    }
    case "integer":
    case "number": {
      const edges = [s.minimum, s.maximum].filter((x): x is number => x !== undefined).flatMap((x) => [x - 1, x, x + 1]);
      return rng.pick([...edges, ...WEIRD_NUMBERS]);
    }
    case "boolean":
      return rng.bool();
    case "array":
      return Array.from({ length: rng.int(4) }, () => valueFor(rng, s.items, spec));
    case "object": {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) if (rng.bool(0.7)) o[k] = valueFor(rng, v, spec);
      if (rng.bool(0.2)) o[randomString(rng).slice(0, 10)] = randomJson(rng);
      if (rng.bool(0.1)) o.metadata = { big: "x".repeat(9000) };
      return o;
    }
    default:
      return randomJson(rng);
  }
}

interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

function resolve(schema: Schema | undefined, spec: Spec): Schema | undefined {
  let s = schema;
  for (let i = 0; i < 5 && s?.$ref; i++) s = spec.components?.schemas?.[s.$ref.split("/").pop()!];
  if (s && !s.type && (s.anyOf || s.oneOf)) return (s.anyOf ?? s.oneOf)![0];
  return s;
}

function body(rng: Rng, op: Operation, spec: Spec): { body?: BodyInit; contentType?: string } {
  const content = op.requestBody?.content ?? {};
  const types = Object.keys(content);
  const r = rng.int(10);
  if (r === 0) return {}; // missing
  if (r === 1) return { body: randomString(rng), contentType: rng.pick(["text/plain", "application/json", "application/x-www-form-urlencoded"]) };
  if (r === 2) return { body: rng.bytes(rng.pick([0, 1, 10, 2 * 1024 * 1024])), contentType: rng.pick(["application/octet-stream", "application/json"]) };
  if (r === 3) return { body: "{".repeat(rng.pick([1, 1000])), contentType: "application/json" };
  if (types.includes("application/octet-stream")) return { body: rng.bytes(rng.int(64)), contentType: "application/octet-stream" };
  const schema = content["application/json"]?.schema;
  return { body: JSON.stringify(valueFor(rng, schema, spec)), contentType: "application/json" };
}

describe("REST fuzz from /openapi.json", () => {
  it(`every operation, ${CASES_PER_OPERATION} random requests each: documented status or contract 4xx, JSON envelope, never 500`, async () => {
    const spec = await expectJson<Spec>(await api("/openapi.json"), 200);
    const project = await createProject("fuzz");
    const doc = await createDoc(project.secretKey, { id: "fuzz-doc", title: "target" });
    const writeToken = (await mintToken(project.secretKey, doc.id, "write")).token;
    const readToken = (await mintToken(project.secretKey, doc.id, "read")).token;
    const rng = prng(0xf022);
    const problems: string[] = [];
    let requests = 0;
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const documented = new Set(Object.keys(op.responses).map(Number));
        for (let i = 0; i < CASES_PER_OPERATION; i++) {
          // Path parameters: often the real document (so content routes get past the lookup), often garbage.
          let url = path.replace(/\{(\w+)\}/g, (_, name: string) => {
            const real = name === "id" || name === "docId" ? doc.id : "key_nonexistent";
            const v = rng.bool(0.4) ? real : String(valueFor(rng, op.parameters?.find((p) => p.name === name)?.schema, spec));
            return rng.bool(0.8) ? encodeURIComponent(v) : v.replace(/[?#]/g, "");
          });
          const query = new URLSearchParams();
          for (const p of op.parameters ?? []) {
            if (p.in !== "query" || rng.bool(0.3)) continue;
            const v = valueFor(rng, p.schema, spec);
            query.set(p.name, typeof v === "string" ? v : JSON.stringify(v));
          }
          if (rng.bool(0.1)) query.set(randomString(rng).slice(0, 8) || "x", randomString(rng));
          if ([...query].length > 0) url += `?${query}`;
          // Never delete the fuzz target or revoke the fuzzing key: those are tested elsewhere, and would end the run.
          const destructive = method === "delete" && (url.includes(doc.id) || path.startsWith("/v1/keys"));
          const token = rng.pick([project.secretKey, project.secretKey, writeToken, readToken, ADMIN_TOKEN, undefined, "sk_garbage", "a.b.c"]);
          const sendsBody = method !== "get" && !destructive;
          const b = sendsBody ? (method === "delete" && rng.bool(0.9) ? {} : body(rng, op, spec)) : {};
          const headers: Record<string, string> = {};
          if (b.contentType) headers["content-type"] = b.contentType;
          const res = await api(url, { method: destructive ? "GET" : method.toUpperCase(), token, body: b.body, headers });
          requests++;
          // A binary answer (GET …/update) is not text; everything else must be JSON.
          const text = res.headers.get("content-type")?.includes("octet-stream") ? (await res.arrayBuffer(), "") : await res.text();
          const where = `${method.toUpperCase()} ${url.slice(0, 200)} (${token === project.secretKey ? "key" : token === undefined ? "none" : "other"})`;
          if (res.status >= 500) problems.push(`${res.status} for ${where}: ${text.slice(0, 200)}`);
          else if (!destructive && !documented.has(res.status) && !CONTRACT_4XX.has(res.status)) problems.push(`undocumented ${res.status} for ${where}`);
          if (res.status >= 400) {
            try {
              const e = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
              if (typeof e.error?.code !== "string" || typeof e.error.message !== "string") problems.push(`no error envelope for ${where}: ${text.slice(0, 200)}`);
            } catch {
              problems.push(`non-JSON ${res.status} for ${where}: ${text.slice(0, 200)}`);
            }
          }
          if (problems.length > 20) break;
        }
      }
    }
    expect(problems).toEqual([]);
    expect(requests).toBeGreaterThan(300);
    // The target survived, with its key.
    await expectJson(await api(`/v1/docs/${doc.id}`, { token: project.secretKey }), 200);
  }, 120_000);
});
