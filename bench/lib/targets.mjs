// The servers under test. Each target: id, peer, label, runtime, medium, port; start({docs, fresh}),
// stop({keep}), wsUrl(docId, i, access), serverPids(), storeDir (persisted files, if any). Many run at
// once (the rounds interleave them), each on its own port.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { NODE, ROOT, wranglerSync } from "../../scripts/lib/wrangler-dev.mjs";
import { BENCH_CACHE, PEERS, stateDir } from "./paths.mjs";
import { groupPids, readyOrFail, spawnGroup } from "./proc.mjs";
import { RUNTIMES, startWorkerd } from "./workerd.mjs";

const TOKEN_SECRET = "bench-token-secret-0123456789abcdef0123456789";
const PROJECT = "prj_bench";
const KEY_ID = "key_bench";

function sqlString(s) {
  return `'${String(s).replaceAll("'", "''")}'`;
}

/**
 * A persist folder with the schema (migrations/*.sql) and the bench's project, key and documents in the
 * local D1: made once with one `wrangler d1 execute` (each wrangler call costs seconds), then copied.
 */
function seededTemplate(docs) {
  const migrations = readdirSync(join(ROOT, "migrations"))
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => readFileSync(join(ROOT, "migrations", f), "utf8").replaceAll("--> statement-breakpoint", ""));
  // Cached across runs under bench/.cache, keyed by the schema and the document list.
  const key = createHash("sha256").update(migrations.join("\n")).update(docs.join(",")).digest("hex").slice(0, 16);
  const dir = join(BENCH_CACHE, `d1-${key}`);
  if (existsSync(join(dir, "ready"))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const sql = [
    ...migrations,
    `INSERT INTO projects (id, name, created_at) VALUES (${sqlString(PROJECT)}, 'bench', ${now});`,
    `INSERT INTO api_keys (id, project_id, name, hash, created_at) VALUES (${sqlString(KEY_ID)}, ${sqlString(PROJECT)}, 'bench', ${sqlString(randomBytes(32).toString("hex"))}, ${now});`,
    ...docs.map((d) => `INSERT INTO documents (project_id, id, created_at, updated_at) VALUES (${sqlString(PROJECT)}, ${sqlString(d)}, ${now}, ${now});`),
  ].join("\n");
  const file = join(tmpdir(), `lattice-bench-seed-${process.pid}.sql`);
  writeFileSync(file, sql);
  wranglerSync(["d1", "execute", "DB", "--local", "--file", file], { persistTo: dir, stdio: ["ignore", "ignore", "inherit"] });
  rmSync(file, { force: true });
  writeFileSync(join(dir, "ready"), "");
  return dir;
}

/** What every Worker target shares: a persist folder on `medium`, started on `runtime`. */
function workerdTarget({ peer, label, port, runtime, medium, cwd, vars, seed, durable, relay = false, stateMedium = medium, inspectorPort }) {
  let persistDir;
  let server;
  const t = {
    id: `${peer}/${runtime}/${medium}`,
    peer,
    label: `${label}, ${RUNTIMES[runtime]}, ${medium}`,
    port,
    runtime: `workerd (${RUNTIMES[runtime]})`,
    devProxy: runtime === "wrangler",
    medium,
    durable,
    persistent: !relay,
    relay,
    inspectorPort,
    async start({ docs, fresh = true } = {}) {
      if (fresh) {
        persistDir = stateDir(stateMedium, `${peer}-bench-`);
        if (seed) cpSync(seed(docs), persistDir, { recursive: true });
      }
      // BENCH_LOG=1 shows the servers' own output (and the Workers' console) while the bench runs.
      server = await startWorkerd({ runtime, cwd, name: peer, port, persistTo: persistDir, vars, log: !!process.env.BENCH_LOG, inspectorPort });
      t.pgid = server.child.pid;
    },
    async stop({ keep = false } = {}) {
      if (server) await server.stop("SIGTERM");
      server = undefined;
      if (!keep && persistDir) rmSync(persistDir, { recursive: true, force: true });
    },
    serverPids: () => groupPids(t.pgid),
    get storeDir() {
      return persistDir && join(persistDir, "v3", "do");
    },
  };
  return t;
}

/**
 * Lattice from this checkout, or (`cwd`, with `peer`/`label`) from another checkout of it, e.g. a
 * baseline commit for an A/B run: `LATTICE_BASE=/path/to/checkout npm run bench -- --targets=lattice,lattice-base`.
 * Every limit at its default: W2's writer replays a whole trace from one socket as fast as it goes, which
 * the default budgets let through. `vars` adds to them (a baseline that needed a limit lifted can have it).
 */
