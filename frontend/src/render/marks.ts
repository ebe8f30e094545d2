/**
 * Difference marks of the comparison of two big runs (ui/comparewin.ts):
 * the page holds windows, not whole graphs, so a difference is drawn from
 * where the server placed it (model/comparemarks.ts), over whatever the
 * window drew there (events or a level of detail): a tinted tick across
 * the lane, and the first divergence ringed. Only what is in the plot
 * area is drawn.
 */

import type { Viewport } from "../layout/viewport.ts";
import type { Ctx } from "./canvas.ts";
import { THEME } from "./theme.ts";

/** A mark on screen: its position in px and whether it is the first divergence. */
export interface MarkPoint {
  x: number;
  y: number;
}

function inPlot(v: Viewport, x: number, y: number): boolean {
  return x >= v.left && x <= v.width && y >= v.top && y <= v.height;
}

/** Draws the marks in `tint`; returns how many were in the plot area. */
export function drawMarks(ctx: Ctx, v: Viewport, points: MarkPoint[], tint: string): number {
  let n = 0;
  ctx.save();
  ctx.strokeStyle = tint;
  ctx.lineWidth = 2;
  ctx.globalAlpha = 0.9;
  ctx.beginPath();
  for (const p of points) {
    if (!inPlot(v, p.x, p.y)) continue;
    n++;
    ctx.moveTo(p.x, p.y - 9);
    ctx.lineTo(p.x, p.y + 9);
  }
  ctx.stroke();
  ctx.restore();
  return n;
}

/** Rings the first divergence; returns whether it is in the plot area. */
export function drawDivergence(ctx: Ctx, v: Viewport, p: MarkPoint): boolean {
  if (!inPlot(v, p.x, p.y)) return false;
  ctx.save();
  ctx.strokeStyle = THEME.divergence;
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.arc(p.x, p.y, 9, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.restore();
  return true;
}
