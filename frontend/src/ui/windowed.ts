/**
 * The run page of a big run: it fetches the window in view
 * (`GET /api/runs/{id}/window`, model/window.ts) instead of the whole
 * graph. Zoomed out, the server answers a level of detail (event density
 * per column and lane, bucketed arrows; layout/lod.ts, render/lod.ts);
 * zoomed in, the events themselves, drawn, hovered and clicked exactly as
 * the whole-graph view (ui/runview.ts) draws them.
 *
 * Fetching: every viewport change (ui/controller.ts) plans the window for
 * the view; after the viewport has been still for `DEBOUNCE_MS`, the page
 * fetches it unless a cached window already serves it, cancelling the
 * request in flight (AbortController) if it asked for something else.
 * Until the answer arrives the best window in hand stays drawn. Requests
 * cover a margin around the view (model/window.ts `planWindow`), so short
 * pans draw at once from what is in hand.
 *
 * What needs the whole graph works on the events in hand: selection, the
 * causal past and future of the selected event (within the loaded
 * window: paths that leave it are not followed, and the status line says
 * so), click-a-message to plan a rerun (the message and its logical name
 * are in the window), and the faults' "select this event" links (when the
 * event is in hand). Keys, wheel and drag are the controller's and need
 * nothing but the extent, which every window answer carries.
 *
 * Test hooks, besides runview.ts's: `#diagram[data-windowed]`,
 * `data-window-mode` (lod | events), `data-window-x0/x1/columns` of the
 * window drawn, `data-window-requests` (window fetches started),
 * `data-window-aborted`, `data-window-cached`, `data-window-latency-ms`
 * (from the viewport change to the answer of the last window fetched), `data-events` (events in
 * hand), `data-events-total` (the run's), `data-lod-columns` (density
 * bars drawn), `data-first-frame-ms` (since navigation start);
 * `window.bopDiagram.inView()` and `messagesInView()` list the events and
 * delivered messages in hand whose marks are on screen.
 */

import type { GraphMessage, GraphRun } from "../model/api.ts";
import { eventFacts, formatNs, formatTick, messageFacts } from "../model/format.ts";
import { causalCone, type GraphIndex, indexGraph } from "../model/graph.ts";
import { api } from "../model/routes.ts";
import { type GraphWindow, mergeWindows, parseWindow, pickWindow, planWindow, satisfies, WindowCache, type WindowRequest, type WindowScale, windowQuery } from "../model/window.ts";
import { ARROW_KIND_NAMES, ARROW_LOST, ARROW_MESSAGE, arrowAt, type DiagramLayout, eventAt, eventPoint, layoutDiagram, messageAnchor } from "../layout/diagram.ts";
import { frameLayout, type LodHit, lodAt, type LodLayout, layoutLod } from "../layout/lod.ts";
import { reveal } from "../layout/navigate.ts";
import { type Viewport, visibleX, zoomAt } from "../layout/viewport.ts";
import { draw, type Highlight, NO_HIGHLIGHT } from "../render/canvas.ts";
import { drawLod } from "../render/lod.ts";
import { AXIS, GUTTER } from "../render/theme.ts";
import { ApiFailure, describe, getJson } from "./client.ts";
import { ViewportController } from "./controller.ts";
import { paintOnNextFrame, setStatus, showTooltip } from "./dom.ts";
import { fitCanvas, onResize, onScaleChoice, pagePoint } from "./pagewire.ts";
import type { RerunPanel } from "./rerun.ts";

/**
 * Runs with more recorded events than this open by window. Below it the
 * whole graph is one request that draws within about half a second
 * (docs/PERFORMANCE-frontend.md) and everything works on every event.
 */
export const WINDOWED_MIN_EVENTS = 20_000;
/** Quiet time after a viewport change before the window in view is fetched. */
export const DEBOUNCE_MS = 60;
/** How many windows (and their layouts) the page keeps. */
const CACHE_WINDOWS = 12;

/** A window with what drawing it needs, built on first use. */
interface Entry {
  key: string;
  window: GraphWindow;
  events?: { index: GraphIndex; layout: DiagramLayout; byName: Map<string, number> };
  lod?: LodLayout;
}

/** The run's recorded event count from its manifest (`counts.events`), 0 when absent. */
export function manifestEvents(m: unknown): number {
  const counts = (m as { counts?: { events?: unknown } } | null)?.counts;
  return typeof counts?.events === "number" ? counts.events : 0;
}

