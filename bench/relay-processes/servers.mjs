// The two setups this folder compares, each a target as bench/lib/relay-room.mjs's relayRoomRound takes it
// (wsUrl, storeDir, serverPids, port):
// - "one": the repo's wrangler.toml, one `wrangler dev`: every object on one workerd thread (the normal setup);
// - "two": main.wrangler.toml (the Worker "lattice": the document's objects, D1, routes) and
//   relays.wrangler.toml (the Worker "lattice-relays": the DocRelay objects) in two `wrangler dev` processes,
//   which reach each other's Durable Objects through a dev registry of their own (WRANGLER_REGISTRY_PATH).
// - "entry": as "two", but the second process takes its relays' clients itself (relays-entry.wrangler.toml):
//   clients 0 … split-1 connect to the first process's port, the others to the second's, whose Worker
//   routes them straight to its relays (the routing record in its copy of the catalog). Locally the
//   first process otherwise carries every relayed socket's frames (it is where they entered).
// State on tmpfs (/dev/shm), one persist folder per process. In "one" and "two", documents are the demo
// project's (DEV_MODE): POST /dev/docs/{id}/tokens creates one. In "entry" they are seeded into D1 before
// the start (start({docs})), the same rows in both processes' catalogs. The clients' tokens are signed here
// with TOKEN_SECRET, one user per client (`user-{i}`, as relayRoomRound's placement expects).
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { NODE, ROOT, wranglerEnv, wranglerSync } from "../../scripts/lib/wrangler-dev.mjs";
import { stateDir } from "../lib/paths.mjs";
import { cpuMs, groupPids, readyOrFail, spawnGroup } from "../lib/proc.mjs";

const HERE = import.meta.dirname;
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
export const TOKEN_SECRET = "relay-processes-token-secret-0123456789abcdef";
/** The project and key the "entry" setup seeds (its tokens name them; the demo project's are made by DEV_MODE). */
const SEEDED = { project: "prj_procs", key: "key_procs" };
export const DEV_VARS = { DEV_MODE: "true", ADMIN_TOKEN: "relay-processes-admin-token-0123456789abcdef", TOKEN_SECRET };

/** One `wrangler dev` of `config` on `port`, state in `persistTo`, its dev registry in `registry`. */
async function startDev({ config, port, persistTo, registry, vars, log }) {
  const args = [WRANGLER, "dev", "--config", config, "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistTo];
  args.push("--show-interactive-dev-session=false");
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const env = wranglerEnv({ WRANGLER_REGISTRY_PATH: registry });
  const server = spawnGroup(NODE, args, { cwd: ROOT, env }, log);
  await readyOrFail(server, `http://127.0.0.1:${port}/healthz`, 120_000, `wrangler dev --config ${config}`);
  return server;
}

/** Each workerd of a wrangler dev's process group: its dev proxy (the one on the public port) or its runtime. */
function workerds(group, server, port) {
  return groupPids(server.child.pid).map((pid) => {
    let proxy = false;
    try {
      proxy = readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`127.0.0.1:${port}`);
    } catch {}
    return { pid, label: `${group} ${proxy ? "dev proxy" : "runtime"}` };
  });
}

/** Runs SQL on the local D1 under `persistTo` (through a temporary file: one wrangler call). */
function d1(config, persistTo, sql) {
  const file = join(persistTo, "seed.sql");
  writeFileSync(file, sql);
  wranglerSync(["d1", "execute", "DB", "--local", "--config", config, "--file", file], { persistTo, stdio: ["ignore", "ignore", "inherit"] });
  rmSync(file);
}

const q = (s) => `'${String(s).replaceAll("'", "''")}'`;

/**
 * A setup: "one" (one process), "two" (relays in a second process on `port + 1`) or "entry" (as "two", the
 * relays' clients entering through the second process: `split` clients on the first, `relays` published
 * relays in the second's catalog). `vars` add to DEV_VARS (e.g. smaller relay limits). `log` shows the
 * servers' output.
 */
