// The two setups this folder compares, each a target as bench/lib/relay-room.mjs's relayRoomRound takes it
// (wsUrl, storeDir, serverPids, port):
// - "one": the repo's wrangler.toml, one `wrangler dev`: every object on one workerd thread (the normal setup);
// - "two": main.wrangler.toml (the Worker "lattice": the document's objects, D1, routes) and
//   relays.wrangler.toml (the Worker "lattice-relays": the DocRelay objects) in two `wrangler dev` processes,
//   which reach each other's Durable Objects through a dev registry of their own (WRANGLER_REGISTRY_PATH).
// Clients always connect to the first process's port. State on tmpfs (/dev/shm), one persist folder per process.
// Documents are the demo project's (DEV_MODE): POST /dev/docs/{id}/tokens creates one, and the clients' tokens
// are signed here with TOKEN_SECRET, one user per client (`user-{i}`, as relayRoomRound's placement expects).
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { NODE, ROOT, wranglerEnv, wranglerSync } from "../../scripts/lib/wrangler-dev.mjs";
import { stateDir } from "../lib/paths.mjs";
import { cpuMs, groupPids, readyOrFail, spawnGroup } from "../lib/proc.mjs";

const HERE = import.meta.dirname;
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
export const TOKEN_SECRET = "relay-processes-token-secret-0123456789abcdef";
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

/**
 * A setup: "one" (one process) or "two" (relays in a second process on `port + 1`). `vars` add to DEV_VARS
 * (e.g. smaller relay limits). `log` shows the servers' output.
 */
export function setup(kind, { port, vars = {}, log = false }) {
  const servers = [];
  const dirs = [];
  const incs = new Map();
  const url = `http://127.0.0.1:${port}`;
  const t = {
    id: kind === "one" ? "one-process" : "two-processes",
    label: kind === "one" ? "one wrangler dev (all objects in one workerd)" : "two wrangler devs (relays in the second)",
    port,
    url,
    devProxy: true,
    /** The first process's persist folder (its D1 and DocRoom objects), and the relays' when apart. */
    persist: undefined,
    relaysPersist: undefined,
    async start() {
      const vs = { ...DEV_VARS, ...vars };
      const main = stateDir("tmpfs", `lattice-procs-${kind}-`);
      dirs.push(main);
      t.persist = main;
      const registry = join(main, "dev-registry");
      const config = kind === "one" ? join(ROOT, "wrangler.toml") : join(HERE, "main.wrangler.toml");
      wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--config", config], { persistTo: main, stdio: ["ignore", "ignore", "inherit"] });
      servers.push({ group: kind === "one" ? "single" : "main", port, server: await startDev({ config, port, persistTo: main, registry, vars: vs, log }) });
      if (kind === "two") {
        const relays = stateDir("tmpfs", "lattice-procs-relays-");
        dirs.push(relays);
        t.relaysPersist = relays;
        const config2 = join(HERE, "relays.wrangler.toml");
        servers.push({ group: "relays", port: port + 1, server: await startDev({ config: config2, port: port + 1, persistTo: relays, registry, vars: vs, log }) });
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
    /** Creates `docId` in the demo project (its incarnation goes into the clients' tokens). */
    async prepare(docId) {
      const res = await fetch(`${url}/dev/docs/${docId}/tokens`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"userId":"owner"}' });
      if (res.status !== 201) throw new Error(`dev token for ${docId}: ${res.status} ${await res.text()}`);
      const { inc } = JSON.parse(Buffer.from((await res.json()).token.split(".")[1], "base64url").toString());
      incs.set(docId, inc);
    },
    async wsUrl(docId, i = 0, access = "write") {
      const inc = incs.get(docId);
      const token = await new SignJWT({ prj: "demo", acc: access, kid: "demo-key", doc: docId, ...(inc ? { inc } : {}) })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(`user-${i}`)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
        .sign(new TextEncoder().encode(TOKEN_SECRET));
      return `ws://127.0.0.1:${port}/v1/sync/${docId}?token=${token}`;
    },
  };
  return t;
}

/** CPU ms per label between two `cpu()` readings. */
export function cpuDelta(before, after) {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Math.round(v - (before[k] ?? 0))]));
}
