import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { FEED_RING_BYTES, FEED_RING_ENTRIES, FeedCursor, FeedRing } from "../../../src/sync/relay-feed";
import { isEmptyUpdate } from "../../../src/sync/frames";
import { prng, type Rng } from "../../helpers/fuzz";

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const bytes = (n: number, fill = 0) => new Uint8Array(n).fill(fill);

/** A ring holding `n` pushes of `size` bytes each (the i-th filled with i & 0xff, to tell them apart). */
function ringOf(n: number, size = 1, epoch = "e1"): FeedRing {
  const ring = new FeedRing(epoch);
  for (let i = 1; i <= n; i++) ring.push(bytes(size, i & 0xff));
  return ring;
}

/** The oldest number `since` can still answer from (everything after it is in the ring). */
function oldestAnswerable(ring: FeedRing): number {
  let s = ring.seq;
  while (s > 0 && ring.since(ring.epoch, s - 1) !== undefined) s--;
  return s;
}

describe("FeedRing", () => {
  it("numbers pushes 1, 2, 3… within its epoch and hands back the update it was given", () => {
    const ring = new FeedRing("e1");
    expect(ring.seq).toBe(0);
    const updates = [bytes(1, 7), bytes(2, 8), bytes(3, 9)];
    const entries = updates.map((u) => ring.push(u));
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries.map((e) => e.update)).toEqual(updates);
    expect(entries[1]!.update).toBe(updates[1]);
    expect(ring.seq).toBe(3);
    expect(ring.epoch).toBe("e1");
  });

  it("a new ring (a restarted authority) numbers from 1 again under its own epoch", () => {
    const a = ringOf(5, 1, "a");
    const b = new FeedRing("b");
    expect(b.push(bytes(1)).seq).toBe(1);
    expect(a.since("b", 0)).toBeUndefined();
    expect(b.since("a", 1)).toBeUndefined();
  });

  it("since: [] for a relay that is current, including an empty ring asked about 0", () => {
    expect(new FeedRing("e1").since("e1", 0)).toEqual([]);
    expect(ringOf(3).since("e1", 3)).toEqual([]);
  });

  it("since: exactly the entries after the number, oldest first, for a relay behind", () => {
    const ring = new FeedRing("e1");
    const updates = Array.from({ length: 6 }, (_, i) => bytes(i + 1, i + 1));
    for (const u of updates) ring.push(u);
    for (let s = 0; s <= 6; s++) {
      const got = ring.since("e1", s)!;
      expect(got).toHaveLength(6 - s);
      got.forEach((u, i) => {
        expect(u).toBe(updates[s + i]);
      });
    }
  });

  it("since: undefined for another epoch, whatever the number", () => {
    const ring = ringOf(4);
    for (const s of [0, 1, 3, 4, 5]) {
      expect(ring.since("other", s)).toBeUndefined();
      expect(ring.since("", s)).toBeUndefined();
    }
  });

  it("since: undefined for a number the ring never gave", () => {
    expect(new FeedRing("e1").since("e1", 1)).toBeUndefined();
    const ring = ringOf(4);
    expect(ring.since("e1", 5)).toBeUndefined();
    expect(ring.since("e1", 1e9)).toBeUndefined();
  });

  it(`keeps the last ${FEED_RING_ENTRIES} entries: a relay further behind gets undefined`, () => {
    const extra = 37;
    const ring = ringOf(FEED_RING_ENTRIES + extra);
    const oldest = oldestAnswerable(ring);
    // Everything after `oldest` is still there, and it is exactly the entry bound.
    expect(ring.seq - oldest).toBe(FEED_RING_ENTRIES);
    const all = ring.since("e1", oldest)!;
    expect(all).toHaveLength(FEED_RING_ENTRIES);
    expect(all[0]![0]).toBe((oldest + 1) & 0xff);
    expect(all.at(-1)![0]).toBe(ring.seq & 0xff);
    for (const s of [0, 1, oldest - 1]) expect(ring.since("e1", s)).toBeUndefined();
  });

  it("a ring exactly at its entry bound still answers from 0", () => {
    const ring = ringOf(FEED_RING_ENTRIES);
    expect(ring.since("e1", 0)).toHaveLength(FEED_RING_ENTRIES);
    ring.push(bytes(1));
    expect(ring.since("e1", 0)).toBeUndefined();
    expect(ring.since("e1", 1)).toHaveLength(FEED_RING_ENTRIES);
  });

  it(`keeps at most ${FEED_RING_BYTES} bytes: the oldest go first, and no more than need to`, () => {
    const rng = prng(0xfeed);
    const ring = new FeedRing("e1");
    const sizes: number[] = [0];
    for (let i = 1; i <= 200; i++) {
      const size = 1 + rng.int(FEED_RING_BYTES / 8);
      sizes.push(size);
      ring.push(bytes(size, i & 0xff));
      const oldest = oldestAnswerable(ring);
      const kept = ring.since("e1", oldest)!;
      const keptBytes = kept.reduce((n, u) => n + u.length, 0);
      expect(kept).toHaveLength(i - oldest);
      expect(keptBytes).toBeLessThanOrEqual(FEED_RING_BYTES);
      // The entry just pushed out would not have fit.
      if (oldest > 0) expect(keptBytes + sizes[oldest]!).toBeGreaterThan(FEED_RING_BYTES);
    }
  });

  it("an entry larger than the byte bound is kept alone until the next push", () => {
    const ring = ringOf(3, 10);
    const big = bytes(FEED_RING_BYTES + 1, 0xbb);
    ring.push(big);
    const alone = ring.since("e1", 3)!;
    expect(alone).toHaveLength(1);
    expect(alone[0]).toBe(big);
    expect(ring.since("e1", 2)).toBeUndefined();
    const small = bytes(5, 0x55);
    ring.push(small);
    const after = ring.since("e1", 4)!;
    expect(after).toHaveLength(1);
    expect(after[0]).toBe(small);
    expect(ring.since("e1", 3)).toBeUndefined();
    expect(ring.since("e1", 5)).toEqual([]);
  });
});

