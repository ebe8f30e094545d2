/**
 * The comparison page, `/compare?a=A&b=B`: the two runs' space-time
 * diagrams side by side (or overlaid in one), on the same lanes in the
 * same order (lanes keyed by logical thread names; a thread one run lacks
 * is an empty lane on that side), with one shared viewport so zoom and
 * pan move both. Matching events and arrows are dimmed; what differs
 * (docs/COMPARE.md: changed, moved, only-in-one-run events and messages)
 * is drawn in A's or B's tint; the first divergence is ringed, listed
 * first and scrolled to. Without `a` and `b` the page offers a run picker.
 * Pan, zoom and keys are ui/controller.ts's, the same as the run page's.
 * Runs above `WINDOWED_MIN_EVENTS` are compared by ui/comparewin.ts from
 * windows and the server's summary instead.
 *
 * Test hooks: `body[data-rendered]`; `#compare` carries
 * `data-differences` (entries of the differences list), `data-first-divergence`
 * (its event name, A's if it has one, else B's; "" when the runs match),
 * `data-mode` (side | overlay), `data-scale`, `data-lanes`,
 * `data-messages-a` / `data-messages-b` (highlighted message names, `|`-separated),
 * `data-selected-a` / `data-selected-b`, and the controller's
 * `data-view-x0/k/y0`; `window.bopCompare` gives page coordinates of
 * events and messages on each side.
 */

import { type Graph, parseGraph, type RunsPage } from "../model/api.ts";
import {
  type Comparison,
  type Difference,
  type DiffFlags,
  diffFlags,
  differences,
  marks,
  parseComparison,
  type Side,
} from "../model/compare.ts";
import { eventFacts, messageFacts } from "../model/format.ts";
import { type GraphIndex, indexGraph } from "../model/graph.ts";
import { api, MAX_RUNS_PAGE, pages } from "../model/routes.ts";
import { arrowAt, type DiagramLayout, eventAt, eventPoint, layoutDiagram, messageAnchor, type XScale } from "../layout/diagram.ts";
import { type LaneSpec, sharedLaneSpec } from "../layout/lanes.ts";
import { reveal, zoomToSpan } from "../layout/navigate.ts";
import type { Viewport } from "../layout/viewport.ts";
import { draw, drawOverlay, type Highlight, NO_HIGHLIGHT, OVERLAY_SHIFT } from "../render/canvas.ts";
import { AXIS, GUTTER, THEME } from "../render/theme.ts";
import { describe, getJson } from "./client.ts";
import { sizeCanvas, ViewportController } from "./controller.ts";
import { $, h, paintOnNextFrame, setStatus, showTooltip } from "./dom.ts";
import { onResize, onScaleChoice } from "./pagewire.ts";
import { windowedComparePage } from "./comparewin.ts";
import { manifestEvents, WINDOWED_MIN_EVENTS } from "./windowed.ts";

export async function comparePage(): Promise<void> {
  const a = document.body.dataset.a ?? "";
  const b = document.body.dataset.b ?? "";
  if (a === "" || b === "") {
    await picker(a, b);
    return;
  }
  setStatus("loading", `Comparing ${a} with ${b}…`);
  let ga: Graph;
  let gb: Graph;
  let cmp: Comparison;
  try {
    // Big runs are drawn from windows, and compared by the server (ui/comparewin.ts).
    const counts = await Promise.all([a, b].map(async (id) => manifestEvents(await getJson<unknown>(api.run(id)))));
    if (counts.some((n) => n > WINDOWED_MIN_EVENTS)) {
      await windowedComparePage(a, b, runLine);
      return;
    }
    const [x, y, z] = await Promise.all([
      getJson<unknown>(api.graph(a)),
      getJson<unknown>(api.graph(b)),
      getJson<unknown>(api.compare(a, b)),
    ]);
    ga = parseGraph(x);
    gb = parseGraph(y);
    cmp = parseComparison(z);
  } catch (e) {
    setStatus("error", `Cannot compare ${a} with ${b}: ${describe(e)}`);
    document.body.dataset.rendered = "error";
    return;
  }
  const diffs = differences(cmp);
  showSummary(cmp, diffs);
  document.querySelector<HTMLElement>(".controls")?.removeAttribute("hidden");
  const root = $("compare");
  root.hidden = false;
  const view = new CompareView(root, ga, gb, cmp, diffs);
  showDifferences(cmp, diffs, view);
  setStatus("ok", "");
  view.start();
}

