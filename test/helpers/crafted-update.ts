/** Yjs v1 updates written byte by byte, as a hostile client would: for the update-cost tests and bench. */
import * as encoding from "lib0/encoding";

/** Writes one struct (info byte, origins or parent, content). */
export type Struct = (e: encoding.Encoder) => void;

/** A v1 update: struct groups per client, then a delete set of [clock, length] ranges per client. */
export function craftUpdate(groups: { client: number; clock?: number; structs: Struct[] }[], ds: { client: number; ranges: [number, number][] }[] = []) {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, groups.length);
  for (const g of groups) {
    encoding.writeVarUint(e, g.structs.length);
    encoding.writeVarUint(e, g.client);
    encoding.writeVarUint(e, g.clock ?? 0);
    for (const s of g.structs) s(e);
  }
  encoding.writeVarUint(e, ds.length);
  for (const d of ds) {
    encoding.writeVarUint(e, d.client);
    encoding.writeVarUint(e, d.ranges.length);
    for (const [clock, len] of d.ranges) {
      encoding.writeVarUint(e, clock);
      encoding.writeVarUint(e, len);
    }
  }
  return encoding.toUint8Array(e);
}
