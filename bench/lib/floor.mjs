// The runtime floor for W2: the same writer replays the same updates into a Durable Object that does
// nothing with them (bench/peers/workerd-floor), on the same wrangler dev. Its CPU per message is what
// the runtime itself costs before any sync server's code runs: a lower bound for every workerd target.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE, wranglerEnv } from "../../scripts/lib/wrangler-dev.mjs";
import { BENCH, cpuMs, groupPids, PEERS, readyOrFail, spawnGroup } from "./targets.mjs";
import { step1Message, YwsClient } from "./yws.mjs";

const WRANGLER = join(BENCH, "..", "node_modules", "wrangler", "bin", "wrangler.js");
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** What each workerd process of wrangler dev is: the dev proxy (listens on the public port) or the runtime. */
export function processRole(pid, port) {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (!/workerd/.test(args[0] ?? "")) return "server";
    return args.some((a) => a.includes(`127.0.0.1:${port}`)) ? "dev proxy" : "runtime";
  } catch {
    return "gone";
  }
}

export async function runtimeFloor(trace, { port = 18790 } = {}) {
  const persistDir = mkdtempSync(join(tmpdir(), "floor-bench-"));
  const server = spawnGroup(
    NODE,
    [WRANGLER, "dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistDir, "--show-interactive-dev-session=false"],
    { cwd: join(PEERS, "workerd-floor"), env: wranglerEnv() },
  );
  try {
    await readyOrFail(server, `http://127.0.0.1:${port}/healthz`, 90_000, "the floor worker");
    const pids = groupPids(server.child.pid);
    const writer = new YwsClient(`ws://127.0.0.1:${port}/floor`, {});
    await writer.connect();
    await writer.synced;
    const before = pids.map((p) => cpuMs([p]));
    const t0 = performance.now();
    for (let i = 0; i < trace.updates.length; i++) {
      writer.sendUpdate(trace.updates[i]);
      if ((i & 63) === 63) await writer.drain(256 * 1024);
    }
    // A step 1 sent last is answered only after every update before it was handled.
    const seen = writer.messagesIn;
    writer.ws.send(step1Message());
    while (writer.messagesIn === seen) await new Promise((r) => setTimeout(r, 2));
    const seconds = (performance.now() - t0) / 1000;
    const perProcess = pids.map((pid, i) => ({ pid, role: processRole(pid, port), cpuMs: cpuMs([pid]) - before[i] }));
    await writer.close();
    const n = trace.updates.length;
    const total = perProcess.reduce((s, p) => s + p.cpuMs, 0);
    const runtime = perProcess.filter((p) => p.role !== "dev proxy").reduce((s, p) => s + p.cpuMs, 0);
    return {
      messages: n,
      seconds: round(seconds, 2),
      cpuUsPerMessage: round((total * 1000) / n),
      runtimeCpuUsPerMessage: round((runtime * 1000) / n),
      perProcess,
    };
  } finally {
    await server.stop("SIGTERM");
    rmSync(persistDir, { recursive: true, force: true });
  }
}
