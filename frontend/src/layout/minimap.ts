/**
 * The minimap's geometry: the whole run squeezed into a strip, one row
 * per lane shaded by how many events fall in each column, and the part
 * the diagram shows drawn as a box on it; a click or drag there moves the
 * view. Pure.
 *
 * The minimap is drawn from a {@link Density} (per-lane event counts per
 * column), never from the events themselves: that is what the window
 * API's level of detail answers for a big run (its `lod.lanes[].counts`),
 * so the same strip works when the page does not hold every event.
 */

import type { DiagramLayout } from "./diagram.ts";
import { LANE_HEIGHT } from "./lanes.ts";
import type { Viewport } from "./viewport.ts";

/** Event counts per lane and column over the whole extent. */
export interface Density {
  /** World x of the first column's left edge and the last one's right edge. */
  minX: number;
  maxX: number;
  columns: number;
  /** Content height of the lanes (px), for the vertical mapping. */
  height: number;
  /** One row per lane: its content y range and its counts (length `columns`). */
  lanes: { top: number; bottom: number; counts: ArrayLike<number> }[];
  /** Largest count of any cell (0 for an empty run). */
  max: number;
}

/** The minimap's size in CSS px. */
export interface Box {
  width: number;
  height: number;
}

/** The column of world x (clamped to the strip). */
export function columnOf(d: Density, wx: number): number {
  const span = d.maxX - d.minX;
  if (!(span > 0)) return 0;
  return Math.max(0, Math.min(d.columns - 1, Math.floor(((wx - d.minX) / span) * d.columns)));
}

/** Per-lane counts of `l`'s events in `columns` columns over its whole extent. */
export function densityOf(l: DiagramLayout, columns: number): Density {
  const lanes = l.lanes.lanes.map((lane) => ({ top: lane.y - LANE_HEIGHT / 2, bottom: lane.y + LANE_HEIGHT / 2, counts: new Uint32Array(columns) }));
  const d: Density = { minX: l.minX, maxX: l.maxX, columns, height: l.lanes.height, lanes, max: 0 };
  for (let e = 0; e < l.x.length; e++) {
    const lane = l.laneOf[e];
    if (lane < 0) continue;
    const c = columnOf(d, l.x[e]);
    const n = ++(lanes[lane].counts as Uint32Array)[c];
    if (n > d.max) d.max = n;
  }
  return d;
}

/** Minimap x of world x. */
export function miniX(d: Density, box: Box, wx: number): number {
  const span = d.maxX - d.minX;
  return span > 0 ? ((wx - d.minX) / span) * box.width : box.width / 2;
}

/** Minimap y of content y. */
export function miniY(d: Density, box: Box, cy: number): number {
  return d.height > 0 ? (cy / d.height) * box.height : 0;
}

/**
 * The diagram's window on the minimap, clipped to the strip; at least
 * 3 px wide and tall so a deep zoom still shows where it is.
 */
export function windowBox(d: Density, box: Box, v: Viewport): { x: number; y: number; w: number; h: number } {
  const wx0 = v.x0;
  const wx1 = v.x0 + (v.width - v.left) / v.k;
  let x = miniX(d, box, wx0);
  let x1 = miniX(d, box, wx1);
  let y = miniY(d, box, v.y0);
  let y1 = miniY(d, box, v.y0 + v.height - v.top);
  x = Math.max(0, Math.min(box.width, x));
  x1 = Math.max(0, Math.min(box.width, x1));
  y = Math.max(0, Math.min(box.height, y));
  y1 = Math.max(0, Math.min(box.height, y1));
  const w = Math.max(3, x1 - x);
  const h = Math.max(3, y1 - y);
  return { x: Math.min(x, box.width - w), y: Math.min(y, box.height - h), w, h };
}

/** The view, at the same zoom, centred on the world point under minimap point (mx, my). */
export function centreAt(v: Viewport, d: Density, box: Box, mx: number, my: number): Viewport {
  const fx = box.width > 0 ? Math.max(0, Math.min(1, mx / box.width)) : 0.5;
  const fy = box.height > 0 ? Math.max(0, Math.min(1, my / box.height)) : 0;
  const wx = d.minX + fx * (d.maxX - d.minX);
  const cy = fy * d.height;
  return { ...v, x0: wx - (v.width - v.left) / 2 / v.k, y0: cy - (v.height - v.top) / 2 };
}