/** Two run pickers when the address lacks `a` or `b`. */
async function picker(a: string, b: string): Promise<void> {
  const form = $("compare-picker") as HTMLFormElement;
  let runs: RunsPage;
  try {
    runs = await getJson<RunsPage>(api.runs({ limit: MAX_RUNS_PAGE }));
  } catch (e) {
    setStatus("error", `Cannot load the runs: ${describe(e)}`);
    document.body.dataset.rendered = "error";
    return;
  }
  for (const [name, current] of [
    ["a", a],
    ["b", b],
  ] as const) {
    const select = form.elements.namedItem(name) as HTMLSelectElement;
    select.replaceChildren(
      ...runs.runs.map((r) => h("option", { value: r.id, selected: r.id === current }, `${r.id} · ${r.verdict}${r.parent ? ` · rerun of ${r.parent}` : ""}`)),
    );
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const get = (n: string) => (form.elements.namedItem(n) as HTMLSelectElement).value;
    window.location.href = pages.compare(get("a"), get("b"));
  });
  form.hidden = false;
  setStatus("ok", runs.runs.length < 2 ? "Record at least two runs to compare them." : "Pick two runs to compare.");
  document.body.dataset.rendered = "true";
}

function runLine(side: Side, c: Pick<Comparison, "a" | "b">): HTMLElement {
  const r = c[side];
  const fired = r.faults.filter((f) => f.fired).length;
  return h(
    "div",
    { class: `run-line side-${side}` },
    h("span", { class: `side-tag ${side}` }, side.toUpperCase()),
    " ",
    h("a", { href: pages.run(r.id) }, r.id),
    " ",
    h("span", { class: `badge verdict-${r.verdict}` }, r.verdict),
    h("span", { class: "meta" }, ` class ${r.trace_class.slice(0, 10)} · ${r.events} events`),
    r.parent ? h("span", { class: "meta" }, " · rerun of ", h("a", { href: pages.run(r.parent) }, r.parent)) : null,
    ...r.faults.map((f) =>
      h("span", { class: "meta" }, " · ", h("code", {}, f.fault), f.fired ? ` fired${f.at ? ` at ${f.at}` : ""}` : " did not fire"),
    ),
    r.faults.length > 1 ? h("span", { class: "meta" }, ` (${fired} of ${r.faults.length} fired)`) : null,
  );
}

function showSummary(c: Comparison, diffs: Difference[]): void {
  const s = $("compare-summary");
  const d = c.first_divergence;
  s.replaceChildren(
    runLine("a", c),
    runLine("b", c),
    h(
      "p",
      { class: "divergence-line" },
      d === null
        ? h("span", {}, diffs.length === 0 ? "The runs match: same events, same messages." : "No divergence point, but differences are listed below.")
        : h("span", {}, h("strong", {}, "First divergence: "), h("code", {}, d.reason)),
      c.same_class ? h("span", { class: "meta" }, " · same trace class") : h("span", { class: "meta" }, " · different trace classes"),
    ),
  );
  s.hidden = false;
}

const KIND_LABEL: Record<Difference["kind"], string> = {
  "message-changed": "changed",
  "message-only-a": "only in A",
  "message-only-b": "only in B",
  "event-changed": "changed",
  "event-moved": "moved",
  "event-only-a": "only in A",
  "event-only-b": "only in B",
};

