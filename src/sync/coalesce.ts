/**
 * Releasing held messages (pure). While a write batch is pending, every outgoing message waits in the
 * room's outbox; when the batch is on disk the outbox is released here. A burst of N broadcast updates
 * to R connections would be N × R WebSocket sends; instead consecutive broadcast updates travel as one
 * message carrying `Y.mergeUpdates` of them, merged once for everyone who gets all of them (a writer
 * gets a merge of the others' updates only). Each connection still sees its messages in the order they
 * were held; any other message (a direct send, an awareness broadcast) ends a run.
 */
import * as Y from "yjs";
import { encodeUpdate, MessageType, SyncType } from "./protocol";

/** A run is cut at this many payload bytes, so a merged message stays far below the 32 MiB frame cap. */
export const MAX_MERGED_BYTES = 1 << 20;
/**
 * And at this many updates: `Y.mergeUpdates` re-sorts all its inputs for every struct it writes, so
 * its cost grows with the square of the run; short runs keep it linear and still cut sends 64-fold.
 */
export const MAX_MERGED_UPDATES = 64;

/** A message waiting for the write batch: to one connection, or to every connection but `except`. */
export interface Held<C> {
  message: Uint8Array;
  to?: C;
  except?: C;
}

/**
 * The update carried by a server-built `sync update` message (type 0, subtype 2, one length-prefixed
 * payload), or undefined for any other message.
 */
export function updatePayload(message: Uint8Array): Uint8Array | undefined {
  if (message.length < 3 || message[0] !== MessageType.sync || message[1] !== SyncType.update) return undefined;
  let len = 0;
  let shift = 0;
  let i = 2;
  for (;;) {
    if (i >= message.length || shift > 28) return undefined;
    const b = message[i++]!;
    len += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) break;
  }
  return i + len === message.length ? message.subarray(i) : undefined;
}

interface RunEntry<C> {
  held: Held<C>;
  update: Uint8Array;
}

/** One message for a run of updates: the single message itself, or the merge of them all. */
function merged<C>(entries: readonly RunEntry<C>[]): Uint8Array[] {
  if (entries.length === 1) return [entries[0]!.held.message];
  try {
    return [encodeUpdate(Y.mergeUpdates(entries.map((e) => e.update)))];
  } catch {
    // Only server-built updates get here; should Yjs still refuse to merge them, send them as they were.
    return entries.map((e) => e.held.message);
  }
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
    for (const e of entries) if (e.held.except !== undefined) origins.add(e.held.except);
    let all: Uint8Array[] | undefined;
    for (const conn of connections) {
      if (!origins.has(conn)) {
        all ??= merged(entries);
        for (const m of all) send(conn, m);
        continue;
      }
      const theirs = entries.filter((e) => e.held.except !== conn);
      if (theirs.length > 0) for (const m of merged(theirs)) send(conn, m);
    }
  };
  for (const h of held) {
    if (h.to === undefined) {
      const update = updatePayload(h.message);
      if (update) {
        if (runBytes + update.length > MAX_MERGED_BYTES || run.length === MAX_MERGED_UPDATES) endRun();
        run.push({ held: h, update });
        runBytes += update.length;
        continue;
      }
    }
    endRun();
    if (h.to !== undefined) send(h.to, h.message);
    else for (const conn of connections) if (conn !== h.except) send(conn, h.message);
  }
  endRun();
}
