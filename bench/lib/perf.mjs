// Where a server's CPU goes, sampled with Linux perf: the share of samples per binary (the kernel's
// network stack, workerd's own native code, V8's JIT-compiled JavaScript, which perf sees as anonymous
// memory, libc) and the hottest symbols. Needs `perf` and permission to attach (root here).
import { spawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const canPerf = () => spawnSync("perf", ["--version"]).status === 0;

/** Samples `pids` while `fn` runs; resolves to [fn's result, {byDso: [[dso, pct]], topSymbols: [[sym, dso, pct]]}]. */
export async function perfWhile(pids, fn) {
  const file = join(tmpdir(), `bench-perf-${process.pid}-${pids[0]}.data`);
  const rec = spawn("perf", ["record", "-q", "-F", "1999", "-o", file, "-p", pids.join(",")], { stdio: "ignore" });
  const exited = new Promise((r) => rec.on("exit", r));
  await new Promise((r) => setTimeout(r, 300)); // perf attaches
  let result;
  try {
    result = await fn();
  } finally {
    rec.kill("SIGINT");
    await exited;
  }
  const report = (sort) =>
    spawnSync("perf", ["report", "-i", file, "--stdio", "--no-children", "--sort", sort, "--percent-limit", "0.5"], { encoding: "utf8", maxBuffer: 1 << 26 }).stdout;
  const rows = (text) =>
    text
      .split("\n")
      .filter((l) => /^\s+\d+\.\d+%/.test(l))
      .map((l) => l.trim().split(/\s+/));
  const byDso = rows(report("dso")).map(([pct, ...dso]) => [dso.join(" "), Number.parseFloat(pct)]);
  const topSymbols = rows(report("dso,sym"))
    .slice(0, 15)
    .map(([pct, dso, , ...sym]) => [sym.join(" "), dso, Number.parseFloat(pct)]);
  rmSync(file, { force: true });
  return [result, { byDso, topSymbols }];
}
