/**
 * A document's versions in its Durable Object's SQLite, beside the update log (store.ts).
 *
 * `versions` holds the metadata, one row each; `version_parts` the Yjs state, split into parts of at
 * most CHUNK_BYTES like the snapshot, so a version of a document far over SQLite's 2 MB row limit works.
 * Ids sort by creation time (a base-36 millisecond prefix, strictly increasing within an object), so
 * "newest first" is `ORDER BY id DESC` and a cursor is the last id seen. Erasing the document
 * (`storage.deleteAll`) erases its versions with it.
 */
import { base64url, fromBase64url, randomId } from "../ids";
import { DEFAULT_RETENTION, prune, type RetentionLimits, type VersionKind } from "../sync/version-policy";
import { CHUNK_BYTES } from "./store";

export type VersionMeta = { id: string; name: string | null; kind: VersionKind; createdAt: number; createdBy: string | null; sizeBytes: number };

export type VersionPage = { data: VersionMeta[]; nextCursor: string | null };

export type PutVersion = { state: Uint8Array; kind: VersionKind; name?: string | null; createdBy?: string | null; now?: number };

export type PutResult = { ok: true; version: VersionMeta; pruned: string[] } | { ok: false; reason: "too_large" | "no_room"; message: string };

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
      `CREATE TABLE IF NOT EXISTS versions (id TEXT PRIMARY KEY, name TEXT, kind TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT, size_bytes INTEGER NOT NULL)`,
    );
    sql.exec(`CREATE INDEX IF NOT EXISTS versions_by_kind ON versions (kind, id)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS version_parts (id TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (id, part))`);
    const newest = sql.exec<{ id: string | null }>(`SELECT MAX(id) AS id FROM versions`).one().id;
    if (newest) this.lastIdTime = Number.parseInt(newest.slice(0, TIME_DIGITS), 36) || 0;
  }

  /**
   * Stores a version and applies retention, in one transaction: the automatic versions retention picks
   * are deleted with the insert. Refused (nothing written or deleted) when it cannot fit the byte cap even
   * with every automatic version gone.
   */
  put(input: PutVersion): PutResult {
    const now = input.now ?? Date.now();
    const existing = this.sql
      .exec<{ id: string; kind: string; created_at: number; size_bytes: number }>(`SELECT id, kind, created_at, size_bytes FROM versions`)
      .toArray()
      .map((r) => ({ id: r.id, kind: r.kind as VersionKind, createdAt: r.created_at, sizeBytes: r.size_bytes }));
    const plan = prune(existing, { kind: input.kind, sizeBytes: input.state.length }, this.limits);
    if (!plan.ok) return { ok: false, reason: plan.reason, message: plan.message };
    const idTime = Math.max(now, this.lastIdTime + 1);
    const version: VersionMeta = {
      id: idTime.toString(36).padStart(TIME_DIGITS, "0") + randomId(12),
      name: input.name ?? null,
      kind: input.kind,
      createdAt: now,
      createdBy: input.createdBy ?? null,
      sizeBytes: input.state.length,
    };
    this.transaction(() => {
      for (const id of plan.delete) this.remove(id);
      this.sql.exec(
        `INSERT INTO versions (id, name, kind, created_at, created_by, size_bytes) VALUES (?, ?, ?, ?, ?, ?)`,
        version.id,
        version.name,
        version.kind,
        version.createdAt,
        version.createdBy,
        version.sizeBytes,
      );
      // An empty state still gets its part 0, so a version always has its parts.
      for (let part = 0, off = 0; part === 0 || off < input.state.length; part++, off += CHUNK_BYTES) {
        this.sql.exec(`INSERT INTO version_parts (id, part, data) VALUES (?, ?, ?)`, version.id, part, input.state.subarray(off, off + CHUNK_BYTES));
      }
    });
    this.lastIdTime = idTime;
    return { ok: true, version, pruned: plan.delete };
  }

  /**
   * Newest first, at most `limit` (1–1000), optionally of one kind. `cursor` is a page's nextCursor;
   * undefined when it is not one (the caller answers 400).
   */
  list(opts: { limit?: number; cursor?: string | null; kind?: VersionKind } = {}): VersionPage | undefined {
    const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), 1000);
    let after: string | undefined;
    if (opts.cursor) {
      const bytes = fromBase64url(opts.cursor);
      if (!bytes) return undefined;
      after = new TextDecoder().decode(bytes);
      if (!/^[0-9a-z]{9}[0-9A-Za-z]{12}$/.test(after)) return undefined;
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
    return { data, nextCursor: more ? base64url(new TextEncoder().encode(data[data.length - 1]!.id)) : null };
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

  /** Renames (null: no name); the kind stays, so a renamed automatic version is still pruned as one. */
  rename(id: string, name: string | null): VersionMeta | undefined {
    this.sql.exec(`UPDATE versions SET name = ? WHERE id = ?`, name, id);
    return this.get(id);
  }

  /** False when there was no such version. */
  delete(id: string): boolean {
    if (!this.get(id)) return false;
    this.transaction(() => this.remove(id));
    return true;
  }

  totalBytes(): number {
    return this.sql.exec<{ bytes: number | null }>(`SELECT SUM(size_bytes) AS bytes FROM versions`).one().bytes ?? 0;
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
