import { describe, expect, it } from "vitest";
import {
  DEFAULT_AUTO_TIMING,
  DEFAULT_RETENTION,
  MAX_AUTO_VERSIONS,
  MAX_BEFORE_RESTORE_VERSIONS,
  MAX_NAMED_VERSIONS,
  MAX_NAMED_VERSIONS_PER_USER,
  MAX_VERSION_BYTES,
  nextAutoVersionAt,
  nextAutoToThin,
  planPut,
  type PooledVersion,
  recordAutoVersion,
  recordChange,
  type RetentionLimits,
  shouldTakeAutoVersion,
  spendVersionWrite,
  thinByAge,
  VERSION_IDLE_SECONDS,
  VERSION_INTERVAL_SECONDS,
  VERSION_ROW_BYTES,
  VERSION_WRITES_PER_MINUTE,
  type VersionUsage,
  versionCost,
} from "../../../src/versions/policy";

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

const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const v = (id: string, createdAt: number, costBytes = 10): PooledVersion => ({ id, createdAt, costBytes });
const usage = (u: Partial<VersionUsage> = {}): VersionUsage => {
  const autos = u.autos ?? [];
  const beforeRestores = u.beforeRestores ?? [];
  const pooled = [...autos, ...beforeRestores].reduce((n, x) => n + x.costBytes, 0);
  return { totalBytes: pooled, namedCount: 0, clientNamedBytes: 0, userNamedCount: 0, ...u, autos, beforeRestores };
};
const limits = (l: Partial<RetentionLimits> = {}): RetentionLimits => ({ ...DEFAULT_RETENTION, maxBytes: 1e9, ...l });
const kept = (all: readonly PooledVersion[], drop: string[]) => all.filter((x) => !drop.includes(x.id)).map((x) => x.id);

describe("retention: the defaults and what a version costs", () => {
  it("has the documented numbers", () => {
    expect([MAX_NAMED_VERSIONS, MAX_NAMED_VERSIONS_PER_USER, MAX_BEFORE_RESTORE_VERSIONS, VERSION_WRITES_PER_MINUTE]).toEqual([500, 50, 50, 10]);
    expect(DEFAULT_RETENTION).toEqual({ maxAuto: 100, maxBytes: 64 * 1024 * 1024, maxNamed: 500, maxNamedPerUser: 50, maxBeforeRestore: 50, writesPerMinute: 10 });
  });

  it("a version costs its state, its name and author in UTF-8, and a row", () => {
    expect(versionCost(2)).toBe(2 + VERSION_ROW_BYTES);
    expect(versionCost(100, "é".repeat(256), "ana")).toBe(100 + 512 + 3 + VERSION_ROW_BYTES);
  });
});

describe("retention: automatic versions are thinned by age (a fake clock)", () => {
  it("keeps every one of the last hour, the newest of each hour for a day, of each day for 30 days, then of each 30 days", () => {
    const now = 1000 * DAY; // aligned to the day, so the buckets below are whole hours and days
    const autos = [
      v("m50", now - 50 * MIN),
      v("m10", now - 10 * MIN),
      v("m0", now - 1 * MIN),
      // two in the hour 3 h ago: the newer stays
      v("h3a", now - 3 * HOUR + 5 * MIN),
      v("h3b", now - 3 * HOUR + 30 * MIN),
      v("h5", now - 5 * HOUR + 1 * MIN),
      // two on the day 3 days ago, one on the day 4 days ago
      v("d3a", now - 3 * DAY + HOUR),
      v("d3b", now - 3 * DAY + 20 * HOUR),
      v("d4", now - 4 * DAY + 2 * HOUR),
      // two in one 30-day bucket long ago
      v("old1", 900 * DAY + HOUR),
      v("old2", 905 * DAY),
    ];
    const drop = thinByAge(autos, now);
    expect(drop.sort()).toEqual(["d3a", "h3a", "old1"]);
    expect(kept(autos, drop)).toEqual(["m50", "m10", "m0", "h3b", "h5", "d3b", "d4", "old2"]);
  });

  it("a day of one version every 10 minutes keeps 6 + 23 hourly ones; a month of that keeps about 60", () => {
    const now = 2000 * DAY;
    const day = Array.from({ length: 144 }, (_, i) => v(`a${i}`, now - i * 10 * MIN));
    expect(kept(day, thinByAge(day, now))).toHaveLength(6 + 24);
    const month = Array.from({ length: 144 * 30 }, (_, i) => v(`a${i}`, now - i * 10 * MIN));
    const left = kept(month, thinByAge(month, now)).length;
    expect(left).toBeGreaterThanOrEqual(6 + 23 + 29);
    expect(left).toBeLessThanOrEqual(6 + 24 + 30);
  });

  it("thinning as time passes, hour by hour, keeps what thinning once at the end keeps (buckets are aligned, not relative)", () => {
    const t0 = 3000 * DAY;
    const autos = Array.from({ length: 48 }, (_, i) => v(`a${i}`, t0 + i * 20 * MIN));
    let alive = autos;
    const end = t0 + 10 * DAY;
    for (let now = t0 + 16 * HOUR; now <= end; now += HOUR) {
      const drop = thinByAge(alive, now);
      alive = alive.filter((x) => !drop.includes(x.id));
    }
    expect(alive.map((x) => x.id)).toEqual(kept(autos, thinByAge(autos, end)));
    // All 16 hours were one day: ten days later, its newest is what is left of it.
    expect(alive.map((x) => x.id)).toEqual(["a47"]);
  });

  it("under byte pressure the densest goes first, never the oldest while another can, never the newest when asked", () => {
    const autos = [v("a", 0), v("b", 100), v("c", 110), v("d", 500)];
    expect(nextAutoToThin(autos, true)).toBe(2); // c is 10 after b
    expect(nextAutoToThin([v("a", 0), v("d", 500)], true)).toBe(0);
    expect(nextAutoToThin([v("d", 500)], true)).toBeUndefined();
    expect(nextAutoToThin([v("d", 500)], false)).toBe(0);
  });
});

