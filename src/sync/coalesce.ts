/**
 * Releasing held messages (pure). While a write batch is pending, everything outgoing waits in the
 * room's outbox; when the batch is on disk the outbox is released here. A burst of N broadcast updates
 * to R connections would be N × R WebSocket sends; instead consecutive broadcast updates travel as one
 * message carrying `Y.mergeUpdates` of them (groups of at most 64 updates or 16 KiB), merged once for
 * everyone who gets all of them (a writer
 * gets a merge of the others' updates only). Each connection still sees its messages in the order they
 * were held; any other message (a direct send, an awareness broadcast) ends a run.
 */
import * as Y from "yjs";
import { encodeUpdate } from "./frames";

/**
 * Merge groups (here and on the cold path) end at this many updates: `Y.mergeUpdates` re-sorts all its
 * inputs for every struct it writes, so its cost grows with the square of the group; short groups keep
 * it linear and still cut messages 64-fold.
 */
export const MERGE_MAX_UPDATES = 64;
/** And before this many bytes: a big update (a paste, a snapshot) travels alone, as it is. */
export const MERGE_MAX_BYTES = 16 * 1024;

/** Whether `next` must start a new merge group after `count` updates of `bytes` bytes. */
export function endsGroup(count: number, bytes: number, next: Uint8Array): boolean {
  return count > 0 && (count === MERGE_MAX_UPDATES || bytes + next.length > MERGE_MAX_BYTES);
}

/** The updates merged into one; as they were, should Yjs refuse to merge them (never fatal). */
export function mergeOrKeep(updates: readonly Uint8Array[]): Uint8Array[] {
  if (updates.length === 1) return [updates[0]!];
  try {
    return [Y.mergeUpdates(updates as Uint8Array[])];
  } catch {
    return [...updates];
  }
}

/**
 * Something waiting for the write batch: a message to one connection (`to`) or to every connection
 * but `except`; or a Yjs update for every connection but `except`, encoded only if it travels alone.
 */
export type Held<C> = { message: Uint8Array; to?: C; except?: C; update?: undefined } | { update: Uint8Array; except?: C; message?: undefined; to?: undefined };

interface RunEntry<C> {
  update: Uint8Array;
  except: C | undefined;
  /** The update as a message, built once if it travels alone. */
  message?: Uint8Array;
}

const alone = <C>(e: RunEntry<C>): Uint8Array => (e.message ??= encodeUpdate(e.update));

/** The messages for a run of updates: the single update's message, or one message merging them all. */
function merged<C>(entries: readonly RunEntry<C>[]): Uint8Array[] {
  if (entries.length === 1) return [alone(entries[0]!)];
  return mergeOrKeep(entries.map((e) => e.update)).map(encodeUpdate);
}

/**
 * Sends `held` in order through `send`, with each run of broadcast updates merged. `connections` are
 * the recipients of broadcasts now (a connection that joined after a broadcast was held gets it too:
 * a duplicate update is harmless, and its own sync answer follows).
 */
export function release<C>(held: readonly Held<C>[], connections: readonly C[], send: (conn: C, message: Uint8Array) => void): void {
  let run: RunEntry<C>[] = [];
  let runBytes = 0;
  const endRun = (): void => {
    if (run.length === 0) return;
    const entries = run;
    run = [];
    runBytes = 0;
    const origins = new Set<C>();
    for (const e of entries) if (e.except !== undefined) origins.add(e.except);
    let all: Uint8Array[] | undefined;
    for (const conn of connections) {
      if (!origins.has(conn)) {
        all ??= merged(entries);
        for (const m of all) send(conn, m);
        continue;
      }
      const theirs = entries.filter((e) => e.except !== conn);
      if (theirs.length > 0) for (const m of merged(theirs)) send(conn, m);
    }
  };
  for (const h of held) {
    if (h.update !== undefined) {
      if (endsGroup(run.length, runBytes, h.update)) endRun();
      run.push({ update: h.update, except: h.except });
      runBytes += h.update.length;
      continue;
    }
    endRun();
    if (h.to !== undefined) send(h.to, h.message);
    else for (const conn of connections) if (conn !== h.except) send(conn, h.message);
  }
  endRun();
}
