// Where the bench keeps things, and the two storage media a persisting server's state can live on.
import { mkdtempSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BENCH = join(import.meta.dirname, "..");
export const PEERS = join(BENCH, "peers");
export const BENCH_CACHE = join(BENCH, ".cache");

/**
 * Where a run's files go unless `--out=dir` says otherwise: `bench/results/<YYYY-MM-DD>-<name>/`, one folder
 * per day and kind of run (bench/results/README.md). Its `latest.md` is a convenience copy, git-ignored.
 */
export function resultsDir(name, date = new Date()) {
  return join(BENCH, "results", `${date.toISOString().slice(0, 10)}-${name}`);
}

const TMPFS_MAGIC = 0x01021994;
const MEDIA = { disk: tmpdir(), tmpfs: "/dev/shm" };

/** The file system type of a medium's folder, as statfs names it ("tmpfs" or the magic number in hex). */
export function mediumType(medium) {
  const type = statfsSync(MEDIA[medium]).type;
  return type === TMPFS_MAGIC ? "tmpfs" : `0x${type.toString(16)}`;
}

/** A new empty folder on `medium` ("disk": the OS temp folder, refused if it is tmpfs; "tmpfs": /dev/shm). */
export function stateDir(medium, prefix) {
  if (!MEDIA[medium]) throw new Error(`unknown medium ${medium}`);
  const isTmpfs = mediumType(medium) === "tmpfs";
  if (isTmpfs !== (medium === "tmpfs")) throw new Error(`${MEDIA[medium]} is ${isTmpfs ? "" : "not "}tmpfs: it cannot stand for ${medium}`);
  return mkdtempSync(join(MEDIA[medium], prefix));
}
