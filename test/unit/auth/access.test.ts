/** The one access decision (src/auth/access.ts), table-driven: token claims × stored rules × what a route needs. */
import { describe, expect, it } from "vitest";
import { decide, effectiveAccess, type Rule, toRule } from "../../../src/auth/access";
import type { Access } from "../../../src/sync/ports";

// [claim, rule, need, allowed, access when allowed]
const TABLE: [Access, Rule | undefined, Access, boolean, Access?][] = [
  ["read", undefined, "read", true, "read"],
  ["read", undefined, "write", false],
  ["write", undefined, "read", true, "write"],
  ["write", undefined, "write", true, "write"],
  ["read", "none", "read", false],
  ["write", "none", "read", false],
  ["write", "none", "write", false],
  ["write", "read", "read", true, "read"],
  ["write", "read", "write", false],
  ["read", "read", "write", false],
  ["read", "write", "read", true, "write"],
  ["read", "write", "write", true, "write"],
  ["write", "write", "write", true, "write"],
];

describe("decide: token claim × stored rule × need (REST read/write routes, the upgrade needs read)", () => {
  for (const [claim, rule, need, allowed, access] of TABLE) {
    it(`a ${claim} token, rule ${rule ?? "(none stored)"}, needing ${need}: ${allowed ? `allowed as ${access}` : "refused"}`, () => {
      const d = decide(claim, rule, need);
      expect(d.ok).toBe(allowed);
      if (d.ok) expect(d.access).toBe(access);
      else expect(d.message).toMatch(rule === "none" ? /removed/ : /read/);
    });
  }

  it("the stored rule replaces the claim both ways; without one the claim stands", () => {
    expect(effectiveAccess("write", "read")).toBe("read");
    expect(effectiveAccess("read", "write")).toBe("write");
    expect(effectiveAccess("write", "none")).toBe("none");
    expect(effectiveAccess("read", undefined)).toBe("read");
  });

  it("anything stored that is not a rule counts as none stored", () => {
    expect(toRule("write")).toBe("write");
    expect(toRule(null)).toBeUndefined();
    expect(toRule("admin")).toBeUndefined();
  });
});