describe("FeedCursor", () => {
  it("a new cursor knows no epoch: the first feed is a gap, and it waits", () => {
    const c = new FeedCursor();
    expect(c.waiting).toBe(false);
    expect(c.onFeed("e1", 1)).toBe("gap");
    expect(c.waiting).toBe(true);
  });

  it("applies the next number in order, and drops what it already has", () => {
    const c = new FeedCursor();
    c.caughtUp("e1", 3);
    expect(c.onFeed("e1", 4)).toBe("apply");
    expect(c.onFeed("e1", 5)).toBe("apply");
    expect(c.seq).toBe(5);
    for (const s of [5, 4, 1, 0]) expect(c.onFeed("e1", s)).toBe("drop");
    expect(c.seq).toBe(5);
    expect(c.waiting).toBe(false);
    expect(c.onFeed("e1", 6)).toBe("apply");
  });

  it("a number past the next is a gap: it waits, and drops everything until it has caught up", () => {
    const c = new FeedCursor();
    c.caughtUp("e1", 3);
    expect(c.onFeed("e1", 5)).toBe("gap");
    expect(c.waiting).toBe(true);
    expect(c.seq).toBe(3);
    // Even the number it was missing, and the next gap: one question is out.
    for (const s of [4, 5, 6, 9]) expect(c.onFeed("e1", s)).toBe("drop");
    expect(c.onFeed("e2", 1)).toBe("drop");
    expect(c.seq).toBe(3);
    c.caughtUp("e1", 6);
    expect(c.waiting).toBe(false);
    expect(c.onFeed("e1", 6)).toBe("drop");
    expect(c.onFeed("e1", 7)).toBe("apply");
  });

  it("another epoch is a gap, whatever its number (a restarted authority numbers from 1 again)", () => {
    for (const s of [0, 1, 2, 3, 4, 100]) {
      const c = new FeedCursor();
      c.caughtUp("e1", 3);
      expect(c.onFeed("e2", s)).toBe("gap");
      expect(c.waiting).toBe(true);
    }
  });

  it("asked(): feed waits for the answer, even the next number", () => {
    const c = new FeedCursor();
    c.caughtUp("e1", 3);
    c.asked();
    expect(c.waiting).toBe(true);
    expect(c.onFeed("e1", 4)).toBe("drop");
    expect(c.seq).toBe(3);
    c.caughtUp("e1", 4);
    expect(c.onFeed("e1", 5)).toBe("apply");
  });

  it("caughtUp takes the answer's epoch and number, even a lower number of a new epoch", () => {
    const c = new FeedCursor();
    c.caughtUp("e1", 40);
    c.asked();
    c.caughtUp("e2", 2);
    expect([c.epoch, c.seq, c.waiting]).toEqual(["e2", 2, false]);
    expect(c.onFeed("e1", 41)).toBe("gap");
    c.caughtUp("e2", 2);
    expect(c.onFeed("e2", 3)).toBe("apply");
  });
});

