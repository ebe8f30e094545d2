/**
 * The run page: loads the run's graph, draws the space-time diagram and
 * wires the controls: real-time / logical layout, hover tooltips, click
 * an event to see its causal past and future, click a message arrow to
 * rerun with a fault. Pan, zoom and keys are ui/controller.ts's, shared
 * with the comparison. A run of more than WINDOWED_MIN_EVENTS events
 * opens by window instead (ui/windowed.ts): only what is in view is fetched.
 *
 * Test hooks: `document.body.dataset.rendered` is "true" once drawn
 * ("error" when loading failed); `#diagram` carries `data-lanes`,
 * `data-arrows`, `data-events`, `data-messages`, `data-injected` (events
 * the fault injector changed), `data-lost` (messages never delivered),
 * `data-scale`, `data-selected`, `data-render-ms` (time of the last
 * frame), `data-faulted` and `data-faulted-messages` (the messages the
 * run's faults acted on, marked on the diagram) and the controller's
 * `data-view-x0/k/y0`; `#faults` carries
 * `data-planned` and `data-fired`.
 *
 * Navigation for big diagrams (issue 16) lives in its own modules, wired
 * here: lanes collapsed and hidden (ui/lanemenu.ts, layout/collapse.ts),
 * arrows filtered (layout/arrows.ts), find (ui/find.ts), the minimap
 * (ui/minimap.ts) and the details panel (ui/details.ts).
 */

import { type Graph, type GraphMessage, type GraphRun, parseGraph, type RunsPage } from "../model/api.ts";
import { faultedMessages, faultedNames } from "../model/faulted.ts";
import { faultRows, faultSummary } from "../model/faults.ts";
import { eventFacts, formatNs, messageFacts } from "../model/format.ts";
import { causalCone, FUTURE, type GraphIndex, indexGraph, PAST } from "../model/graph.ts";
import { api, MAX_RUNS_PAGE, pages } from "../model/routes.ts";
import { ARROW_KIND_NAMES, ARROW_LOST, ARROW_MESSAGE, arrowAt, type DiagramLayout, eventAt, eventPoint, layoutDiagram, messageAnchor, type XScale } from "../layout/diagram.ts";
import { ALL_LANES, groupHeaderAt, type LaneState, revealThread, shapeLanes, toggleAllCollapsed, toggleCollapsed } from "../layout/collapse.ts";
import { type ArrowFilter, filterArrows, NO_FILTER } from "../layout/arrows.ts";
import { GROUP_HEADER, type LaneSpec, laneSpec } from "../layout/lanes.ts";
import { densityOf } from "../layout/minimap.ts";
import { reveal } from "../layout/navigate.ts";
import type { FindMatch } from "../model/find.ts";
import { contentY, screenY } from "../layout/viewport.ts";
import type { Viewport } from "../layout/viewport.ts";
import { draw, type Highlight, NO_HIGHLIGHT } from "../render/canvas.ts";
import { AXIS, GUTTER } from "../render/theme.ts";
import { describe, getJson } from "./client.ts";
import { ViewportController } from "./controller.ts";
import { $, h, paintOnNextFrame, setStatus, showTooltip } from "./dom.ts";
import { fitCanvas, onResize, onScaleChoice, pagePoint } from "./pagewire.ts";
import { DetailsPanel } from "./details.ts";
import { FindBox } from "./find.ts";
import { ArrowMenu, LaneMenu } from "./lanemenu.ts";
import { Minimap } from "./minimap.ts";
import { RerunPanel } from "./rerun.ts";
import { showUnseen } from "./unseen.ts";
import { firstWindow, WindowedView } from "./windowed.ts";

