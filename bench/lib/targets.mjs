// The servers under test. Each target: start({docs, fresh}), stop({keep}), wsUrl(docId, i), serverPids(),
// storeDir (persisted Durable Object files, if any). Only one runs at a time.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";
import { NODE, ROOT, startWranglerDev, wranglerSync } from "../../scripts/lib/wrangler-dev.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
export const BENCH = join(HERE, "..");
export const PEERS = join(BENCH, "peers");

const TOKEN_SECRET = "bench-token-secret-0123456789abcdef0123456789";
const PROJECT = "prj_bench";
const KEY_ID = "key_bench";

// ---- process inspection (Linux /proc and ps) ----

/** Processes of a process group whose command name matches. */
export function groupPids(pgid, nameRe = /workerd/) {
  const r = spawnSync("ps", ["-eo", "pid=,pgid=,comm="], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && Number(f[1]) === pgid && nameRe.test(f[2]))
    .map((f) => Number(f[0]));
}

/** RSS in bytes of each pid (missing pids count 0). */
export function rssBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
    } catch {}
  }
  return total;
}

/** What each workerd process of wrangler dev is: the dev proxy (listens on the public port) or the runtime. */
export function processRole(pid, port) {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (!/workerd/.test(args[0] ?? "")) return "server";
    return args.some((a) => a.includes(`127.0.0.1:${port}`)) ? "dev proxy" : "runtime";
  } catch {
    return "gone";
  }
}

const TICK_MS = 1000 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

/** User + system CPU time in ms consumed so far by the pids ({user, system} with `split`). */
export function cpuMs(pids, split = false) {
  let total = 0;
  let user = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime (fields 14, 15)
      user += Number(f[11]) * TICK_MS;
    } catch {}
  }
  return split ? { total, user, system: total - user } : total;
}

async function waitHttp(url, timeoutMs, child) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) break;
    try {
      const res = await fetch(url);
      if (res.ok) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

export function spawnGroup(cmd, args, opts) {
  const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const collect = (d) => {
    output += d;
    if (output.length > 60_000) output = output.slice(-30_000);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const stop = async (signal = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }, 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  return { child, stop, output: () => output };
}

/** Waits until `url` answers; if it never does, kills the server and throws with its last output. */
export async function readyOrFail(server, url, timeoutMs, what) {
  if (await waitHttp(url, timeoutMs, server.child)) return;
  const out = server.output();
  await server.stop("SIGKILL");
  throw new Error(`${what} did not start:\n${out.slice(-3000)}`);
}

// ---- Lattice ----

function sqlString(s) {
  return `'${String(s).replaceAll("'", "''")}'`;
}

/**
 * A persist folder with the schema (migrations/*.sql) and the bench's project, key and documents in the
 * local D1: made once per run with one `wrangler d1 execute` (each wrangler call costs seconds), then copied.
 */
function seededTemplate(docs) {
  const migrations = readdirSync(join(ROOT, "migrations"))
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => readFileSync(join(ROOT, "migrations", f), "utf8").replaceAll("--> statement-breakpoint", ""));
  // Cached across runs under bench/.cache, keyed by the schema and the document list.
  const key = createHash("sha256").update(migrations.join("\n")).update(docs.join(",")).digest("hex").slice(0, 16);
  const dir = join(BENCH, ".cache", `d1-${key}`);
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

/**
 * Lattice from this checkout, or (`cwd`, with `name`/`label`) from another checkout of it, e.g. a
 * baseline commit for an A/B run: `LATTICE_BASE=/path/to/checkout npm run bench -- --targets=lattice,lattice-base`.
 * `vars` adds to the defaults (a baseline that needed a limit lifted for W2 can have it).
 */
export function latticeTarget({ port, name = "lattice", label = "Lattice", cwd = ROOT, vars: extraVars = {} }) {
  let persistDir;
  let server;
  const t = {
    name,
    label,
    port,
    runtime: "workerd (wrangler dev)",
    durable: true,
    persistent: true,
    async start({ docs, fresh = true }) {
      if (fresh) {
        persistDir = mkdtempSync(join(tmpdir(), "lattice-bench-"));
        cpSync(seededTemplate(docs), persistDir, { recursive: true });
      }
      // Every limit at its default: W2's writer replays a whole trace from one socket as fast as it goes,
      // which the default budgets let through (rate limits are for abuse, not for fast honest clients).
      const vars = { TOKEN_SECRET, ADMIN_TOKEN: "bench-admin-token-0123456789abcdef-0123", ...extraVars };
      // BENCH_LOG=1 shows wrangler dev's own output (and the Worker's console) while the bench runs.
      server = await startWranglerDev({ port, persistTo: persistDir, vars, migrate: false, log: !!process.env.BENCH_LOG, cwd });
      t.pgid = server.child.pid;
    },
    async stop({ keep = false } = {}) {
      if (server) await server.stop("SIGTERM");
      server = undefined;
      if (!keep && persistDir) rmSync(persistDir, { recursive: true, force: true });
    },
    async wsUrl(docId, i = 0, access = "write") {
      const token = await new SignJWT({ prj: PROJECT, doc: docId, acc: access, kid: KEY_ID })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(`user-${i}`)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
        .sign(new TextEncoder().encode(TOKEN_SECRET));
      return `ws://127.0.0.1:${port}/v1/sync/${encodeURIComponent(docId)}?token=${token}`;
    },
    serverPids: () => groupPids(t.pgid),
    get storeDir() {
      return persistDir && join(persistDir, "v3", "do");
    },
  };
  return t;
}

// ---- y-partyserver 2.2 on wrangler dev ----

export function partyserverTarget({ port }) {
  let persistDir;
  let server;
  const dir = join(PEERS, "y-partyserver");
  const t = {
    name: "y-partyserver",
    label: "y-partyserver 2.2",
    port,
    runtime: "workerd (wrangler dev)",
    durable: false, // onSave is debounced (2 s, at most 10 s)
    persistent: true,
    async start({ fresh = true } = {}) {
      if (fresh) persistDir = mkdtempSync(join(tmpdir(), "ypartyserver-bench-"));
      server = await startWranglerDev({ port, persistTo: persistDir, migrate: false, cwd: dir, timeoutMs: 90_000 });
      t.pgid = server.child.pid;
    },
    async stop({ keep = false } = {}) {
      if (server) await server.stop("SIGTERM");
      server = undefined;
      if (!keep && persistDir) rmSync(persistDir, { recursive: true, force: true });
    },
    async wsUrl(docId) {
      return `ws://127.0.0.1:${port}/parties/bench-doc/${encodeURIComponent(docId)}`;
    },
    serverPids: () => groupPids(t.pgid),
    get storeDir() {
      return persistDir && join(persistDir, "v3", "do");
    },
  };
  return t;
}

// ---- @y/websocket-server 0.1.1 (reference server, Yjs 13) on Node ----

export function yWebsocketServerTarget({ port }) {
  let server;
  const t = {
    name: "y-websocket-server",
    label: "@y/websocket-server 0.1.1",
    port,
    runtime: "Node 22",
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
    async wsUrl(docId) {
      return `ws://127.0.0.1:${port}/${encodeURIComponent(docId)}`;
    },
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