export function latticeTarget({ port, runtime, medium, peer = "lattice", label = "Lattice", cwd = ROOT, vars = {}, inspectorPort }) {
  const t = workerdTarget({
    peer,
    label,
    port,
    runtime,
    medium,
    cwd,
    // DEBUG_WAKEUPS: each object counts its constructions (one meta write each), read by W6 (wakeups.mjs).
    vars: { TOKEN_SECRET, ADMIN_TOKEN: "bench-admin-token-0123456789abcdef-0123", DEBUG_WAKEUPS: "true", ...vars },
    seed: seededTemplate,
    durable: true,
    inspectorPort,
  });
  t.wsUrl = async (docId, i = 0, access = "write") => {
    const token = await new SignJWT({ prj: PROJECT, doc: docId, acc: access, kid: KEY_ID })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(`user-${i}`)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
      .sign(new TextEncoder().encode(TOKEN_SECRET));
    return `ws://127.0.0.1:${port}/v1/sync/${encodeURIComponent(docId)}?token=${token}`;
  };
  return t;
}

/** y-partyserver 2.2 (bench/peers/y-partyserver): onSave is debounced (2 s, at most 10 s). */
export function partyserverTarget({ port, runtime, medium, inspectorPort }) {
  const t = workerdTarget({
    peer: "y-partyserver",
    label: "y-partyserver 2.2",
    port,
    runtime,
    medium,
    cwd: join(PEERS, "y-partyserver"),
    durable: false,
    inspectorPort,
  });
  t.wsUrl = async (docId) => `ws://127.0.0.1:${port}/parties/bench-doc/${encodeURIComponent(docId)}`;
  return t;
}

/**
 * The runtime floor (bench/peers/workerd-floor): a Durable Object that relays each update to the other
 * sockets untouched and stores nothing. What any server on this runtime pays before its own code runs.
 */
export function floorTarget({ port, runtime, inspectorPort }) {
  const t = workerdTarget({
    peer: "floor",
    label: "runtime floor (relay DO)",
    port,
    runtime,
    medium: "none",
    cwd: join(PEERS, "workerd-floor"),
    durable: false,
    relay: true,
    stateMedium: "tmpfs", // it stores nothing, but the runtime wants a folder for its objects
    inspectorPort,
  });
  t.wsUrl = async (docId) => `ws://127.0.0.1:${port}/relay/${encodeURIComponent(docId)}`;
  return t;
}

/** @y/websocket-server 0.1.1 (the reference server, Yjs 13) on Node: documents in memory only. */
export function yWebsocketServerTarget({ port }) {
  let server;
  const t = {
    id: "y-websocket-server/node/memory",
    peer: "y-websocket-server",
    label: "@y/websocket-server 0.1.1, Node, memory",
    port,
    runtime: "Node 22",
    medium: "memory",
    durable: false,
    persistent: false,
    async start() {
      const script = join(PEERS, "node_modules", "@y", "websocket-server", "src", "server.js");
      server = spawnGroup(NODE, [script], { cwd: PEERS, env: { ...process.env, HOST: "127.0.0.1", PORT: String(port) } });
      await readyOrFail(server, `http://127.0.0.1:${port}/`, 30_000, "@y/websocket-server");
      t.pgid = server.child.pid;
    },
    async stop() {
      if (server) await server.stop("SIGTERM");
      server = undefined;
    },
    wsUrl: async (docId) => `ws://127.0.0.1:${port}/${encodeURIComponent(docId)}`,
    serverPids: () => groupPids(t.pgid, /node/),
    storeDir: undefined,
  };
  return t;
}

/** Installs bench/peers/ (its own package.json) when its node_modules are missing. */
export function ensurePeersInstalled(log) {
  const need = ["y-partyserver", "partyserver", "@y/websocket-server", "yjs", "@hocuspocus/server", "@hocuspocus/extension-database"].filter(
    (p) => !existsSync(join(PEERS, "node_modules", p, "package.json")),
  );
  if (need.length === 0) return;
  log(`installing peers in bench/peers (missing: ${need.join(", ")}) ...`);
  const npm = process.env.npm_execpath;
  const r = npm
    ? spawnSync(process.execPath, [npm, "install", "--no-audit", "--no-fund", "--prefix", PEERS], { cwd: PEERS, stdio: "inherit" })
    : spawnSync("npm", ["install", "--no-audit", "--no-fund", "--prefix", PEERS], { cwd: PEERS, stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm install in bench/peers failed");
}
