// The runtime floor for W2: the same writer replays the same updates into a Durable Object that does
// nothing with them (bench/peers/workerd-floor), on the same wrangler dev. Its CPU per message is what
// the runtime itself costs before any sync server's code runs: a lower bound for every workerd target.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWranglerDev } from "../../scripts/lib/wrangler-dev.mjs";
import { cpuMs, groupPids, PEERS, processRole } from "./targets.mjs";
import { step1Message, YwsClient } from "./yws.mjs";

const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export async function runtimeFloor(trace, { port = 18790 } = {}) {
  const persistDir = mkdtempSync(join(tmpdir(), "floor-bench-"));
  const server = await startWranglerDev({ port, persistTo: persistDir, migrate: false, cwd: join(PEERS, "workerd-floor"), timeoutMs: 90_000 });
  try {
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
