/**
 * The run page: loads the run's graph, draws the space-time diagram and
 * wires the controls: real-time / logical layout, zoom (wheel, +/-),
 * pan (drag, arrow keys), fit (0), hover tooltips, click an event to see
 * its causal past and future, click a message arrow to rerun with a fault.
 *
 * Test hooks: `document.body.dataset.rendered` is "true" once drawn
 * ("error" when loading failed); `#diagram` carries `data-lanes`,
 * `data-arrows`, `data-events`, `data-messages`, `data-injected` (events
 * the fault injector changed), `data-lost` (messages never delivered),
 * `data-scale`, `data-selected` and `data-render-ms` (time of the last
 * frame); `#faults` carries `data-planned` and `data-fired`.
 */

import { type Graph, type GraphMessage, parseGraph, type RunsPage } from "../model/api.ts";
import { faultRows, faultSummary } from "../model/faults.ts";
import { eventFacts, formatNs } from "../model/format.ts";
import { causalCone, type GraphIndex, indexGraph } from "../model/graph.ts";
import { api, MAX_RUNS_PAGE, pages } from "../model/routes.ts";
import {
  ARROW_KIND_NAMES,
  ARROW_LOST,
  ARROW_MESSAGE,
  arrowAt,
  arrowPoints,
  type DiagramLayout,
  eventAt,
  eventPoint,
  layoutDiagram,
  type XScale,
} from "../layout/diagram.ts";
import { clampY, fit, pan, resize, type Viewport, zoomAt } from "../layout/viewport.ts";
import { draw, type Highlight, NO_HIGHLIGHT } from "../render/canvas.ts";
import { AXIS, GUTTER } from "../render/theme.ts";
import { describe, getJson } from "./client.ts";
import { $, h, setStatus } from "./dom.ts";
import { RerunPanel } from "./rerun.ts";

export async function runPage(): Promise<void> {
  const id = document.body.dataset.runId ?? "";
  setStatus("loading", `Loading run ${id}…`);
  let graph: Graph;
  try {
    graph = parseGraph(await getJson<unknown>(api.graph(id)));
  } catch (e) {
    setStatus("error", `Cannot show run ${id}: ${describe(e)}`);
    $("status").append(" ", h("a", { href: pages.runs() }, "Back to the runs"));
    $("diagram").hidden = true;
    for (const el of document.querySelectorAll<HTMLElement>(".controls, .legend")) el.hidden = true;
    document.body.dataset.rendered = "error";
    return;
  }
  showMeta(graph);
  if (graph.events.length === 0) setStatus("ok", "This run recorded no events.");
  else setStatus("ok", "");
  const view = new DiagramView($("diagram"), $("canvas") as HTMLCanvasElement, $("tooltip"), graph, new RerunPanel($("panel"), id));
  view.start();
  showFaults(graph, view);
  showCompareLinks(graph);
}

/**
 * "compare with parent" (for a rerun) and "compare with…" (any other
 * run of the store, picked from a list loaded when first opened).
 */
function showCompareLinks(graph: Graph): void {
  const el = $("run-compare");
  const id = graph.run.id;
  const parent = graph.run.parent;
  const select = h("select", { id: "compare-with", "aria-label": "compare with another run" }, h("option", { value: "" }, "compare with…")) as HTMLSelectElement;
  let loaded = false;
  const load = async () => {
    if (loaded) return;
    loaded = true;
    try {
      const page = await getJson<RunsPage>(api.runs({ limit: MAX_RUNS_PAGE }));
      select.append(...page.runs.filter((r) => r.id !== id).map((r) => h("option", { value: r.id }, `${r.id} · ${r.verdict}${r.parent ? ` · rerun of ${r.parent}` : ""}`)));
    } catch (e) {
      select.append(h("option", { value: "", disabled: true }, `cannot load runs: ${describe(e)}`));
    }
  };
  select.addEventListener("focus", () => void load());
  select.addEventListener("pointerdown", () => void load());
  select.addEventListener("change", () => {
    if (select.value !== "") window.location.href = pages.compare(id, select.value);
  });
  if (parent) el.replaceChildren(h("a", { href: pages.compare(parent, id), class: "compare-parent" }, "compare with parent"), " ", select);
  else el.replaceChildren(select);
  void load();
}

