/**
 * When a document takes an automatic version, and which versions retention deletes. Pure: times are
 * milliseconds passed in, sizes are bytes; the object keeps the state and schedules its alarm from it.
 */

/** At most one automatic version per this many seconds of editing. */
export const VERSION_INTERVAL_SECONDS = 600;
/** An editing burst has ended when nothing changed for this long: the automatic version is taken then. */
export const VERSION_IDLE_SECONDS = 60;
/** Automatic versions kept, after thinning by age (THINNING); past it the densest are thinned further. */
export const MAX_AUTO_VERSIONS = 100;
/** All of a document's versions together, in bytes of what they cost (versionCost: state, name, row). */
export const MAX_VERSION_BYTES = 64 * 1024 * 1024;
/** Named versions per document, whoever took them. */
export const MAX_NAMED_VERSIONS = 500;
/** Named versions one user (a client token's subject) may hold in a document. */
export const MAX_NAMED_VERSIONS_PER_USER = 50;
/** Before-restore versions kept per document; past it the oldest before-restore version goes. */
export const MAX_BEFORE_RESTORE_VERSIONS = 50;
/** Named versions plus restores one user may make per document per minute (the burst is as large). */
export const VERSION_WRITES_PER_MINUTE = 10;

/**
 * `named`: taken on request, kept until deleted. `auto`: taken by the rule below. `before-restore`: taken
 * just before a restore so it can be undone. Each draws on its own quota (retention, below).
 */
export type VersionKind = "named" | "auto" | "before-restore";

// ---- automatic versions ----

export type AutoVersionTiming = { intervalMs: number; idleMs: number };
export const DEFAULT_AUTO_TIMING: AutoVersionTiming = { intervalMs: VERSION_INTERVAL_SECONDS * 1000, idleMs: VERSION_IDLE_SECONDS * 1000 };

/**
 * What the rule needs to remember (small enough for one meta row).
 * `firstChangeAt`/`lastChangeAt`: the first and latest change not yet in an automatic version (undefined:
 * none). `lastVersionAt`: when the last automatic version was taken.
 */
export type AutoVersionState = { lastVersionAt?: number; firstChangeAt?: number; lastChangeAt?: number };

/** The state after a change at `now`. */
export function recordChange(state: AutoVersionState, now: number): AutoVersionState {
  return { ...state, firstChangeAt: state.firstChangeAt ?? now, lastChangeAt: now };
}

/** The state after an automatic version was taken at `now`: it holds every change so far. */
export function recordAutoVersion(now: number): AutoVersionState {
  return { lastVersionAt: now };
}

/**
 * When the next automatic version is due (the alarm time), or undefined when nothing changed since the
 * last one. Due at the end of the burst (no change for idleMs) or intervalMs after the burst's first
 * change, whichever is first; never sooner than intervalMs after the previous automatic version.
 */
export function nextAutoVersionAt(state: AutoVersionState, timing: AutoVersionTiming = DEFAULT_AUTO_TIMING): number | undefined {
  if (state.firstChangeAt === undefined || state.lastChangeAt === undefined) return undefined;
  const wanted = Math.min(state.lastChangeAt + timing.idleMs, state.firstChangeAt + timing.intervalMs);
  return state.lastVersionAt === undefined ? wanted : Math.max(wanted, state.lastVersionAt + timing.intervalMs);
}

export function shouldTakeAutoVersion(state: AutoVersionState, now: number, timing: AutoVersionTiming = DEFAULT_AUTO_TIMING): boolean {
  const due = nextAutoVersionAt(state, timing);
  return due !== undefined && now >= due;
}

// ---- retention (issue 22) ----
//
// Three quotas, so that nothing a client token does can push out the history the server keeps:
//
// - automatic versions: thinned by age (THINNING), at most maxAuto, and AUTO_SHARE of maxBytes; only a
//   newer automatic version or a restore (below) ever thins them further, never a named version of a client;
// - before-restore versions: at most maxBeforeRestore and BEFORE_RESTORE_SHARE of maxBytes; the restoring
//   user's own oldest goes first, else the oldest;
// - named versions: at most maxNamed per document; a client token's also at most maxNamedPerUser per user
//   and CLIENT_NAMED_SHARE of maxBytes for all client tokens together. A full quota refuses the new
//   named version: nothing is evicted for it. A secret key's named version has no share of its own: it
//   may thin automatic versions (the owner's choice), never before-restore or named ones.
//
// A restore always finds room for its before-restore version unless the owner's own named versions fill
// maxBytes: first older before-restore versions go, then automatic ones, never the newest automatic one.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Shares of maxBytes. They add up to 1, so a full quota of one kind never takes the room of another. */
export const AUTO_SHARE = 1 / 2;
export const BEFORE_RESTORE_SHARE = 1 / 4;
export const CLIENT_NAMED_SHARE = 1 / 4;

