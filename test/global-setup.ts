import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { TestProject } from "vitest/node";

/** Editing traces (CC BY 4.0) kept in the repository: see test/fixtures/traces/README.md. */
const TRACES = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "traces");

export function readTrace(name: string): unknown {
  return JSON.parse(gunzipSync(readFileSync(join(TRACES, `${name}.json.gz`))).toString("utf8"));
}

// Tests run inside workerd, which cannot read the host's files: the traces are handed over with provide().
export default function setup(project: TestProject) {
  project.provide("traces", {
    friendsforever_flat: readTrace("friendsforever_flat"),
    sveltecomponent: readTrace("sveltecomponent"),
    "automerge-paper": readTrace("automerge-paper"),
    "concurrent-friendsforever": readTrace("concurrent-friendsforever"),
  });
  // Knobs for the long modes of the fuzz and chaos tests (workerd does not see the host's environment).
  const knob = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
  project.provide("knobs", {
    CHAOS_RUNS: knob("CHAOS_RUNS"),
    CHAOS_SEED: knob("CHAOS_SEED"),
    FUZZ_FRAMES: knob("FUZZ_FRAMES"),
    FUZZ_SEED: knob("FUZZ_SEED"),
    MERGE_RUNS: knob("MERGE_RUNS"),
    MERGE_SEED: knob("MERGE_SEED"),
  });
}

declare module "vitest" {
  export interface ProvidedContext {
    traces: Record<string, unknown>;
    knobs: { CHAOS_RUNS?: number; CHAOS_SEED?: number; FUZZ_FRAMES?: number; FUZZ_SEED?: number; MERGE_RUNS?: number; MERGE_SEED?: number };
  }
}