/**
 * The first window of a big run (the whole run at the plot's width), or
 * null when the run is small enough for the whole graph (or the server
 * has no windows). Throws what the
 * API answered when it cannot be loaded.
 */
export async function firstWindow(id: string, plotPx: number): Promise<GraphWindow | null> {
  const events = manifestEvents(await getJson<unknown>(api.run(id)));
  if (events <= WINDOWED_MIN_EVENTS) return null;
  const columns = Math.min(8000, Math.max(1, Math.ceil(2 * plotPx)));
  try {
    return parseWindow(await getJson<unknown>(api.window(id, { scale: "time", columns })));
  } catch (e) {
    // The run exists (its manifest answered): a 404 here is a server
    // without windows (an older bop serve). The whole graph still works, slowly.
    if (e instanceof ApiFailure && e.status === 404) return null;
    throw e;
  }
}

export class WindowedView {
  private readonly cache = new WindowCache<Entry>(CACHE_WINDOWS);
  private readonly frames = new Map<WindowScale, DiagramLayout>();
  private readonly nav: ViewportController;
  private scale: WindowScale = "time";
  private drawn: Entry | null = null;
  private want: WindowRequest | null = null;
  private inflight: { key: string; abort: AbortController; since: number } | null = null;
  private timer: number | undefined;
  private requests = 0;
  private aborted = 0;
  /** Paints in the next animation frame, once however often asked. */
  private readonly request = paintOnNextFrame(() => this.paint());
  private firstFrame = true;
  private selected: string | null = null;
  private highlight: Highlight = { ...NO_HIGHLIGHT };
  private lodHover: LodHit | null = null;
  private note = "";

  constructor(
    private readonly root: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
    private readonly tooltip: HTMLElement,
    private readonly id: string,
    readonly first: GraphWindow,
    private readonly rerun: RerunPanel,
    private readonly eventsTotal: number,
  ) {
    const entry: Entry = { key: `first:${first.scale}`, window: first };
    this.cache.put(entry.key, entry);
    this.drawn = entry;
    this.nav = new ViewportController({
      page: "run",
      host: root,
      surfaces: [{ root, canvas }],
      extent: () => {
        const [minX, maxX] = this.first.extent[this.scale];
        return { minX, maxX, height: this.frameFor(this.scale).lanes.height };
      },
      initial: { x0: 0, k: 1, y0: 0, width: 1, height: 1, left: GUTTER, top: AXIS },
      actions: {
        clear: () => {
          this.select(null);
          this.rerun.close();
        },
      },
      pointer: {
        hover: (_, sx, sy) => this.hover(sx, sy),
        click: (_, sx, sy) => this.click(sx, sy),
        leave: () => {
          this.tooltip.hidden = true;
          this.setHover(-1, -1, null);
        },
      },
    });
    this.nav.subscribe(() => {
      this.tooltip.hidden = true;
      this.request();
      this.schedule();
    });
  }

  /** The run (for the page's header and fault list). */
  get run(): GraphRun {
    return this.first.run;
  }

  private get view(): Viewport {
    return this.nav.view;
  }

  private frameFor(scale: WindowScale): DiagramLayout {
    let f = this.frames.get(scale);
    if (f === undefined) {
      f = frameLayout(this.first, scale);
      this.frames.set(scale, f);
    }
    return f;
  }

  start(): void {
    const ds = this.root.dataset;
    ds.windowed = "true";
    ds.lanes = String(this.frameFor("time").lanes.lanes.length);
    ds.eventsTotal = String(this.eventsTotal);
    ds.scale = this.scale;
    this.sizeCanvas();
    this.nav.fit();
    this.request();
    onResize(this.root, () => {
      this.sizeCanvas();
      this.request();
    });
    onScaleChoice((s) => this.setScale(s));
    this.nav.bind();
    this.exposeTestHooks();
  }

