/**
 * A document's versions in its Durable Object's SQLite, beside the update log (store.ts).
 *
 * `versions` holds the metadata, one row each; `version_parts` the Yjs state, split into parts of at
 * most CHUNK_BYTES like the snapshot, so a version of a document far over SQLite's 2 MB row limit works.
 * Ids sort by creation time (a base-36 millisecond prefix, strictly increasing within an object), so
 * "newest first" is `ORDER BY id DESC` and a cursor is the last id seen. Erasing the document
 * (`storage.deleteAll`) erases its versions with it.
 */
import { decodeIdCursor, encodeCursor } from "../cursor";
import { randomId } from "../ids";
import {
  DEFAULT_RETENTION,
  planPut,
  type PooledVersion,
  type RetentionLimits,
  spendVersionWrite,
  type VersionKind,
  versionCost,
  VERSION_ROW_BYTES,
  type WriteBucket,
} from "./policy";
import { type Outcome, refuse } from "../room/outcome";
import { CHUNK_BYTES } from "../room/store";

/** What a version id looks like (randomId-style time prefix and random tail); a cursor holds one. */
const VERSION_ID = /^[0-9a-z]{9}[0-9A-Za-z]{12}$/;

export type VersionMeta = { id: string; name: string | null; kind: VersionKind; createdAt: number; createdBy: string | null; sizeBytes: number };

export type VersionPage = { data: VersionMeta[]; nextCursor: string | null };

export type PutVersion = { state: Uint8Array; kind: VersionKind; name?: string | null; createdBy?: string | null; now?: number };

/**
 * `too_large`: over MAX_VERSION_BYTES; `quota`: a count or share of its kind is full (policy.ts);
 * `rate_limited`: the user's named versions and restores per minute are spent (retry after retryAfterSeconds).
 * Nothing is written or deleted then.
 */
export type PutRefusal = { ok: false; reason: "too_large" | "quota" | "rate_limited"; message: string; retryAfterSeconds?: number };
export type PutResult = { ok: true; version: VersionMeta; pruned: string[] } | PutRefusal;

/** A refused put as the object's answer to the route (413, or 429 with Retry-After); `context` prefixes a 413's message. */
export function putRefusal(put: PutRefusal, context = ""): Outcome<never> {
  // A spent rate always says how long to wait (the route's Retry-After).
  if (put.reason === "rate_limited") return refuse("rate_limited", put.message, put.retryAfterSeconds ?? 60);
  return refuse("too_large", context + put.message);
}

type Row = { id: string; name: string | null; kind: string; created_at: number; created_by: string | null; size_bytes: number };

const KINDS: ReadonlySet<string> = new Set<VersionKind>(["named", "auto", "before-restore"]);
/** Width of the id's time prefix: base-36 milliseconds fit 9 digits until the year 5188. */
const TIME_DIGITS = 9;