/**
 * The authority, its link and a relay, simulated: a Y.Doc typed into (each transaction one push), a down
 * channel that drops, duplicates and reorders feed messages, and a relay whose cursor asks on every gap. The
 * authority answers an ask (possibly much later, after more pushes) with ring.since(...) merged, or with a
 * state-vector diff when the ring cannot say. What reaches the relay's sockets is checked piece by piece.
 */
type Down = { kind: "feed"; epoch: string; seq: number; update: Uint8Array } | { kind: "answer"; epoch: string; seq: number; forward: Uint8Array };

function simulate(seed: number, pushes: number) {
  const rng: Rng = prng(seed);
  const source = new Y.Doc();
  source.clientID = 1;
  const text = source.getText("t");
  let lastUpdate: Uint8Array | undefined;
  source.on("update", (u: Uint8Array) => {
    lastUpdate = u;
  });

  let ring = new FeedRing(`epoch-${seed}-0`);
  let restarts = 0;
  /** Every push in order, as "epoch:seq", and where each epoch's numbering starts in that list. */
  const pushed: string[] = [];
  const epochStart = new Map<string, number>([
    ["", 0],
    [ring.epoch, 0],
  ]);
  /** Where "after `seq` of `epoch`" is in `pushed`: the index of the next push. */
  const after = (epoch: string, seq: number) => epochStart.get(epoch)! + seq;

  const replica = new Y.Doc();
  const cursor = new FeedCursor();
  /** What reached the relay's sockets, in order, as the "epoch:seq" numbers each piece covers. */
  const delivered: string[] = [];
  const stats = { applied: 0, dropped: 0, gaps: 0, ringAnswers: 0, fullAnswers: 0, pushedOut: 0 };

  let channel: Down[] = [];
  /** The relay's question, waiting for the authority: answered after `delay` more steps. */
  let ask: { epoch: string; seq: number; delay: number; stall: boolean } | undefined;

  const reachSockets = (update: Uint8Array, covers: string[]) => {
    // No duplicate reaches a socket: every client's part starts exactly where the replica is.
    const sv = Y.decodeStateVector(Y.encodeStateVector(replica));
    const meta = Y.parseUpdateMeta(update);
    for (const [client, from] of meta.from) expect(from, `piece covering ${covers.join(",")} overlaps or skips`).toBe(sv.get(client) ?? 0);
    Y.applyUpdate(replica, update);
    delivered.push(...covers);
  };

  /** Steps after which the next question stalls past the ring's entry bound, so the ring pushes out what the relay missed. */
  const stalls = [pushes / 4, (pushes * 3) / 5];
  let step = 0;
  const askNow = () => {
    const stall = stalls[0] !== undefined && step >= stalls[0];
    if (stall) stalls.shift();
    const delay = stall ? FEED_RING_ENTRIES + rng.int(200) : rng.bool(0.8) ? rng.int(3) : rng.int(40);
    ask = { epoch: cursor.epoch, seq: cursor.seq, delay, stall };
  };

  const answer = (q: { epoch: string; seq: number }) => {
    const covered = ring.since(q.epoch, q.seq);
    let forward: Uint8Array;
    if (covered) {
      stats.ringAnswers++;
      forward = covered.length > 0 ? Y.mergeUpdates(covered) : new Uint8Array();
    } else {
      stats.fullAnswers++;
      if (q.epoch === ring.epoch) stats.pushedOut++;
      const diff = Y.encodeStateAsUpdate(source, Y.encodeStateVector(replica));
      // As the authority does: nothing missed is sent as nothing.
      forward = isEmptyUpdate(diff) ? new Uint8Array() : diff;
    }
    // In link order: after every feed message already sent.
    channel.push({ kind: "answer", epoch: ring.epoch, seq: ring.seq, forward });
  };

  const receive = (m: Down) => {
    if (m.kind === "answer") {
      // What the answer covers: every push after the cursor's position, up to the answer's number.
      const covers = pushed.slice(after(cursor.epoch, cursor.seq), after(m.epoch, m.seq));
      if (m.forward.length > 0) reachSockets(m.forward, covers);
      else expect(covers).toEqual([]);
      cursor.caughtUp(m.epoch, m.seq);
      return;
    }
    const step = cursor.onFeed(m.epoch, m.seq);
    if (step === "apply") {
      stats.applied++;
      reachSockets(m.update, [`${m.epoch}:${m.seq}`]);
    } else if (step === "gap") {
      stats.gaps++;
      askNow();
    } else stats.dropped++;
  };

  const push = () => {
    const len = text.length;
    if (len > 20 && rng.bool(0.15)) text.delete(rng.int(len - 5), 1 + rng.int(4));
    else if (rng.bool(0.001)) text.insert(rng.int(len + 1), "x".repeat(FEED_RING_BYTES / 4));
    else text.insert(rng.int(len + 1), String.fromCharCode(97 + rng.int(26)).repeat(1 + rng.int(5)));
    const entry = ring.push(lastUpdate!);
    pushed.push(`${ring.epoch}:${entry.seq}`);
    const copies = rng.bool(0.1) ? 0 : rng.bool(0.05) ? 2 : 1;
    for (let i = 0; i < copies; i++) channel.push({ kind: "feed", epoch: ring.epoch, seq: entry.seq, update: entry.update });
  };

  const deliverOne = (faults: boolean) => {
    if (channel.length === 0) return;
    const i = faults && rng.bool(0.15) ? rng.int(channel.length) : 0;
    const [m] = channel.splice(i, 1);
    receive(m!);
  };

  // The relay connects: it asks before it takes any feed.
  cursor.asked();
  askNow();
  for (; step < pushes; step++) {
    push();
    const deliveries = rng.int(4);
    for (let k = 0; k < deliveries; k++) deliverOne(true);
    if (ask && ask.delay-- <= 0) {
      const q = ask;
      ask = undefined;
      answer(q);
    }
    // A restarted authority: a new epoch, a new link (what was in flight is gone), and the relay asks again.
    // Not during a stall, which is there to be answered by the ring that pushed entries out.
    if (!ask?.stall && rng.bool(0.0005)) {
      restarts++;
      ring = new FeedRing(`epoch-${seed}-${restarts}`);
      epochStart.set(ring.epoch, pushed.length);
      channel = [];
      cursor.asked();
      askNow();
    }
  }
  // Quiet: everything in flight arrives, every question is answered.
  while (channel.length > 0 || ask) {
    while (channel.length > 0) deliverOne(false);
    if (ask) {
      const q = ask;
      ask = undefined;
      answer(q);
    }
  }
  // The last feed messages may have been lost with nothing after them to show the gap: the next link's ask finds them.
  if (cursor.epoch !== ring.epoch || cursor.seq !== ring.seq) {
    cursor.asked();
    answer({ epoch: cursor.epoch, seq: cursor.seq });
    deliverOne(false);
  }
  return { source, replica, cursor, ring, pushed, delivered, stats, restarts };
}

