// A Worker of this repository (or a bench peer) on workerd, two ways: `wrangler dev`, what users run
// locally (a dev proxy workerd in front of the runtime), or Miniflare's API directly (one workerd, no
// proxy: closer to the deployed runtime). Both share the persist layout (<dir>/v3), so one seeded
// folder serves either.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { NODE, startWranglerDev, wranglerEnv } from "../../scripts/lib/wrangler-dev.mjs";
import { BENCH_CACHE } from "./paths.mjs";
import { readyOrFail, spawnGroup } from "./proc.mjs";

const WRANGLER = join(import.meta.dirname, "..", "..", "node_modules", "wrangler", "bin", "wrangler.js");
const CHILD = join(import.meta.dirname, "miniflare-child.mjs");

export const RUNTIMES = { wrangler: "wrangler dev", miniflare: "Miniflare API" };

const frozen = new Map();

/**
 * The Worker of `cwd` frozen for this run: bundled as `wrangler deploy` would (--dry-run, offline) into
 * bench/.cache/bundle-<name>, beside a copy of its wrangler.toml that points at the bundle (no_bundle, no
 * static assets). Both runtimes run these same bytes, and wrangler dev has nothing to watch: edits made
 * to the checkout during a run (a shared checkout) neither reload a server nor change what is measured.
 */
function freeze(cwd, name) {
  if (frozen.has(cwd)) return frozen.get(cwd);
  const dir = join(BENCH_CACHE, `bundle-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(NODE, [WRANGLER, "deploy", "--dry-run", "--outdir", dir], { cwd, env: wranglerEnv(), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bundling ${cwd} failed:\n${(r.stderr || r.stdout).slice(-2000)}`);
  // Named after the Worker's main module (index.js, worker.js, ...).
  const bundle = join(
    dir,
    readdirSync(dir).find((f) => f.endsWith(".js")),
  );
  const config = readFileSync(join(cwd, "wrangler.toml"), "utf8")
    .replace(/^main\s*=.*$/m, `main = "${basename(bundle)}"\nno_bundle = true`)
    .replace(/^\[assets\]\n(?:[^[\n].*\n|\n)*/m, "");
  writeFileSync(join(dir, "wrangler.toml"), config);
  const worker = { dir, bundle, config: join(dir, "wrangler.toml") };
  frozen.set(cwd, worker);
  return worker;
}

/**
 * Starts the Worker of `cwd` on `port` with `runtime` ("wrangler" or "miniflare"), state under `persistTo`
 * (Miniflare: the V8 inspector on `inspectorPort` when given).
 * Resolves to { child, stop(signal) } once /healthz answers; the server's processes share child.pid as group.
 */
export async function startWorkerd({ runtime, cwd, name, port, persistTo, vars = {}, log = false, inspectorPort }) {
  const worker = freeze(cwd, name);
  if (runtime === "wrangler") return startWranglerDev({ port, persistTo, vars, migrate: false, log, cwd: worker.dir, timeoutMs: 120_000 });
  const spec = { config: worker.config, bundle: worker.bundle, port, persistRoot: join(persistTo, "v3"), vars, inspectorPort };
  const server = spawnGroup(NODE, [CHILD, JSON.stringify(spec)], { cwd: worker.dir, env: wranglerEnv() }, log);
  await readyOrFail(server, `http://127.0.0.1:${port}/healthz`, 120_000, `${name} on Miniflare`);
  return server;
}
