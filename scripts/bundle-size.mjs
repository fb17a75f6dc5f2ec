// `npm run bundle:size`: bundles the Worker as `wrangler deploy` would (`--dry-run`: no login, no network), measures
// what would be uploaded, raw and gzip-compressed, and fails when the compressed size is over the Workers Free plan's limit.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { NODE, ROOT, wranglerEnv } from "./lib/wrangler-dev.mjs";

/** Workers Free plan: 3 MiB per Worker after compression (Paid: 10 MiB). */
const LIMIT_GZIP_BYTES = 3 * 1024 * 1024;

function size(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(2)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

function main() {
  const outdir = mkdtempSync(join(tmpdir(), "lattice-bundle-"));
  try {
    const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
    const r = spawnSync(NODE, [wrangler, "deploy", "--dry-run", "--outdir", outdir], { cwd: ROOT, env: wranglerEnv(), encoding: "utf8" });
    if (r.status !== 0) {
      process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
      console.error(`bundle: wrangler deploy --dry-run failed (${r.error?.message ?? r.signal ?? `exit ${r.status}`})`);
      return 1;
    }
    // The modules wrangler would upload: everything in outdir but source maps and the README it writes there.
    const modules = readdirSync(outdir, { recursive: true, encoding: "utf8" })
      .filter((f) => !f.endsWith(".map") && f !== "README.md" && statSync(join(outdir, f)).isFile())
      .sort();
    if (!modules.some((f) => /\.[cm]?js$/.test(f))) {
      console.error(`bundle: no .js module in wrangler's output (${modules.join(", ") || "empty"})`);
      return 1;
    }
    let raw = 0;
    let gzipped = 0;
    for (const f of modules) {
      const bytes = readFileSync(join(outdir, f));
      raw += bytes.length;
      gzipped += gzipSync(bytes, { level: 9 }).length;
    }
    const over = gzipped > LIMIT_GZIP_BYTES;
    const line = `bundle: ${size(raw)} raw, ${size(gzipped)} gzipped (limit ${size(LIMIT_GZIP_BYTES)} gzipped; ${modules.join(", ")})`;
    if (over) {
      console.error(`${line}: OVER THE LIMIT`);
      return 1;
    }
    console.log(line);
    return 0;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

process.exitCode = main();
