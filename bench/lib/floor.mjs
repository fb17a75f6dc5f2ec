// The runtime floor for W2: the same writer replays the same updates into a Durable Object that does
// nothing with them (bench/peers/workerd-floor, FloorRoom) on the same runtime. Its CPU per message is
// what the runtime itself costs before any sync server's code runs: a lower bound for every workerd target.
import { cpuMs, processRole } from "./proc.mjs";
import { round } from "./workloads.mjs";
import { step1Message, YwsClient } from "./yws.mjs";

/** One round of W2's writer into the floor target's no-op room `room`. */
export async function floorIngest(target, trace, room) {
  const pids = target.serverPids();
  const writer = new YwsClient(`ws://127.0.0.1:${target.port}/${room}`, {});
  await writer.connect();
  await writer.synced;
  const before = pids.map((p) => cpuMs([p]));
  const t0 = performance.now();
  for (let i = 0; i < trace.updates.length; i++) {
    writer.sendUpdate(trace.updates[i]);
    if ((i & 63) === 63) await writer.drain(256 * 1024);
  }
  // A step 1 sent last is answered only after every update before it was handled.
  const seen = writer.received;
  writer.ws.send(step1Message());
  while (writer.received === seen) await new Promise((r) => setTimeout(r, 2));
  const seconds = (performance.now() - t0) / 1000;
  const perProcess = pids.map((pid, i) => ({ pid, role: processRole(pid, target), cpuMs: cpuMs([pid]) - before[i] }));
  await writer.close();
  const n = trace.updates.length;
  const total = perProcess.reduce((s, p) => s + p.cpuMs, 0);
  const runtime = perProcess.filter((p) => p.role !== "dev proxy").reduce((s, p) => s + p.cpuMs, 0);
  return {
    messages: n,
    seconds: round(seconds, 2),
    serverCpuUsPerUpdate: round((total * 1000) / n, 1),
    runtimeCpuUsPerUpdate: round((runtime * 1000) / n, 1),
    perProcess,
  };
}
