// Bundles the demo front end (web/) into public/build/, which Workers Static Assets serves, and copies
// the API reference's Scalar bundle (pinned in package.json) next to it.
// `node scripts/build-web.mjs` builds once (minified); `--watch` rebuilds on every change.
import { context } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./lib/wrangler-dev.mjs";

/**
 * /reference loads Scalar from the Worker's own assets (SCALAR_SCRIPT in src/app.ts), not from a CDN: it
 * works offline, and no third-party script runs on the API's origin. The standalone bundle is self-contained;
 * its 20 MB source map stays behind, so the link to it goes too.
 */
function copyScalar() {
  const bundle = join(ROOT, "node_modules", "@scalar", "api-reference", "dist", "browser", "standalone.js");
  const out = join(ROOT, "public", "build", "scalar");
  mkdirSync(out, { recursive: true });
  const code = readFileSync(bundle, "utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
  writeFileSync(join(out, "api-reference.js"), code);
}

/** @param {{ watch?: boolean }} [opts] */
export async function buildWeb({ watch = false } = {}) {
  copyScalar();
  const ctx = await context({
    entryPoints: { app: join(ROOT, "web", "main.ts") },
    outdir: join(ROOT, "public", "build"),
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: !watch,
    sourcemap: "linked",
    legalComments: "linked",
    logLevel: "info",
  });
  if (watch) {
    await ctx.watch();
    return ctx;
  }
  await ctx.rebuild();
  await ctx.dispose();
  return undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildWeb({ watch: process.argv.includes("--watch") });
}
