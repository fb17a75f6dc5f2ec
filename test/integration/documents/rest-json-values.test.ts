import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { api, createDoc, createProject, expectError, expectJson, postUpdate } from "../../helpers/rest";

describe("GET /v1/docs/{id}/json renders every valid value", () => {
  it("renders BigInt, binary and prototype-named roots and keys", async () => {
    const p = await createProject();
    await createDoc(p.secretKey, { id: "hostile" });
    const doc = new Y.Doc();
    doc.getMap("m").set("big", 5n);
    doc.getMap("m").set("bin", new Uint8Array([0xfb, 0xff, 0]));
    doc.getMap("m").set("__proto__", { a: 1 });
    doc.getText("constructor").insert(0, "c");
    doc.getMap("toString").set("k", 1);
    doc.getArray("__proto__").push([[1n]]);
    const el = new Y.XmlElement("p");
    doc.getXmlFragment("x").insert(0, [el, null as any]);
    el.setAttribute("n", 2n as any);
    await expectJson(await postUpdate("hostile", p.secretKey, Y.encodeStateAsUpdate(doc)), 200);

    const res = await api("/v1/docs/hostile/json", { token: p.secretKey });
    expect(res.status).toBe(200);
    const text = await res.text();
    const json = JSON.parse(text);
    expect(Object.keys(json).sort()).toEqual(["__proto__", "constructor", "m", "toString", "x"]);
    expect(json.m.big).toBe("5");
    expect(json.m.bin).toBe("-_8A");
    expect(Object.getOwnPropertyDescriptor(json.m, "__proto__")?.value).toEqual({ a: 1 });
    expect(json.constructor).toBe("c");
    expect(json.toString).toEqual({ k: 1 });
    expect(Object.getOwnPropertyDescriptor(json, "__proto__")?.value).toEqual([["1"]]);
    expect(json.x).toBe('<p n="2"></p>null');

    const typed = JSON.parse(await (await api("/v1/docs/hostile/json?types=__proto__:array,valueOf:map,constructor:text", { token: p.secretKey })).text());
    expect(Object.keys(typed).sort()).toEqual(["__proto__", "constructor", "m", "toString", "valueOf", "x"]);
    expect(typed.valueOf).toEqual({});
    await expectError(await api("/v1/docs/hostile/json?types=__proto__:map", { token: p.secretKey }), 400, "invalid_request");
    await expectError(await api("/v1/docs/hostile/json?types=constructor:map", { token: p.secretKey }), 400, "invalid_request");
    // The live doc was not typed by reading it: the update still round-trips.
    const again = await api("/v1/docs/hostile/json", { token: p.secretKey });
    expect(JSON.parse(await again.text())).toEqual(json);
  });
});