  private exposeTestHooks(): void {
    const page = (p: [number, number] | null) => pagePoint(this.canvas, p);
    const hooks = {
      eventPoint: (name: string) => {
        const e = this.drawn?.events?.byName.get(name);
        return e === undefined || this.drawn?.events === undefined ? null : page(eventPoint(this.drawn.events.layout, this.view, e));
      },
      messagePoint: (id: string) => {
        const ev = this.drawn?.events;
        if (ev === undefined) return null;
        return page(messageAnchor(ev.layout, this.view, ev.index.graph.messages.findIndex((m) => m.id === id)));
      },
      viewport: () => ({ ...this.view }),
      /** Logical names of the delivered messages in hand whose send is in view. */
      messagesInView: (limit = 100) => {
        const ev = this.drawn?.events;
        if (ev === undefined) return [];
        const v = this.view;
        const inside = (e: number) => {
          const [x, y] = eventPoint(ev.layout, v, e);
          return x >= v.left && x <= v.width && y >= v.top && y <= v.height;
        };
        const out: string[] = [];
        for (const m of ev.index.graph.messages) {
          if (out.length >= limit) break;
          if (m.recvs.length > 0 && inside(m.send) && inside(m.recvs[0])) out.push(m.id);
        }
        return out;
      },
      /** Names of the events in hand whose mark is in the plot area (at most `limit`). */
      inView: (limit = 100) => {
        const ev = this.drawn?.events;
        if (ev === undefined) return [];
        const v = this.view;
        const out: string[] = [];
        for (let i = 0; i < ev.layout.x.length && out.length < limit; i++) {
          const [x, y] = eventPoint(ev.layout, v, i);
          if (x >= v.left && x <= v.width && y >= v.top && y <= v.height) out.push(ev.index.graph.events[i].name);
        }
        return out;
      },
    };
    (window as unknown as { bopDiagram: typeof hooks }).bopDiagram = hooks;
  }

  private sizeCanvas(): void {
    fitCanvas(this.root, this.canvas, this.nav, this.frameFor(this.scale).lanes.height);
  }

  private plotPx(): number {
    return Math.max(1, this.view.width - this.view.left);
  }

