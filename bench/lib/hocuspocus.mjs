// Hocuspocus 4 (@hocuspocus/server with @hocuspocus/extension-database over node:sqlite) on Node 22:
// bench/peers/hocuspocus/server.mjs. Its wire framing differs from y-websocket's (document name first,
// Auth before sync), so the target hands the generator's clients the `hocuspocus` option of YwsClient.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NODE } from "../../scripts/lib/wrangler-dev.mjs";
import { PEERS, stateDir } from "./paths.mjs";
import { groupPids, readyOrFail, spawnGroup } from "./proc.mjs";

// The exact version bench/peers/package.json pins (readable before the peers are installed).
const VERSION = JSON.parse(readFileSync(join(PEERS, "package.json"), "utf8")).dependencies["@hocuspocus/server"];

export function hocuspocusTarget({ port, medium }) {
  let storeDir;
  let server;
  const t = {
    id: `hocuspocus/node/${medium}`,
    peer: "hocuspocus",
    label: `Hocuspocus ${VERSION}, Node, ${medium}`,
    port,
    runtime: "Node 22",
    medium,
    durable: false, // onStoreDocument is debounced (2 s, at most 10 s); updates are broadcast first
    persistent: true,
    // A text frame makes Hocuspocus close the socket (4401); its own provider never sends one.
    textPings: false,
    async start({ fresh = true } = {}) {
      if (fresh || !storeDir) storeDir = stateDir(medium, "hocuspocus-bench-");
      // node:sqlite still warns that it is experimental on Node 22: keep the server's output quiet.
      server = spawnGroup(NODE, ["--disable-warning=ExperimentalWarning", join(PEERS, "hocuspocus", "server.mjs")], {
        cwd: PEERS,
        env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), STORE_DIR: storeDir },
      });
      // Hocuspocus's HTTP handler answers any plain request with 200 ("Welcome to Hocuspocus!").
      await readyOrFail(server, `http://127.0.0.1:${port}/`, 30_000, "Hocuspocus");
      t.pgid = server.child.pid;
    },
    // SIGTERM runs Hocuspocus's destroy(): it closes the connections and stores pending documents first.
    async stop({ keep = false } = {}) {
      if (server) await server.stop("SIGTERM");
      server = undefined;
      if (!keep && storeDir) {
        rmSync(storeDir, { recursive: true, force: true });
        storeDir = undefined;
      }
    },
    // The path is not read by Hocuspocus (documents are named in each message); it only labels the socket.
    async wsUrl(docId) {
      return `ws://127.0.0.1:${port}/${encodeURIComponent(docId)}`;
    },
    // Extra YwsClient options for a client of `docId`: Hocuspocus framing; any token passes (no auth hook).
    clientOptions: (docId) => ({ hocuspocus: { documentName: docId, token: "bench" } }),
    serverPids: () => groupPids(t.pgid, /node/),
    get storeDir() {
      return storeDir;
    },
  };
  return t;
}
