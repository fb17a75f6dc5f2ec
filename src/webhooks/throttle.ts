/**
 * Coalescing of `document.updated` per document and endpoint. Pure. The document's object records every
 * commit as a change sequence number; per endpoint it remembers the last sequence sent and when. A change
 * after a quiet period goes at once (the object's alarm runs 1–5 s after it); later ones wait
 * until `throttleMs` after the previous send, and the event then carries the latest state.
 */

export interface Sent {
  /** The change sequence number the last event to this endpoint covered (0: none yet). */
  seq: number;
  /** When it was sent (epoch ms; 0: never). */
  at: number;
}

export type Decision = { kind: "idle" } | { kind: "send" } | { kind: "wait"; until: number };

export function decide(changeSeq: number, sent: Sent, now: number, throttleMs: number): Decision {
  if (sent.seq >= changeSeq) return { kind: "idle" };
  const until = sent.at + throttleMs;
  return now >= until ? { kind: "send" } : { kind: "wait", until };
}