  /** Fetches the window in view once the viewport has been still for DEBOUNCE_MS. */
  private schedule(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.fetchInView(), DEBOUNCE_MS);
  }

  private fetchInView(): void {
    const [a, b] = visibleX(this.view);
    const want = planWindow(this.scale, a, b, this.plotPx(), this.first.extent[this.scale]);
    this.want = want;
    this.choose();
    const entries = this.cache.entries();
    if (entries.some((e) => satisfies(e.window.window, want, a, b))) {
      this.cancel();
      return;
    }
    if (this.inflight?.key === want.key) return;
    this.cancel();
    const abort = new AbortController();
    // The viewport change it answers happened DEBOUNCE_MS ago.
    this.inflight = { key: want.key, abort, since: performance.now() - DEBOUNCE_MS };
    this.requests++;
    this.root.dataset.windowRequests = String(this.requests);
    void this.load(want, abort);
  }

  private cancel(): void {
    if (this.inflight === null) return;
    this.inflight.abort.abort();
    this.inflight = null;
    this.aborted++;
    this.root.dataset.windowAborted = String(this.aborted);
  }

  private async load(want: WindowRequest, abort: AbortController): Promise<void> {
    let w: GraphWindow;
    try {
      w = parseWindow(await getJson<unknown>(api.window(this.id, windowQuery(want)), abort.signal));
    } catch (e) {
      if (abort.signal.aborted) return;
      if (this.inflight?.abort === abort) this.inflight = null;
      setStatus("error", `Cannot load this part of the run: ${describe(e)}`);
      return;
    }
    if (abort.signal.aborted) return;
    if (this.inflight?.abort === abort) {
      this.root.dataset.windowLatencyMs = (performance.now() - this.inflight.since).toFixed(0);
      this.inflight = null;
    }
    this.cache.put(want.key, { key: want.key, window: w });
    const drawn = this.drawn?.window;
    if (drawn !== undefined && w.graph !== null && drawn.graph !== null) {
      const merged = mergeWindows(drawn, w);
      if (merged !== null) this.cache.put(`merged:${want.key}`, { key: `merged:${want.key}`, window: merged });
    }
    this.root.dataset.windowCached = String(this.cache.size);
    this.choose();
  }

  /** Draws the best window in hand for the view (model/window.ts `pickWindow`). */
  private choose(): void {
    const [a, b] = visibleX(this.view);
    const want = this.want ?? planWindow(this.scale, a, b, this.plotPx(), this.first.extent[this.scale]);
    const entries = this.cache.entries().map((e) => e.window);
    const w = pickWindow(entries.map((e) => ({ key: e.key, window: e.window })), want, a, b);
    const entry = entries.find((e) => e.window === w) ?? null;
    if (entry !== this.drawn && entry !== null) {
      this.drawn = entry;
      this.lodHover = null;
      this.highlight = { ...this.highlight, hoverEvent: -1, hoverArrow: -1 };
      this.reselect();
      this.request();
    }
  }

  /** Builds what drawing an entry needs, once. */
  private build(entry: Entry): void {
    const w = entry.window;
    if (w.graph !== null && entry.events === undefined) {
      const index = indexGraph(w.graph);
      const byName = new Map<string, number>();
      w.graph.events.forEach((e, i) => byName.set(e.name, i));
      entry.events = { index, layout: layoutDiagram(index, w.scale, undefined), byName };
    } else if (w.lod !== null && entry.lod === undefined) {
      entry.lod = layoutLod(w);
    }
  }

  private paint(): void {
    const ctx = this.canvas.getContext("2d");
    if (ctx === null) return;
    const dpr = this.canvas.width / this.view.width;
    const t0 = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const entry = this.drawn !== null && this.drawn.window.scale === this.scale ? this.drawn : null;
    if (entry !== null) this.build(entry);
    const ds = this.root.dataset;
    let note: string;
    if (entry?.events !== undefined) {
      const stats = draw(ctx, entry.events.layout, this.view, this.highlight);
      ds.windowMode = "events";
      ds.drawnEvents = String(stats.events);
      ds.drawnArrows = String(stats.arrows);
      ds.arrowStride = String(stats.arrowStride);
      ds.lodColumns = "0";
      note = stats.arrowStride > 1 ? `Showing 1 in ${stats.arrowStride} arrows at this zoom; zoom in to see every one.` : "";
      if (this.selected !== null) note = `${note} Causal past and future are shown within the loaded part of the run.`.trim();
    } else if (entry?.lod !== undefined) {
      const stats = drawLod(ctx, entry.lod, this.view, this.lodHover);
      ds.windowMode = "lod";
      ds.drawnEvents = "0";
      ds.drawnArrows = String(stats.arrows);
      ds.lodColumns = String(stats.columns);
      note = `Showing how many events happened where (${entry.window.totalEvents.toLocaleString("en")} events in this part of the run); zoom in to see them one by one.`;
    } else {
      draw(ctx, this.frameFor(this.scale), this.view, NO_HIGHLIGHT);
      ds.windowMode = "loading";
      note = "Loading this part of the run…";
    }
    ds.renderMs = (performance.now() - t0).toFixed(1);
    if (entry !== null) {
      ds.windowX0 = String(entry.window.x0);
      ds.windowX1 = String(entry.window.x1);
      ds.windowColumns = String(entry.window.columns);
      ds.events = String(entry.window.graph?.events.length ?? 0);
    }
    if (note !== this.note) {
      this.note = note;
      setStatus("ok", note);
    }
    if (this.firstFrame && entry !== null) {
      this.firstFrame = false;
      ds.firstFrameMs = performance.now().toFixed(0);
    }
    document.body.dataset.rendered = "true";
  }

  private setScale(scale: WindowScale): void {
    this.scale = scale;
    this.root.dataset.scale = scale;
    this.want = null;
    this.nav.fit();
    this.choose();
    this.request();
    this.fetchInView();
  }

  private setHover(event: number, arrow: number, lod: LodHit | null): void {
    const same = lod === this.lodHover || (lod !== null && this.lodHover !== null && lod.lane === this.lodHover.lane && lod.first === this.lodHover.first);
    if (event !== this.highlight.hoverEvent || arrow !== this.highlight.hoverArrow || !same) {
      this.highlight = { ...this.highlight, hoverEvent: event, hoverArrow: arrow };
      this.lodHover = lod;
      this.request();
    }
  }

  private hover(sx: number, sy: number): void {
    const entry = this.drawn;
    if (sx < this.view.left || sy < this.view.top || entry === null) {
      this.tooltip.hidden = true;
      this.setHover(-1, -1, null);
      return;
    }
    if (entry.lod !== undefined) {
      const hit = lodAt(entry.lod, this.view, sx, sy);
      this.setHover(-1, -1, hit !== null && hit.count > 0 ? hit : null);
      if (hit === null || hit.count === 0) {
        this.tooltip.hidden = true;
        return;
      }
      const lane = entry.lod.frame.lanes.lanes[hit.lane];
      const x = (v: number) => (this.scale === "time" ? formatTick(Math.round(v)) : String(Math.round(v)));
      showTooltip(this.tooltip, [["thread", lane.label], ["events", hit.count.toLocaleString("en")], ["from", x(hit.x0)], ["to", x(hit.x1)], ["", "click to zoom in"]], sx, sy, this.view.width);
      this.canvas.style.cursor = "zoom-in";
      return;
    }
    const ev = entry.events;
    if (ev === undefined) return;
    const event = eventAt(ev.layout, this.view, sx, sy);
    const arrow = event >= 0 ? -1 : arrowAt(ev.layout, this.view, sx, sy);
    this.setHover(event, arrow, null);
    this.canvas.style.cursor = event >= 0 || arrow >= 0 ? "pointer" : "";
    if (event >= 0) showTooltip(this.tooltip, eventFacts(ev.index.graph.events[event]), sx, sy, this.view.width);
    else if (arrow >= 0) showTooltip(this.tooltip, this.arrowFacts(ev.layout, ev.index, arrow), sx, sy, this.view.width);
    else this.tooltip.hidden = true;
  }

  private arrowFacts(l: DiagramLayout, index: GraphIndex, a: number): [string, string][] {
    const g = index.graph;
    const from = g.events[l.arrowFrom[a]];
    const to = l.arrowTo[a] >= 0 ? g.events[l.arrowTo[a]] : null;
    const mi = l.arrowMessage[a];
    const facts: [string, string][] = [["edge", ARROW_KIND_NAMES[l.arrowKind[a]]], ...(mi >= 0 ? messageFacts(g.messages[mi]) : [])];
    facts.push(["from", from.name], ["to", to ? to.name : "(nowhere)"]);
    if (to && to.end_ns !== null && from.end_ns !== null) facts.push(["latency", formatNs(to.end_ns - from.end_ns)]);
    if (from.injected) facts.push(["injected", from.injected]);
    if (mi >= 0) facts.push(["", "click to rerun with a fault on this message"]);
    return facts;
  }

  private click(sx: number, sy: number): void {
    const entry = this.drawn;
    if (entry === null) return;
    if (entry.lod !== undefined) {
      if (sx >= this.view.left) this.nav.set(zoomAt(this.view, sx, 4), "focus");
      return;
    }
    const ev = entry.events;
    if (ev === undefined) return;
    const event = eventAt(ev.layout, this.view, sx, sy);
    if (event >= 0) {
      const name = ev.index.graph.events[event].name;
      this.select(name === this.selected ? null : name);
      return;
    }
    const arrow = arrowAt(ev.layout, this.view, sx, sy);
    const kind = arrow >= 0 ? ev.layout.arrowKind[arrow] : -1;
    if (kind === ARROW_MESSAGE || kind === ARROW_LOST) {
      const message: GraphMessage = ev.index.graph.messages[ev.layout.arrowMessage[arrow]];
      this.rerun.open(message);
      return;
    }
    this.select(null);
  }

  /** Selects an event by logical name and scrolls to it, when it is in hand. */
  focusEvent(name: string): void {
    const ev = this.drawn?.events;
    const e = ev?.byName.get(name);
    if (ev === undefined || e === undefined) {
      setStatus("ok", `${name} is not in the part of the run loaded now; zoom in where it happened to select it.`);
      this.note = "";
      return;
    }
    const lane = ev.layout.lanes.lanes[ev.layout.laneOf[e]];
    if (lane !== undefined) this.nav.set(reveal(this.view, ev.layout.x[e], lane.y, ev.layout.lanes.height), "focus");
    this.select(name);
    this.root.focus({ preventScroll: true });
    this.root.scrollIntoView({ block: "nearest" });
  }

  private select(name: string | null): void {
    this.selected = name;
    this.root.dataset.selected = name ?? "";
    this.reselect();
    this.request();
  }

  /** The selection's mark and causal cone in the window drawn (by name: windows number events their own way). */
  private reselect(): void {
    const entry = this.drawn;
    if (entry !== null) this.build(entry);
    const ev = entry?.events;
    const e = this.selected === null || ev === undefined ? undefined : ev.byName.get(this.selected);
    this.highlight = {
      ...this.highlight,
      selected: e ?? -1,
      cone: e !== undefined && ev !== undefined ? causalCone(ev.index, e) : null,
    };
  }
}
