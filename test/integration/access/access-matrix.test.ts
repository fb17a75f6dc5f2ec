/**
 * The access decision across routes (issue 25): every token claim × every stored rule × a read route, a
 * write route, a version write and the WebSocket upgrade, through the real Worker. One function decides
 * (src/auth/access.ts); this table proves every entrance asks it.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { api, createDoc, createProject, mintToken } from "../../helpers/rest";
import { BASE } from "../../helpers/sync";

type Claim = "read" | "write";
type Rule = "read" | "write" | "none" | undefined;

const update = (() => {
  const d = new Y.Doc();
  d.getText("t").insert(0, "x");
  return Y.encodeStateAsUpdate(d);
})();

/** What each entrance answers: 2xx/101 allowed, 403 refused. */
const ENTRANCES: { name: string; need: Claim; call: (docId: string, token: string) => Promise<number> }[] = [
  { name: "GET …/json", need: "read", call: async (id, t) => (await api(`/v1/docs/${id}/json`, { token: t })).status },
  {
    name: "POST …/update",
    need: "write",
    call: async (id, t) =>
      (await api(`/v1/docs/${id}/update`, { method: "POST", token: t, body: update, headers: { "content-type": "application/octet-stream" } })).status,
  },
  { name: "POST …/versions", need: "write", call: async (id, t) => (await api(`/v1/docs/${id}/versions`, { method: "POST", token: t, json: {} })).status },
  {
    name: "the upgrade",
    need: "read",
    call: async (id, t) => {
      const res = await SELF.fetch(`${BASE}/v1/sync/${id}?token=${t}`, { headers: { Upgrade: "websocket" } });
      res.webSocket?.accept();
      res.webSocket?.close(1000);
      return res.status;
    },
  },
];

const allowed = (claim: Claim, rule: Rule, need: Claim) => {
  const access = rule ?? claim;
  return access !== "none" && (need === "read" || access === "write");
};

describe("claims × rules × entrances", () => {
  for (const claim of ["read", "write"] as Claim[]) {
    for (const rule of [undefined, "none", "read", "write"] as Rule[]) {
      it(`a ${claim} token with ${rule ?? "no"} rule`, async () => {
        const p = await createProject();
        const docId = "m";
        await createDoc(p.secretKey, { id: docId });
        if (rule) expect((await api(`/v1/docs/${docId}/access/u`, { method: "PUT", token: p.secretKey, json: { access: rule } })).status).toBe(200);
        const token = (await mintToken(p.secretKey, docId, claim, "u")).token;
        for (const e of ENTRANCES) {
          const status = await e.call(docId, token);
          if (allowed(claim, rule, e.need)) expect(status, e.name).toBeLessThan(300);
          else expect(status, e.name).toBe(403);
        }
      });
    }
  }
});
