// One workerd server through Miniflare's API, no wrangler dev and so no dev proxy (bench/lib/miniflare.mjs
// starts it in its own process group). argv[2]: JSON {config, bundle, port, persistRoot, vars}: the Worker's
// wrangler.toml, its bundle (wrangler deploy --dry-run), the port, the persist root (<persist-to>/v3, the
// layout wrangler dev uses) and vars over the config's. Prints "ready" once the port answers.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const { config, bundle, port, persistRoot, vars, inspectorPort } = JSON.parse(process.argv[2]);
// The Miniflare and workerd that wrangler itself resolves: the same runtime binary as `wrangler dev`.
const root = createRequire(join(process.cwd(), "package.json"));
const wranglerRequire = createRequire(root.resolve("wrangler/package.json"));
const { Miniflare, convertV4MiniflareOptions } = await import(wranglerRequire.resolve("miniflare"));
const wrangler = await import(root.resolve("wrangler"));

const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(config);
const mf = new Miniflare(
  convertV4MiniflareOptions({
    workers: [
      {
        // What these Workers use of their wrangler.toml (the bundle replaces main and its module rules).
        compatibilityDate: workerOptions.compatibilityDate,
        compatibilityFlags: workerOptions.compatibilityFlags,
        d1Databases: workerOptions.d1Databases,
        durableObjects: workerOptions.durableObjects,
        ratelimits: workerOptions.ratelimits,
        name: "bench",
        modules: true,
        scriptPath: bundle,
        modulesRoot: dirname(bundle),
        bindings: { ...workerOptions.bindings, ...vars },
      },
    ],
    host: "127.0.0.1",
    port,
    inspectorPort,
    resourcePersistencePath: persistRoot,
    // The bench's requests need no cf object: skip the look-up, as wrangler dev does offline.
    cf: false,
  }),
);
await mf.ready;
process.stdout.write("ready\n");
const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