/**
 * The run's fault records above the diagram: each planned fault, whether
 * it fired, at which event (a button that selects it in the diagram),
 * where and when, and what it did or why it did not fire.
 */
function showFaults(graph: Graph, view: DiagramView): void {
  const section = $("faults");
  const rows = faultRows(graph.run.faults);
  if (rows.length === 0) {
    section.hidden = true;
    return;
  }
  section.dataset.planned = String(rows.length);
  section.dataset.fired = String(rows.filter((r) => r.fired === true).length);
  section.replaceChildren(
    h("h2", {}, "Faults ", h("span", { class: "meta" }, `· ${faultSummary(rows)}`)),
    h(
      "ul",
      {},
      ...rows.map((r) => {
        const state = r.fired === true ? "fired" : r.fired === false ? "not-fired" : "unknown";
        const label = r.fired === true ? "fired" : r.fired === false ? "did not fire" : "unreadable";
        let at: Node | null = null;
        if (r.event !== null) {
          const button = h("button", { type: "button", class: "link event-link", title: "Select this event in the diagram" }, r.event);
          button.addEventListener("click", () => view.focusEvent(r.event ?? ""));
          at = h("span", {}, " at ", button);
        }
        return h(
          "li",
          { "data-fired": state, "data-fault": r.text },
          h("span", { class: `badge fault-${state}` }, label),
          " ",
          h("code", {}, r.text),
          at,
          r.where ? h("span", { class: "meta" }, ` · ${r.where}`) : null,
          h("span", { class: "effect" }, ` · ${r.effect}`),
          r.count > 1 ? h("span", { class: "meta" }, ` · ${r.count} calls`) : null,
        );
      }),
    ),
  );
  section.hidden = false;
}

function showMeta(graph: Graph): void {
  const r = graph.run;
  const meta = $("run-meta");
  meta.replaceChildren(
    h(
      "span",
      {},
      h("span", { class: `badge verdict-${r.verdict}` }, r.verdict),
      " ",
      h("code", { title: "command" }, r.command),
      r.trace_class ? h("span", { class: "meta-item", title: "trace class" }, ` class ${r.trace_class.slice(0, 10)}`) : null,
      r.parent ? h("span", { class: "meta-item" }, " rerun of ", h("a", { href: pages.run(r.parent) }, r.parent)) : null,
      r.faults.length > 0 ? h("span", { class: "meta-item" }, ` · ${faultSummary(faultRows(r.faults))}`) : null,
    ),
  );
}

/** Pointer travel (px) below which a press is a click, not a drag. */
const CLICK_SLOP = 4;

