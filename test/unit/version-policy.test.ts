import { describe, expect, it } from "vitest";
import {
  DEFAULT_AUTO_TIMING,
  MAX_AUTO_VERSIONS,
  MAX_VERSION_BYTES,
  nextAutoVersionAt,
  prune,
  recordAutoVersion,
  recordChange,
  type RetainedVersion,
  shouldTakeAutoVersion,
  VERSION_IDLE_SECONDS,
  VERSION_INTERVAL_SECONDS,
} from "../../src/sync/version-policy";

const S = 1000;
const T0 = 1_800_000_000_000;

describe("automatic versions: when one is due", () => {
  it("has the issue's defaults", () => {
    expect(VERSION_INTERVAL_SECONDS).toBe(600);
    expect(VERSION_IDLE_SECONDS).toBe(60);
    expect(MAX_AUTO_VERSIONS).toBe(100);
    expect(MAX_VERSION_BYTES).toBe(64 * 1024 * 1024);
    expect(DEFAULT_AUTO_TIMING).toEqual({ intervalMs: 600 * S, idleMs: 60 * S });
  });

  it("is never due when nothing changed", () => {
    expect(nextAutoVersionAt({})).toBeUndefined();
    expect(nextAutoVersionAt(recordAutoVersion(T0))).toBeUndefined();
    expect(shouldTakeAutoVersion(recordAutoVersion(T0), T0 + 3600 * S)).toBe(false);
  });

  it("is due 60 s after the last change of a burst", () => {
    let s = recordChange({}, T0);
    s = recordChange(s, T0 + 20 * S);
    expect(nextAutoVersionAt(s)).toBe(T0 + 80 * S);
    expect(shouldTakeAutoVersion(s, T0 + 79 * S)).toBe(false);
    expect(shouldTakeAutoVersion(s, T0 + 80 * S)).toBe(true);
  });

  it("is due when the interval passes during continuous editing, counted from the burst's first change", () => {
    let s = recordChange({}, T0);
    for (let t = 30 * S; t <= 700 * S; t += 30 * S) s = recordChange(s, T0 + t);
    expect(nextAutoVersionAt(s)).toBe(T0 + 600 * S);
    expect(shouldTakeAutoVersion(s, T0 + 600 * S)).toBe(true);
  });

  it("takes at most one per interval: a short burst soon after a version waits for the interval", () => {
    let s = recordAutoVersion(T0);
    s = recordChange(s, T0 + 100 * S);
    expect(nextAutoVersionAt(s)).toBe(T0 + 600 * S);
    // After the interval, the burst rule applies again.
    s = recordAutoVersion(T0 + 600 * S);
    s = recordChange(s, T0 + 2000 * S);
    expect(nextAutoVersionAt(s)).toBe(T0 + 2060 * S);
  });

  it("forgets the burst once a version holds it", () => {
    const s = recordAutoVersion(T0 + 80 * S);
    expect(s).toEqual({ lastVersionAt: T0 + 80 * S });
    expect(recordChange(s, T0 + 90 * S)).toEqual({ lastVersionAt: T0 + 80 * S, firstChangeAt: T0 + 90 * S, lastChangeAt: T0 + 90 * S });
  });
});

const v = (id: string, kind: RetainedVersion["kind"], createdAt: number, sizeBytes = 10): RetainedVersion => ({ id, kind, createdAt, sizeBytes });

describe("retention", () => {
  it("deletes nothing while the limits hold", () => {
    expect(prune([v("a", "auto", 1), v("b", "named", 2)], { kind: "auto", sizeBytes: 10 }, { maxAuto: 2, maxBytes: 30 })).toEqual({ ok: true, delete: [] });
  });

  it("keeps the last maxAuto automatic versions, oldest pruned first, before-restore ones counted as automatic", () => {
    const existing = [v("c", "auto", 3), v("a", "auto", 1), v("n", "named", 0), v("b", "before-restore", 2)];
    expect(prune(existing, { kind: "auto", sizeBytes: 1 }, { maxAuto: 2, maxBytes: 1e9 })).toEqual({ ok: true, delete: ["a", "b"] });
    // A named version does not count against maxAuto.
    expect(prune(existing, { kind: "named", sizeBytes: 1 }, { maxAuto: 3, maxBytes: 1e9 })).toEqual({ ok: true, delete: [] });
  });

  it("prunes automatic versions, oldest first, until the bytes fit; named ones are never pruned", () => {
    const existing = [v("n1", "named", 1, 40), v("a1", "auto", 2, 20), v("a2", "auto", 3, 20), v("a3", "auto", 4, 20)];
    expect(prune(existing, { kind: "named", sizeBytes: 30 }, { maxAuto: 100, maxBytes: 100 })).toEqual({ ok: true, delete: ["a1", "a2"] });
  });

  it("refuses a named version that cannot fit even with every automatic version gone, and then deletes nothing", () => {
    const existing = [v("n1", "named", 1, 60), v("a1", "auto", 2, 20)];
    const r = prune(existing, { kind: "named", sizeBytes: 50 }, { maxAuto: 100, maxBytes: 100 });
    expect(r).toMatchObject({ ok: false, reason: "too_large", bytesNeeded: 110, maxBytes: 100 });
    // Exactly at the cap fits.
    expect(prune(existing, { kind: "named", sizeBytes: 40 }, { maxAuto: 100, maxBytes: 100 })).toEqual({ ok: true, delete: ["a1"] });
  });

  it("refuses an automatic version over the cap the same way", () => {
    expect(prune([v("n1", "named", 1, 90)], { kind: "before-restore", sizeBytes: 20 }, { maxAuto: 5, maxBytes: 100 })).toMatchObject({
      ok: false,
      reason: "too_large",
    });
    expect(prune([], { kind: "auto", sizeBytes: 1 }, { maxAuto: 0, maxBytes: 100 })).toMatchObject({ ok: false, reason: "no_room" });
  });

  it("orders by creation time, then id, whatever order the versions come in", () => {
    const existing = [v("b", "auto", 5), v("a", "auto", 5), v("z", "auto", 1)];
    expect(prune(existing, undefined, { maxAuto: 1, maxBytes: 1e9 })).toEqual({ ok: true, delete: ["z", "a"] });
  });

  it("with no incoming version, brings existing ones back under lowered limits", () => {
    const existing = [v("n1", "named", 1, 200), v("a1", "auto", 2, 20)];
    expect(prune(existing, undefined, { maxAuto: 100, maxBytes: 100 })).toEqual({ ok: true, delete: ["a1"] });
  });
});
