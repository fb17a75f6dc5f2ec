// `npm run deploy [-- --dry-run]`: everything a first or a later deployment needs, in order.
//
// A preflight comes first and names everything missing at once: the placeholder database_id in wrangler.toml
// (checked locally), then the secrets of .dev.vars.example (TOKEN_SECRET, ADMIN_TOKEN) and the webhook queues,
// which only the Cloudflare API can tell (read-only calls). Missing secrets stop the run before anything is
// changed; missing queues are created. Then: build the demo page, migrate the remote D1, `wrangler deploy`.
//
// `--dry-run` makes no remote call of any kind: it checks wrangler.toml, builds, bundles the Worker with
// `wrangler deploy --dry-run` and lists the D1 migrations a deploy would apply.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE, ROOT, wranglerEnv } from "./lib/wrangler-dev.mjs";

const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const USAGE = `usage: npm run deploy [-- --dry-run]
  --dry-run   build, bundle the Worker (wrangler deploy --dry-run) and list the D1 migrations; no remote call
  --help      this text`;

/** The options; anything else is refused, so a mistyped --dry-run never deploys. */
function parseArgs(argv) {
  const opts = { dryRun: false };
  for (const arg of argv) {
    if (arg === "--dry-run") opts.dryRun = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`deploy: unknown option ${JSON.stringify(arg)}: nothing was done\n${USAGE}`);
      process.exit(2);
    }
  }
  return opts;
}

/** What wrangler.toml and .dev.vars.example say a deployment needs. */
function readConfig() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const databaseId = /^\s*database_id\s*=\s*"([^"]*)"/m.exec(toml)?.[1] ?? "";
  const queues = [...new Set([...toml.matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]+)"/gm)].map((m) => m[1]))];
  const secrets = [...readFileSync(join(ROOT, ".dev.vars.example"), "utf8").matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  const migrations = readdirSync(join(ROOT, "migrations"))
    .filter((f) => f.endsWith(".sql"))
    .sort();
  return { databaseId, queues, secrets, migrations };
}

const isPlaceholder = (id) => !id || /^[0-]+$/.test(id);

/**
 * `capture`: output returned, not shown. Both it and `offline` drop wrangler's banner: its update check asks
 * the npm registry for wrangler's latest version, and it would precede the JSON a captured call parses.
 */
function wrangler(args, { capture = false, offline = false } = {}) {
  if (!capture) console.log(`> wrangler ${args.join(" ")}`);
  return spawnSync(NODE, [WRANGLER, ...args], {
    cwd: ROOT,
    env: wranglerEnv(capture || offline ? { WRANGLER_HIDE_BANNER: "true" } : {}),
    encoding: "utf8",
    stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit",
  });
}

function step(r, what) {
  if (r.status === 0) return;
  if (r.stdout || r.stderr) process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
  console.error(`deploy: ${what} failed (${r.error?.message ?? `exit ${r.status}`}); later steps were not run`);
  process.exit(r.status || 1);
}

function build() {
  console.log("> npm run build");
  step(spawnSync(NODE, [join(ROOT, "scripts", "build-web.mjs")], { cwd: ROOT, stdio: "inherit" }), "the front-end build");
}

const DATABASE_ID_HELP =
  "wrangler.toml: database_id is the placeholder. Create the database with `npx wrangler d1 create lattice` and put the printed database_id into wrangler.toml ([[d1_databases]]).";

function dryRun(config) {
  build();
  const outdir = mkdtempSync(join(tmpdir(), "lattice-deploy-"));
  try {
    step(wrangler(["deploy", "--dry-run", "--outdir", outdir], { offline: true }), "wrangler deploy --dry-run");
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  console.log(`\nD1 migrations a deploy applies to the remote database, those not applied there yet (migrations/):`);
  for (const m of config.migrations) console.log(`  ${m}`);
  console.log(`Webhook queues it creates if missing: ${config.queues.join(", ")}`);
  console.log(`Secrets it requires on the Worker: ${config.secrets.join(", ")}`);
  if (isPlaceholder(config.databaseId)) console.log(`\nA real deploy would stop here: ${DATABASE_ID_HELP}`);
  console.log("\nDry run: nothing was sent to Cloudflare.");
}

/** Read-only API calls: which required secrets the Worker lacks and which queues do not exist. */
function remotePreflight(config) {
  const secrets = wrangler(["secret", "list", "--format", "json"], { capture: true });
  let present = [];
  if (secrets.status === 0) present = JSON.parse(secrets.stdout.slice(secrets.stdout.indexOf("["))).map((s) => s.name);
  // A first deployment: no Worker yet, so no secrets either (`wrangler secret put` creates the Worker).
  else if (!/does not exist|not found|10007/i.test(`${secrets.stdout}${secrets.stderr}`))
    step(secrets, "wrangler secret list (are you logged in? npx wrangler login)");
  const queueList = wrangler(["queues", "list"], { capture: true });
  step(queueList, "wrangler queues list");
  const names = new Set(queueList.stdout.match(/[A-Za-z0-9_-]+/g) ?? []);
  return { missingSecrets: config.secrets.filter((s) => !present.includes(s)), missingQueues: config.queues.filter((q) => !names.has(q)) };
}

function deploy(config) {
  if (isPlaceholder(config.databaseId)) {
    console.error(`deploy: missing before anything remote:\n  - ${DATABASE_ID_HELP}\nNothing was done.`);
    process.exit(1);
  }
  console.log("Preflight: checking the Worker's secrets and the webhook queues (read-only)…");
  const { missingSecrets, missingQueues } = remotePreflight(config);
  if (missingSecrets.length > 0) {
    const lines = missingSecrets.map((s) => `  - secret ${s}: npx wrangler secret put ${s}   (at least 32 random bytes: openssl rand -base64 32)`);
    console.error(`deploy: missing before anything is changed:\n${lines.join("\n")}\nNothing was changed.`);
    process.exit(1);
  }
  if (missingQueues.length > 0) console.log(`Preflight: queues to create: ${missingQueues.join(", ")}`);
  build();
  for (const queue of missingQueues) {
    const r = wrangler(["queues", "create", queue], { capture: true });
    process.stdout.write(`> wrangler queues create ${queue}\n${r.stdout}${r.stderr}`);
    // `queues list` shows one page: a queue beyond it exists already, which is fine.
    if (!/already (exists|taken)/i.test(`${r.stdout}${r.stderr}`)) step(r, `wrangler queues create ${queue}`);
  }
  step(wrangler(["d1", "migrations", "apply", "DB", "--remote"]), "the remote D1 migrations");
  step(wrangler(["deploy"]), "wrangler deploy");
}

const opts = parseArgs(process.argv.slice(2));
const config = readConfig();
if (opts.dryRun) dryRun(config);
else deploy(config);
