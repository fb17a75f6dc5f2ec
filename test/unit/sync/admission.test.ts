import { describe, expect, it } from "vitest";
import { Admission, UPGRADE_BURST } from "../../../src/sync/admission";

const limits = { maxConnectionsPerDoc: 1000, maxConnectionsPerUser: 10, maxUpgradesPerUserPerMinute: 60 };

describe("admission: who may open one more socket", () => {
  it("a user at their connection cap waits; another user does not", () => {
    const a = new Admission(limits);
    expect(a.admit("mallory", { total: 10, byUser: 10 }, 0)).toMatch(/too many connections for this user/);
    expect(a.admit("alice", { total: 10, byUser: 0 }, 0)).toBeUndefined();
  });

  it("a full document refuses everyone", () => {
    expect(new Admission(limits).admit("alice", { total: 1000, byUser: 0 }, 0)).toMatch(/document is full/);
  });

  it("upgrades are budgeted per user: a burst, then one a second; others are unaffected", () => {
    const a = new Admission(limits);
    for (let i = 0; i < UPGRADE_BURST; i++) expect(a.admit("mallory", { total: 0, byUser: 0 }, 0)).toBeUndefined();
    expect(a.admit("mallory", { total: 0, byUser: 0 }, 0)).toMatch(/too many connection attempts/);
    expect(a.admit("alice", { total: 0, byUser: 0 }, 0)).toBeUndefined();
    expect(a.admit("mallory", { total: 0, byUser: 0 }, 500)).toMatch(/too many connection attempts/);
    expect(a.admit("mallory", { total: 0, byUser: 0 }, 1000)).toBeUndefined();
  });
});
