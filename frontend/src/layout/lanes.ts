/**
 * Lanes: one horizontal lane per thread, grouped under a header per
 * process, processes in the order the graph lists them (creation order),
 * threads in their listed order. Content y in px (not zoomed).
 */

import type { Graph } from "../model/api.ts";

export const LANE_HEIGHT = 26;
export const GROUP_HEADER = 18;

export interface Lane {
  /** Thread index in `graph.threads`. */
  thread: number;
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

export function layoutLanes(graph: Graph): LaneLayout {
  const order: string[] = graph.processes.map((p) => p.name);
  const known = new Set(order);
  for (const t of graph.threads) {
    if (!known.has(t.process)) {
      known.add(t.process);
      order.push(t.process);
    }
  }
  const byProcess = new Map<string, number[]>(order.map((p) => [p, []]));
  graph.threads.forEach((t, i) => byProcess.get(t.process)?.push(i));
  const lanes: Lane[] = [];
  const groups: ProcessGroup[] = [];
  const laneOfThread = new Int32Array(graph.threads.length).fill(-1);
  let y = 0;
  for (const process of order) {
    const threads = byProcess.get(process) ?? [];
    if (threads.length === 0) continue;
    const group: ProcessGroup = { process, top: y, bottom: 0, lanes: [] };
    y += GROUP_HEADER;
    for (const t of threads) {
      laneOfThread[t] = lanes.length;
      group.lanes.push(lanes.length);
      lanes.push({ thread: t, label: graph.threads[t].name, process, y: y + LANE_HEIGHT / 2 });
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
