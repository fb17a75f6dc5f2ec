/**
 * The alarm duty that folds a long log tail into the snapshot once editing pauses, so the next cold start
 * answers fresh clients straight from storage (sync/cold-start.ts). Only when the document is in memory
 * anyway: after a restart, loading every object with an overdue alarm would stall them all.
 */
import type { Duty } from "./alarms";
import type { RoomParts } from "./parts";

export const IDLE_BEFORE_COMPACT_MS = 5_000;
/** Log entries left uncompacted when a document goes idle, so a cold start sends few messages. */
export const COLD_TAIL = 16;

export function idleCompaction(parts: RoomParts, lastChangeAt: () => number): Duty {
  return {
    name: "idle compaction",
    run: (now) => {
      if (parts.store.logCount <= COLD_TAIL || !parts.core.isLoaded) return Infinity;
      if (now - lastChangeAt() < IDLE_BEFORE_COMPACT_MS) return now + IDLE_BEFORE_COMPACT_MS;
      parts.core.maybeCompact(true);
      return Infinity;
    },
  };
}
