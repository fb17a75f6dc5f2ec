// `npm run dev`: the Worker on http://localhost:8787 with local D1 and Durable Objects, the demo page at `/`.
// Makes .dev.vars from the committed example when missing, applies local migrations, builds the front end
// and rebuilds it on change, then runs `wrangler dev` in the foreground (Ctrl-C stops everything).
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { buildWeb } from "./build-web.mjs";
import { applyLocalMigrations, NODE, ROOT, wranglerEnv } from "./lib/wrangler-dev.mjs";

const devVars = join(ROOT, ".dev.vars");
if (!existsSync(devVars)) {
  copyFileSync(join(ROOT, ".dev.vars.example"), devVars);
  console.log("Created .dev.vars from .dev.vars.example (development secrets only).");
}

console.log("Applying local D1 migrations…");
applyLocalMigrations();

const web = await buildWeb({ watch: true });

const port = process.env.PORT ?? "8787";
// Wrangler watches src/ and public/ itself: a Worker change restarts it, a new bundle is served at once.
const wrangler = spawn(
  NODE,
  [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "dev", "--port", port, "--var", "DEV_MODE:true", ...process.argv.slice(2)],
  { cwd: ROOT, env: wranglerEnv(), stdio: "inherit" },
);
// The demo project and its public key exist from the Worker's first request (src/routes/dev.ts).
console.log(`\n  Lattice demo: http://localhost:${port}  (open it in two windows)`);
console.log(`  REST:         curl -H "Authorization: Bearer sk_demo_dev_only_not_secret" http://localhost:${port}/v1/docs\n`);

let stopping = false;
const stop = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  await web?.dispose();
  if (wrangler.exitCode === null) wrangler.kill("SIGINT");
  process.exitCode = code;
};
// The terminal sends Ctrl-C to the whole foreground group; wrangler handles its own, we just tidy up.
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
wrangler.on("exit", (code) => void stop(code ?? 0));
