// What one commit's fsync costs on each medium of this machine: write a page and fdatasync it, many
// times, in a folder of that medium. SQLite's commit in WAL mode is one such sync, so on disk this is
// the floor under every durable write here (in production a commit waits for replication instead).
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "./paths.mjs";
import { percentiles } from "./yws.mjs";

export function fsyncCost(medium, n = 200) {
  const dir = stateDir(medium, "fsync-bench-");
  const fd = openSync(join(dir, "probe"), "w");
  const page = Buffer.alloc(4096, 7);
  const us = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      writeSync(fd, page, 0, page.length, (i % 64) * page.length);
      fdatasyncSync(fd);
      us.push((performance.now() - t0) * 1000);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  return { medium, syncs: n, us: percentiles(us) };
}
