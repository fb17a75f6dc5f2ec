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

/** `n` structs of `client` from clock 0, each after the previous one; the first at the start of root "a". */
export function craftChain(client: number, n: number, info: number, content: Struct): Uint8Array {
  const structs: Struct[] = [];
  for (let i = 0; i < n; i++) {
    structs.push((e) => {
      if (i === 0) {
        encoding.writeUint8(e, info);
        encoding.writeVarUint(e, 1);
        encoding.writeVarString(e, "a");
      } else {
        encoding.writeUint8(e, 0x80 | info);
        encoding.writeVarUint(e, client);
        encoding.writeVarUint(e, i - 1);
      }
      content(e);
    });
  }
  return craftUpdate([{ client, structs }]);
}

/**
 * `n` inserts by `client` (from `clock`), each naming an origin inside `textClient`'s text of `chars`
 * and no right origin, origins descending: each one makes Yjs walk everything to its right
 * (src/sync/merge-work.ts). The attacker's id must be above the text's for Yjs to keep walking.
 */
export function craftEndClaims(n: number, chars: number, { textClient = 1, client = 2, clock = 0 } = {}): Uint8Array {
  const structs: Struct[] = [];
  for (let i = n - 1; i >= 0; i--) {
    structs.push((e) => {
      encoding.writeUint8(e, 0x84); // origin only, string content
      encoding.writeVarUint(e, textClient);
      encoding.writeVarUint(e, Math.floor(((i + 0.5) * chars) / n));
      encoding.writeVarString(e, "y");
    });
  }
  return craftUpdate([{ client, clock, structs }]);
}
