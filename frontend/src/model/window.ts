/**
 * Windows of a big run's graph (`GET /api/runs/{id}/window`, the contract
 * in docs/API.md): what to ask for, how to read the answer, which window
 * to draw, and a small cache of recent ones. Pure, so the choices that
 * decide how often the page fetches are tested without a browser.
 *
 * A request is snapped to a grid so that panning and zooming reuse
 * windows: the level `L` is the power of two at or above the span in
 * view, and the request covers four tiles of `L` around it (at least one
 * view's width of margin on each side, prefetched), so the page fetches
 * again only when the view leaves a tile or the zoom changes by 2×.
 */

import { type Graph, GraphError, type GraphRun, parseGraph, type GraphChannel, type GraphEvent, type GraphEdge, type GraphMessage, type GraphProcess, type GraphThread } from "./api.ts";

/** The x-scales a window is asked in (layout/diagram.ts `XScale`). */
export type WindowScale = "time" | "logical";

/** The most pixel columns the server accepts. */
export const MAX_COLUMNS = 8000;
/** Events per column above which the server answers a level of detail. */
export const DETAIL_PER_COLUMN = 4;
/**
 * Columns per screen px of the view the page asks for at the finest zoom
 * of a level (see `planWindow`): 1 to 2 per px as the zoom goes. More
 * would sharpen the density a little but also raise the detail limit
 * (`DETAIL_PER_COLUMN` per column), and a detailed window of 30,000
 * events takes a few hundred ms to parse and lay out on arrival.
 */
const COLUMNS_PER_PX = 1;

export interface LodLane {
  thread: string;
  counts: number[];
  injected: number[];
}

export interface LodArrow {
  from: string;
  to: string;
  column_from: number;
  column_to: number;
  count: number;
  kind: string;
}

export interface Lod {
  lanes: LodLane[];
  arrows: LodArrow[];
}

/** A validated window answer. */
export interface GraphWindow {
  run: GraphRun;
  processes: GraphProcess[];
  threads: GraphThread[];
  channels: GraphChannel[];
  extent: Record<WindowScale, [number, number]>;
  scale: WindowScale;
  x0: number;
  x1: number;
  columns: number;
  /** Events of the selected lanes inside [x0, x1]. */
  totalEvents: number;
  /**
   * A detailed answer as a graph of its own: events re-indexed from 0 in
   * whole-graph id order (so `parseGraph`, the layout and the causal cone
   * apply unchanged), references to events not in hand dropped.
   */
  graph: Graph | null;
  /** Whole-graph id of each of `graph`'s events. */
  ids: Int32Array | null;
  lod: Lod | null;
}

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function num(x: unknown, where: string): number {
  if (typeof x !== "number" || !Number.isFinite(x)) throw new GraphError(`window.${where} is ${JSON.stringify(x)}, not a number`);
  return x;
}

function pair(x: unknown, where: string): [number, number] {
  if (!Array.isArray(x) || x.length !== 2) throw new GraphError(`window.${where} is not a [min, max] pair`);
  return [num(x[0], `${where}[0]`), num(x[1], `${where}[1]`)];
}

/** Checks a window answer against the contract and returns it typed. */
export function parseWindow(x: unknown): GraphWindow {
  if (!isObject(x)) throw new GraphError("the window is not a JSON object");
  if (x.schema !== undefined && x.schema !== 1) throw new GraphError(`window schema ${JSON.stringify(x.schema)} is not supported by this page (expected 1)`);
  if (!isObject(x.extent)) throw new GraphError("window.extent is missing");
  const scale = x.scale === "logical" ? "logical" : x.scale === "time" ? "time" : null;
  if (scale === null) throw new GraphError(`window.scale ${JSON.stringify(x.scale)} is neither time nor logical`);
  const extent = { time: pair(x.extent.time, "extent.time"), logical: pair(x.extent.logical, "extent.logical") };
  const columns = num(x.columns, "columns");
  const events = x.events;
  let graph: Graph | null = null;
  let ids: Int32Array | null = null;
  let lod: Lod | null = null;
  if (Array.isArray(events)) {
    [graph, ids] = localGraph(x, events);
  } else if (isObject(x.lod)) {
    lod = parseLod(x.lod, columns);
  } else {
    throw new GraphError("the window has neither events nor lod");
  }
  const skeleton = graph ?? parseGraph({ schema: 1, run: x.run, processes: x.processes, threads: x.threads, channels: x.channels, events: [], messages: [], edges: [] });
  return {
    run: skeleton.run,
    processes: skeleton.processes,
    threads: skeleton.threads,
    channels: skeleton.channels,
    extent,
    scale,
    x0: num(x.x0, "x0"),
    x1: num(x.x1, "x1"),
    columns,
    totalEvents: num(x.total_events, "total_events"),
    graph,
    ids,
    lod,
  };
}

