/**
 * A restore fits the isolate (issue 22), measured in Node limited to the isolate's 128 MB heap
 * (`wrangler dev` does not enforce it), on documents of embeds (items that never merge: the most heap per
 * stored byte). The room computes a restore on a copy while the live document is out of memory
 * (RoomCore.restoreEdit), and refuses up front (413, nothing changed) a document and version too large to
 * compare together (RESTORE_UNITS_FACTOR × MAX_DOC_ITEM_UNITS).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

interface ChildResult {
  docMB: number;
  restored?: boolean;
  refused?: string;
}

function restoreIn128MB(mode: "fits" | "at-cap" | "cap-to-small") {
  const r = spawnSync(process.execPath, ["--max-old-space-size=128", "--expose-gc", "--import", "tsx", join(ROOT, "test/helpers/restore-memory-child.ts"), mode], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 240_000,
  });
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  expect(r.stderr).not.toMatch(/heap out of memory/i);
  expect(r.status, r.stderr.slice(-2000)).toBe(0);
  return JSON.parse(line) as ChildResult;
}

describe("restore memory, in a 128 MB heap", () => {
  it("the largest restore the limits allow (document and version together at the restore cap) completes", () => {
    const r = restoreIn128MB("fits");
    expect(r.refused).toBeUndefined();
    expect(r.restored).toBe(true);
    expect(r.docMB).toBeGreaterThan(15);
  }, 300_000);

  it("a document near the item cap goes back to a small version", () => {
    const r = restoreIn128MB("cap-to-small");
    expect(r.restored).toBe(true);
    expect(r.docMB).toBeGreaterThan(25);
  }, 300_000);

  it("a document and a version both near the item cap are refused up front (413), before anything is copied", () => {
    const r = restoreIn128MB("at-cap");
    expect(r.refused).toMatch(/too large to restore together/);
  }, 300_000);
});