describe("retention: quotas by kind (planPut)", () => {
  const now = 5000 * DAY;

  it("a client's named version is refused past MAX_NAMED_VERSIONS, its user's count, or the client share; nothing is evicted for it", () => {
    const autos = [v("a1", now - 2 * MIN, 300), v("a2", now - MIN, 300)];
    const l = limits({ maxBytes: 1000, maxNamed: 3, maxNamedPerUser: 2 });
    const named = { kind: "named", costBytes: 100, createdBy: "mallory" } as const;
    expect(planPut(usage({ autos }), named, l, now)).toEqual({ ok: true, delete: [] });
    expect(planPut(usage({ autos, namedCount: 3 }), named, l, now)).toMatchObject({ ok: false, reason: "quota", message: expect.stringMatching(/at most 3 named/) });
    expect(planPut(usage({ autos, namedCount: 2, userNamedCount: 2 }), named, l, now)).toMatchObject({ ok: false, reason: "quota" });
    // The client share is a quarter of 1000: 200 used, 100 more does not fit.
    expect(planPut(usage({ autos, clientNamedBytes: 200, totalBytes: 800 }), named, l, now)).toMatchObject({ ok: false, reason: "quota" });
    // Room in its share but not in the total: refused, the automatic versions stay.
    expect(planPut(usage({ autos, totalBytes: 950 }), named, l, now)).toMatchObject({ ok: false, reason: "too_large" });
  });

  it("a secret key's named version may thin automatic versions (the owner's choice), never before-restore ones", () => {
    const autos = [v("a1", now - 3 * MIN, 300), v("a2", now - 2 * MIN, 300), v("a3", now - MIN, 300)];
    const beforeRestores = [v("b1", now - 30 * S, 50)];
    const l = limits({ maxBytes: 1000 });
    expect(planPut(usage({ autos, beforeRestores }), { kind: "named", costBytes: 200, createdBy: null }, l, now)).toEqual({ ok: true, delete: ["a2"] });
    expect(planPut(usage({ autos, beforeRestores }), { kind: "named", costBytes: 960, createdBy: null }, l, now)).toMatchObject({
      ok: false,
      reason: "too_large",
    });
  });

  it("before-restore versions: their count and share push out the oldest before-restore version, never an automatic one", () => {
    const autos = [v("good", now - 30 * MIN, 100)];
    const beforeRestores = [v("b1", now - 3 * MIN, 100), v("b2", now - 2 * MIN, 100), v("b3", now - MIN, 100)];
    const br = { kind: "before-restore", costBytes: 100, createdBy: "mallory" } as const;
    expect(planPut(usage({ autos, beforeRestores }), br, limits({ maxBeforeRestore: 3 }), now)).toEqual({ ok: true, delete: ["b1"] });
    // Share: a quarter of 1600 is 400, 300 used.
    expect(planPut(usage({ autos, beforeRestores }), br, limits({ maxBytes: 1600 }), now)).toEqual({ ok: true, delete: [] });
    expect(planPut(usage({ autos, beforeRestores }), { ...br, costBytes: 250 }, limits({ maxBytes: 1600 }), now)).toEqual({ ok: true, delete: ["b1", "b2"] });
  });

  it("a full before-restore pool gives up the restoring user's own oldest first, so one user's restores cannot flush out the others'", () => {
    const mine = (id: string, t: number, by: string | null) => ({ ...v(id, now - t * MIN, 100), createdBy: by });
    const beforeRestores = [mine("owner", 5, null), mine("bo", 4, "bo"), mine("m1", 3, "mallory"), mine("m2", 2, "mallory")];
    const l = limits({ maxBeforeRestore: 4 });
    expect(planPut(usage({ beforeRestores }), { kind: "before-restore", costBytes: 100, createdBy: "mallory" }, l, now)).toEqual({ ok: true, delete: ["m1"] });
    expect(planPut(usage({ beforeRestores }), { kind: "before-restore", costBytes: 100, createdBy: null }, l, now)).toEqual({ ok: true, delete: ["owner"] });
    // A user with none in the pool pushes out the oldest.
    expect(planPut(usage({ beforeRestores }), { kind: "before-restore", costBytes: 100, createdBy: "cy" }, l, now)).toEqual({ ok: true, delete: ["owner"] });
  });

  it("101 restores in a row keep the automatic version that held the content before them", () => {
    let beforeRestores: PooledVersion[] = [];
    const autos = [v("good", now - 2 * HOUR, 500)];
    const l = limits();
    for (let i = 0; i < 101; i++) {
      const plan = planPut(usage({ autos, beforeRestores }), { kind: "before-restore", costBytes: 500, createdBy: "mallory" }, l, now + i);
      if (!plan.ok) throw new Error(plan.message);
      expect(plan.delete).not.toContain("good");
      beforeRestores = [...beforeRestores.filter((x) => !plan.delete.includes(x.id)), v(`b${i}`, now + i, 500)];
    }
    expect(beforeRestores).toHaveLength(l.maxBeforeRestore);
  });

  it("a restore finds room when the total is full: older before-restore versions go, then automatic ones, never the newest automatic one", () => {
    const autos = [v("a1", now - 50 * MIN, 200), v("a2", now - 40 * MIN, 200), v("a3", now - 10 * MIN, 200)];
    const beforeRestores = [v("b1", now - 5 * MIN, 100)];
    // The owner's named versions hold 500 of 1000.
    const u = usage({ autos, beforeRestores, namedCount: 2, totalBytes: 1200 });
    const l = limits({ maxBytes: 1200 });
    expect(planPut(u, { kind: "before-restore", costBytes: 150, createdBy: null }, l, now)).toEqual({ ok: true, delete: ["b1", "a2"] });
    // Needs everything but the newest automatic version: still stored.
    expect(planPut(u, { kind: "before-restore", costBytes: 500, createdBy: null }, l, now)).toEqual({ ok: true, delete: ["b1", "a2", "a1"] });
    // Would need the newest automatic one too: refused, nothing deleted.
    expect(planPut(u, { kind: "before-restore", costBytes: 900, createdBy: null }, l, now)).toMatchObject({ ok: false, reason: "too_large" });
  });

  it("an automatic version: thinning by age, then its share and MAX_AUTO_VERSIONS, densest first; refused only if named versions fill the cap", () => {
    const autos = [
      v("old", now - 3 * HOUR + 5 * MIN, 100),
      v("old-same-hour", now - 3 * HOUR + 40 * MIN, 100),
      v("a", now - 20 * MIN, 100),
      v("b", now - 19 * MIN, 100),
    ];
    const auto = { kind: "auto", costBytes: 100, createdBy: null } as const;
    expect(planPut(usage({ autos }), auto, limits(), now)).toEqual({ ok: true, delete: ["old"] });
    expect(planPut(usage({ autos }), auto, limits({ maxAuto: 3 }), now)).toEqual({ ok: true, delete: ["old", "b"] });
    // Share: half of 600 is 300; after thinning 300 are held, 100 more needs one to go.
    expect(planPut(usage({ autos }), auto, limits({ maxBytes: 600 }), now)).toEqual({ ok: true, delete: ["old", "b"] });
    expect(planPut(usage({ namedCount: 1, totalBytes: 1000 }), auto, limits({ maxBytes: 1000 }), now)).toMatchObject({ ok: false, reason: "too_large" });
  });

  it("a named version or a restore also applies the age rule", () => {
    const autos = [v("x", now - 3 * HOUR + 5 * MIN), v("y", now - 3 * HOUR + 6 * MIN)];
    expect(planPut(usage({ autos }), { kind: "named", costBytes: 1, createdBy: "mallory" }, limits(), now)).toEqual({ ok: true, delete: ["x"] });
  });
});