function parseLod(x: Json, columns: number): Lod {
  if (!Array.isArray(x.lanes) || !Array.isArray(x.arrows)) throw new GraphError("window.lod needs lanes and arrows");
  const lanes = x.lanes as LodLane[];
  for (const [i, l] of lanes.entries()) {
    if (!isObject(l) || typeof l.thread !== "string" || !Array.isArray(l.counts)) throw new GraphError(`window.lod.lanes[${i}] has no thread or counts`);
    if (l.counts.length !== columns) throw new GraphError(`window.lod.lanes[${i}] has ${l.counts.length} counts for ${columns} columns`);
    if (!Array.isArray(l.injected)) l.injected = [];
  }
  const arrows = x.arrows as LodArrow[];
  for (const [i, a] of arrows.entries()) {
    if (!isObject(a) || typeof a.from !== "string" || typeof a.to !== "string") throw new GraphError(`window.lod.arrows[${i}] has no from/to`);
    num(a.column_from, `lod.arrows[${i}].column_from`);
    num(a.column_to, `lod.arrows[${i}].column_to`);
    num(a.count, `lod.arrows[${i}].count`);
  }
  return { lanes, arrows };
}

/**
 * The events of a detailed answer as a graph whose ids are indices,
 * sorted by whole-graph id (which keeps program order within a thread).
 */
function localGraph(x: Json, events: unknown[]): [Graph, Int32Array] {
  // The answer is ours alone: its objects are renumbered in place (copying
  // 30,000 events costs as much as parsing them).
  const evs = events as GraphEvent[];
  for (const [i, e] of evs.entries()) {
    if (!isObject(e)) throw new GraphError(`window.events[${i}] is not an event`);
    num(e.id, `events[${i}].id`);
  }
  evs.sort((a, b) => a.id - b.id);
  const ids = Int32Array.from(evs, (e) => e.id);
  const local = new Map<number, number>();
  ids.forEach((id, i) => local.set(id, i));
  const at = (id: unknown) => (typeof id === "number" ? local.get(id) : undefined);
  evs.forEach((e, i) => (e.id = i));
  const messages: GraphMessage[] = [];
  for (const m of (Array.isArray(x.messages) ? x.messages : []) as GraphMessage[]) {
    const send = at(m?.send);
    if (send === undefined || !Array.isArray(m.recvs)) continue;
    m.send = send;
    m.recvs = m.recvs.map(at).filter((r): r is number => r !== undefined);
    messages.push(m);
  }
  const edges: GraphEdge[] = [];
  for (const e of (Array.isArray(x.edges) ? x.edges : []) as GraphEdge[]) {
    const from = at(e?.from);
    const to = at(e?.to);
    if (from === undefined || to === undefined) continue;
    e.from = from;
    e.to = to;
    edges.push(e);
  }
  const graph = parseGraph({ schema: 1, run: x.run, processes: x.processes, threads: x.threads, channels: x.channels, events: evs, messages, edges });
  return [graph, ids];
}

/** What to fetch for a view. */
export interface WindowRequest {
  scale: WindowScale;
  x0: number;
  x1: number;
  columns: number;
  /** The grid level (world units per tile). */
  level: number;
  /** Identifies the request in the cache. */
  key: string;
}

/**
 * The window to fetch for a view of world x [a, b] on a plot `plotPx`
 * wide, within the run's extent: four tiles of the level around the view
 * (module comment), clamped to the extent, with whole numbers at the ends
 * (time in ns and Lamport clocks are integers) and one or two columns per
 * screen px of the view.
 */
export function planWindow(scale: WindowScale, a: number, b: number, plotPx: number, extent: [number, number]): WindowRequest {
  const span = Math.max(b - a, 1e-6);
  const level = 2 ** Math.ceil(Math.log2(span));
  const tile = Math.floor(a / level);
  const x0 = Math.max(extent[0], Math.floor((tile - 1) * level));
  const x1 = Math.max(x0, Math.min(extent[1], Math.ceil((tile + 3) * level)));
  const perUnit = (COLUMNS_PER_PX * Math.max(1, plotPx)) / level;
  const columns = Math.max(1, Math.min(MAX_COLUMNS, Math.ceil((x1 - x0) * perUnit)));
  return { scale, x0, x1, columns, level, key: `${scale}:${x0}:${x1}:${columns}` };
}

/** The query of a request, as `api.window` takes it. */
export function windowQuery(r: WindowRequest): { scale: WindowScale; x0: number; x1: number; columns: number } {
  return { scale: r.scale, x0: r.x0, x1: r.x1, columns: r.columns };
}

/** Whether window `w` holds all of [a, b] (as far as the run goes). */
export function covers(w: Pick<GraphWindow, "scale" | "x0" | "x1" | "extent">, scale: WindowScale, a: number, b: number): boolean {
  const [min, max] = w.extent[scale];
  return w.scale === scale && w.x0 <= Math.max(a, min) && w.x1 >= Math.min(b, max);
}

