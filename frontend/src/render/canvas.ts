/**
 * Draws a laid-out diagram on a 2D canvas context. Drawing only: every
 * position comes from layout/. Work is proportional to what is visible:
 * lanes outside the view are skipped, events come from a binary search of
 * each visible lane, arrows from the x-bucket index, and marks or arrows
 * that land on the same pixel as one already drawn are skipped (at
 * fit-to-view a 100,000-event run has far more events than pixels).
 */

import { DIFFERS, type DiffFlags, DIVERGES } from "../model/compare.ts";
import { FUTURE, PAST } from "../model/graph.ts";
import { formatTick } from "../model/format.ts";
import {
  ARROW_LOST,
  ARROW_MESSAGE,
  arrowPoints,
  type DiagramLayout,
  lowerBound,
  visibleLanes,
} from "../layout/diagram.ts";
import { GROUP_HEADER } from "../layout/lanes.ts";
import { screenX, screenY, ticks, type Viewport, visibleX } from "../layout/viewport.ts";
import { MARK, THEME } from "./theme.ts";

/** What is highlighted. */
export interface Highlight {
  /** Selected event (its causal cone is highlighted), or -1. */
  selected: number;
  /** Cone flags from model/graph.ts causalCone, when selected >= 0. */
  cone: Uint8Array | null;
  hoverEvent: number;
  hoverArrow: number;
  /**
   * A comparison's flags for this graph: matching events and arrows are
   * dimmed, differing ones drawn in `tint`, the first divergence ringed.
   */
  diff?: DiffFlags | null;
  /** Colour of this side's differences (THEME.diffA / diffB). */
  tint?: string;
  /**
   * 1 per message (index into the graph's messages) that the run's faults
   * acted on (model/faulted.ts): its arrows get a wide mark in
   * THEME.injected.
   */
  faulted?: Uint8Array | null;
}

export const NO_HIGHLIGHT: Highlight = { selected: -1, cone: null, hoverEvent: -1, hoverArrow: -1, diff: null };

/** Counts of what one frame drew. */
export interface FrameStats {
  events: number;
  arrows: number;
  /** 1 when every visible arrow was drawn, else 1 in how many (see MAX_ARROWS). */
  arrowStride: number;
  lanes: number;
}

/** The subset of CanvasRenderingContext2D used here (a fake one can time the work in tests). */
export type Ctx = Pick<
  CanvasRenderingContext2D,
  | "save"
  | "restore"
  | "beginPath"
  | "moveTo"
  | "lineTo"
  | "rect"
  | "arc"
  | "fill"
  | "stroke"
  | "fillRect"
  | "fillText"
  | "clip"
  | "setLineDash"
  | "closePath"
> & {
  fillStyle: string | CanvasGradient | CanvasPattern;
  strokeStyle: string | CanvasGradient | CanvasPattern;
  lineWidth: number;
  globalAlpha: number;
  font: string;
  textAlign: CanvasTextAlign;
  textBaseline: CanvasTextBaseline;
};

export function draw(ctx: Ctx, l: DiagramLayout, v: Viewport, h: Highlight): FrameStats {
  return drawLayers(ctx, l, v, [[l, v, h]]);
}

/**
 * Pixels by which the overlaid mode shifts A up and B down within a lane,
 * so that both runs' marks stay visible where they coincide.
 */
export const OVERLAY_SHIFT = 5;

/**
 * Two runs in one frame (a comparison's overlaid mode): lanes, axis and
 * labels from `la` (both layouts must share one lane spec), then A's
 * arrows and marks shifted up, then B's shifted down.
 */
export function drawOverlay(ctx: Ctx, la: DiagramLayout, lb: DiagramLayout, v: Viewport, ha: Highlight, hb: Highlight): FrameStats {
  const up = { ...v, y0: v.y0 + OVERLAY_SHIFT };
  const down = { ...v, y0: v.y0 - OVERLAY_SHIFT };
  return drawLayers(ctx, la, v, [
    [la, up, ha],
    [lb, down, hb],
  ]);
}

