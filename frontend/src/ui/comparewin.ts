/**
 * The comparison page of two big runs (either above `WINDOWED_MIN_EVENTS`):
 * instead of both whole graphs and the whole comparison, it fetches
 * - the comparison summary (`GET /api/compare/summary`: runs, trace
 *   classes, divergences placed on each side, counts; computed once per
 *   pair by the server and kept next to run A): asked for with the first
 *   windows when already kept (`kept=only`, which costs the server no
 *   build permit), else after them,
 * - each run's window in view (`GET /api/runs/{id}/window`, as the big run
 *   page does: model/window.ts plans, picks and caches them; zoomed out a
 *   level of detail, zoomed in the events),
 * - the difference marks in view (`GET /api/compare/marks` with the view's
 *   range: each placed by thread and x, so they are drawn over a level of
 *   detail as well as over events).
 * One viewport (ui/controller.ts) moves both panes, over the union of the
 * two runs' extents; once the summary is in, the view zooms to the first
 * divergence, centred. Side by side only (the overlay needs both graphs).
 *
 * Test hooks on `#compare`: `data-windowed`, `data-first-divergence`,
 * `data-differences` (marks in all), `data-window-requests` (both sides'
 * window fetches; `-a` / `-b` each side's), `data-window-want` (the last
 * window planned, and the view), `data-window-mode-a/-b` (lod | events | loading),
 * `data-marks-drawn-a/-b`, `data-divergence-drawn` (the sides whose pane
 * rings it, space-separated), `data-marks-requests`, `data-first-frame-ms`
 * (both panes drawn from a window) and `data-divergence-ms` (centred on
 * the divergence), since navigation start; `window.bopCompare.viewport()`
 * and `.divergencePoint(side)` (page px of the ring, or null).
 */

import { type CompareRun, diffFlags, type DiffFlags, type Side } from "../model/compare.ts";
import { type CompareSummary, type Mark, marksIn, parseMarks, parseSummary, type Place, placeX, sideMarks } from "../model/comparemarks.ts";
import { eventFacts } from "../model/format.ts";
import { type GraphIndex, indexGraph } from "../model/graph.ts";
import { api, pages } from "../model/routes.ts";
import { type GraphWindow, parseWindow, pickWindow, planWindow, satisfies, WindowCache, type WindowRequest, type WindowScale, windowQuery } from "../model/window.ts";
import { type DiagramLayout, eventAt, layoutDiagram } from "../layout/diagram.ts";
import { frameLayout, type LodLayout, layoutLod } from "../layout/lod.ts";
import { reveal, zoomToSpan } from "../layout/navigate.ts";
import { screenX, screenY, type Viewport, visibleX, zoomAt } from "../layout/viewport.ts";
import { draw, NO_HIGHLIGHT } from "../render/canvas.ts";
import { drawLod } from "../render/lod.ts";
import { drawDivergence, drawMarks } from "../render/marks.ts";
import { AXIS, GUTTER, THEME } from "../render/theme.ts";
import { describe, getJson } from "./client.ts";
import { sizeCanvas, ViewportController } from "./controller.ts";
import { $, h, paintOnNextFrame, setStatus, showTooltip } from "./dom.ts";
import { DEBOUNCE_MS } from "./windowed.ts";

/** Windows kept per side. */
const CACHE_WINDOWS = 12;
/** Marks one view fetch asks for (the server pages; past this the page says how many it shows). */
const MARKS_PER_VIEW = 5000;
/** Marks listed under the diagrams. */
const MARKS_LISTED = 200;
/** Marks kept in hand before the oldest are dropped. */
const MARKS_KEPT = 50_000;
/** The first divergence is shown with this fraction of the runs' extent around it. */
const DIVERGENCE_SPAN = 1 / 50;

interface Entry {
  key: string;
  window: GraphWindow;
  events?: { index: GraphIndex; layout: DiagramLayout; flags: DiffFlags; marksVersion: number };
  lod?: LodLayout;
}

/** One side's windows: what is in hand, drawn and in flight. */
class Feed {
  readonly cache = new WindowCache<Entry>(CACHE_WINDOWS);
  drawn: Entry;
  inflight: { key: string; abort: AbortController } | null = null;
  requests = 0;
  private readonly frames = new Map<WindowScale, DiagramLayout>();