describe("feed through a lossy link (property)", () => {
  for (const seed of [1, 2, 3, 0xc0ffee, 0x5eed]) {
    it(`seed ${seed}: the sockets get every push exactly once, in order, and the replica equals the source`, () => {
      const { source, replica, cursor, ring, pushed, delivered, stats } = simulate(seed, 4000);
      expect(cursor.waiting).toBe(false);
      expect([cursor.epoch, cursor.seq]).toEqual([ring.epoch, ring.seq]);
      expect(delivered).toEqual(pushed);
      expect(new Set(delivered).size).toBe(delivered.length);
      expect(replica.getText("t").toString() === source.getText("t").toString()).toBe(true);
      expect(Y.encodeStateVector(replica)).toEqual(Y.encodeStateVector(source));
      expect(same(Y.encodeStateAsUpdate(replica), Y.encodeStateAsUpdate(source))).toBe(true);
      // The run went through every path: in-order applies, drops, gaps, and answers of both kinds.
      expect(stats.applied).toBeGreaterThan(0);
      expect(stats.dropped).toBeGreaterThan(0);
      expect(stats.gaps).toBeGreaterThan(0);
      expect(stats.ringAnswers).toBeGreaterThan(0);
      expect(stats.fullAnswers).toBeGreaterThan(0);
      expect(stats.pushedOut).toBeGreaterThan(0);
    });
  }

  it("across seeds, some runs restart the authority (a new epoch) and still converge", () => {
    let restarted = 0;
    for (let seed = 100; seed < 112 && restarted === 0; seed++) {
      const r = simulate(seed, 3000);
      restarted += r.restarts;
      expect(r.delivered).toEqual(r.pushed);
      expect(same(Y.encodeStateAsUpdate(r.replica), Y.encodeStateAsUpdate(r.source))).toBe(true);
    }
    expect(restarted).toBeGreaterThan(0);
  });
});
