/**
 * Lanes: one horizontal lane per thread, grouped under a header per
 * process, processes in the order the graph lists them (creation order),
 * threads in their listed order. Content y in px (not zoomed).
 */

import type { Graph } from "../model/api.ts";

export const LANE_HEIGHT = 26;
export const GROUP_HEADER = 18;

export interface Lane {
  /** Thread index in `graph.threads`; -1 for a lane the graph has no thread for (comparisons). */
  thread: number;
  /**
   * Every thread drawn in this lane: `[thread]`, or all the threads of a
   * collapsed process (layout/collapse.ts); empty for an empty lane.
   */
  threads: number[];
  /** Logical thread name (`primary:t1`). */
  label: string;
  process: string;
  /** Content y of the lane's centre line. */
  y: number;
}

export interface ProcessGroup {
  process: string;
  /** Content y of the header's top and of the group's bottom. */
  top: number;
  bottom: number;
  /** Lane indices. */
  lanes: number[];
}

export interface LaneLayout {
  lanes: Lane[];
  groups: ProcessGroup[];
  /** Lane index of each thread. */
  laneOfThread: Int32Array;
  height: number;
}

/** Which lanes to draw: processes in order, each with its thread names in order. */
export type LaneSpec = { process: string; threads: string[] }[];

/** A graph's own lanes: processes in listed (creation) order, threads in listed order. */
export function laneSpec(graph: Graph): LaneSpec {
  const order: string[] = graph.processes.map((p) => p.name);
  const known = new Set(order);
  for (const t of graph.threads) {
    if (!known.has(t.process)) {
      known.add(t.process);
      order.push(t.process);
    }
  }
  const byProcess = new Map<string, string[]>(order.map((p) => [p, []]));
  for (const t of graph.threads) byProcess.get(t.process)?.push(t.name);
  return order.map((process) => ({ process, threads: byProcess.get(process) ?? [] })).filter((g) => g.threads.length > 0);
}

/**
 * `a` followed by the items only `b` has, each placed right after the
 * item that precedes it in `b` (or first, if nothing does): both orders
 * are kept as far as they agree.
 */
export function mergeOrder(a: string[], b: string[]): string[] {
  const out = [...a];
  const have = new Set(a);
  let after = -1;
  for (const x of b) {
    if (have.has(x)) {
      after = out.indexOf(x);
      continue;
    }
    out.splice(after + 1, 0, x);
    have.add(x);
    after++;
  }
  return out;
}

/**
 * The lanes two runs share for a comparison, keyed by logical names:
 * every process and thread of either run, in A's order with B's extra
 * ones merged in, so the same thread is on the same row on both sides.
 */
export function sharedLaneSpec(a: Graph, b: Graph): LaneSpec {
  const sa = laneSpec(a);
  const sb = laneSpec(b);
  const threads = new Map<string, [string[], string[]]>();
  for (const g of sa) threads.set(g.process, [g.threads, []]);
  for (const g of sb) threads.set(g.process, [threads.get(g.process)?.[0] ?? [], g.threads]);
  const processes = mergeOrder(
    sa.map((g) => g.process),
    sb.map((g) => g.process),
  );
  return processes.map((process) => {
    const [ta, tb] = threads.get(process) ?? [[], []];
    return { process, threads: mergeOrder(ta, tb) };
  });
}

/**
 * Lays out lanes for `graph`, in its own order or in `spec`'s. A thread
 * of the spec that the graph lacks gets an empty lane (`thread` -1);
 * a thread of the graph that the spec lacks gets no lane.
 */
export function layoutLanes(graph: Graph, spec: LaneSpec = laneSpec(graph)): LaneLayout {
  const threadIndex = new Map(graph.threads.map((t, i) => [t.name, i]));
  const lanes: Lane[] = [];
  const groups: ProcessGroup[] = [];
  const laneOfThread = new Int32Array(graph.threads.length).fill(-1);
  let y = 0;
  for (const { process, threads } of spec) {
    if (threads.length === 0) continue;
    const group: ProcessGroup = { process, top: y, bottom: 0, lanes: [] };
    y += GROUP_HEADER;
    for (const name of threads) {
      const t = threadIndex.get(name) ?? -1;
      if (t >= 0) laneOfThread[t] = lanes.length;
      group.lanes.push(lanes.length);
      lanes.push({ thread: t, threads: t >= 0 ? [t] : [], label: name, process, y: y + LANE_HEIGHT / 2 });
      y += LANE_HEIGHT;
    }
    group.bottom = y;
    groups.push(group);
  }
  return { lanes, groups, laneOfThread, height: y };
}

/** The lane whose band contains content y, or -1. */
export function laneAt(layout: LaneLayout, cy: number): number {
  let lo = 0;
  let hi = layout.lanes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const lane = layout.lanes[mid];
    if (cy < lane.y - LANE_HEIGHT / 2) hi = mid - 1;
    else if (cy >= lane.y + LANE_HEIGHT / 2) lo = mid + 1;
    else return mid;
  }
  return -1;
}
