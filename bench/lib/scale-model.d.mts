// Types for bench/lib/scale-model.mjs, so test/unit/bench/scale-model.test.ts type-checks under strict TypeScript.

export interface Cost {
  value: number;
  source: string;
  measured?: boolean;
}
export type CostName = "sendUs" | "linkSendUs" | "recvUs" | "echoUs" | "applyUs" | "ingestUs" | "commitMs" | "hopMs";
export type Costs = Record<CostName, Cost>;

export interface Params {
  relayAfter: number;
  perRelay: number;
  width: number;
  maxDepth: number;
  writers: number;
  updatesPerWriter: number;
  presencePerWriter: number;
  renewalEveryMs: number;
  countEveryMs: number;
  presence: boolean;
  echoes: boolean;
  echoRttMs: [number, number];
  echoChunks: number;
  writerAt: "authority" | "leaf";
  sharedThread: boolean;
  seconds: number;
  warmup: number;
  seed: number;
}

export interface PlanNode {
  id: number;
  level: number;
  parent: number;
  sockets: number;
  children: number[];
  fullPresence: number;
}
export interface Plan {
  kind: "tree" | "single";
  audience: number;
  depth: number;
  levels: { objects: number; sockets: number }[];
  nodes: PlanNode[];
  objects: number;
  served: number;
  refused: number;
  widthUsed: number;
}

export interface ObjectStats {
  id: number;
  level: number;
  sockets: number;
  children: number;
  sendsPerUpdate: number;
  cpuPerUpdateMs: number;
  busy: number;
  sendsPerSecond: number;
  receivedPerSecond: number;
  flushesPerSecond: number;
}
export interface SimResult {
  updates: number;
  delivered: number;
  p50: number;
  p99: number;
  lastP50: number;
  lastP99: number;
  lastMax: number;
  busiestThread: number;
  perObject: ObjectStats[];
}
export interface HourCost {
  gbS: number;
  requests: number;
  usd: number;
  authorityActive: number;
}
export interface Evaluation {
  audience: number;
  tree: {
    depth: number;
    levels: { objects: number; sockets: number }[];
    objects: number;
    widthUsed: number;
    refused: number;
    floorMs: number;
    p50: number;
    p99: number;
    lastP99: number;
    writerOnLeafP99: number;
    busiestThread: number;
    authority: ObjectStats;
    relayMax: { sendsPerUpdate: number; cpuPerUpdateMs: number; busy: number; receivedPerSecond: number };
    cost: HourCost;
  };
  single: {
    sockets: number;
    refused: number;
    floorMs: number;
    p50: number;
    p99: number;
    lastP99: number;
    object: ObjectStats;
    cost: HourCost;
  };
}

export const SOCKETS_PER_OBJECT: number;
export const DEFAULT_COSTS: Costs;
export const DEFAULT_PARAMS: Params;
export const PRICING: {
  gbPerObject: number;
  usdPerMillionGbS: number;
  usdPerMillionRequests: number;
  wsMessagesPerRequest: number;
  source: string;
};
export function pacing(audience: number): { changeGapMs: number; renewalDelayMs: number };
export function costValues(costs: Costs | Record<string, number>): Record<CostName, number>;
export function mergeCosts(file: unknown, label: string): Costs;
export function planTree(audience: number, p: Pick<Params, "relayAfter" | "perRelay" | "width" | "maxDepth">): Plan;
export function planSingle(audience: number, p: Pick<Params, "relayAfter">): Plan;
export function pathTo(plan: Plan, id: number): number[];
export function cpuPerUpdateMs(node: PlanNode, c: Record<CostName, number>): number;
export function criticalPath(plan: Plan, costs: Costs): { lastMs: number; slowest: number; startMs: number[]; lastByNodeMs: number[] };
export function simulate(plan: Plan, params: Partial<Params>, costs: Costs): SimResult;
export function costPerHour(plan: Plan, sim: SimResult, costs: Costs, pricing?: typeof PRICING): HourCost;
export function evaluate(audience: number, params: Partial<Params>, costs: Costs): Evaluation;