  constructor(
    readonly side: Side,
    readonly id: string,
    readonly first: GraphWindow,
    private readonly loaded: () => void,
  ) {
    this.drawn = { key: `first:${first.scale}`, window: first };
    this.cache.put(this.drawn.key, this.drawn);
  }

  frame(scale: WindowScale): DiagramLayout {
    let f = this.frames.get(scale);
    if (f === undefined) {
      f = frameLayout(this.first, scale);
      this.frames.set(scale, f);
    }
    return f;
  }

  /** Content y of a thread's lane, or null when this run has no such thread. */
  laneY(scale: WindowScale, thread: string): number | null {
    return this.frame(scale).lanes.lanes.find((l) => l.label === thread)?.y ?? null;
  }

  /** Fetches `want` unless a window in hand serves the view [a, b]. */
  fetch(want: WindowRequest, a: number, b: number): void {
    if (this.cache.entries().some((e) => satisfies(e.window.window, want, a, b))) {
      this.cancel();
      return;
    }
    if (this.inflight?.key === want.key) return;
    this.cancel();
    const abort = new AbortController();
    this.inflight = { key: want.key, abort };
    this.requests++;
    void this.load(want, abort);
  }

  private cancel(): void {
    this.inflight?.abort.abort();
    this.inflight = null;
  }

  private async load(want: WindowRequest, abort: AbortController): Promise<void> {
    let w: GraphWindow;
    try {
      w = parseWindow(await getJson<unknown>(api.window(this.id, windowQuery(want)), abort.signal));
    } catch (e) {
      if (abort.signal.aborted) return;
      if (this.inflight?.abort === abort) this.inflight = null;
      setStatus("error", `Cannot load this part of run ${this.side.toUpperCase()}: ${describe(e)}`);
      return;
    }
    if (abort.signal.aborted) return;
    if (this.inflight?.abort === abort) this.inflight = null;
    this.cache.put(want.key, { key: want.key, window: w });
    this.loaded();
  }

  /** Picks the best window in hand for the view; true when it changed. */
  choose(want: WindowRequest, a: number, b: number): boolean {
    const entries = this.cache.entries();
    const w = pickWindow(entries.map((e) => ({ key: e.key, window: e.window.window })), want, a, b);
    const entry = entries.find((e) => e.window.window === w)?.window;
    if (entry === undefined || entry === this.drawn) return false;
    this.drawn = entry;
    return true;
  }

  /** What drawing an entry needs, built once (flags again when the marks changed). */
  build(entry: Entry, marks: Mark[], summary: CompareSummary | null, version: number): void {
    const w = entry.window;
    if (w.graph !== null) {
      if (entry.events === undefined || entry.events.marksVersion !== version) {
        const index = entry.events?.index ?? indexGraph(w.graph);
        const layout = entry.events?.layout ?? layoutDiagram(index, w.scale);
        const flags = diffFlags(w.graph, sideMarks(marks, this.side, summary?.first_divergence ?? null));
        entry.events = { index, layout, flags, marksVersion: version };
      }
    } else if (w.lod !== null && entry.lod === undefined) {
      entry.lod = layoutLod(w);
    }
  }
}

/** The marks in hand, fetched view by view. */
class MarkSet {
  private readonly byKey = new Map<string, Mark>();
  private readonly asked = new WindowCache<number>(CACHE_WINDOWS);
  version = 0;
  requests = 0;
  /** Marks in the range last answered, when more than were returned. */
  truncated: { total: number; shown: number } | null = null;

  get list(): Mark[] {
    return [...this.byKey.values()];
  }

  add(marks: Mark[]): void {
    if (this.byKey.size + marks.length > MARKS_KEPT) this.byKey.clear();
    for (const m of marks) this.byKey.set(`${m.kind}|${m.a?.name ?? ""}|${m.b?.name ?? ""}`, m);
    this.version++;
  }

  /** Fetches the marks of a planned range once. */
  async fetch(a: string, b: string, want: WindowRequest): Promise<boolean> {
    if (this.asked.has(want.key)) return false;
    this.asked.put(want.key, 1);
    this.requests++;
    const page = parseMarks(await getJson<unknown>(api.compareMarks(a, b, { scale: want.scale, x0: want.x0, x1: want.x1, limit: MARKS_PER_VIEW })));
    this.add(page.marks);
    this.truncated = page.total > page.marks.length ? { total: page.total, shown: page.marks.length } : null;
    return true;
  }
}

