// Server processes: start them in their own process group, wait for them, and read their CPU time and
// memory from /proc (Linux).
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Processes of a process group whose command name matches. */
export function groupPids(pgid, nameRe = /workerd/) {
  const r = spawnSync("ps", ["-eo", "pid=,pgid=,comm="], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && Number(f[1]) === pgid && nameRe.test(f[2]))
    .map((f) => Number(f[0]));
}

/** RSS in bytes of each pid (missing pids count 0). */
export function rssBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
    } catch {}
  }
  return total;
}

/**
 * What each process of a target is: under wrangler dev, its proxy workerd (the one listening on the
 * public port) or the runtime; a target without a dev proxy has only runtime processes.
 */
export function processRole(pid, target) {
  if (!target.devProxy) return "runtime";
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return args.some((a) => a.includes(`127.0.0.1:${target.port}`)) ? "dev proxy" : "runtime";
  } catch {
    return "gone";
  }
}

const TICK_MS = 1000 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

/** User + system CPU time in ms consumed so far by the pids ({total, user, system} with `split`). */
export function cpuMs(pids, split = false) {
  let total = 0;
  let user = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime (fields 14, 15)
      user += Number(f[11]) * TICK_MS;
    } catch {}
  }
  return split ? { total, user, system: total - user } : total;
}

async function waitHttp(url, timeoutMs, child) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) break;
    try {
      const res = await fetch(url);
      if (res.ok) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

/** Spawns `cmd` as the leader of a new process group; stop() ends the whole group. */
export function spawnGroup(cmd, args, opts, log = false) {
  const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const collect = (d) => {
    output += d;
    if (output.length > 60_000) output = output.slice(-30_000);
    if (log) process.stderr.write(d);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const stop = async (signal = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }, 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  return { child, stop, output: () => output };
}

/** Waits until `url` answers; if it never does, kills the server and throws with its last output. */
export async function readyOrFail(server, url, timeoutMs, what) {
  if (await waitHttp(url, timeoutMs, server.child)) return;
  const out = server.output();
  await server.stop("SIGKILL");
  throw new Error(`${what} did not start:\n${out.slice(-3000)}`);
}
