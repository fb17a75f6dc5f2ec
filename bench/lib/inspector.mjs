// A V8 CPU profile of a Worker through workerd's inspector (Chrome DevTools protocol), summed by
// function: where the JavaScript time of a Durable Object goes. Miniflare opens the inspector when given
// an inspectorPort.
import WebSocket from "ws";

function session(url) {
  const ws = new WebSocket(url);
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  });
  const opened = new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      const k = ++id;
      pending.set(k, resolve);
      ws.send(JSON.stringify({ id: k, method, params }));
    });
  return { opened, send, close: () => ws.close() };
}

/** Profiles the Worker named `worker` on inspector `port` while `fn` runs: [fn's result, {totalMs, top: [[fn, ms, pct]]}]. */
export async function cpuProfileWhile(port, worker, fn) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = list.find((t) => t.title?.includes(worker) || t.id?.includes(worker)) ?? list[0];
  const s = session(target.webSocketDebuggerUrl);
  await s.opened;
  await s.send("Profiler.enable");
  await s.send("Profiler.setSamplingInterval", { interval: 200 });
  await s.send("Profiler.start");
  let result;
  let profile;
  try {
    result = await fn();
  } finally {
    profile = (await s.send("Profiler.stop")).result?.profile;
    s.close();
  }
  const selfMs = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((nodeId, i) => {
    const f = byId.get(nodeId).callFrame;
    const name = `${f.functionName || "(anonymous)"} ${f.url ? `${f.url.split("/").at(-1)}:${f.lineNumber + 1}` : ""}`.trim();
    selfMs.set(name, (selfMs.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const totalMs = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const top = [...selfMs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([name, ms]) => [name, Math.round(ms * 10) / 10, Math.round((ms / totalMs) * 1000) / 10]);
  return [result, { totalMs: Math.round(totalMs), top }];
}