function showDifferences(c: Comparison, diffs: Difference[], view: CompareView): void {
  const section = $("differences");
  const item = (d: Difference) => {
    const button = h("button", { type: "button", class: "link", title: "Scroll both diagrams to it" }, d.text);
    button.addEventListener("click", () => view.focus(d.a, d.b));
    return h(
      "li",
      { "data-kind": d.kind, "data-a": d.a ?? "", "data-b": d.b ?? "" },
      h("span", { class: `badge diff-${d.kind.endsWith("only-b") ? "b" : d.kind.endsWith("only-a") ? "a" : "changed"}` }, KIND_LABEL[d.kind]),
      " ",
      button,
      d.what.length > 0 ? h("ul", { class: "what" }, ...d.what.map((w) => h("li", {}, w))) : null,
    );
  };
  const divergences = [c.first_divergence, ...c.other_divergences].filter((d) => d !== null);
  const group = (title: string, list: Difference[]) =>
    list.length === 0 ? null : h("div", { class: "diff-group" }, h("h3", {}, `${title} (${list.length})`), h("ul", {}, ...list.map(item)));
  const only = (what: string, o: { only_a: string[]; only_b: string[] }) =>
    o.only_a.length + o.only_b.length === 0
      ? null
      : h("p", { class: "meta" }, `${what}: `, o.only_a.length ? `only in A: ${o.only_a.join(", ")}` : "", o.only_a.length && o.only_b.length ? "; " : "", o.only_b.length ? `only in B: ${o.only_b.join(", ")}` : "");
  const parts: (HTMLElement | null)[] = [
    h("h2", {}, `Differences (${diffs.length})`),
    divergences.length === 0
      ? null
      : h(
          "div",
          { class: "diff-group divergences" },
          h("h3", {}, divergences.length === 1 ? "Divergence" : `Divergences (${divergences.length}; the first, then independent ones)`),
          h(
            "ol",
            {},
            ...divergences.map((d, i) => {
              const button = h("button", { type: "button", class: "link" }, d.a ?? d.b ?? d.thread);
              button.addEventListener("click", () => view.focus(d.a, d.b));
              return h("li", { class: i === 0 ? "first-divergence" : "", "data-a": d.a ?? "", "data-b": d.b ?? "" }, button, d.after ? h("span", { class: "meta" }, ` after ${d.after}`) : null, h("div", { class: "reason" }, d.reason));
            }),
          ),
        ),
    only("processes", c.processes),
    only("threads", c.threads),
    only("channels", c.channels),
    group(
      "Messages",
      diffs.filter((d) => d.kind.startsWith("message")),
    ),
    group(
      "Events",
      diffs.filter((d) => d.kind.startsWith("event")),
    ),
    c.summary ? h("pre", { class: "summary" }, c.summary) : null,
  ];
  section.replaceChildren(...parts.filter((x) => x !== null));
  section.hidden = false;
}

type Mode = "side" | "overlay";

interface Pane {
  side: Side;
  graph: Graph;
  index: GraphIndex;
  flags: DiffFlags;
  layouts: Map<XScale, DiagramLayout>;
  root: HTMLElement;
  canvas: HTMLCanvasElement;
  selected: number;
  hover: number;
  hoverArrow: number;
  /** What differs about each event or message, by name, for tooltips. */
  notes: Map<string, string[]>;
}

/** Both diagrams and the one viewport they share. */
class CompareView {
  private readonly spec: LaneSpec;
  private readonly panes: [Pane, Pane];
  private scale: XScale = "time";
  private mode: Mode = "side";
  private readonly nav: ViewportController;
  /** Paints in the next animation frame, once however often asked. */
  private readonly request = paintOnNextFrame(() => this.paint());
  private readonly tooltip: HTMLElement;
  /** Counterparts: an event or message name of one side → its name on the other. */
  private readonly counterpart: [Map<string, string>, Map<string, string>] = [new Map(), new Map()];

