// A simulated person whose awareness behaves as the stock y-websocket provider's (y-websocket.js): its
// own state is sent on connect, every change it applies (remote ones included) is sent back to the
// server (the echo), it renews its own state every 15 s and drops a peer not renewed for 30 s (the
// y-protocols Awareness's own timers). Used by W8 in the generator and in its observer process.
import * as encoding from "lib0/encoding";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import * as Y from "yjs";

const MSG_AWARENESS = 1;

export function awarenessFrame(payload) {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, MSG_AWARENESS);
  encoding.writeVarUint8Array(enc, payload);
  return encoding.toUint8Array(enc);
}

/**
 * Person `i`, connected through `open(opts)` (a YwsClient factory); `onApplied(holder, now)` after each
 * awareness message it applies. Resolves to `{ awareness, c }` once the client exists (not yet connected).
 */
export function stockClient(open, i, { doc, onUpdate, onApplied }) {
  const own = doc ?? new Y.Doc();
  const awareness = new Awareness(own);
  awareness.setLocalState({ user: { name: `user-${i}`, color: `#${((i * 2654435761) >>> 8).toString(16).padStart(6, "0").slice(0, 6)}` } });
  const holder = { awareness, c: undefined };
  return open({
    doc,
    onUpdate,
    onAwareness: (payload, now) => {
      applyAwarenessUpdate(awareness, payload, "server");
      onApplied?.(holder, now);
    },
  }).then((c) => {
    holder.c = c;
    // y-websocket.js: every applied change is re-broadcast, remote ones included.
    awareness.on("update", ({ added, updated, removed }) => c.send(awarenessFrame(encodeAwarenessUpdate(awareness, [...added, ...updated, ...removed]))));
    return holder;
  });
}

/** Sends the person's own state, as the stock provider does once connected. */
export function announce(h) {
  h.c.send(awarenessFrame(encodeAwarenessUpdate(h.awareness, [h.awareness.clientID])));
}

/** How many states (the person's own included) it holds. */
export const seen = (h) => h.awareness.getStates().size;

/** Spreads the renewal phases over y-protocols' 15 s, as a room of people who came at different times. */
export function spreadRenewals(people) {
  return people.map((h) => setTimeout(() => h.awareness.setLocalState(h.awareness.getLocalState()), Math.random() * 15_000));
}

/** Wall-clock milliseconds, comparable between processes on one machine. */
export const wallNow = (now = performance.now()) => performance.timeOrigin + now;
