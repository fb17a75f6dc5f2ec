import { describe, expect, it } from "vitest";
import { pickRelay, RELAY_TARGET_FILL, type RelayPlanLimits, relaysWanted } from "../../../src/sync/relay-plan";
import { prng } from "../../helpers/fuzz";

/** The deployed defaults (src/room/limits.ts), a small set, and odd numbers. */
const LIMITS: RelayPlanLimits[] = [
  { relayAfter: 500, perRelay: 500, maxRelays: 200 },
  { relayAfter: 500, perRelay: 1000, maxRelays: 8 },
  { relayAfter: 4, perRelay: 4, maxRelays: 3 },
  { relayAfter: 7, perRelay: 3, maxRelays: 5 },
];
const name = (l: RelayPlanLimits) => `after ${l.relayAfter}, ${l.perRelay} a relay, at most ${l.maxRelays}`;

/** Average fill of `relays` relays holding `sockets`. */
const fill = (sockets: number, relays: number, l: RelayPlanLimits) => sockets / (relays * l.perRelay);

/**
 * An audience growing one connection at a time, as the authority sees it: each new connection past its
 * own share asks for a plan (before it is counted) and then joins a relay.
 */
function grow(l: RelayPlanLimits, relayedUpTo: number) {
  const steps: { relayed: number; before: number; wanted: number }[] = [];
  let published = 0;
  for (let relayed = 0; relayed <= relayedUpTo; relayed++) {
    const wanted = relaysWanted(l.relayAfter, relayed, published, l);
    steps.push({ relayed, before: published, wanted });
    published = wanted;
  }
  return steps;
}

describe("relaysWanted", () => {
  for (const l of LIMITS) {
    describe(name(l), () => {
      it("no relays while the authority has room and nobody is relayed", () => {
        for (let direct = 0; direct < l.relayAfter; direct++) expect(relaysWanted(direct, 0, 0, l)).toBe(0);
      });

      it("one relay once the authority is full", () => {
        expect(relaysWanted(l.relayAfter, 0, 0, l)).toBe(1);
        expect(relaysWanted(l.relayAfter + 1, 0, 0, l)).toBe(1);
        expect(relaysWanted(l.relayAfter * 3, 0, 0, l)).toBe(1);
      });

      it(`grows so the relays stay at most ${RELAY_TARGET_FILL * 100}% full on average, with no relay more than that needs`, () => {
        const capAt = Math.floor(l.maxRelays * l.perRelay * RELAY_TARGET_FILL);
        for (const { relayed, before, wanted } of grow(l, capAt + l.perRelay)) {
          expect(wanted).toBeGreaterThanOrEqual(1);
          expect(wanted).toBeLessThanOrEqual(l.maxRelays);
          expect(wanted).toBeGreaterThanOrEqual(before);
          if (wanted < l.maxRelays) {
            // The connection being placed fits under the target…
            expect(fill(relayed + 1, wanted, l)).toBeLessThanOrEqual(RELAY_TARGET_FILL);
          }
          if (wanted > Math.max(1, before)) {
            // …and one relay fewer would not have done.
            expect(fill(relayed + 1, wanted - 1, l)).toBeGreaterThan(RELAY_TARGET_FILL);
          }
        }
      });

      it("grows one relay at a time as the audience grows one at a time", () => {
        const steps = grow(l, l.maxRelays * l.perRelay);
        for (const s of steps) expect(s.wanted - s.before).toBeLessThanOrEqual(1);
        expect(steps.at(-1)!.wanted).toBe(l.maxRelays);
      });

      it(`never more than ${l.maxRelays}, however large the audience`, () => {
        for (const relayed of [l.maxRelays * l.perRelay, l.maxRelays * l.perRelay * 10, 1e9]) {
          expect(relaysWanted(l.relayAfter, relayed, 0, l)).toBe(l.maxRelays);
          expect(relaysWanted(0, relayed, l.maxRelays, l)).toBe(l.maxRelays);
        }
      });

      it("never shrinks while any socket is relayed, whatever the authority holds", () => {
        const rng = prng(l.relayAfter * 31 + l.perRelay);
        for (let i = 0; i < 5000; i++) {
          const current = rng.int(l.maxRelays + 1);
          const relayed = 1 + rng.int(l.maxRelays * l.perRelay);
          const direct = rng.int(l.relayAfter * 2 + 1);
          expect(relaysWanted(direct, relayed, current, l)).toBeGreaterThanOrEqual(current);
        }
        // The last relayed socket, on a document whose authority has emptied.
        expect(relaysWanted(0, 1, l.maxRelays, l)).toBe(l.maxRelays);
      });

      it("with nobody relayed, keeps its relays while the authority is at least half full, and drops to none below", () => {
        const current = Math.min(3, l.maxRelays);
        for (let direct = l.relayAfter * 2; direct >= 0; direct--) {
          const wanted = relaysWanted(direct, 0, current, l);
          if (direct * 2 >= l.relayAfter) expect(wanted).toBe(current);
          else expect(wanted).toBe(0);
        }
      });

      it("does not flap: leaving, the count holds down to half, and coming back it stays at none until the authority is full", () => {
        // The audience leaves: relays empty first, then the authority.
        let published = l.maxRelays;
        const seen: number[] = [];
        for (let direct = l.relayAfter; direct >= 0; direct--) {
          published = relaysWanted(direct, 0, published, l);
          seen.push(published);
        }
        expect(published).toBe(0);
        // Once none, never back up on the way down.
        expect(seen.slice(seen.indexOf(0)).every((n) => n === 0)).toBe(true);
        // The audience comes back: no relay until the authority is full again.
        for (let direct = 0; direct < l.relayAfter; direct++) {
          published = relaysWanted(direct, 0, published, l);
          expect(published).toBe(0);
        }
        expect(relaysWanted(l.relayAfter, 0, published, l)).toBe(1);
      });
    });
  }
});

