// Where a document's sockets are, read server-side from the local Durable Object storage of a running
// workerd (wrangler dev or Miniflare, persisting under `persistDir`): the document's object (DocRoom)
// keeps one row per relay socket in its `relay_roster` table (src/relay/roster.ts), keyed by relay index,
// with the socket's user. A socket not in it is on the document's object itself. Nothing in src/ exposes
// this over HTTP, and a client cannot tell which object it is on: the bench and the e2e read the file.
//
// Needs Node 22 (node:sqlite): the bench and wrangler run on node_modules/.bin/node.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

let sqlite;
async function openReadOnly(file) {
  if (!sqlite) {
    // node:sqlite warns once that it is experimental; that warning says nothing about the measurement.
    const emit = process.emitWarning;
    process.emitWarning = (w, ...rest) => (String(w).includes("SQLite") ? undefined : emit.call(process, w, ...rest));
    sqlite = await import("node:sqlite");
    process.emitWarning = emit;
  }
  return new sqlite.DatabaseSync(file, { readOnly: true });
}

/** The SQLite files of one Durable Object class under a persist folder (v3/do/<worker>-<Class>/*.sqlite). */
function objectFiles(persistDir, className) {
  const root = join(persistDir, "v3", "do");
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => d.endsWith(`-${className}`))
    .flatMap((d) =>
      readdirSync(join(root, d))
        .filter((f) => f.endsWith(".sqlite"))
        .map((f) => join(root, d, f)),
    );
}

/**
 * Where `docId`'s sockets are: `byLink` (relay index -> socket count), `userLink` (user id -> relay index,
 * for sockets on relays), `relayed` (their total). Undefined when no document object names `docId`.
 */
export async function relayRoster(persistDir, docId) {
  for (const file of objectFiles(persistDir, "DocRoom")) {
    let db;
    try {
      db = await openReadOnly(file);
      const ref = db.prepare(`SELECT value FROM meta WHERE key = 'ref'`).get()?.value;
      if (!ref || JSON.parse(ref).docId !== docId) continue;
      const hasRoster = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'relay_roster'`).get();
      const rows = hasRoster ? db.prepare(`SELECT link, user FROM relay_roster`).all() : [];
      const byLink = new Map();
      const userLink = new Map();
      for (const r of rows) {
        byLink.set(Number(r.link), (byLink.get(Number(r.link)) ?? 0) + 1);
        userLink.set(String(r.user), Number(r.link));
      }
      return { byLink: new Map([...byLink].sort((a, b) => a[0] - b[0])), userLink, relayed: rows.length };
    } catch {
      // a file being written or not a document's object: the next one
    } finally {
      db?.close();
    }
  }
  return undefined;
}
