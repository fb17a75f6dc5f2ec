import { describe, expect, it } from "vitest";
import {
  type Costs,
  costPerHour,
  criticalPath,
  DEFAULT_COSTS,
  DEFAULT_PARAMS,
  mergeCosts,
  pacing,
  type Plan,
  pathTo,
  planSingle,
  planTree,
  SOCKETS_PER_OBJECT,
  simulate,
} from "../../../bench/lib/scale-model.mjs";
import { pacing as roomPacing } from "../../../src/sync/presence-pacing";

const shape = { relayAfter: 500, perRelay: 500, width: 64, maxDepth: 4 };
const audiences = [1, 499, 500, 501, 1_000, 3_000, 10_000, 32_500, 32_501, 100_000, 2_500_000];
const withCost = (name: keyof Costs, value: number): Costs => ({ ...DEFAULT_COSTS, [name]: { ...DEFAULT_COSTS[name], value } });
// Short runs: the model is deterministic for a seed, and these tests compare runs rather than read absolute figures.
const run = { seconds: 20, warmup: 2 };

function relays(plan: Plan) {
  return plan.nodes.filter((n) => n.id !== 0);
}

describe("the relay tree's shape", () => {
  it("places every viewer exactly once or refuses them, and no object holds more than it may", () => {
    for (const audience of audiences) {
      const plan = planTree(audience, shape);
      expect(plan.served + plan.refused).toBe(audience);
      expect(plan.nodes.reduce((s, n) => s + n.sockets, 0)).toBe(plan.served);
      expect(plan.nodes[0]!.sockets).toBeLessThanOrEqual(shape.relayAfter);
      for (const n of plan.nodes) {
        expect(n.children.length).toBeLessThanOrEqual(shape.width);
        expect(n.sockets + n.children.length).toBeLessThanOrEqual(SOCKETS_PER_OBJECT);
      }
      for (const r of relays(plan)) {
        expect(r.sockets).toBeGreaterThan(0);
        expect(r.sockets).toBeLessThanOrEqual(shape.perRelay);
        expect(plan.nodes[r.parent]!.level).toBe(r.level - 1);
      }
    }
  });

  it("opens no relay until the authority is full, then one for the next viewer", () => {
    expect(planTree(shape.relayAfter, shape).objects).toBe(1);
    const next = planTree(shape.relayAfter + 1, shape);
    expect(next.depth).toBe(1);
    expect(relays(next).map((r) => r.sockets)).toEqual([1]);
  });

  it("uses as few relays as the audience needs: all full but the last", () => {
    for (const audience of audiences.filter((a) => a > shape.relayAfter)) {
      const plan = planTree(audience, shape);
      const notFull = relays(plan).filter((r) => r.sockets < shape.perRelay);
      expect(notFull.length).toBeLessThanOrEqual(1);
    }
  });

  it("is as shallow as the width allows: one level less and someone is refused", () => {
    for (const audience of audiences.filter((a) => a > shape.relayAfter)) {
      const plan = planTree(audience, shape);
      if (plan.refused > 0) continue;
      expect(planTree(audience, { ...shape, maxDepth: plan.depth - 1 }).refused).toBeGreaterThan(0);
    }
  });

  it("grows, never shrinks, with the audience", () => {
    let before = planTree(0, shape);
    for (const audience of audiences) {
      const plan = planTree(audience, shape);
      expect(plan.depth).toBeGreaterThanOrEqual(before.depth);
      expect(plan.objects).toBeGreaterThanOrEqual(before.objects);
      before = plan;
    }
  });

  it("with a width of one, is a chain", () => {
    const plan = planTree(shape.relayAfter + 3 * shape.perRelay, { ...shape, width: 1 });
    expect(plan.depth).toBe(3);
    expect(pathTo(plan, plan.objects - 1)).toEqual([0, 1, 2, 3]);
  });

  it("refuses only what does not fit under maxDepth", () => {
    const small = { ...shape, width: 2, maxDepth: 1 };
    const fits = planTree(10_000, { ...small, maxDepth: 4 });
    expect(fits.refused).toBe(0);
    const capped = planTree(10_000, small);
    expect(capped.served).toBe(capped.nodes.reduce((s, n) => s + n.sockets, 0));
    expect(capped.objects).toBe(1 + small.width);
    expect(relays(capped).every((r) => r.sockets === shape.perRelay)).toBe(true);
  });
});

describe("a single object", () => {
  it("holds everyone up to the platform's socket limit and refuses the rest", () => {
    expect(planSingle(SOCKETS_PER_OBJECT, shape).refused).toBe(0);
    expect(planSingle(SOCKETS_PER_OBJECT + 1, shape).refused).toBe(1);
    expect(planSingle(100_000, shape).served).toBe(SOCKETS_PER_OBJECT);
    expect(planTree(100_000, shape).refused).toBe(0);
  });

  it("fans out in time that grows with its audience, while the tree's barely moves", () => {
    const single = (n: number) => criticalPath(planSingle(n, shape), DEFAULT_COSTS).lastMs;
    const tree = (n: number) => criticalPath(planTree(n, shape), DEFAULT_COSTS).lastMs;
    expect(single(20_000)).toBeGreaterThan(1.9 * single(10_000));
    expect(single(SOCKETS_PER_OBJECT)).toBeGreaterThanOrEqual((SOCKETS_PER_OBJECT * DEFAULT_COSTS.sendUs.value) / 1000);
    expect(tree(30_000) - tree(3_000)).toBeLessThan(5);
    expect(tree(10_000)).toBeLessThan(single(10_000) / 5);
  });
});

