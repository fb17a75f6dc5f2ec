/**
 * The document's update log and snapshot in the Durable Object's own SQLite storage.
 *
 * A value is never stored whole: a snapshot or a large log entry is split into parts of at most
 * CHUNK_BYTES, so documents far over SQLite's 2 MB row limit work.
 *
 * Raw SQL on purpose: this is the hot path of every keystroke and drizzle adds nothing to three tables of
 * blobs; the relational catalog in D1 goes through drizzle.
 */
import type { UpdateStore } from "../sync/ports";

export const CHUNK_BYTES = 1024 * 1024;

export class SqlUpdateStore implements UpdateStore {
  logBytes = 0;
  logCount = 0;
  snapshotBytes = 0;
  private nextSeq = 1;
  /** Appended but not yet written: flush() writes them in one transaction. */
  private pending: { seq: number; update: Uint8Array }[] = [];
  /** Client ids recorded but not yet written: they go with the next batch. */
  private pendingIds: { userId: string; id: number; at: number }[] = [];
  /** Called when the first pending entry arrives, so the owner schedules a flush. */
  onPending: () => void = () => {};
  /**
   * Runs inside every transaction that commits updates (a flush or a compaction that folds pending ones),
   * so what must happen with a change (its webhook event: src/webhooks/room-ledger.ts) commits with it or not at all.
   */
  withUpdates: (batch: readonly { update: Uint8Array }[]) => void = () => {};

  constructor(
    private readonly sql: SqlStorage,
    private readonly transaction: <T>(fn: () => T) => T = (fn) => fn(),
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS log (seq INTEGER NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (seq, part))`);
    sql.exec(`CREATE TABLE IF NOT EXISTS snapshot (part INTEGER PRIMARY KEY, data BLOB NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS client_ids (client INTEGER PRIMARY KEY, user TEXT NOT NULL, at INTEGER NOT NULL)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS client_ids_by_user ON client_ids (user, at)`);
    const log = sql
      .exec<{ n: number; bytes: number | null; last: number | null }>(`SELECT COUNT(DISTINCT seq) AS n, SUM(length(data)) AS bytes, MAX(seq) AS last FROM log`)
      .one();
    this.logCount = log.n;
    this.logBytes = log.bytes ?? 0;
    this.nextSeq = (log.last ?? 0) + 1;
    this.snapshotBytes = sql.exec<{ bytes: number | null }>(`SELECT SUM(length(data)) AS bytes FROM snapshot`).one().bytes ?? 0;
  }

  load(): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.snapshotBytes > 0) {
      const parts = this.sql.exec<{ data: ArrayBuffer }>(`SELECT data FROM snapshot ORDER BY part`).toArray();
      out.push(concat(parts.map((p) => new Uint8Array(p.data))));
    }
    let currentSeq = -1;
    let current: Uint8Array[] = [];
    for (const row of this.sql.exec<{ seq: number; data: ArrayBuffer }>(`SELECT seq, data FROM log ORDER BY seq, part`)) {
      if (row.seq !== currentSeq && current.length > 0) {
        out.push(concat(current));
        current = [];
      }
      currentSeq = row.seq;
      current.push(new Uint8Array(row.data));
    }
    if (current.length > 0) out.push(concat(current));
    for (const p of this.pending) out.push(p.update);
    return out;
  }

  append(update: Uint8Array): void {
    this.pending.push({ seq: this.nextSeq++, update });
    this.logBytes += update.length;
    this.logCount += 1;
    if (this.pending.length === 1) this.onPending();
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /**
   * Writes every pending entry in one transaction: one commit for a burst of updates instead of one
   * each. Callers hold back every message that could reveal those updates until this has run. If the
   * write throws, the entries stay pending: the caller decides (see dropPending).
   */
  flush(): void {
    if (this.pending.length === 0 && this.pendingIds.length === 0) return;
    const batch = this.pending;
    const ids = this.pendingIds;
    this.transaction(() => {
      for (const p of batch) this.insertLog(p.seq, p.update);
      for (const r of ids) this.sql.exec(`INSERT OR IGNORE INTO client_ids (client, user, at) VALUES (?, ?, ?)`, r.id, r.userId, r.at);
      if (batch.length > 0) this.withUpdates(batch);
    });
    this.pending = [];
    this.pendingIds = [];
  }

  clientIdsIntroduced(userId: string, since: number): number {
    const stored = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM client_ids WHERE user = ? AND at >= ?`, userId, since).one().n;
    return stored + this.pendingIds.filter((r) => r.userId === userId && r.at >= since).length;
  }

  recordClientIds(userId: string, ids: readonly number[], at: number): void {
    for (const id of ids) this.pendingIds.push({ userId, id, at });
  }

  /** Forgets the entries a failed flush could not write, as if they had never been appended. */
  dropPending(): void {
    for (const p of this.pending) {
      this.logBytes -= p.update.length;
      this.logCount -= 1;
    }
    if (this.pending.length > 0) this.nextSeq = this.pending[0]!.seq;
    this.pending = [];
    this.pendingIds = [];
  }

  compact(snapshot: Uint8Array, tail: Uint8Array[]): void {
    const folding = this.pending.length > 0;
    this.transaction(() => {
      this.replaceAll(snapshot, tail);
      if (folding) this.withUpdates(this.pending);
    });
    // Only once committed: the snapshot holds everything pending entries held, so they need no separate
    // write; had the transaction thrown, they would still be pending and the counters unchanged.
    this.pending = [];
    this.snapshotBytes = snapshot.length;
    this.logBytes = tail.reduce((n, e) => n + e.length, 0);
    this.logCount = tail.length;
    this.nextSeq = tail.length + 1;
  }

  private replaceAll(snapshot: Uint8Array, tail: Uint8Array[]): void {
    this.sql.exec(`DELETE FROM snapshot`);
    this.sql.exec(`DELETE FROM log`);
    for (let part = 0, off = 0; off < snapshot.length; part++, off += CHUNK_BYTES) {
      this.sql.exec(`INSERT INTO snapshot (part, data) VALUES (?, ?)`, part, snapshot.subarray(off, off + CHUNK_BYTES));
    }
    tail.forEach((entry, i) => this.insertLog(i + 1, entry));
  }

  getMeta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0]?.value;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }

  deleteMeta(key: string): void {
    this.sql.exec(`DELETE FROM meta WHERE key = ?`, key);
  }

  private insertLog(seq: number, update: Uint8Array): void {
    if (update.length === 0) {
      this.sql.exec(`INSERT INTO log (seq, part, data) VALUES (?, 0, ?)`, seq, update);
      return;
    }
    for (let part = 0, off = 0; off < update.length; part++, off += CHUNK_BYTES) {
      this.sql.exec(`INSERT INTO log (seq, part, data) VALUES (?, ?, ?)`, seq, part, update.subarray(off, off + CHUNK_BYTES));
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
