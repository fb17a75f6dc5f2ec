// Hocuspocus 4 peer for bench/: @hocuspocus/server with its defaults (store debounce 2 s, at most 10 s;
// no onAuthenticate hook, so any token is accepted) and @hocuspocus/extension-database's fetch/store
// hooks over Node 22's built-in SQLite. HOST, PORT and STORE_DIR come from the environment.
//
// One SQLite file per document (STORE_DIR/<name>.sqlite, table documents(name, data)), like the
// Durable Object peers' one file per object: W4's storedBytes then measures this document alone.
// SIGTERM: Server.listen's own handler runs destroy() (closes connections, stores what is pending) and exits.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Database } from "@hocuspocus/extension-database";
import { Server } from "@hocuspocus/server";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 1234);
const storeDir = process.env.STORE_DIR;
if (!storeDir) throw new Error("STORE_DIR is required");
mkdirSync(storeDir, { recursive: true });

const open = new Map(); // document name -> DatabaseSync, while Hocuspocus holds the document

const fileOf = (name) => join(storeDir, `${encodeURIComponent(name)}.sqlite`);

function db(name) {
  let d = open.get(name);
  if (!d) {
    d = new DatabaseSync(fileOf(name));
    d.exec("CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, data BLOB NOT NULL)");
    open.set(name, d);
  }
  return d;
}

const server = new Server({
  port,
  address: host,
  quiet: true,
  extensions: [
    new Database({
      // A document never stored has no file: answer null without creating one.
      fetch: async ({ documentName }) => {
        if (!open.has(documentName) && !existsSync(fileOf(documentName))) return null;
        const row = db(documentName).prepare("SELECT data FROM documents WHERE name = ?").get(documentName);
        return row ? row.data : null;
      },
      // `state` is Y.encodeStateAsUpdate of the whole document (the extension's own encoding).
      store: async ({ documentName, state }) => {
        db(documentName).prepare("INSERT OR REPLACE INTO documents (name, data) VALUES (?, ?)").run(documentName, state);
      },
    }),
    {
      // Hocuspocus stores before it unloads a document; close its file with it.
      async afterUnloadDocument({ documentName }) {
        open.get(documentName)?.close();
        open.delete(documentName);
      },
    },
  ],
});

await server.listen();