/** The comparison of two big runs; `firsts` are their whole-run windows. */
export class WindowedCompare {
  private readonly feeds: [Feed, Feed];
  private readonly canvases: [HTMLCanvasElement, HTMLCanvasElement];
  private readonly nav: ViewportController;
  private readonly marks = new MarkSet();
  private summary: CompareSummary | null = null;
  private scale: WindowScale = "time";
  private timer: number | undefined;
  /** Paints in the next animation frame, once however often asked. */
  private readonly request = paintOnNextFrame(() => this.paint());
  private firstFrame = true;
  private readonly tooltip: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly a: string,
    private readonly b: string,
    firsts: [GraphWindow, GraphWindow],
  ) {
    const loaded = () => {
      this.choose();
      this.request();
    };
    this.feeds = [new Feed("a", a, firsts[0], loaded), new Feed("b", b, firsts[1], loaded)];
    const pane = (side: Side) => {
      const el = root.querySelector<HTMLElement>(`.compare-pane[data-side=${side}] .diagram`);
      const canvas = el?.querySelector("canvas");
      if (!el || !canvas) throw new Error(`the page lacks the ${side} pane`);
      return { root: el, canvas };
    };
    const surfaces = [pane("a"), pane("b")];
    this.canvases = [surfaces[0].canvas, surfaces[1].canvas];
    this.tooltip = $("tooltip");
    this.nav = new ViewportController({
      page: "compare",
      host: root,
      surfaces,
      extent: () => {
        const [minX, maxX] = this.extent();
        return { minX, maxX, height: this.height() };
      },
      initial: { x0: 0, k: 1, y0: 0, width: 1, height: 1, left: GUTTER, top: AXIS },
      actions: { clear: () => undefined, divergence: () => this.toDivergence() },
      pointer: {
        hover: (i, sx, sy) => this.hover(i, sx, sy),
        click: (_, sx) => {
          if (sx >= this.view.left && this.feeds.some((f) => f.drawn.window.graph === null)) this.nav.set(zoomAt(this.view, sx, 4), "focus");
        },
        leave: () => {
          this.tooltip.hidden = true;
        },
      },
    });
    this.nav.subscribe(() => {
      this.tooltip.hidden = true;
      this.choose();
      this.request();
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => this.fetchInView(), DEBOUNCE_MS);
    });
  }

  private get view(): Viewport {
    return this.nav.view;
  }

  /** The union of both runs' extents in the current scale. */
  private extent(): [number, number] {
    const [ea, eb] = this.feeds.map((f) => f.first.extent[this.scale]);
    return [Math.min(ea[0], eb[0]), Math.max(ea[1], eb[1])];
  }

  private height(): number {
    return Math.max(...this.feeds.map((f) => f.frame(this.scale).lanes.height));
  }

  private plan(): { want: WindowRequest; a: number; b: number } {
    const [a, b] = visibleX(this.view);
    const plotPx = Math.max(1, this.view.width - this.view.left);
    return { want: planWindow(this.scale, a, b, plotPx, this.extent()), a, b };
  }

  start(): void {
    const ds = this.root.dataset;
    ds.windowed = "true";
    ds.scale = this.scale;
    ds.mode = "side";
    for (const radio of document.querySelectorAll<HTMLInputElement>("input[name=mode]")) {
      radio.disabled = radio.value === "overlay";
      if (radio.disabled) radio.parentElement?.setAttribute("title", "Big runs are compared side by side only");
    }
    for (const radio of document.querySelectorAll<HTMLInputElement>("input[name=layout]")) {
      radio.addEventListener("change", () => {
        if (!radio.checked) return;
        this.scale = radio.value === "logical" ? "logical" : "time";
        ds.scale = this.scale;
        this.sizeCanvases();
        this.nav.fit();
        this.fetchInView();
      });
    }
    this.sizeCanvases();
    this.nav.fit();
    new ResizeObserver(() => {
      this.sizeCanvases();
      this.request();
    }).observe(this.root);
    this.nav.bind();
    this.exposeTestHooks();
    this.request();
  }

  /** The summary arrived: zoom to the first divergence and fetch its marks. */
  setSummary(s: CompareSummary): void {
    this.summary = s;
    const ds = this.root.dataset;
    const fd = s.first_divergence;
    ds.firstDivergence = fd === null ? "" : (fd.a ?? fd.b ?? "");
    ds.differences = String(s.differences.marks);
    ($("to-divergence") as HTMLButtonElement).disabled = fd === null;
    this.toDivergence();
    this.fetchInView();
    ds.divergenceMs = performance.now().toFixed(0);
  }

  /** Where the first divergence is (side, place), A's event first. */
  private divergencePlace(): { side: Side; place: Place } | null {
    const fd = this.summary?.first_divergence ?? null;
    if (fd === null) return null;
    if (fd.at_a !== null) return { side: "a", place: fd.at_a };
    if (fd.at_b !== null) return { side: "b", place: fd.at_b };
    return null;
  }

  private toDivergence(): void {
    const d = this.divergencePlace();
    if (d !== null) this.focusPlace(d.side, d.place, true);
  }

  /** Centres both panes on an event of one side; `zoom` as in `focus`. */
  focusPlace(side: Side, p: Place, zoom = false): void {
    const y = this.feeds[side === "a" ? 0 : 1].laneY(this.scale, p.thread) ?? 0;
    this.focus(placeX(p, this.scale), y, zoom);
  }

  /** Centres the view on world x / content y; `zoom` also zooms to DIVERGENCE_SPAN of the extent. */
  private focus(x: number, y: number, zoom: boolean): void {
    const [min, max] = this.extent();
    const v = zoom ? zoomToSpan(this.view, Math.max(1, (max - min) * DIVERGENCE_SPAN)) : this.view;
    this.nav.set(reveal(v, x, y, this.height(), { center: true }), "focus");
  }

  private fetchInView(): void {
    const { want, a, b } = this.plan();
    for (const f of this.feeds) f.fetch(want, a, b);
    const ds = this.root.dataset;
    ds.windowRequests = String(this.feeds[0].requests + this.feeds[1].requests);
    [ds.windowRequestsA, ds.windowRequestsB] = this.feeds.map((f) => String(f.requests));
    ds.windowWant = `${want.key} [${a.toFixed(0)}, ${b.toFixed(0)}]`;
    if (this.summary !== null && this.summary.differences.marks > 0) {
      this.marks
        .fetch(this.a, this.b, want)
        .then((changed) => {
          this.root.dataset.marksRequests = String(this.marks.requests);
          if (changed) this.request();
        })
        .catch((e: unknown) => setStatus("error", `Cannot load the differences here: ${describe(e)}`));
    }
  }

  private choose(): void {
    const { want, a, b } = this.plan();
    let changed = false;
    for (const f of this.feeds) changed = f.choose(want, a, b) || changed;
    if (changed) this.request();
  }

  private sizeCanvases(): void {
    const width = Math.max(200, this.feeds.length > 0 ? (this.canvases[0].parentElement?.clientWidth ?? 200) : 200);
    const height = Math.max(160, Math.min(this.height() + AXIS + 16, window.innerHeight - 120, 2000));
    for (const c of this.canvases) sizeCanvas(c, width, height);
    this.nav.resize(width, height);
  }

  private paint(): void {
    const ds = this.root.dataset;
    const t0 = performance.now();
    const ringed: Side[] = [];
    const div = this.divergencePlace();
    const marks = this.marks.list;
    const [x0, x1] = visibleX(this.view);
    let allDrawn = true;
    this.feeds.forEach((f, i) => {
      const ctx = this.canvases[i].getContext("2d");
      if (ctx === null) return;
      const dpr = this.canvases[i].width / this.view.width;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const entry = f.drawn.window.scale === this.scale ? f.drawn : null;
      const key = f.side === "a" ? "A" : "B";
      if (entry !== null) f.build(entry, marks, this.summary, this.marks.version);
      if (entry?.events !== undefined) {
        draw(ctx, entry.events.layout, this.view, { ...NO_HIGHLIGHT, diff: entry.events.flags, tint: f.side === "a" ? THEME.diffA : THEME.diffB });
        ds[`windowMode${key}`] = "events";
      } else if (entry?.lod !== undefined) {
        drawLod(ctx, entry.lod, this.view);
        ds[`windowMode${key}`] = "lod";
      } else {
        draw(ctx, f.frame(this.scale), this.view, NO_HIGHLIGHT);
        ds[`windowMode${key}`] = "loading";
        allDrawn = false;
      }
      const point = (p: Place) => {
        const y = f.laneY(this.scale, p.thread);
        return y === null ? null : { x: screenX(this.view, placeX(p, this.scale)), y: screenY(this.view, y) };
      };
      const points = marksIn(marks, f.side, this.scale, x0, x1)
        .map(point)
        .filter((p) => p !== null);
      ds[`marksDrawn${key}`] = String(drawMarks(ctx, this.view, points, f.side === "a" ? THEME.diffA : THEME.diffB));
      const fd = this.summary?.first_divergence ?? null;
      const at = fd === null ? null : f.side === "a" ? fd.at_a : fd.at_b;
      const p = at === null ? (div !== null && div.side !== f.side ? point(div.place) : null) : point(at);
      if (p !== null && drawDivergence(ctx, this.view, p)) ringed.push(f.side);
    });
    ds.divergenceDrawn = ringed.join(" ");
    ds.renderMs = (performance.now() - t0).toFixed(1);
    if (this.firstFrame && allDrawn) {
      this.firstFrame = false;
      ds.firstFrameMs = performance.now().toFixed(0);
    }
    const t = this.marks.truncated;
    if (t !== null) setStatus("ok", `Showing ${t.shown.toLocaleString("en")} of the ${t.total.toLocaleString("en")} differences here; zoom in to see the others.`);
    document.body.dataset.rendered = "true";
  }

  private hover(i: number, sx: number, sy: number): void {
    const f = this.feeds[i];
    const ev = f.drawn.events;
    const e = ev === undefined || sx < this.view.left ? -1 : eventAt(ev.layout, this.view, sx, sy);
    if (ev === undefined || e < 0) {
      this.tooltip.hidden = true;
      return;
    }
    const event = ev.index.graph.events[e];
    const facts: [string, string][] = [["run", `${f.side.toUpperCase()} · ${f.id}`], ...eventFacts(event)];
    const notes = this.marks.list.filter((m) => (f.side === "a" ? m.a : m.b)?.name === event.name);
    if (notes.length === 0) facts.push(["", "same in both runs"]);
    for (const m of notes) facts.push(["differs", [m.kind, ...m.what].join(": ")]);
    const host = this.root.getBoundingClientRect();
    const rect = this.canvases[i].getBoundingClientRect();
    showTooltip(this.tooltip, facts, rect.left - host.left + sx, rect.top - host.top + sy, host.width);
  }

  private exposeTestHooks(): void {
    const hooks = {
      viewport: () => ({ ...this.view }),
      /** Page px of the first divergence's ring on one side, or null when it is not on screen. */
      divergencePoint: (side: Side) => {
        const d = this.divergencePlace();
        const f = this.feeds[side === "a" ? 0 : 1];
        const fd = this.summary?.first_divergence ?? null;
        const at = fd === null ? null : side === "a" ? (fd.at_a ?? d?.place ?? null) : (fd.at_b ?? d?.place ?? null);
        if (at === null) return null;
        const y = f.laneY(this.scale, at.thread);
        if (y === null) return null;
        const rect = this.canvases[side === "a" ? 0 : 1].getBoundingClientRect();
        return { x: rect.left + screenX(this.view, placeX(at, this.scale)), y: rect.top + screenY(this.view, y) };
      },
    };
    (window as unknown as { bopCompare: typeof hooks }).bopCompare = hooks;
  }
}

