// Starts and stops a real `wrangler dev` for end-to-end tests, benchmarks and `npm run dev`.
// Runs wrangler with the Node from node_modules/.bin (node@22): wrangler refuses Node 20.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, "node_modules", ".bin");
export const NODE = existsSync(join(BIN, "node")) ? join(BIN, "node") : process.execPath;
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** Environment that keeps wrangler offline-friendly and quiet (no telemetry, no Request.cf look-up, no event recording). */
export function wranglerEnv(extra = {}) {
  return {
    ...process.env,
    PATH: `${BIN}:${process.env.PATH ?? ""}`,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    X_LOCAL_OBSERVABILITY: "false",
    CI: process.env.CI ?? "",
    ...extra,
  };
}

/** Runs a wrangler command to completion (e.g. migrations), throwing on failure. */
export function wranglerSync(args, { persistTo, stdio = "inherit" } = {}) {
  const full = persistTo ? [...args, "--persist-to", persistTo] : args;
  const r = spawnSync(NODE, [WRANGLER, ...full], { cwd: ROOT, env: wranglerEnv(), stdio });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed with ${r.status}`);
  return r;
}

/** Applies migrations/ to the local D1 under `persistTo` (default .wrangler/state). */
export function applyLocalMigrations(persistTo) {
  wranglerSync(["d1", "migrations", "apply", "DB", "--local"], { persistTo, stdio: ["ignore", "ignore", "inherit"] });
}

/**
 * Starts `wrangler dev` on `port` for the Worker in `cwd` (Lattice by default; the bench's peers too),
 * resolves once /healthz answers.
 * Returns { url, child, stop(signal) }; stop() resolves when the process has exited.
 */
export async function startWranglerDev({ port = 8787, persistTo, vars = {}, log = false, timeoutMs = 60_000, migrate = true, cwd = ROOT } = {}) {
  if (migrate) applyLocalMigrations(persistTo);
  const args = [WRANGLER, "dev", "--port", String(port), "--ip", "127.0.0.1", "--show-interactive-dev-session=false"];
  if (persistTo) args.push("--persist-to", persistTo);
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const child = spawn(NODE, args, { cwd, env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const collect = (d) => {
    output += d;
    if (output.length > 100_000) output = output.slice(-50_000);
    if (log) process.stderr.write(d);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + timeoutMs;
  let ready = false;
  while (Date.now() < until) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) {
        ready = true;
        break;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async (signal = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, signal); // the whole group: wrangler and its workerd children
      } catch {
        child.kill(signal);
      }
    }
    await exited;
  };
  if (!ready) {
    await stop("SIGKILL");
    throw new Error(`wrangler dev did not become ready on ${url}:\n${output.slice(-4000)}`);
  }
  return { url, child, stop, output: () => output };
}

/** A TCP port that was free a moment ago, for a server a test starts. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