export async function runPage(): Promise<void> {
  const id = document.body.dataset.runId ?? "";
  setStatus("loading", `Loading run ${id}…`);
  let graph: Graph;
  try {
    // A big run opens by window (ui/windowed.ts); a small one fetches its whole graph.
    const plotPx = Math.max(200, $("diagram").clientWidth) - GUTTER;
    const first = await firstWindow(id, plotPx);
    if (first !== null) {
      const view = new WindowedView($("diagram"), $("canvas") as HTMLCanvasElement, $("tooltip"), id, first, new RerunPanel($("panel"), id), first.totalEvents);
      showMeta(first);
      setStatus("ok", "");
      view.start();
      showFaults(first, view);
      showCompareLinks(first);
      return;
    }
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
  showUnseen(graph, $("status"));
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
function showCompareLinks(graph: { run: GraphRun }): void {
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
function showFaults(graph: { run: GraphRun }, view: { focusEvent(name: string): void }): void {
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

function showMeta(graph: { run: GraphRun }): void {
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
      h("span", { class: "meta-item" }, " · ", h("a", { id: "tree-link", href: pages.tree(r.id) }, "rerun tree")),
      r.faults.length > 0 ? h("span", { class: "meta-item" }, ` · ${faultSummary(faultRows(r.faults))}`) : null,
    ),
  );
}

class DiagramView {
  private readonly index: GraphIndex;
  private readonly layouts = new Map<XScale, DiagramLayout>();
  private layout: DiagramLayout;
  private readonly nav: ViewportController;
  private highlight: Highlight = { ...NO_HIGHLIGHT };
  /** Paints in the next animation frame, once however often asked. */
  private readonly request = paintOnNextFrame(() => this.paint());
  private note = "";
  private readonly spec: LaneSpec;
  private lanes: LaneState = ALL_LANES;
  private arrowFilter: ArrowFilter = NO_FILTER;
  private readonly details: DetailsPanel;
  private readonly laneMenu: LaneMenu;
  private readonly arrowMenu: ArrowMenu;
  private readonly find: FindBox;
  private readonly minimap: Minimap;

  constructor(
    private readonly root: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
    private readonly tooltip: HTMLElement,
    private readonly graph: Graph,
    private readonly rerun: RerunPanel,
  ) {
    this.index = indexGraph(graph);
    this.spec = laneSpec(graph);
    this.layout = this.layoutFor("time");
    this.nav = new ViewportController({
      page: "run",
      host: root,
      surfaces: [{ root, canvas }],
      extent: () => ({ minX: this.layout.minX, maxX: this.layout.maxX, height: this.layout.lanes.height }),
      initial: { x0: 0, k: 1, y0: 0, width: 1, height: 1, left: GUTTER, top: AXIS },
      actions: {
        clear: () => {
          this.select(-1);
          this.rerun.close();
        },
        find: () => this.find.focus(),
        findNext: () => void this.find.step(1),
        findPrev: () => void this.find.step(-1),
        collapseAll: () => this.setLanes(toggleAllCollapsed(this.lanes, this.spec)),
      },
      pointer: {
        hover: (_, sx, sy) => this.hover(sx, sy),
        click: (_, sx, sy) => this.click(sx, sy),
        leave: () => {
          this.hideTooltip();
          this.setHover(-1, -1);
        },
      },
    });
    this.nav.subscribe(() => {
      this.hideTooltip();
      this.request();
    });
    this.details = new DetailsPanel($("details"), (e) => this.focusEvent(this.graph.events[e].name));
    this.laneMenu = new LaneMenu($("lanes-menu"), this.spec, (s) => this.setLanes(s));
    this.arrowMenu = new ArrowMenu($("arrows-menu"), graph, (f) => this.setArrows(f));
    this.find = new FindBox($("find"), graph.run.id, (m) => this.focusMatch(m));
    this.minimap = new Minimap($("minimap"), this.nav);
  }

  private get view(): Viewport {
    return this.nav.view;
  }

  /** Marks the arrows of the messages the run's faults acted on (model/faulted.ts); `data-faulted` counts them. */
  private markFaulted(): void {
    const faulted = faultedMessages(this.graph);
    const names = faultedNames(this.graph, faulted);
    this.highlight = { ...this.highlight, faulted: names.length > 0 ? faulted : null };
    this.root.dataset.faulted = String(names.length);
    this.root.dataset.faultedMessages = names.slice(0, 50).join(" ");
  }

  private layoutFor(scale: XScale): DiagramLayout {
    let l = this.layouts.get(scale);
    if (l === undefined) {
      l = filterArrows(layoutDiagram(this.index, scale, undefined, shapeLanes(this.graph, this.lanes, this.spec)), this.graph, this.arrowFilter);
      this.layouts.set(scale, l);
    }
    return l;
  }

  start(): void {
    const ds = this.root.dataset;
    this.writeCounts();
    this.laneMenu.show(this.lanes);
    this.arrowMenu.show(this.arrowFilter);
    ds.events = String(this.graph.events.length);
    ds.messages = String(this.graph.messages.length);
    ds.injected = String(this.layout.injected.reduce((n, x) => n + x, 0));
    this.markFaulted();
    ds.lost = String(this.graph.messages.filter((m) => m.lost || m.recvs.length === 0).length);
    this.sizeCanvas();
    this.nav.fit();
    this.minimap.setDensity(densityOf(this.layout, this.minimap.columns()));
    this.request();
    onResize(this.root, () => {
      this.sizeCanvas();
      this.request();
    });
    onScaleChoice((s) => this.setScale(s));
    this.nav.bind();
    this.exposeTestHooks();
  }

  /** `window.bopDiagram`: page coordinates of marks and arrows, for browser tests. */
  private exposeTestHooks(): void {
    const page = (p: [number, number] | null) => pagePoint(this.canvas, p);
    const hooks = {
      eventPoint: (name: string) => {
        const e = this.graph.events.findIndex((x) => x.name === name);
        return e < 0 ? null : page(eventPoint(this.layout, this.view, e));
      },
      /** A point on the arrow of a message: the middle of its first delivery, or the × of a lost one. */
      messagePoint: (id: string) => page(messageAnchor(this.layout, this.view, this.graph.messages.findIndex((m) => m.id === id))),
      viewport: () => ({ ...this.view }),
      /** A point on a process's name in the label gutter (a click there collapses or expands it). */
      groupHeaderPoint: (process: string) => {
        const g = this.layout.lanes.groups.find((x) => x.process === process);
        return g === undefined ? null : page([20, Math.max(screenY(this.view, g.top) + GROUP_HEADER / 2, this.view.top + 8)]);
      },
    };
    (window as unknown as { bopDiagram: typeof hooks }).bopDiagram = hooks;
  }

  private sizeCanvas(): void {
    fitCanvas(this.root, this.canvas, this.nav, this.layout.lanes.height);
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
    this.nav.fit();
    this.minimap.setDensity(densityOf(this.layout, this.minimap.columns()));
    this.request();
  }

  /** `data-lanes` and `data-arrows`: what the layout draws now. */
  private writeCounts(): void {
    this.root.dataset.lanes = String(this.layout.lanes.lanes.length);
    this.root.dataset.arrows = String(this.layout.arrowFrom.length);
  }

  /** Lays the diagram out again after lanes or arrows changed, keeping the view and the selection. */
  private relayout(): void {
    this.layouts.clear();
    this.layout = this.layoutFor(this.layout.scale);
    this.highlight = { ...this.highlight, hoverArrow: -1, hoverEvent: -1 };
    this.writeCounts();
    this.laneMenu.show(this.lanes);
    this.arrowMenu.show(this.arrowFilter);
    this.sizeCanvas();
    this.nav.set(this.view, "layout");
    this.minimap.setDensity(densityOf(this.layout, this.minimap.columns()));
    this.request();
  }

  private setLanes(s: LaneState): void {
    this.lanes = s;
    this.relayout();
  }

  private setArrows(f: ArrowFilter): void {
    this.arrowFilter = f;
    this.relayout();
  }

  /**
   * Centres a find match and selects it. Its lane is shown again if it was
   * hidden; its x is where the current scale puts it, read from the match
   * itself so the page need not hold the event to move there.
   */
  private focusMatch(m: FindMatch): void {
    const process = this.graph.threads.find((t) => t.name === m.thread)?.process ?? "";
    const shown = revealThread(this.lanes, process, m.thread);
    if (shown !== this.lanes) this.setLanes(shown);
    const t = this.graph.threads.findIndex((x) => x.name === m.thread);
    const lane = t >= 0 ? this.layout.lanes.lanes[this.layout.lanes.laneOfThread[t]] : undefined;
    const x = this.layout.scale === "time" ? (m.end_ns ?? m.start_ns) : m.lamport;
    if (lane !== undefined) this.nav.set(reveal(this.view, x, lane.y, this.layout.lanes.height, { center: true }), "find");
    const e = this.graph.events[m.id]?.name === m.name ? m.id : this.graph.events.findIndex((x) => x.name === m.name);
    if (e >= 0) this.select(e);
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
    if (event >= 0) showTooltip(this.tooltip, eventFacts(this.graph.events[event]), sx, sy, this.view.width);
    else if (arrow >= 0) showTooltip(this.tooltip, this.arrowFacts(arrow), sx, sy, this.view.width);
    else this.hideTooltip();
  }

  private arrowFacts(a: number): [string, string][] {
    const l = this.layout;
    const from = this.graph.events[l.arrowFrom[a]];
    const to = l.arrowTo[a] >= 0 ? this.graph.events[l.arrowTo[a]] : null;
    const mi = l.arrowMessage[a];
    const facts: [string, string][] = [["edge", ARROW_KIND_NAMES[l.arrowKind[a]]], ...(mi >= 0 ? messageFacts(this.graph.messages[mi]) : [])];
    facts.push(["from", from.name], ["to", to ? to.name : "(nowhere)"]);
    if (to && to.end_ns !== null && from.end_ns !== null) facts.push(["latency", formatNs(to.end_ns - from.end_ns)]);
    if (from.injected) facts.push(["injected", from.injected]);
    if (mi >= 0) facts.push(["", "click to rerun with a fault on this message"]);
    return facts;
  }

  private hideTooltip(): void {
    this.tooltip.hidden = true;
  }

  /** Selects an event by logical name and scrolls it into view. */
  focusEvent(name: string): void {
    const e = this.graph.events.findIndex((x) => x.name === name);
    if (e < 0) return;
    const lane = this.layout.lanes.lanes[this.layout.laneOf[e]];
    if (lane !== undefined) this.nav.set(reveal(this.view, this.layout.x[e], lane.y, this.layout.lanes.height), "focus");
    this.select(e);
    this.root.focus({ preventScroll: true });
    this.root.scrollIntoView({ block: "nearest" });
  }

  private select(event: number): void {
    const cone = event >= 0 ? causalCone(this.index, event) : null;
    this.highlight = { ...this.highlight, selected: event, cone };
    if (cone !== null) {
      let past = 0;
      let future = 0;
      for (const f of cone) {
        if (f & PAST) past++;
        if (f & FUTURE) future++;
      }
      this.details.showEvent(this.graph.events[event], past, future);
    } else this.details.clear();
    this.root.dataset.selected = event >= 0 ? this.graph.events[event].name : "";
    this.request();
  }

  private click(sx: number, sy: number): void {
    if (sx < this.view.left && sy >= this.view.top) {
      // The label gutter: a process's name collapses or expands its threads.
      const process = groupHeaderAt(this.layout.lanes, contentY(this.view, sy));
      if (process !== null) this.setLanes(toggleCollapsed(this.lanes, process));
      return;
    }
    const { event, arrow } = this.hit(sx, sy);
    if (event >= 0) {
      this.select(event === this.highlight.selected ? -1 : event);
      return;
    }
    const kind = arrow >= 0 ? this.layout.arrowKind[arrow] : -1;
    if (kind === ARROW_MESSAGE || kind === ARROW_LOST) {
      const message: GraphMessage = this.graph.messages[this.layout.arrowMessage[arrow]];
      this.select(-1);
      this.details.showMessage(message, this.graph.events);
      this.rerun.open(message);
      return;
    }
    this.select(-1);
  }
}
