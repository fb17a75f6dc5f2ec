// Builds dist/index.js (ESM, yjs and y-websocket left to the app) and dist/index.d.ts, then prints the
// minified + gzipped size, the figure in README.md. Run from anywhere: `node packages/client/build.mjs`.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const common = {
  entryPoints: [join(here, "src", "index.ts")],
  bundle: true,
  format: "esm",
  target: "es2020",
  platform: "neutral",
  // Peer dependencies: the app's own copies, so there is one Yjs in the page.
  external: ["yjs", "y-websocket"],
};

rmSync(join(here, "dist"), { recursive: true, force: true });
await build({ ...common, outfile: join(here, "dist", "index.js") });

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const r = spawnSync(process.execPath, [tsc, "-p", join(here, "tsconfig.json")], { stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);

const min = await build({ ...common, minify: true, write: false });
const bytes = min.outputFiles[0].contents;
console.log(`@lattice-sync/client: ${bytes.length} B minified, ${gzipSync(bytes, { level: 9 }).length} B minified + gzipped (yjs, y-websocket external)`);