/** The whole-run window of a run, `columns` wide. */
async function wholeWindow(id: string, columns: number): Promise<GraphWindow> {
  return parseWindow(await getJson<unknown>(api.window(id, { scale: "time", columns })));
}

/** The comparison page of two big runs (module docs). */
export async function windowedComparePage(a: string, b: string, runLine: (side: Side, c: { a: CompareRun; b: CompareRun }) => HTMLElement): Promise<void> {
  const root = $("compare");
  let view: WindowedCompare;
  let kept: Promise<unknown> = Promise.resolve(undefined);
  try {
    document.querySelector<HTMLElement>(".controls")?.removeAttribute("hidden");
    root.hidden = false;
    // Two columns per px of a pane's plot, as the run page asks.
    const pane = root.querySelector<HTMLElement>(".compare-pane .diagram")?.clientWidth ?? 700;
    const columns = Math.min(8000, Math.max(1, Math.ceil(2 * Math.max(200, pane - GUTTER))));
    // A kept summary is read without a build permit, so asking for it now
    // cannot hold up the windows; a failure here is retried below.
    kept = getJson<unknown>(api.compareSummary(a, b, true)).catch(() => undefined);
    const firsts = await Promise.all([wholeWindow(a, columns), wholeWindow(b, columns)]);
    for (const [side, w] of [
      ["a", firsts[0]],
      ["b", firsts[1]],
    ] as const) {
      root.querySelector(`.compare-pane[data-side=${side}] .pane-title`)?.replaceChildren(h("a", { href: pages.run(w.run.id) }, w.run.id), " ", h("span", { class: `badge verdict-${w.run.verdict}` }, w.run.verdict));
    }
    view = new WindowedCompare(root, a, b, firsts);
    view.start();
  } catch (e) {
    setStatus("error", `Cannot compare ${a} with ${b}: ${describe(e)}`);
    document.body.dataset.rendered = "error";
    return;
  }
  let s: CompareSummary;
  try {
    let json = await kept;
    if (json === undefined) {
      // Asked for after the first windows: computing a comparison holds the
      // server's build permits, which opening a run's window index waits for.
      setStatus("loading", "Comparing the two runs (the first comparison of two big runs takes a while; it is kept)…");
      json = await getJson<unknown>(api.compareSummary(a, b));
    }
    s = parseSummary(json);
  } catch (e) {
    setStatus("error", `Cannot compare ${a} with ${b}: ${describe(e)}`);
    return;
  }
  showSummary(s, runLine);
  setStatus("ok", "");
  view.setSummary(s);
  try {
    await showMarks(a, b, s, view);
  } catch (e) {
    setStatus("error", `Cannot list the differences: ${describe(e)}`);
  }
}

