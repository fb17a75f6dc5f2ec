/**
 * Editing traces from test/fixtures/traces (see its README): reading them (Node side) and replaying
 * them into Yjs (pure, runs anywhere).
 */
import * as Y from "yjs";

export type Patch = [position: number, deleted: number, inserted: string];
export interface SequentialTrace {
  startContent: string;
  endContent: string;
  txns: { patches: Patch[] }[];
}
export interface ConcurrentTrace {
  endContent: string;
  numAgents: number;
  txns: { parents: number[]; agent: number; patches: Patch[] }[];
}

/** Applies one transaction's patches to a Y.Text in one Yjs transaction. */
export function applyPatches(text: Y.Text, patches: Patch[]): void {
  const doc = text.doc!;
  doc.transact(() => {
    for (const [pos, del, ins] of patches) {
      if (del > 0) text.delete(pos, del);
      if (ins.length > 0) text.insert(pos, ins);
    }
  });
}

export interface AgentUpdate {
  update: Uint8Array;
  /** The state (client → clock) the agent's document had seen when it made this edit. */
  needs: Map<number, number>;
}

/** True when `doc` holds at least the state `needs` names: the edit can be applied without pending parts. */
export function covers(doc: Y.Doc, needs: Map<number, number>): boolean {
  for (const [client, clock] of needs) if (Y.getState(doc.store, client) < clock) return false;
  return true;
}

/**
 * Replays a concurrent trace the way it happened: each transaction is applied to a document holding
 * exactly its parents' history. Returns, per agent, that agent's Yjs updates in order, each with the
 * state it depends on.
 */
export function concurrentUpdatesByAgent(trace: ConcurrentTrace, textName = "text"): AgentUpdate[][] {
  const updates: Uint8Array[] = new Array(trace.txns.length);
  const docs: { doc: Y.Doc; applied: Set<number> }[] = [];
  // Yjs orders concurrent inserts at one position by client id. The recorded endContent is what the
  // original editor produced; Yjs reproduces it when agent 0 has the lower id, so ids are fixed, not random.
  for (let a = 0; a < trace.numAgents; a++) {
    const doc = new Y.Doc();
    doc.clientID = 1000 + a;
    docs.push({ doc, applied: new Set() });
  }
  const perAgent: AgentUpdate[][] = docs.map(() => []);
  trace.txns.forEach((txn, i) => {
    const agent = docs[txn.agent]!;
    // Everything in the transaction's causal history that this agent's document has not seen yet.
    const missing: number[] = [];
    const stack = [...txn.parents];
    const seen = new Set<number>();
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (seen.has(p) || agent.applied.has(p)) continue;
      seen.add(p);
      missing.push(p);
      stack.push(...trace.txns[p]!.parents);
    }
    missing.sort((x, y) => x - y);
    for (const p of missing) {
      Y.applyUpdate(agent.doc, updates[p]!);
      agent.applied.add(p);
    }
    const before = Y.encodeStateVector(agent.doc);
    applyPatches(agent.doc.getText(textName), txn.patches);
    updates[i] = Y.encodeStateAsUpdate(agent.doc, before);
    agent.applied.add(i);
    perAgent[txn.agent]!.push({ update: updates[i]!, needs: Y.decodeStateVector(before) });
  });
  return perAgent;
}