export function setup(kind, { port, vars = {}, log = false, split = 500, relays = 6 }) {
  const servers = [];
  const dirs = [];
  const incs = new Map();
  const url = `http://127.0.0.1:${port}`;
  const t = {
    id: { one: "one-process", two: "two-processes", entry: "two-processes-two-entries" }[kind],
    label: {
      one: "one wrangler dev (all objects in one workerd)",
      two: "two wrangler devs (relays in the second)",
      entry: "two wrangler devs (relays in the second, their clients entering there)",
    }[kind],
    port,
    url,
    devProxy: true,
    /** The first process's persist folder (its D1 and DocRoom objects), and the relays' when apart. */
    persist: undefined,
    relaysPersist: undefined,
    async start({ docs = [] } = {}) {
      const vs = { ...DEV_VARS, ...vars };
      const main = stateDir("tmpfs", `lattice-procs-${kind}-`);
      dirs.push(main);
      t.persist = main;
      const registry = join(main, "dev-registry");
      const config = kind === "one" ? join(ROOT, "wrangler.toml") : join(HERE, "main.wrangler.toml");
      wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--config", config], { persistTo: main, stdio: ["ignore", "ignore", "inherit"] });
      let relaysDir;
      if (kind === "entry") {
        const now = Date.now();
        d1(
          config,
          main,
          [
            `INSERT INTO projects (id, name, created_at) VALUES (${q(SEEDED.project)}, 'procs', ${now});`,
            `INSERT INTO api_keys (id, project_id, name, hash, created_at) VALUES (${q(SEEDED.key)}, ${q(SEEDED.project)}, 'procs', 'unused', ${now});`,
            ...docs.map((d) => `INSERT INTO documents (project_id, id, created_at, updated_at) VALUES (${q(SEEDED.project)}, ${q(d)}, ${now}, ${now});`),
          ].join("\n"),
        );
        for (const d of docs) incs.set(d, "");
        relaysDir = stateDir("tmpfs", "lattice-procs-relays-");
        cpSync(join(main, "v3"), join(relaysDir, "v3"), { recursive: true });
        d1(config, relaysDir, `UPDATE documents SET relays = ${relays};`);
      }
      servers.push({ group: kind === "one" ? "single" : "main", port, server: await startDev({ config, port, persistTo: main, registry, vars: vs, log }) });
      if (kind !== "one") {
        relaysDir ??= stateDir("tmpfs", "lattice-procs-relays-");
        dirs.push(relaysDir);
        t.relaysPersist = relaysDir;
        const config2 = join(HERE, kind === "two" ? "relays.wrangler.toml" : "relays-entry.wrangler.toml");
        servers.push({
          group: "relays",
          port: port + 1,
          server: await startDev({ config: config2, port: port + 1, persistTo: relaysDir, registry, vars: vs, log }),
        });
      }
    },
    async stop() {
      for (const s of servers.reverse()) await s.server.stop("SIGTERM").catch(() => {});
      servers.length = 0;
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
    /** The servers' output (the last part), for a failure's report. */
    output: () => servers.map((s) => `--- ${s.group} ---\n${s.server.output().slice(-6000)}`).join("\n"),
    get storeDir() {
      return t.persist && join(t.persist, "v3", "do");
    },
    /** Every workerd of the setup, labelled ("main runtime", "relays dev proxy", ...). */
    processes: () => servers.flatMap((s) => workerds(s.group, s.server, s.port)),
    serverPids: () => t.processes().map((p) => p.pid),
    /** CPU ms so far per label. */
    cpu: () => {
      const out = {};
      for (const p of t.processes()) out[p.label] = (out[p.label] ?? 0) + cpuMs([p.pid]);
      return out;
    },
    /** Creates `docId` in the demo project (its incarnation goes into the clients' tokens); "entry" seeded it at the start. */
    async prepare(docId) {
      if (kind === "entry") {
        if (!incs.has(docId)) throw new Error(`${docId} was not seeded: pass it to start({docs})`);
        return;
      }
      const res = await fetch(`${url}/dev/docs/${docId}/tokens`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"userId":"owner"}' });
      if (res.status !== 201) throw new Error(`dev token for ${docId}: ${res.status} ${await res.text()}`);
      const { inc } = JSON.parse(Buffer.from((await res.json()).token.split(".")[1], "base64url").toString());
      incs.set(docId, inc);
    },
    async wsUrl(docId, i = 0, access = "write") {
      const inc = incs.get(docId);
      const [prj, kid] = kind === "entry" ? [SEEDED.project, SEEDED.key] : ["demo", "demo-key"];
      const token = await new SignJWT({ prj, acc: access, kid, doc: docId, ...(inc ? { inc } : {}) })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(`user-${i}`)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
        .sign(new TextEncoder().encode(TOKEN_SECRET));
      const entry = kind === "entry" && i >= split ? port + 1 : port;
      return `ws://127.0.0.1:${entry}/v1/sync/${docId}?token=${token}`;
    },
  };
  return t;
}

/** CPU ms per label between two `cpu()` readings. */
export function cpuDelta(before, after) {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Math.round(v - (before[k] ?? 0))]));
}
