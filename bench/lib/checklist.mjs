// A long-mode script's command line, its timed log and its pass/fail list (relay-crowd.mjs, relay-processes/check.mjs).
const args = process.argv.slice(2);

/** `--name=value` from the command line, else `def`; `flag(name)` for a bare `--name`. */
export const opt = (name, def) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
export const flag = (name) => args.includes(`--${name}`);

/** A log line stamped with seconds since start, and checks that print ok/FAIL and remember what failed. */
export function checklist(tag) {
  const t0 = performance.now();
  const failures = [];
  const log = (msg) => console.log(`[${tag} ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);
  const check = (ok, what) => {
    log(`${ok ? "ok  " : "FAIL"} ${what}`);
    if (!ok) failures.push(what);
  };
  return { log, check, failures };
}
