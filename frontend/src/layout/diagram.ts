/**
 * The space-time diagram's geometry, pure: where each event sits (its
 * lane and world x in the chosen x-scale), the arrows (message deliveries,
 * connect→accept, spawn, exit→wait, close→EOF, lost messages), and the
 * indexes that make drawing and hit testing proportional to what is on
 * screen: per-lane events sorted by x (binary search), and x-buckets of
 * arrows.
 */

import type { EdgeKind } from "../model/api.ts";
import { callClass } from "../model/calls.ts";
import type { GraphIndex } from "../model/graph.ts";
import { type LaneLayout, LANE_HEIGHT, laneAt, type LaneSpec, layoutLanes } from "./lanes.ts";
import { contentY, screenX, screenY, type Viewport, worldX } from "./viewport.ts";

/** Real time (ns since the run started) or Lamport clock. */
export type XScale = "time" | "logical";

export const ARROW_MESSAGE = 0;
export const ARROW_CONNECT = 1;
export const ARROW_SPAWN = 2;
export const ARROW_EXIT = 3;
export const ARROW_EOF = 4;
export const ARROW_LOST = 5;
export const ARROW_KIND_NAMES = ["message", "connect", "spawn", "exit", "eof", "lost"] as const;
const KIND_CODE: Record<EdgeKind, number> = { message: 0, connect: 1, spawn: 2, exit: 3, eof: 4 };

/** Screen offset of a lost message's dangling end from its send. */
export const LOST_DX = 34;
export const LOST_DY = 10;

export interface DiagramLayout {
  scale: XScale;
  lanes: LaneLayout;
  /** Lane of each event (-1 if its thread is unknown). */
  laneOf: Int32Array;
  /** World x of each event's mark (return time, or Lamport). */
  x: Float64Array;
  /** World x where the event's call began (same as x in logical scale). */
  x0: Float64Array;
  /** Events of each lane sorted by x. */
  laneEvents: Int32Array[];
  /** Call class of each event (model/calls.ts). */
  eventClass: Uint8Array;
  /** 1 where the fault injector changed the event. */
  injected: Uint8Array;
  /** Arrows: endpoints (to = -1 for lost), kind code, message index or -1. */
  arrowFrom: Int32Array;
  arrowTo: Int32Array;
  arrowKind: Uint8Array;
  arrowMessage: Int32Array;
  /** World x extent of all events. */
  minX: number;
  maxX: number;
  arrows: ArrowIndex;
}

/**
 * Lays out a graph in one x-scale. O(events log events + arrows). With
 * `spec`, lanes follow it (comparisons: both runs on the same rows);
 * events of threads the spec lacks get no lane. With `laneLayout` (lanes
 * collapsed or hidden, layout/collapse.ts) lanes are those.
 */
export function layoutDiagram(index: GraphIndex, scale: XScale, spec?: LaneSpec, laneLayout?: LaneLayout): DiagramLayout {
  const { graph } = index;
  const lanes = laneLayout ?? layoutLanes(graph, spec);
  const n = graph.events.length;
  const laneOf = new Int32Array(n);
  const x = new Float64Array(n);
  const x0 = new Float64Array(n);
  const eventClass = new Uint8Array(n);
  const injected = new Uint8Array(n);
  let minX = Infinity;
  let maxX = -Infinity;
  for (let i = 0; i < n; i++) {
    const e = graph.events[i];
    const t = index.threadOf[i];
    laneOf[i] = t >= 0 ? lanes.laneOfThread[t] : -1;
    eventClass[i] = callClass(e.call);
    injected[i] = e.injected !== null ? 1 : 0;
    if (scale === "time") {
      x0[i] = e.start_ns;
      x[i] = e.end_ns ?? e.start_ns;
    } else {
      x0[i] = x[i] = e.lamport;
    }
    if (x0[i] < minX) minX = x0[i];
    if (x[i] > maxX) maxX = x[i];
  }
  if (n === 0) minX = maxX = 0;
  const laneEvents = lanes.lanes.map((lane) => {
    // A collapsed lane holds several threads: their events merged by x.
    const evs = lane.threads.length === 1 ? Int32Array.from(index.eventsByThread[lane.threads[0]]) : mergeByX(x, lane.threads.map((t) => index.eventsByThread[t]));
    // Program order is x order almost always; sort to be sure (binary search relies on it).
    let sorted = true;
    for (let j = 1; j < evs.length; j++) if (x[evs[j]] < x[evs[j - 1]]) sorted = false;
    if (!sorted) evs.sort((a, b) => x[a] - x[b] || a - b);
    return evs;
  });

  const from: number[] = [];
  const to: number[] = [];
  const kind: number[] = [];
  const message: number[] = [];
  graph.messages.forEach((m, mi) => {
    for (const r of m.recvs) {
      from.push(m.send);
      to.push(r);
      kind.push(ARROW_MESSAGE);
      message.push(mi);
    }
    if (m.lost || m.recvs.length === 0) {
      from.push(m.send);
      to.push(-1);
      kind.push(ARROW_LOST);
      message.push(mi);
    }
  });
  // Message deliveries come from `messages` (they carry the message name);
  // other edges from `edges`.
  for (const e of graph.edges) {
    if (e.kind === "message") continue;
    from.push(e.from);
    to.push(e.to);
    kind.push(KIND_CODE[e.kind]);
    message.push(-1);
  }
  const layout: DiagramLayout = {
    scale,
    lanes,
    laneOf,
    x,
    x0,
    laneEvents,
    eventClass,
    injected,
    arrowFrom: Int32Array.from(from),
    arrowTo: Int32Array.from(to),
    arrowKind: Uint8Array.from(kind),
    arrowMessage: Int32Array.from(message),
    minX,
    maxX,
    arrows: undefined as unknown as ArrowIndex,
  };
  layout.arrows = new ArrowIndex(layout);
  return layout;
}

