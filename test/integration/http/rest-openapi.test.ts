import { describe, expect, it } from "vitest";
import { api, expectJson } from "../../helpers/rest";

const CONTRACT_PATHS: Record<string, string[]> = {
  "/v1/projects": ["post"],
  "/v1/project": ["get"],
  "/v1/keys": ["get", "post"],
  "/v1/keys/{keyId}": ["delete"],
  "/v1/docs": ["get", "post"],
  "/v1/docs/{id}": ["delete", "get", "patch"],
  "/v1/docs/{id}/update": ["get", "post"],
  "/v1/docs/{id}/json": ["get"],
  "/v1/docs/{id}/tokens": ["post"],
  "/v1/docs/{id}/presence": ["get"],
  "/v1/sync/{docId}": ["get"],
  // Webhooks (docs/API.md, v1.2)
  "/v1/webhooks": ["get", "post"],
  "/v1/webhooks/{id}": ["delete", "get", "patch"],
  "/v1/webhooks/{id}/rotate-secret": ["post"],
  "/v1/webhooks/{id}/test": ["post"],
  "/v1/webhooks/{id}/deliveries": ["get"],
  "/v1/webhooks/{id}/deliveries/{deliveryId}/retry": ["post"],
  // Versions (docs/API.md, issue 15)
  "/v1/docs/{id}/versions": ["get", "post"],
  "/v1/docs/{id}/versions/{versionId}": ["delete", "get", "patch"],
  "/v1/docs/{id}/versions/{versionId}/update": ["get"],
  "/v1/docs/{id}/versions/{versionId}/json": ["get"],
  "/v1/docs/{id}/versions/{versionId}/restore": ["post"],
  "/v1/docs/{id}/versions/{versionId}/fork": ["post"],
  // Access rules and workspace tokens (docs/API.md v1.4, issue 25)
  "/v1/docs/{id}/access": ["get"],
  "/v1/docs/{id}/access/{userId}": ["delete", "put"],
  "/v1/tokens": ["post"],
};

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document listing every path of the contract", async () => {
    const doc = await expectJson(await api("/openapi.json"), 200);
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    for (const [path, methods] of Object.entries(CONTRACT_PATHS)) {
      expect(doc.paths[path], path).toBeDefined();
      expect(Object.keys(doc.paths[path]).sort(), path).toEqual(methods);
      for (const m of methods) {
        const op = doc.paths[path][m];
        expect(Object.keys(op.responses).length, `${m} ${path}`).toBeGreaterThan(0);
        // Every $ref resolves within the document.
        for (const ref of JSON.stringify(op).match(/"#\/components\/[^"]+"/g) ?? []) {
          const [, , kind, name] = JSON.parse(ref).split("/");
          expect(doc.components[kind][name], ref).toBeDefined();
        }
      }
    }
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(CONTRACT_PATHS).sort());
  });

  it("names and describes every operation, so generated clients get method names", async () => {
    const doc = await expectJson(await api("/openapi.json"), 200);
    const ids: string[] = [];
    for (const [path, item] of Object.entries<Record<string, { operationId?: string; description?: string }>>(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
        expect(op.description?.trim(), `${method} ${path}`).toBeTruthy();
        ids.push(op.operationId!);
      }
    }
    expect(ids.length).toBe(Object.values(CONTRACT_PATHS).flat().length);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("is generated from the validating schemas: the doc id pattern, limits and security are in it", async () => {
    const doc = await expectJson(await api("/openapi.json"), 200);
    const idParam = doc.paths["/v1/docs/{id}"].get.parameters.find((p: { name: string }) => p.name === "id");
    expect(idParam).toMatchObject({ in: "path", required: true, schema: { pattern: "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$" } });
    const limit = doc.paths["/v1/docs"].get.parameters.find((p: { name: string }) => p.name === "limit");
    expect(limit.schema).toMatchObject({ minimum: 1, maximum: 100, default: 20 });
    expect(doc.paths["/v1/docs/{id}/update"].post.requestBody.content).toHaveProperty(["application/octet-stream"]);
    expect(doc.paths["/v1/sync/{docId}"].get.responses).toHaveProperty("101");
    expect(doc.paths["/v1/sync/{docId}"].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(["docId", "token"]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["adminToken", "clientToken", "secretKey"]);
    expect(doc.paths["/v1/projects"].post.security).toEqual([{ adminToken: [] }]);
    // The read-your-writes bookmark (src/db/session.ts): taken and answered by every document catalog route.
    for (const [path, method] of [
      ["/v1/docs", "get"],
      ["/v1/docs", "post"],
      ["/v1/docs/{id}", "get"],
      ["/v1/docs/{id}", "patch"],
      ["/v1/docs/{id}", "delete"],
    ] as const) {
      const op = doc.paths[path][method];
      const header = op.parameters.find((p: { name: string }) => p.name === "x-lattice-bookmark");
      expect(header, `${method} ${path}`).toMatchObject({ in: "header", required: false, schema: { maxLength: 256, pattern: "^[0-9a-f]+(?:-[0-9a-f]+)*$" } });
      const ok = Object.keys(op.responses).find((s) => s.startsWith("2"))!;
      expect(op.responses[ok].headers, `${method} ${path}`).toHaveProperty(["x-lattice-bookmark"]);
    }
  });
});

describe("GET /reference", () => {
  it("serves the interactive reference pointing at /openapi.json", async () => {
    const res = await api("/reference");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("/openapi.json");
  });

  it("hides Scalar's hosted-only tools (AI chat, developer tools, Generate SDKs) and authenticates with the secret key scheme by default", async () => {
    const html = await (await api("/reference")).text();
    expect(html).toMatch(/"agent": \{\s*"disabled": true\s*\}/);
    expect(html).toMatch(/"showDeveloperTools": "never"/);
    expect(html).toMatch(/"preferredSecurityScheme": "secretKey"/);
  });
});

describe("unknown routes", () => {
  it("answer 404 in the error envelope", async () => {
    const res = await api("/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
  });
});