/**
 * Thinning by age: an automatic version younger than `upToMs` is kept if it is the newest of its
 * `everyMs` bucket (buckets are aligned to the epoch, so a bucket's survivor does not change once the
 * bucket is past); 0 keeps every one. Every automatic version of the last hour, the newest of each hour
 * for a day, of each day for 30 days, then of each 30 days (until maxAuto).
 */
export const THINNING: readonly { upToMs: number; everyMs: number }[] = [
  { upToMs: HOUR, everyMs: 0 },
  { upToMs: DAY, everyMs: HOUR },
  { upToMs: 30 * DAY, everyMs: DAY },
  { upToMs: Infinity, everyMs: 30 * DAY },
];

/**
 * What a stored version costs against maxBytes beyond its state: a versions row, its version_parts row
 * and their index entries in the object's SQLite. Measured (test/integration/versions/versions-store.test.ts,
 * "costs what it takes in storage"): about 200 bytes of pages per version with no name; rounded up.
 */
export const VERSION_ROW_BYTES = 256;

const utf8Length = (s: string | null | undefined): number => (s ? new TextEncoder().encode(s).length : 0);

/** Bytes a version costs against maxBytes: its state, its name and author as stored, and the row. */
export function versionCost(stateBytes: number, name?: string | null, createdBy?: string | null): number {
  return stateBytes + utf8Length(name) + utf8Length(createdBy) + VERSION_ROW_BYTES;
}

export type RetentionLimits = {
  maxAuto: number;
  maxBytes: number;
  maxNamed: number;
  maxNamedPerUser: number;
  maxBeforeRestore: number;
  writesPerMinute: number;
};
export const DEFAULT_RETENTION: RetentionLimits = {
  maxAuto: MAX_AUTO_VERSIONS,
  maxBytes: MAX_VERSION_BYTES,
  maxNamed: MAX_NAMED_VERSIONS,
  maxNamedPerUser: MAX_NAMED_VERSIONS_PER_USER,
  maxBeforeRestore: MAX_BEFORE_RESTORE_VERSIONS,
  writesPerMinute: VERSION_WRITES_PER_MINUTE,
};

/** A stored automatic or before-restore version, as retention sees it. */
export type PooledVersion = { id: string; createdAt: number; costBytes: number; createdBy?: string | null };

/**
 * What the store knows before a put. `autos` and `beforeRestores` are every version of those kinds (their
 * number is bounded by retention); named versions only as counts and sums (aggregates over an index).
 */
export type VersionUsage = {
  totalBytes: number;
  autos: readonly PooledVersion[];
  beforeRestores: readonly PooledVersion[];
  namedCount: number;
  /** Bytes of the named versions client tokens took (createdBy set). */
  clientNamedBytes: number;
  /** Named versions the incoming version's user holds (0 for a secret key). */
  userNamedCount: number;
};

/** The version about to be stored. `createdBy`: the client token's user; null for the secret key and the server. */
export type IncomingVersion = { kind: VersionKind; costBytes: number; createdBy: string | null };

export type PlanResult =
  | { ok: true; delete: string[] }
  | { ok: false; reason: "quota"; message: string }
  | { ok: false; reason: "too_large"; message: string; bytesNeeded: number; maxBytes: number };

const byAge = (a: PooledVersion, b: PooledVersion) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The automatic versions the age rule drops at `now` (THINNING), oldest first. */
export function thinByAge(autos: readonly PooledVersion[], now: number): string[] {
  const newestFirst = [...autos].sort(byAge).reverse();
  const seen = new Set<string>();
  const drop: string[] = [];
  for (const v of newestFirst) {
    const age = now - v.createdAt;
    const tier = THINNING.findIndex((t) => age < t.upToMs);
    const { everyMs } = THINNING[tier]!;
    if (everyMs === 0) continue;
    const bucket = `${tier}:${Math.floor(v.createdAt / everyMs)}`;
    if (seen.has(bucket)) drop.push(v.id);
    else seen.add(bucket);
  }
  return drop.reverse();
}

/**
 * Which of `autos` (oldest first) to give up next when room is short: the one closest in time to its
 * older neighbour, so what remains stays spread over time; never the oldest while another can go, and
 * never the newest when `keepNewest`. Undefined when none may go.
 */
export function nextAutoToThin(autos: readonly PooledVersion[], keepNewest: boolean): number | undefined {
  const n = keepNewest ? autos.length - 1 : autos.length;
  if (n <= 0) return undefined;
  if (n === 1) return 0;
  let best = 1;
  for (let i = 2; i < n; i++) if (autos[i]!.createdAt - autos[i - 1]!.createdAt < autos[best]!.createdAt - autos[best - 1]!.createdAt) best = i;
  return best;
}

/**
 * Which versions to delete so that `incoming` can be stored at `now`, or why it cannot (then nothing is
 * to be deleted). Always applies the age rule to automatic versions. See the rules above this.
 */
