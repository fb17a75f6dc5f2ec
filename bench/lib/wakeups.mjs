// Durable Object wake-ups, counted from outside the server: local workerd evicts an object that has been
// idle (hibernatable) for a while and closes its SQLite file; waking it opens the file again. So each
// successful openat() of an object's .sqlite file is one construction of that object. Attached to a
// running process, strace stops it on every syscall (seccomp filtering needs strace to start it), so
// the traced process is slower while counted: measure nothing else meanwhile.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

export const canTrace = () => spawnSync("strace", ["-V"]).status === 0;

/** The object database files under a persist folder's do/ tree (basenames). */
function objectFiles(storeDir) {
  const out = new Set();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(".sqlite") && e.name !== "metadata.sqlite") out.add(e.name);
    }
  };
  if (storeDir && existsSync(storeDir)) walk(storeDir);
  return out;
}

/** Starts counting; `stop()` resolves to {opens, objects}: object-file opens and distinct objects opened. */
export function countWakeups(target) {
  const file = join(tmpdir(), `wakeups-${process.pid}-${target.port}.strace`);
  const args = ["-f", "-qq", "-e", "trace=openat", "-o", file, ...target.serverPids().flatMap((p) => ["-p", String(p)])];
  const child = spawn("strace", args, { stdio: "ignore" });
  const exited = new Promise((r) => child.on("exit", r));
  return {
    async stop() {
      child.kill("SIGINT");
      await exited;
      const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
      rmSync(file, { force: true });
      const objects = objectFiles(target.storeDir);
      const opened = lines
        .filter((l) => l.includes("openat(") && !/= -1 /.test(l))
        .map((l) => basename(/"([^"]+)"/.exec(l)?.[1] ?? ""))
        .filter((name) => objects.has(name));
      return { opens: opened.length, objects: new Set(opened).size };
    },
  };
}

/**
 * Lattice's own debug count (DEBUG_WAKEUPS, off in production): each object adds one to `debugWakeups`
 * in its meta table when constructed. Summed over the objects under a persist folder's do/ tree, read
 * from their SQLite files (read-only; the runtime keeps writing them).
 */
export async function countedWakeups(storeDir) {
  const { DatabaseSync } = await import("node:sqlite");
  let total = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith(".sqlite") && e.name !== "metadata.sqlite") {
        try {
          const db = new DatabaseSync(path, { readOnly: true });
          const row = db.prepare("SELECT value FROM meta WHERE key = 'debugWakeups'").get();
          db.close();
          total += Number(row?.value ?? 0);
        } catch {
          // Not a document object (no meta table), or being created: nothing counted.
        }
      }
    }
  };
  if (storeDir && existsSync(storeDir)) walk(storeDir);
  return total;
}