export class SqlVersionStore {
  /** The time part of the newest id made here: a later id never sorts before it, whatever the clock does. */
  private lastIdTime = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly transaction: <T>(fn: () => T) => T = (fn) => fn(),
    private readonly limits: RetentionLimits = DEFAULT_RETENTION,
  ) {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS versions (id TEXT PRIMARY KEY, name TEXT, kind TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT, size_bytes INTEGER NOT NULL, cost_bytes INTEGER NOT NULL DEFAULT 0)`,
    );
    // Objects that stored versions before issue 22 have no cost column: add it and count their rows.
    if (
      !sql
        .exec<{ name: string }>(`PRAGMA table_info(versions)`)
        .toArray()
        .some((c) => c.name === "cost_bytes")
    ) {
      sql.exec(`ALTER TABLE versions ADD COLUMN cost_bytes INTEGER NOT NULL DEFAULT 0`);
      sql.exec(
        `UPDATE versions SET cost_bytes = size_bytes + COALESCE(length(CAST(name AS BLOB)), 0) + COALESCE(length(CAST(created_by AS BLOB)), 0) + ?`,
        VERSION_ROW_BYTES,
      );
    }
    sql.exec(`CREATE INDEX IF NOT EXISTS versions_by_kind ON versions (kind, id)`);
    // Covers every aggregate put asks for (counts and sums by kind and author), so none reads the table.
    sql.exec(`CREATE INDEX IF NOT EXISTS versions_usage ON versions (kind, created_by, cost_bytes)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS version_parts (id TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (id, part))`);
    // Each user's allowance of named versions and restores (policy.ts spendVersionWrite); survives eviction.
    sql.exec(`CREATE TABLE IF NOT EXISTS version_writes (user TEXT PRIMARY KEY, tokens REAL NOT NULL, at INTEGER NOT NULL)`);
    const newest = sql.exec<{ id: string | null }>(`SELECT MAX(id) AS id FROM versions`).one().id;
    if (newest) this.lastIdTime = Number.parseInt(newest.slice(0, TIME_DIGITS), 36) || 0;
  }

  /**
   * Stores a version and applies retention (policy.ts planPut) in one transaction: the versions
   * retention gives up are deleted with the insert. A client's named version or before-restore version
   * (createdBy set) also spends one of that user's writes per minute. Refused with nothing written or
   * deleted when a quota, the byte cap or the rate says no. Reads aggregates and the automatic and
   * before-restore rows (bounded by retention), never every row.
   */
  put(input: PutVersion): PutResult {
    const now = input.now ?? Date.now();
    const name = input.name ?? null;
    const createdBy = input.createdBy ?? null;
    let bucket: WriteBucket | undefined;
    if (createdBy !== null && input.kind !== "auto") {
      const spent = spendVersionWrite(this.bucketOf(createdBy), now, this.limits.writesPerMinute);
      if (!spent.ok) {
        const retryAfterSeconds = Math.max(1, Math.ceil(spent.retryAfterMs / 1000));
        return {
          ok: false,
          reason: "rate_limited",
          message: `a user may take ${this.limits.writesPerMinute} named versions and restores of a document a minute; retry in ${retryAfterSeconds} s`,
          retryAfterSeconds,
        };
      }
      bucket = spent.bucket;
    }
    const costBytes = versionCost(input.state.length, name, createdBy);
    const plan = planPut(this.usage(input.kind === "named" ? createdBy : null), { kind: input.kind, costBytes, createdBy }, this.limits, now);
    if (!plan.ok) return { ok: false, reason: plan.reason, message: plan.message };
    const idTime = Math.max(now, this.lastIdTime + 1);
    const version: VersionMeta = {
      id: idTime.toString(36).padStart(TIME_DIGITS, "0") + randomId(12),
      name,
      kind: input.kind,
      createdAt: now,
      createdBy,
      sizeBytes: input.state.length,
    };
    this.transaction(() => {
      for (const id of plan.delete) this.remove(id);
      this.sql.exec(
        `INSERT INTO versions (id, name, kind, created_at, created_by, size_bytes, cost_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        version.id,
        version.name,
        version.kind,
        version.createdAt,
        version.createdBy,
        version.sizeBytes,
        costBytes,
      );
      // An empty state still gets its part 0, so a version always has its parts.
      for (let part = 0, off = 0; part === 0 || off < input.state.length; part++, off += CHUNK_BYTES) {
        this.sql.exec(`INSERT INTO version_parts (id, part, data) VALUES (?, ?, ?)`, version.id, part, input.state.subarray(off, off + CHUNK_BYTES));
      }
      if (bucket) {
        this.sql.exec(`INSERT OR REPLACE INTO version_writes (user, tokens, at) VALUES (?, ?, ?)`, createdBy, bucket.tokens, bucket.at);
        // Allowances a minute old are full again: forgetting them changes nothing, and keeps the table small.
        this.sql.exec(`DELETE FROM version_writes WHERE at < ?`, now - 60_000);
      }
    });
    this.lastIdTime = idTime;
    return { ok: true, version, pruned: plan.delete };
  }

  /** What retention needs to decide a put; `user`: whose named versions to count (null: nobody's). */
  private usage(user: string | null) {
    let totalBytes = 0;
    let namedCount = 0;
    let clientNamedBytes = 0;
    for (const row of this.sql.exec<{ kind: string; client: number; n: number; bytes: number }>(
      `SELECT kind, created_by IS NOT NULL AS client, COUNT(*) AS n, SUM(cost_bytes) AS bytes FROM versions GROUP BY kind, client`,
    )) {
      totalBytes += row.bytes;
      if (row.kind !== "named") continue;
      namedCount += row.n;
      if (row.client) clientNamedBytes += row.bytes;
    }
    const userNamedCount =
      user === null ? 0 : this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM versions WHERE kind = 'named' AND created_by = ?`, user).one().n;
    const pool = (kind: VersionKind): PooledVersion[] =>
      this.sql
        .exec<{ id: string; created_at: number; cost_bytes: number; created_by: string | null }>(
          `SELECT id, created_at, cost_bytes, created_by FROM versions WHERE kind = ?`,
          kind,
        )
        .toArray()
        .map((r) => ({ id: r.id, createdAt: r.created_at, costBytes: r.cost_bytes, createdBy: r.created_by }));
    return { totalBytes, namedCount, clientNamedBytes, userNamedCount, autos: pool("auto"), beforeRestores: pool("before-restore") };
  }

  private bucketOf(user: string): WriteBucket | undefined {
    const row = this.sql.exec<{ tokens: number; at: number }>(`SELECT tokens, at FROM version_writes WHERE user = ?`, user).toArray()[0];
    return row && { tokens: row.tokens, at: row.at };
  }

  /**
   * Newest first, at most `limit` (1–1000), optionally of one kind. `cursor` is a page's nextCursor;
   * undefined when it is not one (the caller answers 400).
   */
  list(opts: { limit?: number; cursor?: string | null; kind?: VersionKind } = {}): VersionPage | undefined {
    const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), 1000);
    let after: string | undefined;
    if (opts.cursor) {
      after = decodeIdCursor(opts.cursor, VERSION_ID);
      if (after === undefined) return undefined;
    }
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (after !== undefined) {
      where.push("id < ?");
      args.push(after);
    }
    if (opts.kind) {
      where.push("kind = ?");
      args.push(opts.kind);
    }
    const rows = this.sql
      .exec<Row>(`SELECT * FROM versions ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`, ...args, limit + 1)
      .toArray();
    const more = rows.length > limit;
    const data = rows.slice(0, limit).map(toMeta);
    return { data, nextCursor: more ? encodeCursor(data[data.length - 1]!.id) : null };
  }

  get(id: string): VersionMeta | undefined {
    const row = this.sql.exec<Row>(`SELECT * FROM versions WHERE id = ?`, id).toArray()[0];
    return row && toMeta(row);
  }

  /** The version's Yjs v1 state, its parts joined; undefined when there is no such version. */
  getState(id: string): Uint8Array | undefined {
    const meta = this.get(id);
    if (!meta) return undefined;
    const out = new Uint8Array(meta.sizeBytes);
    let off = 0;
    for (const row of this.sql.exec<{ data: ArrayBuffer }>(`SELECT data FROM version_parts WHERE id = ? ORDER BY part`, id)) {
      out.set(new Uint8Array(row.data), off);
      off += row.data.byteLength;
    }
    if (off !== meta.sizeBytes) throw new Error(`version ${id}: its parts hold ${off} bytes, not ${meta.sizeBytes}`);
    return out;
  }

  /**
   * Renames (null: no name); the kind stays, so a renamed automatic version is still retained as one. The
   * name's bytes count against MAX_VERSION_BYTES from then on (at most 1 KiB more per version: names are
   * at most 256 characters).
   */
  rename(id: string, name: string | null): VersionMeta | undefined {
    const meta = this.get(id);
    if (!meta) return undefined;
    this.sql.exec(`UPDATE versions SET name = ?, cost_bytes = ? WHERE id = ?`, name, versionCost(meta.sizeBytes, name, meta.createdBy), id);
    return { ...meta, name };
  }

  /** False when there was no such version. */
  delete(id: string): boolean {
    if (!this.get(id)) return false;
    this.transaction(() => this.remove(id));
    return true;
  }

  /** Bytes of Yjs state the versions hold. */
  totalBytes(): number {
    return this.sql.exec<{ bytes: number | null }>(`SELECT SUM(size_bytes) AS bytes FROM versions`).one().bytes ?? 0;
  }

  /** What the versions cost against MAX_VERSION_BYTES: state, names and rows (policy.ts versionCost). */
  costBytes(): number {
    return this.sql.exec<{ bytes: number | null }>(`SELECT SUM(cost_bytes) AS bytes FROM versions`).one().bytes ?? 0;
  }

  private remove(id: string): void {
    this.sql.exec(`DELETE FROM version_parts WHERE id = ?`, id);
    this.sql.exec(`DELETE FROM versions WHERE id = ?`, id);
  }
}

function toMeta(r: Row): VersionMeta {
  const kind = KINDS.has(r.kind) ? (r.kind as VersionKind) : "auto";
  return { id: r.id, name: r.name, kind, createdAt: r.created_at, createdBy: r.created_by, sizeBytes: r.size_bytes };
}
