// One raw-ingest measurement in a fresh Node process (bench/lib/raw.mjs, rawIngestFresh): prints JSON.
// argv: trace name, updates per message, txn limit ("all" for the whole trace).
import { rawIngest } from "./raw.mjs";
import { cachedTraceUpdates } from "./traces.mjs";

const [name, perUpdate, limit] = process.argv.slice(2);
const trace = cachedTraceUpdates(name, { perUpdate: Number(perUpdate), limit: limit === "all" ? Infinity : Number(limit) });
process.stdout.write(JSON.stringify(rawIngest(trace)));
