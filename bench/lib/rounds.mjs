// Interleaved rounds: every server of a workload runs once per round, the order reversed every other
// round (A B C, C B A, A B C, ...), so drift in the machine's load falls on all of them alike. Figures
// are reported as the median over rounds with the range.

/**
 * Runs `fn(server, round)` for each server, `rounds` times, interleaved. Returns Map(server.id -> [result
 * per round]); a round that throws is kept as {error}. `label(server, result)` makes the progress line.
 */
export async function interleave(servers, rounds, fn, log, label) {
  const out = new Map(servers.map((s) => [s.id, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? servers : [...servers].reverse();
    for (const s of order) {
      let result;
      try {
        result = await fn(s, r);
      } catch (e) {
        result = { error: String(e?.message ?? e) };
      }
      out.get(s.id).push(result);
      log(`round ${r + 1}/${rounds} ${s.id}: ${result.error ? `FAILED: ${result.error}` : label(s, result)}`);
    }
  }
  return out;
}

/** {median, min, max, n} of the numbers among `values` (null when there are none). */
export function spread(values) {
  const xs = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { median: Math.round(median * 1000) / 1000, min: xs[0], max: xs[xs.length - 1], n: xs.length };
}

/** spread() of `get(result)` over a server's rounds. */
export const over = (rounds, get) => spread((rounds ?? []).filter((r) => !r.error).map(get));

/**
 * A verdict one run cannot flip: "met" only when every round of `a` is at or below every round of `b`
 * (lower is better), "not met" when every round is above; overlapping ranges are "within noise" with the
 * side the medians fall on.
 */
export function verdict(a, b) {
  if (!a || !b) return "not measured";
  if (a.max <= b.min) return "met";
  if (a.min > b.max) return "not met";
  return a.median <= b.median ? "within noise (median met)" : "within noise (median not met)";
}