describe("the fan-out floor and the simulation", () => {
  it("each extra millisecond of hop costs one millisecond per level of relays on the slowest path", () => {
    for (const audience of [3_000, 100_000]) {
      const plan = planTree(audience, shape);
      const a = criticalPath(plan, withCost("hopMs", 5));
      const b = criticalPath(plan, withCost("hopMs", 6));
      expect(b.lastMs - a.lastMs).toBeCloseTo(pathTo(plan, b.slowest).length - 1, 6);
    }
  });

  it("a lone update with nothing else going on reaches its last socket exactly at the floor", () => {
    // A few updates minutes apart: most meet nothing; one that lands on another's send loop waits for it.
    const quiet = { ...run, presence: false, writers: 1, updatesPerWriter: 0.02, seconds: 300 };
    for (const plan of [planTree(100_000, shape), planSingle(3_000, shape)]) {
      const sim = simulate(plan, quiet, DEFAULT_COSTS);
      const floor = criticalPath(plan, DEFAULT_COSTS).lastMs;
      expect(sim.updates).toBeGreaterThanOrEqual(3);
      expect(sim.lastP50).toBeCloseTo(floor, 6);
      expect(sim.lastMax).toBeGreaterThanOrEqual(floor - 1e-9);
    }
  });

  it("queues more as updates come faster, and delivers every update even past saturation", () => {
    const plan = planTree(10_000, shape);
    const slow = simulate(plan, { ...run, updatesPerWriter: 1 }, DEFAULT_COSTS);
    const fast = simulate(plan, { ...run, updatesPerWriter: 25 }, DEFAULT_COSTS);
    expect(fast.p99).toBeGreaterThan(slow.p99);
    const swamped = simulate(planSingle(30_000, shape), { ...run, updatesPerWriter: 25 }, DEFAULT_COSTS);
    expect(swamped.perObject[0]!.busy).toBeGreaterThan(0.95);
    expect(swamped.delivered).toBe(swamped.updates);
  });

  it("objects that share one thread (one local workerd) are never faster than objects on their own", () => {
    const plan = planTree(3_000, shape);
    const apart = simulate(plan, run, DEFAULT_COSTS);
    const shared = simulate(plan, { ...run, sharedThread: true }, DEFAULT_COSTS);
    expect(shared.p99).toBeGreaterThanOrEqual(apart.p99);
  });

  it("presence traffic adds to the fan-out's queueing", () => {
    const plan = planTree(10_000, shape);
    expect(simulate(plan, run, DEFAULT_COSTS).p99).toBeGreaterThan(simulate(plan, { ...run, presence: false }, DEFAULT_COSTS).p99);
  });

  it("with the default costs, 10,000 viewers all get in, and the tree meets 100 ms at p99 where one object does not", () => {
    const tree = planTree(10_000, shape);
    const single = planSingle(10_000, shape);
    expect(tree.refused).toBe(0);
    expect(simulate(tree, run, DEFAULT_COSTS).p99).toBeLessThan(100);
    expect(simulate(single, run, DEFAULT_COSTS).p99).toBeGreaterThan(100);
  });
});

describe("inputs and cost", () => {
  it("the model paces presence as the room does", () => {
    for (const n of [1, 16, 17, 250, 990, 1_000, 10_000]) expect(pacing(n)).toEqual(roomPacing(n));
  });

  it("takes measured costs by name and keeps the defaults, named as such, for the rest", () => {
    for (const file of [{ sendUs: 31, hopMs: { value: 2.5 }, junk: 1 }, { costs: { sendUs: 31, hopMs: 2.5 } }]) {
      const costs = mergeCosts(file, "w9.json");
      expect(costs.sendUs).toMatchObject({ value: 31, measured: true });
      expect(costs.hopMs).toMatchObject({ value: 2.5, measured: true });
      expect(costs.applyUs).toMatchObject({ value: DEFAULT_COSTS.applyUs.value, measured: false });
    }
    expect(mergeCosts({ sendUs: -1, hopMs: "fast" }, "bad.json").sendUs.measured).toBe(false);
  });

  it("bills every relay for the whole hour, so a tree costs more object time than one object", () => {
    const p = { ...DEFAULT_PARAMS, ...run };
    const tree = planTree(10_000, p);
    const single = planSingle(10_000, p);
    const treeCost = costPerHour(tree, simulate(tree, p, DEFAULT_COSTS), DEFAULT_COSTS);
    const singleCost = costPerHour(single, simulate(single, p, DEFAULT_COSTS), DEFAULT_COSTS);
    expect(treeCost.gbS).toBeGreaterThanOrEqual((tree.objects - 1) * 0.128 * 3600);
    expect(treeCost.gbS).toBeGreaterThan(singleCost.gbS);
    expect(treeCost.requests).toBeGreaterThan(10_000);
  });
});
