/**
 * Geometry of a level-of-detail window (model/window.ts): when a window
 * holds more events than pixels, the server answers per-column event
 * counts for each lane and message deliveries bucketed by column pair
 * instead of the events. Here they become world x ranges on the same
 * lanes as the detailed diagram, so the two draw in one frame and a
 * zoom in replaces one by the other in place.
 */

import type { Graph } from "../model/api.ts";
import { indexGraph } from "../model/graph.ts";
import type { GraphWindow } from "../model/window.ts";
import { ARROW_CONNECT, ARROW_EOF, ARROW_EXIT, ARROW_MESSAGE, ARROW_SPAWN, type DiagramLayout, layoutDiagram, type XScale } from "./diagram.ts";
import { LANE_HEIGHT, laneAt } from "./lanes.ts";
import { contentY, screenY, type Viewport, worldX } from "./viewport.ts";

const KIND: Record<string, number> = { message: ARROW_MESSAGE, connect: ARROW_CONNECT, spawn: ARROW_SPAWN, exit: ARROW_EXIT, eof: ARROW_EOF };

export interface LodLayout {
  scale: XScale;
  /** The lanes, axis and labels: a diagram with the window's threads and no events. */
  frame: DiagramLayout;
  x0: number;
  x1: number;
  columns: number;
  /** World units per column. */
  colWidth: number;
  /** Per lane (index into frame.lanes.lanes): events per column, or null when the answer has none. */
  counts: (Float64Array | null)[];
  injected: (Float64Array | null)[];
  /** The largest count of any column of any lane (shading is relative to it). */
  max: number;
  /** Bucketed arrows: lanes, columns, counts, kind codes (layout/diagram.ts ARROW_*). */
  arrowFromLane: Int32Array;
  arrowToLane: Int32Array;
  arrowFromCol: Int32Array;
  arrowToCol: Int32Array;
  arrowCount: Float64Array;
  arrowKind: Uint8Array;
  maxArrow: number;
  totalEvents: number;
}

/** The diagram of a window's threads with no events (lanes and labels only). */
export function frameLayout(w: Pick<GraphWindow, "run" | "processes" | "threads" | "channels">, scale: XScale): DiagramLayout {
  const skeleton: Graph = { schema: 1, run: w.run, processes: w.processes, threads: w.threads, channels: w.channels, events: [], messages: [], edges: [] };
  return layoutDiagram(indexGraph(skeleton), scale);
}

/** Lays out a window answered with `lod`. Lanes and arrows naming a thread the run lacks are left out. */
export function layoutLod(w: GraphWindow): LodLayout {
  const frame = frameLayout(w, w.scale);
  const laneOfName = new Map<string, number>();
  frame.lanes.lanes.forEach((lane, i) => laneOfName.set(lane.label, i));
  const counts: (Float64Array | null)[] = frame.lanes.lanes.map(() => null);
  const injected: (Float64Array | null)[] = frame.lanes.lanes.map(() => null);
  let max = 0;
  for (const l of w.lod?.lanes ?? []) {
    const lane = laneOfName.get(l.thread);
    if (lane === undefined) continue;
    const c = Float64Array.from(l.counts, (x) => (Number.isFinite(x) && x > 0 ? x : 0));
    for (const x of c) if (x > max) max = x;
    counts[lane] = c;
    if (l.injected.some((x) => x > 0)) injected[lane] = Float64Array.from(l.injected, (x) => (x > 0 ? x : 0));
  }
  const arrows = (w.lod?.arrows ?? []).filter((a) => laneOfName.has(a.from) && laneOfName.has(a.to));
  // An arrow end outside the window is column -1 or C (docs/API.md): it
  // stays there, one column past the edge, as the server put it.
  const col = (c: number) => Math.max(-1, Math.min(w.columns, Math.floor(c)));
  let maxArrow = 0;
  for (const a of arrows) if (a.count > maxArrow) maxArrow = a.count;
  return {
    scale: w.scale,
    frame,
    x0: w.x0,
    x1: w.x1,
    columns: w.columns,
    // column(x) = floor((x - x0) * C / (x1 - x0 + 1)): the window's ends are whole units.
    colWidth: (w.x1 - w.x0 + 1) / Math.max(1, w.columns),
    counts,
    injected,
    max,
    arrowFromLane: Int32Array.from(arrows, (a) => laneOfName.get(a.from) ?? 0),
    arrowToLane: Int32Array.from(arrows, (a) => laneOfName.get(a.to) ?? 0),
    arrowFromCol: Int32Array.from(arrows, (a) => col(a.column_from)),
    arrowToCol: Int32Array.from(arrows, (a) => col(a.column_to)),
    arrowCount: Float64Array.from(arrows, (a) => a.count),
    arrowKind: Uint8Array.from(arrows, (a) => KIND[a.kind] ?? ARROW_MESSAGE),
    maxArrow,
    totalEvents: w.totalEvents,
  };
}

/** World x where column `c` begins. */
export function columnX(l: LodLayout, c: number): number {
  return l.x0 + c * l.colWidth;
}

/** The columns [first, last) that meet world x [a, b]. */
export function columnRange(l: LodLayout, a: number, b: number): [number, number] {
  const first = Math.min(l.columns, Math.max(0, Math.floor((a - l.x0) / l.colWidth)));
  const last = Math.min(l.columns, Math.floor((b - l.x0) / l.colWidth) + 1);
  return [first, Math.max(first, last)];
}

/** Relative weight of a count in [0, 1]: logarithmic, so a lone event still shows next to thousands. */
export function weight(count: number, max: number): number {
  return count <= 0 || max <= 0 ? 0 : Math.log1p(count) / Math.log1p(max);
}

/** What is under the pointer in a level-of-detail frame. */
export interface LodHit {
  lane: number;
  /** Columns under the pointer (one screen px may hold several). */
  first: number;
  last: number;
  /** Events in them. */
  count: number;
  /** Their world x range. */
  x0: number;
  x1: number;
}

/** The lane and columns under screen point (sx, sy), or null off the lanes or outside the window. */
export function lodAt(l: LodLayout, v: Viewport, sx: number, sy: number): LodHit | null {
  const lane = laneAt(l.frame.lanes, contentY(v, sy));
  if (lane < 0) return null;
  if (Math.abs(sy - screenY(v, l.frame.lanes.lanes[lane].y)) > LANE_HEIGHT / 2) return null;
  const a = worldX(v, sx - 2);
  const b = worldX(v, sx + 2);
  if (b < l.x0 || a > l.x1) return null;
  const [first, last] = columnRange(l, a, b);
  const c = l.counts[lane];
  let count = 0;
  if (c !== null) for (let i = first; i < last; i++) count += c[i];
  return { lane, first, last, count, x0: columnX(l, first), x1: columnX(l, last) };
}
