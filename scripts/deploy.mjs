// `npm run deploy`: everything a first or a later deployment needs, in order. Builds the demo page,
// makes sure the webhook queues exist (wrangler.toml names them; a deploy that binds a missing queue
// fails), migrates the remote D1, then deploys the Worker. Each step stops the run if it fails.
import { spawnSync } from "node:child_process";

const QUEUES = ["lattice-webhooks", "lattice-webhooks-dlq"];

function run(args, { allowExisting = false } = {}) {
  console.log(`> ${args.join(" ")}`);
  const r = spawnSync(args[0], args.slice(1), { encoding: "utf8", stdio: ["inherit", "pipe", "pipe"], shell: process.platform === "win32" });
  process.stdout.write(r.stdout ?? "");
  process.stderr.write(r.stderr ?? "");
  if (r.status === 0) return;
  if (allowExisting && /already (exists|taken)/i.test(`${r.stdout}${r.stderr}`)) {
    console.log("  (already there)");
    return;
  }
  process.exit(r.status ?? 1);
}

run(["npm", "run", "build"]);
for (const queue of QUEUES) run(["npx", "wrangler", "queues", "create", queue], { allowExisting: true });
run(["npx", "wrangler", "d1", "migrations", "apply", "DB", "--remote"]);
run(["npx", "wrangler", "deploy"]);
