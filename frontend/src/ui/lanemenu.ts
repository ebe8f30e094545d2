/**
 * The run page's lane and arrow menus. "Lanes": per process, collapse its
 * threads into one lane or expand them (also `c` for all, or a click on
 * the process's name in the diagram), and a checkbox per lane to hide it
 * or show it again, with "show all". "Arrows": a checkbox per channel and
 * per process to hide their arrows. State is layout/collapse.ts's
 * LaneState and layout/arrows.ts's ArrowFilter; the menus only edit it
 * and hand it to the view.
 *
 * Test hooks: `#lanes-menu` carries `data-hidden` (lanes hidden) and
 * `data-collapsed` (processes collapsed); each lane's checkbox has
 * `data-lane` (its key), each collapse button `data-process`; each arrow
 * checkbox `data-channel` or `data-process`.
 */

import type { Graph } from "../model/api.ts";
import type { ArrowFilter } from "../layout/arrows.ts";
import { type LaneState, laneChoices, setHidden, showAll, toggleCollapsed } from "../layout/collapse.ts";
import type { LaneSpec } from "../layout/lanes.ts";
import { h } from "./dom.ts";

export class LaneMenu {
  constructor(
    private readonly root: HTMLElement,
    private readonly spec: LaneSpec,
    private readonly onChange: (s: LaneState) => void,
  ) {}

  show(state: LaneState): void {
    const groups = laneChoices(this.spec, state);
    const hidden = groups.flatMap((g) => g.lanes).filter((l) => l.hidden).length;
    const all = h("button", { type: "button", id: "lanes-show-all", disabled: hidden === 0 }, "show all");
    all.addEventListener("click", () => this.onChange(showAll(state)));
    const items = groups.map((g) => {
      let toggle: Node | null = null;
      if (g.threads > 1) {
        toggle = h("button", { type: "button", class: "link collapse-toggle", "data-process": g.process, "aria-expanded": String(!g.collapsed) }, g.collapsed ? `expand ${g.threads} threads` : "collapse threads");
        toggle.addEventListener("click", () => this.onChange(toggleCollapsed(state, g.process)));
      }
      const lanes = g.lanes.map((l) => {
        const box = h("input", { type: "checkbox", "data-lane": l.key, checked: !l.hidden }) as HTMLInputElement;
        box.addEventListener("change", () => this.onChange(setHidden(state, l.key, !box.checked)));
        return h("label", { class: "lane-choice" }, box, " ", l.label);
      });
      return h("li", {}, h("strong", {}, g.process), " ", toggle, h("div", { class: "lane-choices" }, ...lanes));
    });
    const details = this.root.querySelector("details");
    const open = details?.open ?? false;
    this.root.replaceChildren(
      h(
        "details",
        { class: "menu", open },
        h("summary", {}, hidden > 0 ? `Lanes · ${hidden} hidden` : "Lanes"),
        h("div", { class: "menu-body" }, h("p", {}, all), h("ul", { class: "lane-menu" }, ...items)),
      ),
    );
    this.root.dataset.hidden = String(hidden);
    this.root.dataset.collapsed = String(groups.filter((g) => g.collapsed).length);
  }
}

export class ArrowMenu {
  constructor(
    private readonly root: HTMLElement,
    private readonly graph: Graph,
    private readonly onChange: (f: ArrowFilter) => void,
  ) {}

  show(filter: ArrowFilter): void {
    const off = filter.channels.size + filter.processes.size;
    const box = (kind: "channels" | "processes", name: string) => {
      const attr = kind === "channels" ? "data-channel" : "data-process";
      const input = h("input", { type: "checkbox", [attr]: name, checked: !filter[kind].has(name) }) as HTMLInputElement;
      input.addEventListener("change", () => {
        const next = new Set(filter[kind]);
        if (input.checked) next.delete(name);
        else next.add(name);
        this.onChange({ ...filter, [kind]: next });
      });
      return h("label", { class: "lane-choice" }, input, " ", name);
    };
    const channels = this.graph.channels.map((c) => c.name);
    const processes = this.graph.processes.map((p) => p.name);
    const details = this.root.querySelector("details");
    const open = details?.open ?? false;
    this.root.replaceChildren(
      h(
        "details",
        { class: "menu", open },
        h("summary", {}, off > 0 ? `Arrows · ${off} filtered` : "Arrows"),
        h(
          "div",
          { class: "menu-body" },
          h("p", { class: "meta" }, "Unchecked: their arrows are not drawn."),
          h("h3", {}, "by channel"),
          h("div", { class: "lane-choices" }, ...channels.map((c) => box("channels", c))),
          h("h3", {}, "by process"),
          h("div", { class: "lane-choices" }, ...processes.map((p) => box("processes", p))),
        ),
      ),
    );
    this.root.dataset.filtered = String(off);
  }
}
