/**
 * SqlVersionStore (src/room/versions.ts) over a real Durable Object's SQLite: each test gets a fresh
 * object of the app's own class and builds the store on its storage, as the room will.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DocRoom } from "../../../src/room/doc-room";
import { CHUNK_BYTES } from "../../../src/room/store";
import { SqlVersionStore, type VersionPage } from "../../../src/versions/store";
import { DEFAULT_RETENTION, type RetentionLimits, VERSION_ROW_BYTES, versionCost } from "../../../src/versions/policy";

/** Runs `fn` with a store on a fresh object's storage; `reopen` builds a second store on the same storage. */
function withStore<T>(
  fn: (store: SqlVersionStore, reopen: () => SqlVersionStore, sql: SqlStorage, state: DurableObjectState) => T,
  overrides: Partial<RetentionLimits> = {},
): Promise<T> {
  const stub = env.DOC_ROOM.getByName(`versions-store-${crypto.randomUUID()}`);
  const limits = { ...DEFAULT_RETENTION, ...overrides };
  return runInDurableObject(stub, async (_room: DocRoom, state) => {
    const open = () => new SqlVersionStore(state.storage.sql, (f) => state.storage.transactionSync(f), limits);
    return await fn(open(), open, state.storage.sql, state);
  });
}

const bytes = (n: number, seed = 1) => {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
};

const T0 = 1_800_000_000_000;

