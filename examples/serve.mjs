// `npm run example:tiptap` / `npm run example:codemirror` (node examples/serve.mjs <example>): bundles the
// example's main.js(x) with esbuild and serves its page on http://localhost:$PORT (5173 by default), with the
// token endpoint at /api/token. Lattice itself runs beside it: `npm run dev` (LATTICE_URL, default :8787).
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { tokenEndpoint } from "./token-endpoint.mjs";

const EXAMPLES = { "tiptap-react": "main.jsx", codemirror: "main.js" };
const name = process.argv[2];
if (!Object.hasOwn(EXAMPLES, name)) {
  console.error(`usage: node examples/serve.mjs <${Object.keys(EXAMPLES).join("|")}>`);
  process.exit(2);
}
const dir = join(dirname(fileURLToPath(import.meta.url)), name);
const bundle = await build({
  entryPoints: [join(dir, EXAMPLES[name])],
  bundle: true,
  write: false,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  minify: true,
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
const files = {
  "/": { type: "text/html; charset=utf-8", body: readFileSync(join(dir, "index.html")) },
  "/main.js": { type: "text/javascript; charset=utf-8", body: bundle.outputFiles[0].contents },
};

const port = Number(process.env.PORT ?? 5173);
createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/api/token") return void tokenEndpoint(url, res);
  const file = files[url.pathname];
  res.writeHead(file ? 200 : 404, { "content-type": file?.type ?? "text/plain" });
  res.end(file?.body ?? "not found");
}).listen(port, "127.0.0.1", () => console.log(`${name} example: http://localhost:${port}/?doc=my-first-doc (open it in two windows)`));
