// A Worker of this repository (or a bench peer) on workerd, two ways: `wrangler dev`, what users run
// locally (a dev proxy workerd in front of the runtime), or Miniflare's API directly (one workerd, no
// proxy: closer to the deployed runtime). Both share the persist layout (<dir>/v3), so one seeded
// folder serves either.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NODE, startWranglerDev, wranglerEnv } from "../../scripts/lib/wrangler-dev.mjs";
import { BENCH_CACHE } from "./paths.mjs";
import { readyOrFail, spawnGroup } from "./proc.mjs";

const WRANGLER = join(import.meta.dirname, "..", "..", "node_modules", "wrangler", "bin", "wrangler.js");
const CHILD = join(import.meta.dirname, "miniflare-child.mjs");

export const RUNTIMES = { wrangler: "wrangler dev", miniflare: "Miniflare API" };

const bundles = new Map();

/** Bundles the Worker in `cwd` as `wrangler deploy` would (--dry-run, offline), once per run. */
function bundle(cwd, name) {
  if (bundles.has(cwd)) return bundles.get(cwd);
  const outdir = join(BENCH_CACHE, `bundle-${name}`);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const r = spawnSync(NODE, [WRANGLER, "deploy", "--dry-run", "--outdir", outdir], { cwd, env: wranglerEnv(), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bundling ${cwd} failed:\n${(r.stderr || r.stdout).slice(-2000)}`);
  // Named after the Worker's main module (index.js, worker.js, ...).
  const file = join(
    outdir,
    readdirSync(outdir).find((f) => f.endsWith(".js")),
  );
  bundles.set(cwd, file);
  return file;
}

/**
 * Starts the Worker of `cwd` on `port` with `runtime` ("wrangler" or "miniflare"), state under `persistTo`.
 * Resolves to { child, stop(signal) } once /healthz answers; the server's processes share child.pid as group.
 */
export async function startWorkerd({ runtime, cwd, name, port, persistTo, vars = {}, log = false }) {
  if (runtime === "wrangler") return startWranglerDev({ port, persistTo, vars, migrate: false, log, cwd, timeoutMs: 120_000 });
  const spec = { config: join(cwd, "wrangler.toml"), bundle: bundle(cwd, name), port, persistRoot: join(persistTo, "v3"), vars };
  const server = spawnGroup(NODE, [CHILD, JSON.stringify(spec)], { cwd, env: wranglerEnv() }, log);
  await readyOrFail(server, `http://127.0.0.1:${port}/healthz`, 120_000, `${name} on Miniflare`);
  return server;
}