function showSummary(s: CompareSummary, runLine: (side: Side, c: { a: CompareRun; b: CompareRun }) => HTMLElement): void {
  const el = $("compare-summary");
  const d = s.first_divergence;
  el.replaceChildren(
    runLine("a", s),
    runLine("b", s),
    h(
      "p",
      { class: "divergence-line" },
      d === null
        ? h("span", {}, s.differences.marks === 0 ? "The runs match: same events, same messages." : "No divergence point, but differences are listed below.")
        : h("span", {}, h("strong", {}, "First divergence: "), h("code", {}, d.reason)),
      h("span", { class: "meta" }, s.same_class ? " · same trace class" : " · different trace classes"),
    ),
  );
  el.hidden = false;
}

/** The first differences, each a button that centres both panes on it. */
async function showMarks(a: string, b: string, s: CompareSummary, view: WindowedCompare): Promise<void> {
  const section = $("differences");
  const page = s.differences.marks === 0 ? { total: 0, offset: 0, marks: [] } : parseMarks(await getJson<unknown>(api.compareMarks(a, b, { limit: MARKS_LISTED })));
  const item = (m: Mark) => {
    const button = h("button", { type: "button", class: "link", title: "Centre both diagrams on it" }, m.text);
    button.addEventListener("click", () => {
      if (m.a !== null) view.focusPlace("a", m.a);
      else if (m.b !== null) view.focusPlace("b", m.b);
    });
    return h("li", { "data-kind": m.kind, "data-a": m.a?.name ?? "", "data-b": m.b?.name ?? "" }, button, m.what.length > 0 ? h("ul", { class: "what" }, ...m.what.map((w) => h("li", {}, w))) : null);
  };
  const parts = [
    h("h2", {}, `Differences (${s.differences.marks.toLocaleString("en")}: ${s.differences.messages.toLocaleString("en")} messages, ${s.differences.events.toLocaleString("en")} events)`),
    page.total > page.marks.length ? h("p", { class: "meta" }, `The first ${page.marks.length} are listed; each pane marks the differences in view.`) : null,
    h("ul", {}, ...page.marks.map(item)),
    s.summary ? h("pre", { class: "summary" }, s.summary) : null,
  ];
  section.replaceChildren(...parts.filter((x) => x !== null));
  section.hidden = false;
}
