#!/usr/bin/env node
/**
 * The layer check: every import under src/ runs downward, no file imports itself round a cycle, and a
 * feature's routes never import another feature's routes. `npm test` and `npm run check` run it first;
 * it exits 1 and names each offending import. The ranks (docs/ARCHITECTURE.md has the picture):
 *
 *   0  root modules (src/*.ts: env, errors, ids, cursor, result)
 *   1  db/ (the catalog) and sync/ (pure: the wire, the room, presence, the cost model; no `cloudflare:`)
 *   2  auth/
 *   3  room/, relay/ and the object side of each feature (documents/, versions/, webhooks/, access/: every file not a route file)
 *   4  http/ (middleware, OpenAPI helpers, the route kit)
 *   5  route files (routes/, and any feature file named *routes*.ts)
 *   6  app.ts, index.ts
 */
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, ".."));
const src = path.join(root, "src");

export function rankOf(rel) {
  const parts = rel.split("/");
  if (parts.length === 1) return rel === "app.ts" || rel === "index.ts" ? 6 : 0;
  const [dir] = parts;
  const file = parts[parts.length - 1];
  if (dir === "routes" || file.includes("routes")) return 5;
  if (dir === "http") return 4;
  if (dir === "room" || dir === "relay" || dir === "documents" || dir === "versions" || dir === "webhooks" || dir === "access") return 3;
  if (dir === "auth") return 2;
  if (dir === "db" || dir === "sync") return 1;
  return undefined;
}

const walk = (dir) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path.join(dir, e.name)] : []));

function importsOf(file) {
  const text = fs.readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? m[2]);
  return specs;
}

function resolve(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  for (const cand of [base, `${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(cand) && fs.statSync(cand).isFile()) return cand;
  return undefined;
}

export function check() {
  const problems = [];
  const files = walk(src);
  const graph = new Map();
  for (const file of files) {
    const rel = path.relative(src, file).split(path.sep).join("/");
    const rank = rankOf(rel);
    if (rank === undefined) problems.push(`${rel}: in no layer (add its folder to scripts/check-layers.mjs and docs/ARCHITECTURE.md)`);
    const edges = [];
    for (const spec of importsOf(file)) {
      if (rel.startsWith("sync/") && spec.startsWith("cloudflare:")) problems.push(`${rel}: imports ${spec}, but sync/ is pure`);
      if (!spec.startsWith(".")) continue;
      const target = resolve(file, spec);
      if (!target) continue;
      const trel = path.relative(src, target).split(path.sep).join("/");
      edges.push(trel);
      const trank = rankOf(trel);
      if (rank !== undefined && trank !== undefined && trank > rank) problems.push(`${rel} (layer ${rank}) imports ${trel} (layer ${trank}): upward`);
      if (rel.startsWith("sync/") && !trel.startsWith("sync/") && trank !== 0) problems.push(`${rel} imports ${trel}: sync/ imports only sync/ and root modules`);
      if (rank === 5 && trank === 5 && trel.split("/")[0] !== rel.split("/")[0]) problems.push(`${rel} imports ${trel}: another feature's routes`);
    }
    graph.set(rel, edges);
  }
  // Cycles: depth-first search, each reported once by its first file.
  const state = new Map();
  const stack = [];
  const visit = (n) => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) problems.push(`cycle: ${[...stack.slice(stack.indexOf(m)), m].join(" → ")}`);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return { files: files.length, problems };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { files, problems } = check();
  if (problems.length) {
    console.error(`layer check: ${problems.length} problem(s) in ${files} files under src/`);
    for (const p of problems) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log(`layer check: ${files} files under src/, every import downward, no cycles`);
}