  constructor(
    private readonly root: HTMLElement,
    ga: Graph,
    gb: Graph,
    private readonly cmp: Comparison,
    private readonly diffs: Difference[],
  ) {
    this.spec = sharedLaneSpec(ga, gb);
    const m = marks(cmp);
    const pane = (side: Side, graph: Graph): Pane => {
      const el = root.querySelector<HTMLElement>(`.compare-pane[data-side=${side}] .diagram`);
      const canvas = el?.querySelector("canvas");
      if (!el || !canvas) throw new Error(`the page lacks the ${side} pane`);
      const title = root.querySelector(`.compare-pane[data-side=${side}] .pane-title`);
      title?.replaceChildren(h("a", { href: pages.run(cmp[side].id) }, cmp[side].id), " ", h("span", { class: `badge verdict-${cmp[side].verdict}` }, cmp[side].verdict));
      return { side, graph, index: indexGraph(graph), flags: diffFlags(graph, m[side]), layouts: new Map(), root: el, canvas, selected: -1, hover: -1, hoverArrow: -1, notes: new Map() };
    };
    this.panes = [pane("a", ga), pane("b", gb)];
    this.tooltip = $("tooltip");
    for (const d of diffs) {
      if (d.a !== null && d.b !== null) {
        this.counterpart[0].set(d.a, d.b);
        this.counterpart[1].set(d.b, d.a);
      }
      const note = [d.kind.replace("-", " ").replace("-", " "), ...d.what].join(": ");
      if (d.a !== null) this.panes[0].notes.set(d.a, [...(this.panes[0].notes.get(d.a) ?? []), note]);
      if (d.b !== null) this.panes[1].notes.set(d.b, [...(this.panes[1].notes.get(d.b) ?? []), note]);
    }
    this.nav = new ViewportController({
      page: "compare",
      host: root,
      surfaces: this.panes.map((p) => ({ root: p.root, canvas: p.canvas })),
      extent: () => {
        const [minX, maxX] = this.extent();
        return { minX, maxX, height: this.layout(this.panes[0]).lanes.height };
      },
      initial: { x0: 0, k: 1, y0: 0, width: 1, height: 1, left: GUTTER, top: AXIS },
      actions: { clear: () => this.focus(null, null, false), divergence: () => this.toDivergence(true) },
      pointer: {
        hover: (i, sx, sy) => this.hover(this.panes[i], sx, sy),
        click: (i, sx, sy) => this.click(this.panes[i], sx, sy),
        leave: () => {
          this.tooltip.hidden = true;
          for (const q of this.panes) [q.hover, q.hoverArrow] = [-1, -1];
          this.request();
        },
      },
    });
    this.nav.subscribe(() => {
      this.tooltip.hidden = true;
      this.request();
    });
  }

  private get view(): Viewport {
    return this.nav.view;
  }

  private layout(p: Pane): DiagramLayout {
    let l = p.layouts.get(this.scale);
    if (l === undefined) {
      l = layoutDiagram(p.index, this.scale, this.spec);
      p.layouts.set(this.scale, l);
    }
    return l;
  }

  private extent(): [number, number] {
    const [la, lb] = this.panes.map((p) => this.layout(p));
    const empty = (l: DiagramLayout) => l.x.length === 0;
    const min = Math.min(empty(la) ? Infinity : la.minX, empty(lb) ? Infinity : lb.minX);
    const max = Math.max(empty(la) ? -Infinity : la.maxX, empty(lb) ? -Infinity : lb.maxX);
    return Number.isFinite(min) ? [min, max] : [0, 1];
  }

  start(): void {
    const ds = this.root.dataset;
    const fd = this.cmp.first_divergence;
    ds.differences = String(this.diffs.length);
    ds.firstDivergence = fd === null ? "" : (fd.a ?? fd.b ?? "");
    ds.lanes = String(this.layout(this.panes[0]).lanes.lanes.length);
    for (const p of this.panes) {
      const names = p.graph.messages.filter((_, i) => p.flags.messages[i] !== 0).map((m) => m.id);
      ds[p.side === "a" ? "messagesA" : "messagesB"] = names.join("|");
    }
    this.setMode("side");
    onResize(this.root, () => {
      this.sizeCanvases();
      this.request();
    });
    this.bindControls();
    this.nav.bind();
    this.exposeTestHooks();
    this.toDivergence(false);
  }

  private exposeTestHooks(): void {
    const page = (p: Pane, x: number, y: number) => {
      const rect = p.canvas.getBoundingClientRect();
      return { x: rect.left + x, y: rect.top + y };
    };
    const find = (side: Side) => this.panes[side === "a" ? 0 : 1];
    const hooks = {
      /** Page point of an event's mark on one side (in overlay mode both sides are on A's canvas). */
      eventPoint: (side: Side, name: string) => {
        const p = find(side);
        const e = p.graph.events.findIndex((x) => x.name === name);
        if (e < 0) return null;
        const [x, y] = eventPoint(this.layout(p), this.sideView(p), e);
        return page(this.canvasOf(p), x, y);
      },
      /** Page point on a message's arrow (middle of its first delivery, or its × when lost). */
      messagePoint: (side: Side, id: string) => {
        const p = find(side);
        const at = messageAnchor(this.layout(p), this.sideView(p), p.graph.messages.findIndex((m) => m.id === id));
        return at === null ? null : page(this.canvasOf(p), ...at);
      },
      viewport: () => ({ ...this.view }),
    };
    (window as unknown as { bopCompare: typeof hooks }).bopCompare = hooks;
  }