describe("SqlVersionStore", () => {
  it("stores a version and reads back its metadata and state", () =>
    withStore((store) => {
      const put = store.put({ state: bytes(100), kind: "named", name: "Draft 1", createdBy: "ana", now: T0 });
      if (!put.ok) throw new Error(put.message);
      expect(put.version).toMatchObject({ name: "Draft 1", kind: "named", createdAt: T0, createdBy: "ana", sizeBytes: 100 });
      expect(store.get(put.version.id)).toEqual(put.version);
      expect(store.getState(put.version.id)).toEqual(bytes(100));
      expect(store.totalBytes()).toBe(100);
      expect(store.get("nope")).toBeUndefined();
      expect(store.getState("nope")).toBeUndefined();
    }));

  it("round-trips a 20 MB version through parts of CHUNK_BYTES", () =>
    withStore((store, _reopen, sql) => {
      const state = bytes(20 * 1024 * 1024 + 7, 42);
      const put = store.put({ state, kind: "named", now: T0 });
      if (!put.ok) throw new Error(put.message);
      const parts = sql
        .exec<{ n: number; biggest: number }>(`SELECT COUNT(*) AS n, MAX(length(data)) AS biggest FROM version_parts WHERE id = ?`, put.version.id)
        .one();
      expect(parts).toEqual({ n: 21, biggest: CHUNK_BYTES });
      const back = store.getState(put.version.id)!;
      expect(back.length).toBe(state.length);
      // Compared in one pass (toEqual on 20 M elements would be slow to diff on failure).
      expect(back.every((b, i) => b === state[i])).toBe(true);
    }));

  it("stores an empty state", () =>
    withStore((store) => {
      const put = store.put({ state: new Uint8Array(0), kind: "auto", now: T0 });
      if (!put.ok) throw new Error(put.message);
      expect(store.getState(put.version.id)).toEqual(new Uint8Array(0));
    }));

  it("lists newest first, by pages with an opaque cursor, optionally of one kind", () =>
    withStore((store) => {
      const kinds = ["auto", "named", "auto", "before-restore", "named", "auto", "auto"] as const;
      // Several in the same millisecond, and one with a clock that went back: ids still sort by order of creation.
      const times = [T0, T0, T0, T0 + 5, T0 + 3, T0 + 9, T0 + 9];
      const ids = kinds.map((kind, i) => {
        const put = store.put({ state: bytes(10, i), kind, now: times[i] });
        if (!put.ok) throw new Error(put.message);
        return put.version.id;
      });
      const newestFirst = [...ids].reverse();
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: VersionPage = store.list({ limit: 3, cursor })!;
        expect(page.data.length).toBeLessThanOrEqual(3);
        seen.push(...page.data.map((v) => v.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(newestFirst);
      expect(store.list({ limit: 7 })!.nextCursor).toBeNull();

      const named = store.list({ kind: "named", limit: 1 })!;
      expect(named.data.map((v) => v.id)).toEqual([ids[4]]);
      expect(store.list({ kind: "named", cursor: named.nextCursor })!.data.map((v) => v.id)).toEqual([ids[1]]);
      expect(store.list({ kind: "before-restore" })!.data.map((v) => v.kind)).toEqual(["before-restore"]);
    }));

  it("refuses a cursor it did not make", () =>
    withStore((store) => {
      expect(store.list({ cursor: "not a cursor!" })).toBeUndefined();
      expect(store.list({ cursor: btoa("x' OR 1=1 --").replace(/=+$/, "") })).toBeUndefined();
    }));

  it("ids keep increasing across a new store on the same storage (an object that woke up)", () =>
    withStore((store, reopen) => {
      const a = store.put({ state: bytes(1), kind: "auto", now: T0 + 1000 });
      const b = reopen().put({ state: bytes(1), kind: "auto", now: T0 }); // the clock is behind the last id
      if (!a.ok || !b.ok) throw new Error("refused");
      expect(b.version.id > a.version.id).toBe(true);
      expect(
        reopen()
          .list()!
          .data.map((v) => v.id),
      ).toEqual([b.version.id, a.version.id]);
    }));

  it("renames, keeping the kind, and deletes", () =>
    withStore((store) => {
      const put = store.put({ state: bytes(5), kind: "auto", now: T0 });
      if (!put.ok) throw new Error(put.message);
      expect(store.rename(put.version.id, "Before the rewrite")).toMatchObject({ name: "Before the rewrite", kind: "auto" });
      expect(store.rename(put.version.id, null)?.name).toBeNull();
      expect(store.rename("nope", "x")).toBeUndefined();
      expect(store.delete(put.version.id)).toBe(true);
      expect(store.delete(put.version.id)).toBe(false);
      expect(store.get(put.version.id)).toBeUndefined();
      expect(store.getState(put.version.id)).toBeUndefined();
      expect(store.totalBytes()).toBe(0);
    }));

  it("applies retention on put: the densest automatic versions go, in the same transaction, named ones stay", () =>
    withStore(
      (store, _reopen, sql) => {
        const named = store.put({ state: bytes(CHUNK_BYTES + 1), kind: "named", now: T0 });
        const autos = [1, 2, 3].map((i) => store.put({ state: bytes(10, i), kind: "auto", now: T0 + i }));
        if (!named.ok || autos.some((a) => !a.ok)) throw new Error("refused");
        const ids = autos.map((a) => (a.ok ? a.version.id : ""));
        // maxAuto 2: the third automatic version thins the second (the oldest stays while another can go).
        expect(autos[2]).toMatchObject({ ok: true, pruned: [ids[1]] });
        expect(store.list()!.data.map((v) => v.id)).toEqual([ids[2], ids[0], named.version.id]);
        // Its parts went with it.
        expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM version_parts WHERE id = ?`, ids[1]!).one().n).toBe(0);
      },
      { maxAuto: 2, maxBytes: 4 * 1024 * 1024 },
    ));

  it("counts each version's real cost (state, name, author, row) and refuses a named version over the cap, writing and deleting nothing", () =>
    withStore(
      (store) => {
        const kept = store.put({ state: bytes(600), kind: "named", now: T0 });
        const auto = store.put({ state: bytes(300), kind: "auto", now: T0 + 1 });
        if (!kept.ok || !auto.ok) throw new Error("refused");
        expect(store.costBytes()).toBe(900 + 2 * VERSION_ROW_BYTES);
        expect(store.totalBytes()).toBe(900);
        const before = store.list()!;
        expect(store.put({ state: bytes(600), kind: "named", now: T0 + 2 })).toMatchObject({ ok: false, reason: "too_large" });
        expect(store.list()).toEqual(before);
        expect(store.costBytes()).toBe(900 + 2 * VERSION_ROW_BYTES);
        // A secret key's named version that fits once the automatic version is thinned is taken, and thins it.
        expect(store.put({ state: bytes(400), kind: "named", now: T0 + 3 })).toMatchObject({ ok: true, pruned: [auto.version.id] });
        expect(store.costBytes()).toBe(1000 + 2 * VERSION_ROW_BYTES);
        // A name counts by its UTF-8 bytes, from a rename on too.
        const renamed = store.rename(kept.version.id, "é".repeat(10))!;
        expect(renamed.name).toBe("é".repeat(10));
        expect(store.costBytes()).toBe(1000 + 20 + 2 * VERSION_ROW_BYTES);
      },
      { maxAuto: 10, maxBytes: 1000 + 2 * VERSION_ROW_BYTES + 100 },
    ));

  it("costs what it takes in storage: 500 named versions with the longest names grow the database by less than they are charged", () =>
    withStore((store, _reopen, sql) => {
      const before = sql.databaseSize;
      for (let i = 0; i < 500; i++) {
        const put = store.put({ state: bytes(2, i), kind: "named", name: "n".repeat(256), createdBy: null, now: T0 + i });
        if (!put.ok) throw new Error(put.message);
      }
      const grown = sql.databaseSize - before;
      expect(store.costBytes()).toBe(500 * versionCost(2, "n".repeat(256)));
      expect(grown).toBeGreaterThan(500 * 256); // the names alone
      expect(store.costBytes()).toBeGreaterThanOrEqual(grown);
    }));

  it("MAX_NAMED_VERSIONS and the per-user count refuse the next named version; other users and the secret key are counted apart", () =>
    withStore(
      (store) => {
        const put = (createdBy: string | null, i: number) => store.put({ state: bytes(2), kind: "named", createdBy, now: T0 + i * 60_000 });
        for (let i = 0; i < 3; i++) expect(put("ana", i)).toMatchObject({ ok: true });
        expect(put("ana", 3)).toMatchObject({ ok: false, reason: "quota", message: expect.stringMatching(/MAX_NAMED_VERSIONS_PER_USER/) });
        expect(put("bo", 4)).toMatchObject({ ok: true });
        expect(put(null, 5)).toMatchObject({ ok: true });
        expect(put(null, 6)).toMatchObject({ ok: false, reason: "quota", message: expect.stringMatching(/at most 5 named versions/) });
        expect(store.list({ kind: "named" })!.data).toHaveLength(5);
      },
      { maxNamed: 5, maxNamedPerUser: 3 },
    ));

  it("a client's named versions and restores spend a per-user rate that survives a new store (an object that woke up); a secret key and the server spend none", () =>
    withStore((store, reopen) => {
      for (let i = 0; i < 9; i++) expect(store.put({ state: bytes(2), kind: "named", createdBy: "ana", now: T0 })).toMatchObject({ ok: true });
      expect(store.put({ state: bytes(2), kind: "before-restore", createdBy: "ana", now: T0 })).toMatchObject({ ok: true });
      const refused = reopen().put({ state: bytes(2), kind: "before-restore", createdBy: "ana", now: T0 + 1000 });
      expect(refused).toEqual({ ok: false, reason: "rate_limited", message: expect.stringMatching(/10 named versions and restores/), retryAfterSeconds: 5 });
      expect(store.put({ state: bytes(2), kind: "named", createdBy: "bo", now: T0 + 1000 })).toMatchObject({ ok: true });
      expect(store.put({ state: bytes(2), kind: "named", createdBy: null, now: T0 + 1000 })).toMatchObject({ ok: true });
      expect(store.put({ state: bytes(2), kind: "auto", now: T0 + 1000 })).toMatchObject({ ok: true });
      // Refused ones spent nothing: 6 s after the burst, one more.
      expect(reopen().put({ state: bytes(2), kind: "named", createdBy: "ana", now: T0 + 6000 })).toMatchObject({ ok: true });
      expect(reopen().put({ state: bytes(2), kind: "named", createdBy: "ana", now: T0 + 6000 })).toMatchObject({ ok: false, reason: "rate_limited" });
    }));

  it("101 restores (a fake clock, one every 6 s) keep the automatic version from before them and the owner's before-restore version; the before-restore versions stop at their count", () =>
    withStore((store) => {
      const good = store.put({ state: bytes(50, 7), kind: "auto", now: T0 });
      const owners = store.put({ state: bytes(50, 8), kind: "before-restore", createdBy: null, now: T0 + 1 });
      if (!good.ok || !owners.ok) throw new Error("refused");
      for (let i = 1; i <= 101; i++) {
        const put = store.put({ state: bytes(50, i), kind: "before-restore", createdBy: "mallory", now: T0 + 60_000 + i * 6000 });
        if (!put.ok) throw new Error(put.message);
        expect(put.pruned).not.toContain(good.version.id);
        expect(put.pruned).not.toContain(owners.version.id);
      }
      expect(store.getState(good.version.id)).toEqual(bytes(50, 7));
      expect(store.getState(owners.version.id)).toEqual(bytes(50, 8));
      expect(store.list({ kind: "before-restore", limit: 1000 })!.data).toHaveLength(DEFAULT_RETENTION.maxBeforeRestore);
    }));

  it("adds the cost column to a versions table from before it, counting the rows already there", () =>
    withStore((_store, _reopen, sql, state) => {
      sql.exec(`DROP TABLE versions`);
      sql.exec(
        `CREATE TABLE versions (id TEXT PRIMARY KEY, name TEXT, kind TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT, size_bytes INTEGER NOT NULL)`,
      );
      sql.exec(`INSERT INTO versions VALUES ('0000000001aaaaaaaaaaaa', 'née', 'named', 1, 'ana', 40)`);
      const store = new SqlVersionStore(sql, (f) => state.storage.transactionSync(f));
      expect(store.costBytes()).toBe(versionCost(40, "née", "ana"));
    }));

  it("writes a version and its pruning in one transaction: a failure leaves everything as it was", () =>
    withStore((store, _reopen, sql, state) => {
      const old = store.put({ state: bytes(10), kind: "auto", now: T0 });
      if (!old.ok) throw new Error(old.message);
      // The commit fails after every statement ran: the transaction rolls them all back.
      const failing = new SqlVersionStore(
        sql,
        (f) =>
          state.storage.transactionSync(() => {
            f();
            throw new Error("injected storage failure");
          }),
        { ...DEFAULT_RETENTION, maxAuto: 1, maxBytes: 1e9 },
      );
      expect(() => failing.put({ state: bytes(3 * CHUNK_BYTES), kind: "auto", now: T0 + 1 })).toThrow("injected storage failure");
      expect(store.list()!.data.map((v) => v.id)).toEqual([old.version.id]);
      expect(store.getState(old.version.id)).toEqual(bytes(10));
      expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM version_parts`).one().n).toBe(1);
    }));
});
