// Bundles the demo front end (web/) into public/build/, which Workers Static Assets serves.
// `node scripts/build-web.mjs` builds once (minified); `--watch` rebuilds on every change.
import { context } from "esbuild";
import { join } from "node:path";
import { ROOT } from "./lib/wrangler-dev.mjs";

/** @param {{ watch?: boolean }} [opts] */
export async function buildWeb({ watch = false } = {}) {
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