  /** The pane whose canvas shows `p` (A's canvas in overlay mode). */
  private canvasOf(p: Pane): Pane {
    return this.mode === "overlay" ? this.panes[0] : p;
  }

  /** The viewport `p` is drawn with: shifted apart in overlay mode. */
  private sideView(p: Pane): Viewport {
    if (this.mode === "side") return this.view;
    return { ...this.view, y0: this.view.y0 + (p.side === "a" ? OVERLAY_SHIFT : -OVERLAY_SHIFT) };
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    this.root.dataset.mode = mode;
    this.root.classList.toggle("overlay", mode === "overlay");
    this.root.classList.toggle("side", mode === "side");
    const [pa, pb] = this.panes;
    (pb.root.parentElement as HTMLElement).hidden = mode === "overlay";
    const title = pa.root.parentElement?.querySelector(".pane-head") as HTMLElement | null;
    title?.classList.toggle("overlaid", mode === "overlay");
    this.sizeCanvases();
    this.nav.fit();
    this.request();
  }

  private sizeCanvases(): void {
    const lanes = this.layout(this.panes[0]).lanes.height;
    const first = this.panes[0].root;
    const width = Math.max(200, first.clientWidth);
    const wanted = lanes + AXIS + 16;
    const height = Math.max(160, Math.min(wanted, window.innerHeight - 120, 2000));
    for (const p of this.panes) sizeCanvas(p.canvas, width, height);
    this.nav.resize(width, height);
  }

  private highlight(p: Pane): Highlight {
    return { ...NO_HIGHLIGHT, selected: p.selected, hoverEvent: p.hover, hoverArrow: p.hoverArrow, diff: p.flags, tint: p.side === "a" ? THEME.diffA : THEME.diffB };
  }

  private paint(): void {
    const [pa, pb] = this.panes;
    const t0 = performance.now();
    const ctxOf = (p: Pane) => {
      const ctx = p.canvas.getContext("2d");
      if (ctx === null) return null;
      const dpr = p.canvas.width / this.view.width;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      return ctx;
    };
    if (this.mode === "overlay") {
      const ctx = ctxOf(pa);
      if (ctx !== null) drawOverlay(ctx, this.layout(pa), this.layout(pb), this.view, this.highlight(pa), this.highlight(pb));
    } else {
      for (const p of this.panes) {
        const ctx = ctxOf(p);
        if (ctx !== null) draw(ctx, this.layout(p), this.view, this.highlight(p));
      }
    }
    this.root.dataset.renderMs = (performance.now() - t0).toFixed(1);
    document.body.dataset.rendered = "true";
  }

  /** Scrolls to the first divergence; `zoomIn` also zooms to a tenth of the runs' extent, centred on it. */
  toDivergence(zoomIn: boolean): void {
    const d = this.cmp.first_divergence;
    if (d === null) return;
    const [min, max] = this.extent();
    this.focus(d.a, d.b, false, zoomIn ? (max - min) / 10 : null);
  }

  /**
   * Scrolls both diagrams to an event or message (by name on each side)
   * and selects the events; with `span`, also zooms to show that much of
   * the world around it, centred.
   */
  focus(a: string | null, b: string | null, scrollPage = true, span: number | null = null): void {
    let anchor: { x: number; y: number } | null = null;
    for (const [p, name] of [
      [this.panes[0], a],
      [this.panes[1], b],
    ] as const) {
      p.selected = -1;
      if (name === null) continue;
      let e = p.graph.events.findIndex((x) => x.name === name);
      if (e < 0) {
        const m = p.graph.messages.find((x) => x.id === name);
        if (m !== undefined) e = m.send;
      }
      if (e < 0) continue;
      p.selected = e;
      const l = this.layout(p);
      const lane = l.lanes.lanes[l.laneOf[e]];
      if (anchor === null && lane !== undefined) anchor = { x: l.x[e], y: lane.y };
    }
    if (anchor !== null) {
      const v = span === null ? this.view : zoomToSpan(this.view, span);
      this.nav.set(reveal(v, anchor.x, anchor.y, this.layout(this.panes[0]).lanes.height, { center: span !== null }), "focus");
    }
    this.root.dataset.selectedA = this.panes[0].selected >= 0 ? this.panes[0].graph.events[this.panes[0].selected].name : "";
    this.root.dataset.selectedB = this.panes[1].selected >= 0 ? this.panes[1].graph.events[this.panes[1].selected].name : "";
    if (scrollPage) this.root.scrollIntoView({ block: "nearest" });
    this.request();
  }

