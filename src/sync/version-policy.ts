/**
 * When a document takes an automatic version, and which versions retention deletes. Pure: times are
 * milliseconds passed in, sizes are bytes; the object keeps the state and schedules its alarm from it.
 */

/** At most one automatic version per this many seconds of editing. */
export const VERSION_INTERVAL_SECONDS = 600;
/** An editing burst has ended when nothing changed for this long: the automatic version is taken then. */
export const VERSION_IDLE_SECONDS = 60;
/** Automatic versions kept (auto and before-restore together); older ones are pruned first. */
export const MAX_AUTO_VERSIONS = 100;
/** All of a document's versions together, in bytes of Yjs state. */
export const MAX_VERSION_BYTES = 64 * 1024 * 1024;

/**
 * `named`: taken on request, kept until deleted. `auto`: taken by the rule below. `before-restore`: taken
 * just before a restore so it can be undone; automatic for retention, its own kind so a UI can say what
 * it is and a list can filter it.
 */
export type VersionKind = "named" | "auto" | "before-restore";

export const isAutomatic = (kind: VersionKind): boolean => kind !== "named";

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

// ---- retention ----

export type RetentionLimits = { maxAuto: number; maxBytes: number };
export const DEFAULT_RETENTION: RetentionLimits = { maxAuto: MAX_AUTO_VERSIONS, maxBytes: MAX_VERSION_BYTES };

/** What retention needs of a stored version. Oldest first is by createdAt, then id. */
export type RetainedVersion = { id: string; kind: VersionKind; createdAt: number; sizeBytes: number };

export type PruneResult =
  | { ok: true; delete: string[] }
  | { ok: false; reason: "too_large"; message: string; bytesNeeded: number; maxBytes: number }
  | { ok: false; reason: "no_room"; message: string };

/**
 * Which versions to delete so that `existing` plus `incoming` (the version about to be stored, if any)
 * fit the limits: automatic versions only, oldest first, first down to maxAuto of them, then until the
 * bytes fit. Named versions are never pruned: an incoming version that cannot fit even with every
 * automatic version gone is refused, and then nothing is to be deleted (the caller stores nothing).
 */
export function prune(
  existing: readonly RetainedVersion[],
  incoming?: { kind: VersionKind; sizeBytes: number },
  limits: RetentionLimits = DEFAULT_RETENTION,
): PruneResult {
  if (incoming && isAutomatic(incoming.kind) && limits.maxAuto < 1)
    return { ok: false, reason: "no_room", message: "automatic versions are disabled (maxAuto is 0)" };
  const autos = existing.filter((v) => isAutomatic(v.kind)).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let autoCount = autos.length + (incoming && isAutomatic(incoming.kind) ? 1 : 0);
  let bytes = existing.reduce((n, v) => n + v.sizeBytes, 0) + (incoming?.sizeBytes ?? 0);
  let cut = 0;
  while (cut < autos.length && (autoCount > limits.maxAuto || bytes > limits.maxBytes)) {
    bytes -= autos[cut]!.sizeBytes;
    autoCount--;
    cut++;
  }
  if (bytes > limits.maxBytes) {
    if (!incoming) return { ok: true, delete: autos.map((v) => v.id) }; // named ones alone exceed a lowered cap: they stay
    return {
      ok: false,
      reason: "too_large",
      message: `versions of a document may hold at most ${limits.maxBytes} bytes; this one needs ${bytes} with every automatic version pruned`,
      bytesNeeded: bytes,
      maxBytes: limits.maxBytes,
    };
  }
  return { ok: true, delete: autos.slice(0, cut).map((v) => v.id) };
}