/** Columns per world unit of a window (its resolution). */
export function resolution(w: Pick<GraphWindow, "x0" | "x1" | "columns">): number {
  return w.columns / Math.max(w.x1 - w.x0, 1e-9);
}

/**
 * Whether window `w` makes fetching `want` needless: it covers the view
 * and either holds the events themselves or a level of detail at least
 * 3/4 as fine as the one asked for (a 2× zoom in asks again).
 */
export function satisfies(w: Pick<GraphWindow, "scale" | "x0" | "x1" | "extent" | "columns" | "graph">, want: WindowRequest, a: number, b: number): boolean {
  if (!covers(w, want.scale, a, b)) return false;
  return w.graph !== null || resolution(w) >= 0.75 * resolution(want);
}

/**
 * The window to draw for `want`, among `windows` (most recent first): the
 * one asked for; else one that covers the view, closest in resolution,
 * details before a level of detail; else the most recent of the scale
 * that meets the view (the previous window stays drawn until the next
 * arrives); else null.
 */
export function pickWindow<T extends Pick<GraphWindow, "scale" | "x0" | "x1" | "extent" | "columns" | "graph">>(
  windows: { key: string; window: T }[],
  want: WindowRequest,
  a: number,
  b: number,
): T | null {
  const exact = windows.find((w) => w.key === want.key);
  if (exact) return exact.window;
  const target = Math.log(resolution(want));
  let best: T | null = null;
  let bestScore = Infinity;
  for (const { window: w } of windows) {
    if (!covers(w, want.scale, a, b)) continue;
    const score = Math.abs(Math.log(resolution(w)) - target) - (w.graph !== null ? 100 : 0);
    if (score < bestScore) {
      best = w;
      bestScore = score;
    }
  }
  if (best !== null) return best;
  return windows.find((w) => w.window.scale === want.scale && w.window.x0 <= b && w.window.x1 >= a)?.window ?? null;
}

/** A least-recently-used map of a few windows (or what the page builds from them). */
export class WindowCache<T> {
  private readonly map = new Map<string, T>();

  constructor(readonly capacity = 12) {}

  get(key: string): T | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  put(key: string, value: T): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }

  /** Every entry, most recently used first. */
  entries(): { key: string; window: T }[] {
    return [...this.map].reverse().map(([key, window]) => ({ key, window }));
  }

  get size(): number {
    return this.map.size;
  }
}

/** Most events a merge of detailed windows may hold (past it, the newer window is drawn alone). */
export const MAX_MERGED_EVENTS = 50_000;

/**
 * Two detailed windows of one scale as one: the union of their events
 * (by whole-graph id), messages and edges, over the union of their
 * ranges. Used while panning at full detail, so that the events already
 * in hand stay drawn and a selection's causal cone reaches across both.
 * Null when they do not overlap or the union would be too big.
 */
export function mergeWindows(a: GraphWindow, b: GraphWindow): GraphWindow | null {
  if (a.graph === null || b.graph === null || a.ids === null || b.ids === null || a.scale !== b.scale) return null;
  if (a.x1 < b.x0 || b.x1 < a.x0) return null;
  if (a.ids.length + b.ids.length > MAX_MERGED_EVENTS) return null;
  const events = new Map<number, GraphEvent>();
  const globalize = (w: GraphWindow) => {
    const ids = w.ids as Int32Array;
    const g = w.graph as Graph;
    for (const e of g.events) events.set(ids[e.id], { ...e, id: ids[e.id] });
    return {
      messages: g.messages.map((m) => ({ ...m, send: ids[m.send], recvs: m.recvs.map((r) => ids[r]) })),
      edges: g.edges.map((e) => ({ ...e, from: ids[e.from], to: ids[e.to] })),
    };
  };
  const ga = globalize(a);
  const gb = globalize(b);
  const messages = new Map<string, GraphMessage>();
  for (const m of [...ga.messages, ...gb.messages]) {
    const had = messages.get(m.id);
    messages.set(m.id, had ? { ...m, recvs: [...new Set([...had.recvs, ...m.recvs])].sort((x, y) => x - y) } : m);
  }
  const edges = new Map<string, GraphEdge>();
  for (const e of [...ga.edges, ...gb.edges]) edges.set(`${e.from}:${e.to}:${e.kind}`, e);
  const raw = { run: b.run, processes: b.processes, threads: b.threads, channels: b.channels };
  const [graph, ids] = localGraph({ ...raw, messages: [...messages.values()], edges: [...edges.values()] }, [...events.values()]);
  const x0 = Math.min(a.x0, b.x0);
  const x1 = Math.max(a.x1, b.x1);
  const columns = Math.max(1, Math.round(Math.max(resolution(a), resolution(b)) * (x1 - x0)));
  return { ...b, x0, x1, columns, totalEvents: graph.events.length, graph, ids, lod: null };
}
