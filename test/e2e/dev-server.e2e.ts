/**
 * The Worker as `npm run dev` runs it (wrangler dev, DEV_MODE), on a fresh state: the README's first REST
 * call, with the public demo key, works without any /dev route having run first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_SECRET_KEY, Server } from "./harness";

let server: Server;
beforeAll(async () => {
  server = await Server.start(); // a new persist dir: no project, no key yet (the harness only polled /healthz)
});
afterAll(async () => {
  await server?.dispose();
});

describe("npm run dev on a fresh state", () => {
  it("the demo key answers on /v1 from the first request: lists (empty), creates, lists again", async () => {
    const auth = { authorization: `Bearer ${DEMO_SECRET_KEY}` };
    const first = await fetch(`${server.url}/v1/docs`, { headers: auth });
    expect(first.status, await first.clone().text()).toBe(200);
    expect(await first.json()).toMatchObject({ data: [] });
    const created = await fetch(`${server.url}/v1/docs`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ id: "first-doc" }),
    });
    expect(created.status).toBe(201);
    const listed = (await (await fetch(`${server.url}/v1/docs`, { headers: auth })).json()) as { data: { id: string }[] };
    expect(listed.data.map((d) => d.id)).toEqual(["first-doc"]);
  });
});
