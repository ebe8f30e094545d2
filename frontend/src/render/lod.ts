/**
 * Draws a level-of-detail window (layout/lod.ts): the frame (bands, axis,
 * labels) as the detailed diagram draws it, then per lane a density strip
 * (one bar per screen px, its height and shade logarithmic in the events
 * of the columns under that px), injected events as red ticks, and the
 * bucketed message arrows, their opacity logarithmic in how many
 * deliveries each one stands for. Work is proportional to the screen:
 * columns narrower than a px are folded into that px, and arrows that
 * land on the same px pair as one already drawn are skipped.
 */

import { columnRange, columnX, type LodHit, type LodLayout, weight } from "../layout/lod.ts";
import { LANE_HEIGHT } from "../layout/lanes.ts";
import { screenX, screenY, type Viewport, visibleX } from "../layout/viewport.ts";
import { type Ctx, draw, NO_HIGHLIGHT } from "./canvas.ts";
import { THEME } from "./theme.ts";

/** Shade levels: bars and arrows are batched into one path per level. */
const LEVELS = 4;

export interface LodStats {
  /** Screen px columns that hold at least one event. */
  columns: number;
  arrows: number;
  lanes: number;
}

export function drawLod(ctx: Ctx, l: LodLayout, v: Viewport, hover: LodHit | null = null): LodStats {
  const frame = draw(ctx, l.frame, v, NO_HIGHLIGHT);
  ctx.save();
  ctx.beginPath();
  ctx.rect(v.left, v.top, v.width - v.left, v.height - v.top);
  ctx.clip();
  const arrows = drawArrows(ctx, l, v);
  const columns = drawStrips(ctx, l, v);
  if (hover !== null) {
    const y = screenY(v, l.frame.lanes.lanes[hover.lane].y);
    const x0 = screenX(v, hover.x0);
    ctx.strokeStyle = THEME.hover;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.rect(x0 - 1, y - LANE_HEIGHT / 2 + 2, Math.max(3, screenX(v, hover.x1) - x0 + 2), LANE_HEIGHT - 4);
    ctx.stroke();
  }
  ctx.restore();
  return { columns, arrows, lanes: frame.lanes };
}

/** Folds the columns under each screen px of a lane into one bar; returns the bars drawn. */
function drawStrips(ctx: Ctx, l: LodLayout, v: Viewport): number {
  const [a, b] = visibleX(v);
  const [first, last] = columnRange(l, a, b);
  const paths: number[][] = Array.from({ length: LEVELS }, () => []);
  const ticks: number[] = [];
  let bars = 0;
  const half = (LANE_HEIGHT - 8) / 2;
  l.frame.lanes.lanes.forEach((lane, li) => {
    const counts = l.counts[li];
    if (counts === null) return;
    const y = screenY(v, lane.y);
    if (y < v.top - LANE_HEIGHT || y > v.height + LANE_HEIGHT) return;
    const inj = l.injected[li];
    let px = -Infinity;
    let sum = 0;
    let hurt = 0;
    let start = 0;
    let end = 0;
    const flush = () => {
      if (sum <= 0) return;
      const w = weight(sum, l.max);
      const hgt = Math.max(1.5, w * half);
      const level = Math.min(LEVELS - 1, Math.floor(w * LEVELS));
      paths[level].push(start, y - hgt, Math.max(1, end - start), 2 * hgt);
      if (hurt > 0) ticks.push(start, y);
      bars++;
    };
    for (let c = first; c < last; c++) {
      const n = counts[c];
      if (n <= 0 && (inj === null || inj[c] <= 0)) continue;
      const sx = screenX(v, columnX(l, c));
      const ex = screenX(v, columnX(l, c + 1));
      const p = Math.floor(sx);
      if (p !== px) {
        flush();
        px = p;
        sum = 0;
        hurt = 0;
        start = sx;
      }
      sum += n;
      if (inj !== null) hurt += inj[c];
      end = Math.max(ex, start + 1);
    }
    flush();
  });
  ctx.fillStyle = THEME.event[1];
  for (let level = 0; level < LEVELS; level++) {
    const p = paths[level];
    if (p.length === 0) continue;
    ctx.globalAlpha = 0.35 + (0.65 * (level + 1)) / LEVELS;
    ctx.beginPath();
    for (let k = 0; k < p.length; k += 4) ctx.rect(p[k], p[k + 1], p[k + 2], p[k + 3]);
    ctx.fill();
  }
  ctx.globalAlpha = 1;
  if (ticks.length > 0) {
    ctx.strokeStyle = THEME.injected;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let k = 0; k < ticks.length; k += 2) {
      ctx.moveTo(ticks[k], ticks[k + 1] - LANE_HEIGHT / 2 + 1);
      ctx.lineTo(ticks[k], ticks[k + 1] - half);
    }
    ctx.stroke();
  }
  return bars;
}

function drawArrows(ctx: Ctx, l: LodLayout, v: Viewport): number {
  const [a, b] = visibleX(v);
  const paths: number[][] = Array.from({ length: LEVELS }, () => []);
  const seen = new Set<number>();
  const lanes = l.frame.lanes.lanes;
  const half = l.colWidth / 2;
  let drawn = 0;
  for (let i = 0; i < l.arrowCount.length; i++) {
    const wx1 = columnX(l, l.arrowFromCol[i]) + half;
    const wx2 = columnX(l, l.arrowToCol[i]) + half;
    if ((wx1 < a && wx2 < a) || (wx1 > b && wx2 > b)) continue;
    const y1 = screenY(v, lanes[l.arrowFromLane[i]].y);
    const y2 = screenY(v, lanes[l.arrowToLane[i]].y);
    if ((y1 < v.top && y2 < v.top) || (y1 > v.height && y2 > v.height)) continue;
    const x1 = screenX(v, wx1);
    const x2 = screenX(v, wx2);
    // One arrow per (px, px, lane pair): a key exact up to 2^20 px and 2^6 lanes each way.
    const key = ((Math.round(x1) & 0xfffff) * 0x100000 + (Math.round(x2) & 0xfffff)) * 4096 + ((l.arrowFromLane[i] & 63) << 6) + (l.arrowToLane[i] & 63);
    if (seen.has(key)) continue;
    seen.add(key);
    const level = Math.min(LEVELS - 1, Math.floor(weight(l.arrowCount[i], l.maxArrow) * LEVELS));
    paths[level].push(x1, y1, x2, y2);
    drawn++;
  }
  ctx.strokeStyle = THEME.arrow[0];
  ctx.lineWidth = 1;
  for (let level = 0; level < LEVELS; level++) {
    const p = paths[level];
    if (p.length === 0) continue;
    ctx.globalAlpha = 0.12 + (0.5 * (level + 1)) / LEVELS;
    ctx.beginPath();
    for (let k = 0; k < p.length; k += 4) {
      ctx.moveTo(p[k], p[k + 1]);
      ctx.lineTo(p[k + 2], p[k + 3]);
    }
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  return drawn;
}
