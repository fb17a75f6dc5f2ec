/**
 * Keys as issue 22's attacker made them: 200 concurrent `POST /v1/keys` against MAX_KEYS_PER_PROJECT
 * (default 100 live keys), and `GET /v1/keys` paged like every other list.
 */
import { describe, expect, it } from "vitest";
import { api, createProject, expectError, expectJson } from "../../helpers/rest";

interface Key {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}
type Page = { data: Key[]; nextCursor: string | null };

const createKey = (secretKey: string, name: string) => api("/v1/keys", { token: secretKey, json: { name } });
const keys = async (secretKey: string, query = ""): Promise<Page> => expectJson(await api(`/v1/keys${query}`, { token: secretKey }), 200);

async function allKeys(secretKey: string, limit: number): Promise<Key[]> {
  const out: Key[] = [];
  let cursor: string | null = null;
  do {
    const page: Page = await keys(secretKey, `?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(page.data.length).toBeLessThanOrEqual(limit);
    out.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

describe("live keys per project", () => {
  it("200 concurrent creates leave exactly MAX_KEYS_PER_PROJECT (100) live keys; the rest get 400 and create nothing", async () => {
    const p = await createProject(); // its first key is one of the 100
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => createKey(p.secretKey, `k${i}`)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(99);
    expect(statuses.filter((s) => s !== 201)).toEqual(new Array(101).fill(400));
    const refused = results.find((r) => r.status === 400)!;
    expect(await refused.json()).toMatchObject({ error: { code: "invalid_request", message: expect.stringContaining("at most 100 live keys") } });
    for (const r of results.filter((res) => res.status === 201)) await r.body?.cancel();
    const listed = await allKeys(p.secretKey, 100);
    expect(listed).toHaveLength(100);

    // The cap counts live keys: revoke one and exactly one more fits.
    const victim = listed.find((k) => k.name === "k7") ?? listed[listed.length - 1]!;
    expect((await api(`/v1/keys/${victim.id}`, { method: "DELETE", token: p.secretKey })).status).toBe(204);
    const again = await Promise.all(Array.from({ length: 20 }, (_, i) => createKey(p.secretKey, `again${i}`)));
    expect(again.map((r) => r.status).filter((s) => s === 201)).toHaveLength(1);
    for (const r of again) await r.body?.cancel();
    const after = await allKeys(p.secretKey, 100);
    expect(after).toHaveLength(101);
    expect(after.filter((k) => k.revokedAt === null)).toHaveLength(100);
  });
});

describe("GET /v1/keys pages", () => {
  it("with ?limit=&cursor= like every other list: oldest first, every key once, nextCursor null on the last page", async () => {
    const p = await createProject();
    for (let i = 0; i < 24; i++) expect((await createKey(p.secretKey, `k${i}`)).status).toBe(201);
    const first = await keys(p.secretKey);
    expect(first.data).toHaveLength(20); // the default limit
    expect(first.nextCursor).toEqual(expect.any(String));
    const whole = await allKeys(p.secretKey, 100);
    expect(whole).toHaveLength(25);
    expect(whole[0]!.name).toBe("default");
    expect(new Set(whole.map((k) => k.name))).toEqual(new Set(["default", ...Array.from({ length: 24 }, (_, i) => `k${i}`)]));
    const times = whole.map((k) => Date.parse(k.createdAt));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    for (const limit of [1, 7, 25])
      expect(
        (await allKeys(p.secretKey, limit)).map((k) => k.id),
        `limit=${limit}`,
      ).toEqual(whole.map((k) => k.id));
    expect(JSON.stringify(whole)).not.toContain("sk_");
    await expectError(await api("/v1/keys?cursor=bad!", { token: p.secretKey }), 400, "invalid_request");
    await expectError(await api("/v1/keys?limit=0", { token: p.secretKey }), 400, "invalid_request");
    await expectError(await api("/v1/keys?limit=101", { token: p.secretKey }), 400, "invalid_request");
  });
});