/** The frame of `frame` (bands, axis, labels) with each layer's arrows and marks in it. */
function drawLayers(ctx: Ctx, frame: DiagramLayout, v: Viewport, layers: [DiagramLayout, Viewport, Highlight][]): FrameStats {
  ctx.save();
  ctx.fillStyle = THEME.background;
  ctx.fillRect(0, 0, v.width, v.height);
  const [firstLane, lastLane] = visibleLanes(frame, v);
  drawBands(ctx, frame, v);
  drawAxis(ctx, frame, v);
  // Plot area clip: arrows and marks never cover the labels or the axis.
  ctx.save();
  ctx.beginPath();
  ctx.rect(v.left, v.top, v.width - v.left, v.height - v.top);
  ctx.clip();
  const stats: FrameStats = { events: 0, arrows: 0, arrowStride: 1, lanes: lastLane - firstLane };
  for (const [l, lv, h] of layers) {
    const [arrows, arrowStride] = drawArrows(ctx, l, lv, h);
    stats.events += drawEvents(ctx, l, lv, h, firstLane, lastLane);
    stats.arrows += arrows;
    stats.arrowStride = Math.max(stats.arrowStride, arrowStride);
  }
  ctx.restore();
  drawLabels(ctx, frame, v);
  ctx.restore();
  return stats;
}

function drawBands(ctx: Ctx, l: DiagramLayout, v: Viewport): void {
  l.lanes.groups.forEach((g, i) => {
    const top = screenY(v, g.top);
    const bottom = screenY(v, g.bottom);
    if (bottom < v.top || top > v.height) return;
    ctx.fillStyle = THEME.groupBand[i % 2];
    ctx.fillRect(0, top, v.width, bottom - top);
  });
  ctx.strokeStyle = THEME.laneLine;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const lane of l.lanes.lanes) {
    const y = Math.round(screenY(v, lane.y)) + 0.5;
    if (y < v.top || y > v.height) continue;
    ctx.moveTo(v.left, y);
    ctx.lineTo(v.width, y);
  }
  ctx.stroke();
}

function drawAxis(ctx: Ctx, l: DiagramLayout, v: Viewport): void {
  const [a, b] = visibleX(v);
  const logical = l.scale === "logical";
  const values = ticks(a, b, Math.max(2, Math.floor((v.width - v.left) / 110)), logical);
  ctx.fillStyle = THEME.background;
  ctx.fillRect(0, 0, v.width, v.top);
  ctx.font = THEME.smallFont;
  ctx.textBaseline = "middle";
  ctx.textAlign = "center";
  ctx.strokeStyle = THEME.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const t of values) {
    const x = Math.round(screenX(v, t)) + 0.5;
    ctx.moveTo(x, v.top);
    ctx.lineTo(x, v.height);
  }
  ctx.stroke();
  ctx.fillStyle = THEME.axis;
  for (const t of values) {
    const x = screenX(v, t);
    if (x < v.left + 20) continue;
    ctx.fillText(logical ? String(t) : formatTick(t), x, v.top / 2);
  }
}

function drawLabels(ctx: Ctx, l: DiagramLayout, v: Viewport): void {
  ctx.fillStyle = THEME.gutter;
  ctx.fillRect(0, v.top, v.left, v.height - v.top);
  ctx.fillRect(0, 0, v.left, v.top);
  ctx.textBaseline = "middle";
  ctx.textAlign = "left";
  ctx.fillStyle = THEME.axis;
  ctx.font = THEME.smallFont;
  ctx.fillText(l.scale === "logical" ? "Lamport clock" : "time since start", 8, v.top / 2);
  for (const g of l.lanes.groups) {
    const y = screenY(v, g.top) + GROUP_HEADER / 2;
    if (y < v.top - GROUP_HEADER || y > v.height) continue;
    ctx.fillStyle = THEME.groupLabel;
    ctx.font = `bold ${THEME.smallFont}`;
    ctx.fillText(clip(g.process, 26), 6, Math.max(y, v.top + 8));
  }
  ctx.font = THEME.font;
  ctx.fillStyle = THEME.label;
  ctx.textAlign = "right";
  for (const lane of l.lanes.lanes) {
    const y = screenY(v, lane.y);
    if (y < v.top || y > v.height) continue;
    ctx.fillText(clip(lane.label, 24), v.left - 8, y);
  }
}