describe("pickRelay", () => {
  const edges = [0, Number.MIN_VALUE, 0.25, 0.5, 0.75, 0.999999, 1 - Number.EPSILON / 2];

  it("is a relay that exists for any number in [0, 1), including the largest below 1", () => {
    const rng = prng(0x9e1a);
    for (let relays = 1; relays <= 300; relays++) {
      for (const r of [...edges, ...Array.from({ length: 50 }, () => rng.next())]) {
        const k = pickRelay(relays, r);
        expect(Number.isInteger(k)).toBe(true);
        expect(k).toBeGreaterThanOrEqual(0);
        expect(k).toBeLessThan(relays);
      }
    }
  });

  it("0 picks the first relay and 0.999999 the last", () => {
    for (const relays of [1, 2, 7, 200, 1000]) {
      expect(pickRelay(relays, 0)).toBe(0);
      expect(pickRelay(relays, 0.999999)).toBe(relays - 1);
      expect(pickRelay(relays, 1 - Number.EPSILON / 2)).toBe(relays - 1);
    }
  });

  it("spreads evenly: a uniform sweep of [0, 1) gives every relay the same share, give or take one", () => {
    for (const relays of [1, 3, 7, 10, 200]) {
      const per = 1000;
      const counts = new Array<number>(relays).fill(0);
      for (let i = 0; i < relays * per; i++) counts[pickRelay(relays, i / (relays * per))]!++;
      for (const c of counts) expect(Math.abs(c - per)).toBeLessThanOrEqual(1);
    }
  });

  it("never decreases as the random number grows", () => {
    for (const relays of [2, 5, 200]) {
      let last = 0;
      for (let i = 0; i < 10_000; i++) {
        const k = pickRelay(relays, i / 10_000);
        expect(k).toBeGreaterThanOrEqual(last);
        last = k;
      }
    }
  });
});
