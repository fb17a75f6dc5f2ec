/**
 * Who is on the document's relays, as its own object keeps it: one row per relay socket, so the per-user
 * connection bound and REST presence count every socket of the document, and survive the object's
 * hibernation. Written when the object admits a relay's socket, and when the relay says it closed; a
 * relay's hello replaces its rows, and a closed link drops them (the relay lists them again when it is back).
 */
import type { RosterEntry } from "../sync/relay-wire";

export class RelayRoster {
  /** Rows in all (kept in memory: the relay plan reads it on every admission). */
  total = 0;

  constructor(private readonly sql: SqlStorage) {
    this.open();
  }

  /** Creates the table (again after an erase dropped it). */
  open(): void {
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS relay_roster (link INTEGER NOT NULL, tag INTEGER NOT NULL, user TEXT NOT NULL, access TEXT NOT NULL, PRIMARY KEY (link, tag))`,
    );
    this.sql.exec(`CREATE INDEX IF NOT EXISTS relay_roster_by_user ON relay_roster (user)`);
    this.total = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM relay_roster`).one().n;
  }

  add(link: number, e: RosterEntry): void {
    const before = this.sql.exec(`SELECT 1 FROM relay_roster WHERE link = ? AND tag = ?`, link, e.tag).toArray().length;
    this.sql.exec(`INSERT OR REPLACE INTO relay_roster (link, tag, user, access) VALUES (?, ?, ?, ?)`, link, e.tag, e.userId, e.access);
    this.total += 1 - before;
  }

  remove(link: number, tag: number): void {
    this.total -= this.sql.exec(`DELETE FROM relay_roster WHERE link = ? AND tag = ?`, link, tag).rowsWritten > 0 ? 1 : 0;
  }

  /** A relay's whole list (its hello), or none (its link closed). */
  replace(link: number, entries: readonly RosterEntry[]): void {
    this.sql.exec(`DELETE FROM relay_roster WHERE link = ?`, link);
    for (const e of entries) this.sql.exec(`INSERT OR REPLACE INTO relay_roster (link, tag, user, access) VALUES (?, ?, ?, ?)`, link, e.tag, e.userId, e.access);
    this.total = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM relay_roster`).one().n;
  }

  /**
   * Keeps only the rows of relays whose link is open (the object woke: a link that closed while it was
   * gone left its rows behind; a relay that comes back lists its sockets again in its hello).
   */
  keepOnly(links: ReadonlySet<number>): void {
    const stale = this.sql
      .exec<{ link: number }>(`SELECT DISTINCT link FROM relay_roster`)
      .toArray()
      .filter((r) => !links.has(r.link));
    for (const r of stale) this.sql.exec(`DELETE FROM relay_roster WHERE link = ?`, r.link);
    if (stale.length > 0) this.total = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM relay_roster`).one().n;
  }

  /** One past the highest relay index with sockets (0: none). */
  span(): number {
    return (this.sql.exec<{ m: number | null }>(`SELECT MAX(link) AS m FROM relay_roster`).one().m ?? -1) + 1;
  }

  countOf(userId: string): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM relay_roster WHERE user = ?`, userId).one().n;
  }

  /** Users on relays with their access and socket count (REST presence). */
  users(): { userId: string; access: "read" | "write"; sockets: number }[] {
    return this.sql
      .exec<{ user: string; access: string; n: number }>(`SELECT user, access, COUNT(*) AS n FROM relay_roster GROUP BY user, access ORDER BY user`)
      .toArray()
      .map((r) => ({ userId: r.user, access: r.access === "write" ? "write" : "read", sockets: r.n }));
  }

  /** Distinct users on relay `link` (for the rules sent on its hello). */
  usersOn(link: number): string[] {
    return this.sql
      .exec<{ user: string }>(`SELECT DISTINCT user FROM relay_roster WHERE link = ?`, link)
      .toArray()
      .map((r) => r.user);
  }
}
