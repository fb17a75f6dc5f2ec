import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { authHeaders, createProject, expectError } from "../../helpers/rest";

it("answers 429 rate_limited once a credential passes its budget; other credentials are untouched", async () => {
  const a = await createProject();
  const b = await createProject();
  // The real app and the real rate limiting binding, configured tighter (3 a minute) for this test.
  const app = createApp();
  const tightEnv = { ...env, RATE_LIMITER: env.RATE_LIMITER_TIGHT };
  const get = async (key: string) => {
    const ctx = createExecutionContext();
    const res = await app.request("http://lattice.test/v1/project", { headers: authHeaders(key) }, tightEnv, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
  for (let i = 0; i < 3; i++) expect((await get(a.secretKey)).status).toBe(200);
  const refused = await expectError(await get(a.secretKey), 429, "rate_limited");
  expect(refused.error.message).not.toContain(a.secretKey);
  expect((await get(b.secretKey)).status).toBe(200);
});