export function planPut(usage: VersionUsage, incoming: IncomingVersion, limits: RetentionLimits, now: number): PlanResult {
  const drop: string[] = [];
  let total = usage.totalBytes;
  const dropOne = (list: PooledVersion[], i: number) => {
    const [v] = list.splice(i, 1);
    drop.push(v!.id);
    total -= v!.costBytes;
  };
  const aged = new Set(thinByAge(usage.autos, now));
  const autos = usage.autos.filter((v) => !aged.has(v.id)).sort(byAge);
  for (const id of aged) drop.push(id);
  total -= usage.autos.filter((v) => aged.has(v.id)).reduce((n, v) => n + v.costBytes, 0);
  const beforeRestores = [...usage.beforeRestores].sort(byAge);
  const sum = (list: PooledVersion[]) => list.reduce((n, v) => n + v.costBytes, 0);
  const cost = incoming.costBytes;
  const tooLarge = (): PlanResult => ({
    ok: false,
    reason: "too_large",
    message: `versions of a document may hold at most ${limits.maxBytes} bytes; this one needs ${total + cost}`,
    bytesNeeded: total + cost,
    maxBytes: limits.maxBytes,
  });

  switch (incoming.kind) {
    case "auto": {
      if (limits.maxAuto < 1) return { ok: false, reason: "quota", message: "automatic versions are disabled (MAX_AUTO_VERSIONS is 0)" };
      const share = limits.maxBytes * AUTO_SHARE;
      // The incoming version is the newest: any older automatic version may give way to it (also past a
      // lowered MAX_AUTO_VERSIONS: only automatic versions enforce their count).
      while (autos.length > 0 && (autos.length + 1 > limits.maxAuto || sum(autos) + cost > share || total + cost > limits.maxBytes))
        dropOne(autos, nextAutoToThin(autos, false)!);
      if (total + cost > limits.maxBytes) return tooLarge();
      break;
    }
    case "before-restore": {
      const share = limits.maxBytes * BEFORE_RESTORE_SHARE;
      // Whoever restores pushes out their own oldest first (the secret key counts as one user): a
      // collaborator's restores cannot flush out everyone else's before-restore versions.
      const next = () =>
        Math.max(
          0,
          beforeRestores.findIndex((b) => (b.createdBy ?? null) === incoming.createdBy),
        );
      while (beforeRestores.length > 0 && (beforeRestores.length + 1 > limits.maxBeforeRestore || sum(beforeRestores) + cost > share))
        dropOne(beforeRestores, next());
      while (beforeRestores.length > 0 && total + cost > limits.maxBytes) dropOne(beforeRestores, next());
      for (let i = nextAutoToThin(autos, true); i !== undefined && total + cost > limits.maxBytes; i = nextAutoToThin(autos, true)) dropOne(autos, i);
      if (total + cost > limits.maxBytes) return tooLarge();
      break;
    }
    case "named": {
      if (usage.namedCount + 1 > limits.maxNamed)
        return { ok: false, reason: "quota", message: `a document holds at most ${limits.maxNamed} named versions (MAX_NAMED_VERSIONS); delete one first` };
      if (incoming.createdBy !== null) {
        if (usage.userNamedCount + 1 > limits.maxNamedPerUser)
          return {
            ok: false,
            reason: "quota",
            message: `a user holds at most ${limits.maxNamedPerUser} named versions of a document (MAX_NAMED_VERSIONS_PER_USER)`,
          };
        const share = Math.floor(limits.maxBytes * CLIENT_NAMED_SHARE);
        if (usage.clientNamedBytes + cost > share)
          return {
            ok: false,
            reason: "quota",
            message: `named versions taken with client tokens may hold at most ${share} bytes of a document's versions; this one needs ${usage.clientNamedBytes + cost}`,
          };
        // Never at the expense of history: nothing is evicted for a client's named version.
        if (total + cost > limits.maxBytes) return tooLarge();
      } else {
        for (let i = nextAutoToThin(autos, false); i !== undefined && total + cost > limits.maxBytes; i = nextAutoToThin(autos, false)) dropOne(autos, i);
        if (total + cost > limits.maxBytes) return tooLarge();
      }
      break;
    }
  }
  return { ok: true, delete: drop };
}

// ---- per-user rate of named versions and restores ----

/** A user's allowance: `tokens` left at time `at` (ms). Refills writesPerMinute a minute, up to as many. */
export type WriteBucket = { tokens: number; at: number };

export type SpendResult = { ok: true; bucket: WriteBucket } | { ok: false; retryAfterMs: number };

/** Spends one named version or restore from `bucket` (undefined: a full one) at `now`. */
export function spendVersionWrite(bucket: WriteBucket | undefined, now: number, writesPerMinute: number): SpendResult {
  const perMs = writesPerMinute / MINUTE;
  const elapsed = bucket ? Math.max(0, now - bucket.at) : Infinity;
  const tokens = Math.min(writesPerMinute, (bucket?.tokens ?? writesPerMinute) + elapsed * perMs);
  if (tokens >= 1) return { ok: true, bucket: { tokens: tokens - 1, at: now } };
  // The epsilon keeps a float just over a whole millisecond (2000.0000001) from rounding up.
  return { ok: false, retryAfterMs: Math.ceil((1 - tokens) / perMs - 1e-6) };
}