/**
 * Event lists each (almost always) in x order, merged into one in x
 * order, two at a time (O(n log k) for k lists): what a collapsed lane
 * draws. Ties keep id order.
 */
export function mergeByX(x: Float64Array, lists: Int32Array[]): Int32Array {
  if (lists.length === 0) return new Int32Array(0);
  let level = lists;
  while (level.length > 1) {
    const next: Int32Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? merge2(x, level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return Int32Array.from(level[0]);
}

function merge2(x: Float64Array, a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const ea = a[i];
    const eb = b[j];
    out[k++] = x[ea] < x[eb] || (x[ea] === x[eb] && ea < eb) ? a[i++] : b[j++];
  }
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** World x extent of an arrow (a lost arrow is its send point). */
function arrowExtent(l: DiagramLayout, a: number): [number, number] {
  const fx = l.x[l.arrowFrom[a]];
  const t = l.arrowTo[a];
  if (t < 0) return [fx, fx];
  const tx = l.x[t];
  return fx < tx ? [fx, tx] : [tx, fx];
}

/**
 * Arrows bucketed by world x. An arrow is filed in every bucket its x
 * extent crosses; arrows crossing more than `LONG` buckets are kept in one
 * list checked on every query (there are few: long waits, spawn edges).
 */
export class ArrowIndex {
  private readonly min: number;
  private readonly width: number;
  private readonly nb: number;
  private readonly buckets: Int32Array[];
  private readonly long: Int32Array;
  private readonly longLo: Float64Array;
  private readonly longHi: Float64Array;
  private readonly stamp: Uint32Array;
  private epoch = 0;
  static readonly LONG = 32;

  constructor(private readonly layout: DiagramLayout) {
    const count = layout.arrowFrom.length;
    // Bucket width: about the median arrow length (most arrows then sit in
    // one or two buckets), but no more than 8192 buckets nor fewer than
    // needed to hold ~4 arrows each.
    const span = Math.max(1e-9, layout.maxX - layout.minX);
    const lengths = new Float64Array(count);
    for (let a = 0; a < count; a++) {
      const [lo, hi] = arrowExtent(layout, a);
      lengths[a] = hi - lo;
    }
    lengths.sort();
    const median = count > 0 ? lengths[count >> 1] : span;
    const nb = Math.max(1, Math.min(8192, Math.ceil(count / 4), Math.ceil(span / Math.max(median, span / 8192))));
    this.nb = nb;
    this.min = layout.minX;
    this.width = span / nb;
    const lists: number[][] = Array.from({ length: nb }, () => []);
    const long: number[] = [];
    for (let a = 0; a < count; a++) {
      const [lo, hi] = arrowExtent(layout, a);
      const b0 = this.bucket(lo);
      const b1 = this.bucket(hi);
      if (b1 - b0 > ArrowIndex.LONG) long.push(a);
      else for (let b = b0; b <= b1; b++) lists[b].push(a);
    }
    this.buckets = lists.map((l) => Int32Array.from(l));
    this.long = Int32Array.from(long);
    this.longLo = Float64Array.from(long, (a) => arrowExtent(layout, a)[0]);
    this.longHi = Float64Array.from(long, (a) => arrowExtent(layout, a)[1]);
    this.stamp = new Uint32Array(count);
  }

  private bucket(wx: number): number {
    const b = Math.floor((wx - this.min) / this.width);
    return Math.max(0, Math.min(this.nb - 1, b));
  }

  /** Calls `visit` once for each arrow whose x extent may meet [lo, hi]. */
  query(lo: number, hi: number, visit: (arrow: number) => void): void {
    this.epoch = (this.epoch + 1) >>> 0 || 1;
    const { stamp, epoch } = this;
    const b0 = this.bucket(lo);
    const b1 = this.bucket(hi);
    for (let b = b0; b <= b1; b++) {
      const list = this.buckets[b];
      for (let k = 0; k < list.length; k++) {
        const a = list[k];
        if (stamp[a] !== epoch) {
          stamp[a] = epoch;
          visit(a);
        }
      }
    }
    const { longLo, longHi } = this;
    for (let k = 0; k < this.long.length; k++) {
      const a = this.long[k];
      if (longHi[k] >= lo && longLo[k] <= hi && stamp[a] !== epoch) {
        stamp[a] = epoch;
        visit(a);
      }
    }
  }
}

/** First index in a lane's sorted events whose x is >= wx. */
export function lowerBound(l: DiagramLayout, lane: Int32Array, wx: number): number {
  let lo = 0;
  let hi = lane.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (l.x[lane[mid]] < wx) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Lanes whose band meets the plot area. */
export function visibleLanes(l: DiagramLayout, v: Viewport): [number, number] {
  const top = contentY(v, v.top) - LANE_HEIGHT;
  const bottom = contentY(v, v.height) + LANE_HEIGHT;
  let first = 0;
  while (first < l.lanes.lanes.length && l.lanes.lanes[first].y < top) first++;
  let last = first;
  while (last < l.lanes.lanes.length && l.lanes.lanes[last].y <= bottom) last++;
  return [first, last];
}

/** Screen position of an event's mark. */
export function eventPoint(l: DiagramLayout, v: Viewport, e: number): [number, number] {
  return [screenX(v, l.x[e]), screenY(v, l.lanes.lanes[l.laneOf[e]]?.y ?? -1e6)];
}

/** Screen endpoints of an arrow (a lost arrow dangles below-right of its send). */
export function arrowPoints(l: DiagramLayout, v: Viewport, a: number): [number, number, number, number] {
  const [x1, y1] = eventPoint(l, v, l.arrowFrom[a]);
  const t = l.arrowTo[a];
  if (t < 0) return [x1, y1, x1 + LOST_DX, y1 + LOST_DY];
  const [x2, y2] = eventPoint(l, v, t);
  return [x1, y1, x2, y2];
}

/**
 * A point on the arrow of message `mi` (an index into the graph's
 * messages): the middle of its first delivery, or the end of its × when
 * lost; null when it has no arrow. Where a pointer hovers or clicks it.
 */
export function messageAnchor(l: DiagramLayout, v: Viewport, mi: number): [number, number] | null {
  for (let a = 0; a < l.arrowFrom.length; a++) {
    if (l.arrowMessage[a] !== mi) continue;
    const [x1, y1, x2, y2] = arrowPoints(l, v, a);
    return l.arrowKind[a] === ARROW_LOST ? [x2, y2] : [(x1 + x2) / 2, (y1 + y2) / 2];
  }
  return null;
}

/** The event whose mark is nearest to (sx, sy) within `radius` px, or -1. */
export function eventAt(l: DiagramLayout, v: Viewport, sx: number, sy: number, radius = 6): number {
  const lane = laneAt(l.lanes, contentY(v, sy));
  if (lane < 0) return -1;
  const ly = screenY(v, l.lanes.lanes[lane].y);
  if (Math.abs(sy - ly) > radius + 4) return -1;
  const evs = l.laneEvents[lane];
  const i = lowerBound(l, evs, worldX(v, sx - radius));
  let best = -1;
  let bestD = radius;
  for (let j = i; j < evs.length; j++) {
    const ex = screenX(v, l.x[evs[j]]);
    if (ex > sx + radius) break;
    const d = Math.abs(ex - sx);
    if (d <= bestD) {
      best = evs[j];
      bestD = d;
    }
  }
  return best;
}

/** Distance from point p to segment ab. */
export function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** The arrow nearest to (sx, sy) within `radius` px, or -1. */
export function arrowAt(l: DiagramLayout, v: Viewport, sx: number, sy: number, radius = 4): number {
  let best = -1;
  let bestD = radius;
  const margin = (LOST_DX + radius) / v.k;
  const wx = worldX(v, sx);
  l.arrows.query(wx - margin, wx + margin, (a) => {
    const [x1, y1, x2, y2] = arrowPoints(l, v, a);
    const d = segmentDistance(sx, sy, x1, y1, x2, y2);
    if (d <= bestD) {
      best = a;
      bestD = d;
    }
  });
  return best;
}