class DiagramView {
  private readonly index: GraphIndex;
  private readonly layouts = new Map<XScale, DiagramLayout>();
  private layout: DiagramLayout;
  private view: Viewport;
  private highlight: Highlight = { ...NO_HIGHLIGHT };
  private frame = 0;
  private note = "";
  private drag: { x: number; y: number; moved: boolean } | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
    private readonly tooltip: HTMLElement,
    private readonly graph: Graph,
    private readonly rerun: RerunPanel,
  ) {
    this.index = indexGraph(graph);
    this.layout = this.layoutFor("time");
    this.view = { x0: 0, k: 1, y0: 0, width: 1, height: 1, left: GUTTER, top: AXIS };
  }

  private layoutFor(scale: XScale): DiagramLayout {
    let l = this.layouts.get(scale);
    if (l === undefined) {
      l = layoutDiagram(this.index, scale);
      this.layouts.set(scale, l);
    }
    return l;
  }

  start(): void {
    const ds = this.root.dataset;
    ds.lanes = String(this.layout.lanes.lanes.length);
    ds.arrows = String(this.layout.arrowFrom.length);
    ds.events = String(this.graph.events.length);
    ds.messages = String(this.graph.messages.length);
    ds.injected = String(this.layout.injected.reduce((n, x) => n + x, 0));
    ds.lost = String(this.graph.messages.filter((m) => m.lost || m.recvs.length === 0).length);
    this.sizeCanvas();
    this.fitView();
    new ResizeObserver(() => {
      this.sizeCanvas();
      this.request();
    }).observe(this.root);
    this.bindControls();
    this.bindPointer();
    this.exposeTestHooks();
  }

  /** `window.bopDiagram`: page coordinates of marks and arrows, for browser tests. */
  private exposeTestHooks(): void {
    const page = (x: number, y: number) => {
      const rect = this.canvas.getBoundingClientRect();
      return { x: rect.left + x, y: rect.top + y };
    };
    const hooks = {
      eventPoint: (name: string) => {
        const e = this.graph.events.findIndex((x) => x.name === name);
        return e < 0 ? null : page(...eventPoint(this.layout, this.view, e));
      },
      /** A point on the arrow of a message: the middle of its first delivery, or the × of a lost one. */
      messagePoint: (id: string) => {
        const l = this.layout;
        for (let a = 0; a < l.arrowFrom.length; a++) {
          const mi = l.arrowMessage[a];
          if (mi < 0 || this.graph.messages[mi].id !== id) continue;
          const [x1, y1, x2, y2] = arrowPoints(l, this.view, a);
          return l.arrowKind[a] === ARROW_LOST ? page(x2, y2) : page((x1 + x2) / 2, (y1 + y2) / 2);
        }
        return null;
      },
    };
    (window as unknown as { bopDiagram: typeof hooks }).bopDiagram = hooks;
  }

  private sizeCanvas(): void {
    const width = Math.max(200, this.root.clientWidth);
    const wanted = this.layout.lanes.height + AXIS + 16;
    const height = Math.max(160, Math.min(wanted, window.innerHeight - this.root.getBoundingClientRect().top - 24, 2000));
    const dpr = window.devicePixelRatio || 1;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.view = clampY(resize(this.view, width, height), this.layout.lanes.height);
  }

  private fitView(): void {
    this.view = fit(this.view, this.layout.minX, this.layout.maxX);
    this.request();
  }

  private request(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  private paint(): void {
    const ctx = this.canvas.getContext("2d");
    if (ctx === null) return;
    const dpr = this.canvas.width / this.view.width;
    const t0 = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const stats = draw(ctx, this.layout, this.view, this.highlight);
    const ms = performance.now() - t0;
    this.root.dataset.renderMs = ms.toFixed(1);
    this.root.dataset.drawnEvents = String(stats.events);
    this.root.dataset.drawnArrows = String(stats.arrows);
    this.root.dataset.arrowStride = String(stats.arrowStride);
    const note = stats.arrowStride > 1 ? `Showing 1 in ${stats.arrowStride} arrows at this zoom; zoom in to see every one.` : "";
    if (note !== this.note) {
      this.note = note;
      setStatus("ok", note);
    }
    document.body.dataset.rendered = "true";
  }

  private setScale(scale: XScale): void {
    this.layout = this.layoutFor(scale);
    this.root.dataset.scale = scale;
    this.fitView();
  }

  private zoom(factor: number, sx = (this.view.left + this.view.width) / 2): void {
    this.view = zoomAt(this.view, sx, factor);
    this.hideTooltip();
    this.request();
  }

  private panBy(dx: number, dy: number): void {
    this.view = pan(this.view, dx, dy, this.layout.lanes.height);
    this.request();
  }

  private bindControls(): void {
    for (const radio of document.querySelectorAll<HTMLInputElement>("input[name=layout]")) {
      radio.addEventListener("change", () => {
        if (radio.checked) this.setScale(radio.value === "logical" ? "logical" : "time");
      });
    }
    $("zoom-in").addEventListener("click", () => this.zoom(1.5));
    $("zoom-out").addEventListener("click", () => this.zoom(1 / 1.5));
    $("fit").addEventListener("click", () => this.fitView());
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        this.select(-1);
        this.rerun.close();
      }
    });
    this.root.addEventListener("keydown", (ev) => {
      const step = 80;
      const keys: Record<string, () => void> = {
        "+": () => this.zoom(1.5),
        "=": () => this.zoom(1.5),
        "-": () => this.zoom(1 / 1.5),
        _: () => this.zoom(1 / 1.5),
        "0": () => this.fitView(),
        f: () => this.fitView(),
        ArrowLeft: () => this.panBy(step, 0),
        ArrowRight: () => this.panBy(-step, 0),
        ArrowUp: () => this.panBy(0, step),
        ArrowDown: () => this.panBy(0, -step),
      };
      const action = keys[ev.key];
      if (action && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
        ev.preventDefault();
        action();
      }
    });
  }

  private point(ev: MouseEvent): [number, number] {
    const rect = this.canvas.getBoundingClientRect();
    return [ev.clientX - rect.left, ev.clientY - rect.top];
  }

  private bindPointer(): void {
    const c = this.canvas;
    c.addEventListener(
      "wheel",
      (ev) => {
        ev.preventDefault();
        const [sx] = this.point(ev);
        const scale = ev.deltaMode === 1 ? 20 : ev.deltaMode === 2 ? 400 : 1;
        if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
          this.panBy(-(ev.deltaX || ev.deltaY) * scale, 0);
        } else if (ev.altKey) {
          this.panBy(0, -ev.deltaY * scale);
        } else {
          this.zoom(Math.exp((-ev.deltaY * scale) / 300), sx);
        }
      },
      { passive: false },
    );
    c.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      this.drag = { x: ev.clientX, y: ev.clientY, moved: false };
      c.setPointerCapture(ev.pointerId);
      this.root.focus({ preventScroll: true });
    });
    c.addEventListener("pointermove", (ev) => {
      if (this.drag) {
        const dx = ev.clientX - this.drag.x;
        const dy = ev.clientY - this.drag.y;
        if (this.drag.moved || Math.hypot(dx, dy) > CLICK_SLOP) {
          this.drag = { x: ev.clientX, y: ev.clientY, moved: true };
          this.hideTooltip();
          this.panBy(dx, dy);
          c.style.cursor = "grabbing";
        }
        return;
      }
      this.hover(...this.point(ev));
    });
    c.addEventListener("pointerup", (ev) => {
      const drag = this.drag;
      this.drag = null;
      c.style.cursor = "";
      if (drag && !drag.moved) this.click(...this.point(ev));
    });
    c.addEventListener("pointerleave", () => {
      if (this.drag) return;
      this.hideTooltip();
      this.setHover(-1, -1);
    });
  }

  private hit(sx: number, sy: number): { event: number; arrow: number } {
    const event = eventAt(this.layout, this.view, sx, sy);
    return { event, arrow: event >= 0 ? -1 : arrowAt(this.layout, this.view, sx, sy) };
  }

  private setHover(event: number, arrow: number): void {
    if (event !== this.highlight.hoverEvent || arrow !== this.highlight.hoverArrow) {
      this.highlight = { ...this.highlight, hoverEvent: event, hoverArrow: arrow };
      this.request();
    }
  }

  private hover(sx: number, sy: number): void {
    if (sx < this.view.left || sy < this.view.top) {
      this.hideTooltip();
      this.setHover(-1, -1);
      return;
    }
    const { event, arrow } = this.hit(sx, sy);
    this.setHover(event, arrow);
    this.canvas.style.cursor = event >= 0 || arrow >= 0 ? "pointer" : "";
    if (event >= 0) this.showTooltip(sx, sy, eventFacts(this.graph.events[event]));
    else if (arrow >= 0) this.showTooltip(sx, sy, this.arrowFacts(arrow));
    else this.hideTooltip();
  }

  private arrowFacts(a: number): [string, string][] {
    const l = this.layout;
    const kind = l.arrowKind[a];
    const from = this.graph.events[l.arrowFrom[a]];
    const to = l.arrowTo[a] >= 0 ? this.graph.events[l.arrowTo[a]] : null;
    const facts: [string, string][] = [["edge", ARROW_KIND_NAMES[kind]]];
    const mi = l.arrowMessage[a];
    if (mi >= 0) {
      const m = this.graph.messages[mi];
      facts.push(["message", m.id], ["channel", m.channel]);
      if (m.bytes !== null) facts.push(["bytes", String(m.bytes)]);
      if (m.dropped) facts.push(["dropped", "by the fault injector"]);
      else if (m.lost) facts.push(["lost", "never delivered"]);
    }
    facts.push(["from", from.name], ["to", to ? to.name : "(nowhere)"]);
    if (to && to.end_ns !== null && from.end_ns !== null) facts.push(["latency", formatNs(to.end_ns - from.end_ns)]);
    if (from.injected) facts.push(["injected", from.injected]);
    if (mi >= 0) facts.push(["", "click to rerun with a fault on this message"]);
    return facts;
  }

  private showTooltip(sx: number, sy: number, facts: [string, string][]): void {
    const t = this.tooltip;
    t.replaceChildren(
      h("dl", {}, ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    );
    t.hidden = false;
    const w = t.offsetWidth;
    const x = sx + 14 + w > this.view.width ? sx - 14 - w : sx + 14;
    t.style.left = `${Math.max(0, x)}px`;
    t.style.top = `${Math.max(0, sy + 14)}px`;
  }

  private hideTooltip(): void {
    this.tooltip.hidden = true;
  }

  /** Selects an event by logical name and scrolls it into view. */
  focusEvent(name: string): void {
    const e = this.graph.events.findIndex((x) => x.name === name);
    if (e < 0) return;
    const [sx] = eventPoint(this.layout, this.view, e);
    if (sx < this.view.left || sx > this.view.width) {
      this.view = { ...this.view, x0: this.layout.x[e] - (this.view.width - this.view.left) / 2 / this.view.k };
    }
    const lane = this.layout.lanes.lanes[this.layout.laneOf[e]];
    if (lane !== undefined) {
      const sy = this.view.top + lane.y - this.view.y0;
      if (sy < this.view.top || sy > this.view.height) {
        this.view = clampY({ ...this.view, y0: lane.y - (this.view.height - this.view.top) / 2 }, this.layout.lanes.height);
      }
    }
    this.select(e);
    this.root.focus({ preventScroll: true });
    this.root.scrollIntoView({ block: "nearest" });
  }

  private select(event: number): void {
    this.highlight = {
      ...this.highlight,
      selected: event,
      cone: event >= 0 ? causalCone(this.index, event) : null,
    };
    this.root.dataset.selected = event >= 0 ? this.graph.events[event].name : "";
    this.request();
  }

  private click(sx: number, sy: number): void {
    const { event, arrow } = this.hit(sx, sy);
    if (event >= 0) {
      this.select(event === this.highlight.selected ? -1 : event);
      return;
    }
    const kind = arrow >= 0 ? this.layout.arrowKind[arrow] : -1;
    if (kind === ARROW_MESSAGE || kind === ARROW_LOST) {
      const message: GraphMessage = this.graph.messages[this.layout.arrowMessage[arrow]];
      this.rerun.open(message);
      return;
    }
    this.select(-1);
  }
}