  private bindControls(): void {
    onScaleChoice((scale) => {
      this.scale = scale;
      this.root.dataset.scale = scale;
      this.nav.fit();
      this.request();
    });
    for (const radio of document.querySelectorAll<HTMLInputElement>("input[name=mode]")) {
      radio.addEventListener("change", () => {
        if (radio.checked) this.setMode(radio.value === "overlay" ? "overlay" : "side");
      });
    }
    this.root.dataset.scale = this.scale;
    const toDivergence = $("to-divergence") as HTMLButtonElement;
    toDivergence.disabled = this.cmp.first_divergence === null;
  }

  /** What is under (sx, sy) on pane `p`'s canvas: in overlay mode B is tried first (it is drawn on top). */
  private hit(p: Pane, sx: number, sy: number): { pane: Pane; event: number; arrow: number } | null {
    const candidates = this.mode === "overlay" ? [this.panes[1], this.panes[0]] : [p];
    for (const q of candidates) {
      const l = this.layout(q);
      const v = this.sideView(q);
      const event = eventAt(l, v, sx, sy, 5);
      if (event >= 0) return { pane: q, event, arrow: -1 };
    }
    for (const q of candidates) {
      const arrow = arrowAt(this.layout(q), this.sideView(q), sx, sy);
      if (arrow >= 0) return { pane: q, event: -1, arrow };
    }
    return null;
  }

  private hover(p: Pane, sx: number, sy: number): void {
    for (const q of this.panes) [q.hover, q.hoverArrow] = [-1, -1];
    const hit = sx < this.view.left || sy < this.view.top ? null : this.hit(p, sx, sy);
    if (hit === null) {
      this.tooltip.hidden = true;
      this.request();
      return;
    }
    const q = hit.pane;
    let facts: [string, string][];
    let name: string;
    if (hit.event >= 0) {
      q.hover = hit.event;
      const e = q.graph.events[hit.event];
      name = e.name;
      facts = [["run", `${q.side.toUpperCase()} · ${this.cmp[q.side].id}`], ...eventFacts(e)];
    } else {
      q.hoverArrow = hit.arrow;
      const l = this.layout(q);
      const mi = l.arrowMessage[hit.arrow];
      const m = mi >= 0 ? q.graph.messages[mi] : null;
      name = m?.id ?? "";
      facts = [["run", `${q.side.toUpperCase()} · ${this.cmp[q.side].id}`], ...(m !== null ? messageFacts(m) : [])];
    }
    const notes = q.notes.get(name) ?? [];
    if (notes.length === 0) facts.push(["", "same in both runs"]);
    for (const n of notes) facts.push(["differs", n]);
    // The tooltip is positioned in the comparison, across both panes.
    const host = this.root.getBoundingClientRect();
    const rect = this.canvasOf(q).canvas.getBoundingClientRect();
    showTooltip(this.tooltip, facts, rect.left - host.left + sx, rect.top - host.top + sy, host.width);
    this.request();
  }

  /** Clicking an event selects it and its counterpart in the other run. */
  private click(p: Pane, sx: number, sy: number): void {
    const hit = this.hit(p, sx, sy);
    if (hit === null || hit.event < 0) {
      this.focus(null, null, false);
      return;
    }
    const q = hit.pane;
    const i = q.side === "a" ? 0 : 1;
    const name = q.graph.events[hit.event].name;
    const other = this.counterpart[i].get(name) ?? name;
    if (q.side === "a") this.focus(name, other, false);
    else this.focus(other, name, false);
  }
}
