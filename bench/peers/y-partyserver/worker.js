// y-partyserver 2.2 peer for bench/: one YServer per document, persisted in the object's own SQLite
// through the onLoad/onSave hooks its README documents (onSave is debounced by y-partyserver itself).
import { routePartykitRequest } from "partyserver";
import { YServer } from "y-partyserver";
import * as Y from "yjs";

export class BenchDoc extends YServer {
  static options = { hibernate: true };

  async onLoad() {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS ydoc (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    const rows = this.ctx.storage.sql.exec("SELECT data FROM ydoc WHERE id = 0").toArray();
    if (rows.length > 0) Y.applyUpdate(this.document, new Uint8Array(rows[0].data));
    // Lets the bench find this document's SQLite file (W4 stored bytes); not part of the peer's own design.
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS bench_name (name TEXT PRIMARY KEY)");
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO bench_name (name) VALUES (?)", this.name);
  }

  async onSave() {
    const state = Y.encodeStateAsUpdate(this.document);
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO ydoc (id, data) VALUES (0, ?)", state);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok");
    return (await routePartykitRequest(request, env)) ?? new Response("not found", { status: 404 });
  },
};
