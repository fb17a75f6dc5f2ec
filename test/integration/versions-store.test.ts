/**
 * SqlVersionStore (src/room/versions.ts) over a real Durable Object's SQLite: each test gets a fresh
 * object of the app's own class and builds the store on its storage, as the room will.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DocRoom } from "../../src/room/doc-room";
import { CHUNK_BYTES } from "../../src/room/store";
import { SqlVersionStore, type VersionPage } from "../../src/room/versions";
import type { RetentionLimits } from "../../src/sync/version-policy";

/** Runs `fn` with a store on a fresh object's storage; `reopen` builds a second store on the same storage. */
function withStore<T>(
  fn: (store: SqlVersionStore, reopen: () => SqlVersionStore, sql: SqlStorage, state: DurableObjectState) => T,
  limits?: RetentionLimits,
): Promise<T> {
  const stub = env.DOC_ROOM.getByName(`versions-store-${crypto.randomUUID()}`);
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

  it("applies retention on put: the oldest automatic versions go, in the same transaction, named ones stay", () =>
    withStore(
      (store, _reopen, sql) => {
        const named = store.put({ state: bytes(CHUNK_BYTES + 1), kind: "named", now: T0 });
        const autos = [1, 2, 3].map((i) => store.put({ state: bytes(10, i), kind: "auto", now: T0 + i }));
        if (!named.ok || autos.some((a) => !a.ok)) throw new Error("refused");
        const ids = autos.map((a) => (a.ok ? a.version.id : ""));
        // maxAuto 2: the third automatic version prunes the first.
        expect(autos[2]).toMatchObject({ ok: true, pruned: [ids[0]] });
        expect(store.list()!.data.map((v) => v.id)).toEqual([ids[2], ids[1], named.version.id]);
        // Its parts went with it.
        expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM version_parts WHERE id = ?`, ids[0]!).one().n).toBe(0);
      },
      { maxAuto: 2, maxBytes: 4 * 1024 * 1024 },
    ));

  it("refuses a named version over the byte cap, writing and deleting nothing", () =>
    withStore(
      (store) => {
        const kept = store.put({ state: bytes(600), kind: "named", now: T0 });
        const auto = store.put({ state: bytes(300), kind: "auto", now: T0 + 1 });
        if (!kept.ok || !auto.ok) throw new Error("refused");
        const before = store.list()!;
        expect(store.put({ state: bytes(500), kind: "named", now: T0 + 2 })).toMatchObject({ ok: false, reason: "too_large" });
        expect(store.list()).toEqual(before);
        expect(store.totalBytes()).toBe(900);
        // One that fits once the automatic version is pruned is taken, and prunes it.
        expect(store.put({ state: bytes(400), kind: "named", now: T0 + 3 })).toMatchObject({ ok: true, pruned: [auto.version.id] });
        expect(store.totalBytes()).toBe(1000);
      },
      { maxAuto: 10, maxBytes: 1000 },
    ));

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
        { maxAuto: 1, maxBytes: 1e9 },
      );
      expect(() => failing.put({ state: bytes(3 * CHUNK_BYTES), kind: "auto", now: T0 + 1 })).toThrow("injected storage failure");
      expect(store.list()!.data.map((v) => v.id)).toEqual([old.version.id]);
      expect(store.getState(old.version.id)).toEqual(bytes(10));
      expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM version_parts`).one().n).toBe(1);
    }));
});