function clip(s: string, n: number): string {
  return s.length > n ? `…${s.slice(s.length - n + 1)}` : s;
}

/** A message arrow of a differing message, or another arrow between two differing events. */
function arrowDiffers(l: DiagramLayout, d: DiffFlags, arrow: number): boolean {
  const m = l.arrowMessage[arrow];
  if (m >= 0) return d.messages[m] === DIFFERS;
  const to = l.arrowTo[arrow];
  return d.events[l.arrowFrom[arrow]] !== 0 && to >= 0 && d.events[to] !== 0;
}

function inCone(h: Highlight, e: number): boolean {
  return h.cone === null || h.cone[e] !== 0;
}

/**
 * Most arrows one frame strokes. Past this (a zoomed-out view of a large
 * run) arrows are sampled evenly and the frame says so: tens of thousands
 * of overlapping lines are unreadable anyway, and rasterising them takes
 * seconds in a software-rendered canvas. Arrows in a selected causal cone
 * are always drawn.
 */
export const MAX_ARROWS = 2000;

function drawArrows(ctx: Ctx, l: DiagramLayout, v: Viewport, h: Highlight): [number, number] {
  const [a, b] = visibleX(v);
  const margin = 40 / v.k;
  const candidates: number[] = [];
  const highlighted: number[] = [];
  const differing: number[] = [];
  l.arrows.query(a - margin, b + margin, (arrow) => {
    const [x1, y1, x2, y2] = arrowPoints(l, v, arrow);
    if ((y1 < v.top && y2 < v.top) || (y1 > v.height && y2 > v.height)) return;
    if ((x1 < v.left && x2 < v.left) || (x1 > v.width && x2 > v.width)) return;
    const lit = h.cone !== null && inCone(h, l.arrowFrom[arrow]) && (l.arrowTo[arrow] < 0 || inCone(h, l.arrowTo[arrow]));
    if (h.diff && arrowDiffers(l, h.diff, arrow)) differing.push(arrow);
    else (lit ? highlighted : candidates).push(arrow);
  });
  const stride = Math.max(1, Math.ceil(candidates.length / MAX_ARROWS));
  // One path per (kind, dimmed) so the context switches style a dozen times, not per arrow.
  const buckets: number[][] = Array.from({ length: 12 }, () => []);
  const dimmed = h.cone !== null || h.diff ? 1 : 0;
  for (let k = 0; k < candidates.length; k += stride) buckets[l.arrowKind[candidates[k]] * 2 + dimmed].push(candidates[k]);
  for (const arrow of highlighted) buckets[l.arrowKind[arrow] * 2].push(arrow);
  for (const arrow of differing) buckets[l.arrowKind[arrow] * 2].push(arrow);
  const count = Math.ceil(candidates.length / stride) + highlighted.length + differing.length;
  for (let slot = 0; slot < buckets.length; slot++) {
    const list = buckets[slot];
    if (list.length === 0) continue;
    const kind = slot >> 1;
    ctx.globalAlpha = slot & 1 ? THEME.dimAlpha : 0.85;
    ctx.strokeStyle = THEME.arrow[kind];
    ctx.fillStyle = THEME.arrow[kind];
    ctx.lineWidth = kind === ARROW_MESSAGE ? 1.3 : 1;
    ctx.setLineDash(THEME.arrowDash[kind]);
    ctx.beginPath();
    for (const arrow of list) {
      const [x1, y1, x2, y2] = arrowPoints(l, v, arrow);
      ctx.moveTo(x1, y1);
      ctx.lineTo(x2, y2);
    }
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.beginPath();
    for (const arrow of list) {
      const [x1, y1, x2, y2] = arrowPoints(l, v, arrow);
      if (kind === ARROW_LOST) cross(ctx, x2, y2, 4);
      else if (Math.hypot(x2 - x1, y2 - y1) > 14) head(ctx, x1, y1, x2, y2);
    }
    if (kind === ARROW_LOST) {
      ctx.lineWidth = 2;
      ctx.stroke();
    } else ctx.fill();
  }
  ctx.globalAlpha = 1;
  if (differing.length > 0) {
    // A wide translucent stroke over each differing arrow, in this side's tint.
    ctx.strokeStyle = h.tint ?? THEME.diffA;
    ctx.globalAlpha = 0.45;
    ctx.lineWidth = 5;
    ctx.beginPath();
    for (const arrow of differing) {
      const [x1, y1, x2, y2] = arrowPoints(l, v, arrow);
      ctx.moveTo(x1, y1);
      ctx.lineTo(x2, y2);
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
  }
  if (h.faulted) markFaulted(ctx, l, v, h.faulted, [...candidates, ...highlighted, ...differing]);
  if (h.hoverArrow >= 0) {
    const [x1, y1, x2, y2] = arrowPoints(l, v, h.hoverArrow);
    ctx.strokeStyle = THEME.hover;
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
  }
  return [count, stride];
}

/** A wide dashed stroke in THEME.injected under each visible arrow of a faulted message. */
function markFaulted(ctx: Ctx, l: DiagramLayout, v: Viewport, faulted: Uint8Array, visible: number[]): void {
  const marked = visible.filter((arrow) => l.arrowMessage[arrow] >= 0 && faulted[l.arrowMessage[arrow]] === 1);
  if (marked.length === 0) return;
  ctx.strokeStyle = THEME.injected;
  ctx.globalAlpha = 0.5;
  ctx.lineWidth = 6;
  ctx.setLineDash([6, 3]);
  ctx.beginPath();
  for (const arrow of marked) {
    const [x1, y1, x2, y2] = arrowPoints(l, v, arrow);
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
  }
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.globalAlpha = 1;
}

/** A filled arrowhead at (x2, y2) pointing along (x1, y1)→(x2, y2), stopping short of the mark. */
function head(ctx: Ctx, x1: number, y1: number, x2: number, y2: number): void {
  const len = Math.hypot(x2 - x1, y2 - y1);
  const ux = (x2 - x1) / len;
  const uy = (y2 - y1) / len;
  const tx = x2 - ux * (MARK + 1);
  const ty = y2 - uy * (MARK + 1);
  ctx.moveTo(tx, ty);
  ctx.lineTo(tx - ux * 7 - uy * 3.5, ty - uy * 7 + ux * 3.5);
  ctx.lineTo(tx - ux * 7 + uy * 3.5, ty - uy * 7 - ux * 3.5);
  ctx.closePath();
}

function cross(ctx: Ctx, x: number, y: number, r: number): void {
  ctx.moveTo(x - r, y - r);
  ctx.lineTo(x + r, y + r);
  ctx.moveTo(x + r, y - r);
  ctx.lineTo(x - r, y + r);
}

function drawEvents(ctx: Ctx, l: DiagramLayout, v: Viewport, h: Highlight, first: number, last: number): number {
  const [a, b] = visibleX(v);
  const pad = MARK / v.k;
  const classes = THEME.event.length;
  // Per colour slot: x, y pairs; slot = class, or classes + 0/1/2 for past/future/dim.
  const slots: number[][] = Array.from({ length: classes + 3 }, () => []);
  const bars: number[] = [];
  const injected: number[] = [];
  const differing: number[] = [];
  const diff = h.diff ?? null;
  let count = 0;
  for (let lane = first; lane < last; lane++) {
    const evs = l.laneEvents[lane];
    const y = screenY(v, l.lanes.lanes[lane].y);
    let lastPx = -Infinity;
    for (let j = lowerBound(l, evs, a - pad); j < evs.length; j++) {
      const e = evs[j];
      const wx = l.x[e];
      if (wx > b + pad) break;
      const x = screenX(v, wx);
      const x0 = screenX(v, l.x0[e]);
      if (x - x0 >= 3) bars.push(Math.max(x0, v.left - 1), y, x);
      if (l.injected[e]) injected.push(x, y);
      // Same pixel as the previous mark of this lane: nothing new to see,
      // unless the cone colours it differently.
      const px = Math.round(x);
      if (diff !== null && diff.events[e] !== 0) differing.push(x, y);
      if (px === lastPx && h.cone === null && diff === null) continue;
      lastPx = px;
      let slot = l.eventClass[e];
      if (h.cone !== null) {
        const f = h.cone[e];
        slot = f === 0 ? classes + 2 : f & PAST ? classes : f & FUTURE ? classes + 1 : slot;
      } else if (diff !== null && diff.events[e] === 0) slot = classes + 2;
      slots[slot].push(x, y);
      count++;
    }
  }
  ctx.globalAlpha = 0.35;
  ctx.fillStyle = THEME.event[0];
  for (let k = 0; k < bars.length; k += 3) ctx.fillRect(bars[k], bars[k + 1] - 2, bars[k + 2] - bars[k], 4);
  const colors = [...THEME.event, THEME.past, THEME.future, THEME.event[0]];
  slots.forEach((pts, slot) => {
    if (pts.length === 0) return;
    ctx.globalAlpha = slot === classes + 2 ? THEME.dimAlpha : 1;
    ctx.fillStyle = colors[slot];
    ctx.beginPath();
    for (let k = 0; k < pts.length; k += 2) ctx.rect(pts[k] - MARK, pts[k + 1] - MARK, 2 * MARK, 2 * MARK);
    ctx.fill();
  });
  ctx.globalAlpha = 1;
  if (injected.length > 0) {
    ctx.strokeStyle = THEME.injected;
    ctx.fillStyle = THEME.injected;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let k = 0; k < injected.length; k += 2) {
      ctx.moveTo(injected[k] + MARK + 3, injected[k + 1]);
      ctx.arc(injected[k], injected[k + 1], MARK + 3, 0, 2 * Math.PI);
    }
    ctx.stroke();
    // A small flag above each injected event.
    ctx.beginPath();
    for (let k = 0; k < injected.length; k += 2) {
      const x = injected[k];
      const y = injected[k + 1] - MARK - 5;
      ctx.moveTo(x, y);
      ctx.lineTo(x + 7, y - 3.5);
      ctx.lineTo(x, y - 7);
      ctx.closePath();
    }
    ctx.fill();
  }
  if (differing.length > 0) {
    ctx.strokeStyle = h.tint ?? THEME.diffA;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let k = 0; k < differing.length; k += 2) {
      ctx.moveTo(differing[k] + MARK + 2.5, differing[k + 1]);
      ctx.arc(differing[k], differing[k + 1], MARK + 2.5, 0, 2 * Math.PI);
    }
    ctx.stroke();
  }
  if (diff !== null && diff.divergence >= 0) divergenceMark(ctx, l, v, diff.divergence);
  ring(ctx, l, v, h.hoverEvent, THEME.hover, 2);
  ring(ctx, l, v, h.selected, THEME.selected, 2.5);
  return count;
}

/** The first divergence: a thick ring and a vertical rule through the lane. */
function divergenceMark(ctx: Ctx, l: DiagramLayout, v: Viewport, e: number): void {
  if (l.laneOf[e] < 0) return;
  const x = screenX(v, l.x[e]);
  const y = screenY(v, l.lanes.lanes[l.laneOf[e]].y);
  ctx.strokeStyle = THEME.divergence;
  ctx.lineWidth = 1.5;
  ctx.setLineDash([3, 3]);
  ctx.beginPath();
  ctx.moveTo(Math.round(x) + 0.5, v.top);
  ctx.lineTo(Math.round(x) + 0.5, v.height);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.arc(x, y, MARK + 7, 0, 2 * Math.PI);
  ctx.stroke();
}

function ring(ctx: Ctx, l: DiagramLayout, v: Viewport, e: number, color: string, width: number): void {
  if (e < 0 || l.laneOf[e] < 0) return;
  const x = screenX(v, l.x[e]);
  const y = screenY(v, l.lanes.lanes[l.laneOf[e]].y);
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.beginPath();
  ctx.arc(x, y, MARK + 4, 0, 2 * Math.PI);
  ctx.stroke();
}