describe("retention: named versions and restores per user per minute", () => {
  it("a burst of writesPerMinute, then one every 60/writesPerMinute s; Retry-After is when the next one is", () => {
    let bucket: ReturnType<typeof spendVersionWrite> = spendVersionWrite(undefined, T0, 10);
    for (let i = 1; i < 10; i++) {
      if (!bucket.ok) throw new Error("refused early");
      bucket = spendVersionWrite(bucket.bucket, T0, 10);
    }
    if (!bucket.ok) throw new Error("refused early");
    const spent = bucket.bucket;
    expect(spendVersionWrite(spent, T0, 10)).toEqual({ ok: false, retryAfterMs: 6000 });
    expect(spendVersionWrite(spent, T0 + 4000, 10)).toEqual({ ok: false, retryAfterMs: 2000 });
    expect(spendVersionWrite(spent, T0 + 6000, 10)).toMatchObject({ ok: true });
    // A clock that goes back gives nothing back.
    expect(spendVersionWrite(spent, T0 - 60_000, 10)).toMatchObject({ ok: false });
    // A minute refills all of it, no more.
    expect(spendVersionWrite(spent, T0 + 3_600_000, 10)).toEqual({ ok: true, bucket: { tokens: 9, at: T0 + 3_600_000 } });
  });
});
