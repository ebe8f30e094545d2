/**
 * The run list page: every run fetched by cursor pages (drawn after the
 * first one arrives), folded into a forest (reruns under their parent, one
 * collapsible row per exploration or search), filtered by verdict, trace
 * class, fault kind and text, and shown a page of top-level rows at a time
 * so thousands of runs cost one screen of DOM.
 */

import type { RunsPage, RunSummary } from "../model/api.ts";
import { formatMs } from "../model/format.ts";
import { api, MAX_RUNS_PAGE, pages } from "../model/routes.ts";
import {
  buildForest,
  countRuns,
  filterForest,
  flatten,
  type GroupNode,
  isFiltering,
  type ListNode,
  type ListRow,
  paginate,
  type RunFilter,
} from "../model/runlist.ts";
import { del, describe, getJson } from "./client.ts";
import { $, h, setStatus } from "./dom.ts";

/** Top-level rows per page: a screen or two, whatever the store holds. */
const ROOTS_PER_PAGE = 50;

interface ListState {
  runs: RunSummary[];
  forest: ListNode[];
  expanded: Set<string>;
  page: number;
}

export async function runListPage(): Promise<void> {
  const table = $("runs") as HTMLTableElement;
  const controls = {
    text: $("filter") as HTMLInputElement,
    verdict: $("filter-verdict") as HTMLSelectElement,
    fault: $("filter-fault") as HTMLSelectElement,
    cls: $("filter-class") as HTMLInputElement,
  };
  const state: ListState = { runs: [], forest: [], expanded: new Set(), page: 0 };
  const filterNow = (): RunFilter => ({
    text: controls.text.value,
    verdict: controls.verdict.value as RunFilter["verdict"],
    fault: controls.fault.value,
    cls: controls.cls.value,
  });
  const render = () => renderList(table, state, filterNow(), render, reload);
  const reload = async () => {
    setStatus("loading", "Loading runs…");
    try {
      await loadAll(state, table, render);
      document.body.dataset.rendered = "true";
    } catch (e) {
      table.hidden = true;
      setStatus("error", `Cannot load the runs: ${describe(e)}`);
      document.body.dataset.rendered = "error";
    }
  };
  for (const c of Object.values(controls)) {
    c.addEventListener("input", () => {
      state.page = 0;
      render();
    });
  }
  bindPager(state, render);
  await reload();
}

/** Fetches every run by cursor, drawing after each page (the first page is the first paint). */
async function loadAll(state: ListState, table: HTMLTableElement, render: () => void): Promise<void> {
  const runs: RunSummary[] = [];
  let cursor: string | null | undefined = "";
  let first = true;
  while (typeof cursor === "string") {
    const page: RunsPage = await getJson<RunsPage>(api.runs({ limit: MAX_RUNS_PAGE, cursor }));
    runs.push(...page.runs);
    cursor = page.next_cursor;
    state.runs = runs;
    state.forest = buildForest(runs);
    table.hidden = false;
    render();
    if (first) {
      table.dataset.firstPaintMs = String(Math.round(performance.now()));
      first = false;
    }
    table.dataset.loaded = String(runs.length);
  }
}

function bindPager(state: ListState, render: () => void): void {
  const go = (to: (p: number) => number) => () => {
    state.page = to(state.page);
    render();
  };
  $("page-first").addEventListener("click", go(() => 0));
  $("page-prev").addEventListener("click", go((p) => p - 1));
  $("page-next").addEventListener("click", go((p) => p + 1));
  $("page-last").addEventListener("click", go(() => Number.MAX_SAFE_INTEGER));
}

function renderList(table: HTMLTableElement, state: ListState, filter: RunFilter, render: () => void, reload: () => Promise<void>): void {
  const kept = filterForest(state.forest, filter);
  const page = paginate(kept, state.page, ROOTS_PER_PAGE);
  state.page = page.page;
  const rows = flatten(page.items, state.expanded);
  const toggle = (key: string) => {
    if (!state.expanded.delete(key)) state.expanded.add(key);
    render();
  };
  table.tBodies[0].replaceChildren(...rows.map((row) => renderRow(row, state.expanded, toggle, reload)));
  table.dataset.rows = String(rows.length);
  table.dataset.page = String(page.page + 1);
  table.dataset.pages = String(page.pages);
  const pager = $("pager");
  pager.hidden = page.pages <= 1;
  const shown = isFiltering(filter) ? countRuns(kept) : state.runs.length;
  $("page-label").textContent = `Page ${page.page + 1} of ${page.pages} · ${shown} of ${state.runs.length} runs`;
  for (const [id, off] of [["page-first", page.page === 0], ["page-prev", page.page === 0], ["page-next", page.page + 1 >= page.pages], ["page-last", page.page + 1 >= page.pages]] as const) {
    ($(id) as HTMLButtonElement).disabled = off;
  }
  if (state.runs.length === 0) setStatus("ok", "No runs yet. Record one with: bop run -- COMMAND");
  else if (kept.length === 0) setStatus("ok", "No run matches the filter.");
  else setStatus("ok", "");
}

function renderRow(row: ListRow, expanded: ReadonlySet<string>, toggle: (key: string) => void, reload: () => Promise<void>): HTMLElement {
  const n = row.node;
  return n.kind === "group" ? renderGroup(n, row.depth, expanded.has(n.key), toggle) : renderRun(n.run, row.depth, reload);
}

const indent = (depth: number) => `padding-left: ${0.5 + depth * 1.4}em`;

function renderGroup(g: GroupNode, depth: number, open: boolean, toggle: (key: string) => void): HTMLElement {
  const button = h(
    "button",
    { class: "link toggle", "aria-expanded": String(open), title: `${open ? "Hide" : "Show"} the runs of ${g.group.kind} ${g.group.id}` },
    open ? "▾" : "▸",
  );
  button.addEventListener("click", () => toggle(g.key));
  const count = g.shown === g.total ? `${g.total} runs` : `${g.shown} of ${g.total} runs match`;
  const verdicts = (["pass", "fail", "unknown"] as const)
    .filter((v) => g.verdicts[v] > 0)
    .map((v) => h("span", { class: `badge verdict-${v}` }, `${g.verdicts[v]} ${v}`));
  const link = g.group.kind === "exploration" ? h("a", { href: pages.exploration(g.group.id) }, g.group.id) : h("span", {}, g.group.id);
  return h(
    "tr",
    { "data-group": g.key, "data-depth": depth, "data-open": String(open), class: "group" },
    h("td", { class: "id", style: indent(depth) }, button, " ", link),
    h("td", { class: "command" }, `${g.group.kind} · ${count}`),
    h("td", {}, new Date(g.started_ms).toLocaleString()),
    h("td", {}, ""),
    h("td", {}, ""),
    h("td", { class: "verdicts" }, ...verdicts),
    h("td", {}, ""),
    h("td", {}, ""),
    h("td", {}, ""),
    h("td", {}, ""),
  );
}

function renderRun(r: RunSummary, depth: number, reload: () => Promise<void>): HTMLElement {
  const remove = h("button", { class: "link danger", title: `Delete run ${r.id}` }, "delete");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete run ${r.id} and its recording?`)) return;
    try {
      await del(api.run(r.id));
      await reload();
    } catch (e) {
      setStatus("error", `Cannot delete ${r.id}: ${describe(e)}`);
    }
  });
  const kinds = r.fault_kinds && r.fault_kinds.length > 0 ? ` (${[...new Set(r.fault_kinds)].join(", ")})` : "";
  const faults = r.faults.planned === 0 ? "—" : `${r.faults.fired}/${r.faults.planned} fired${kinds}`;
  return h(
    "tr",
    { "data-run": r.id, "data-depth": depth, class: depth > 0 ? "rerun" : "" },
    h(
      "td",
      { class: "id", style: indent(depth) },
      depth > 0 ? h("span", { class: "tree", "aria-hidden": "true" }, "↳ ") : null,
      h("a", { href: pages.run(r.id) }, r.id),
    ),
    h("td", { class: "command", title: r.command }, r.command),
    h("td", {}, new Date(r.started_ms).toLocaleString()),
    h("td", {}, formatMs(r.duration_ms)),
    h("td", {}, h("span", { class: `badge status-${r.status}` }, r.status)),
    h("td", {}, h("span", { class: `badge verdict-${r.verdict}` }, r.verdict)),
    h("td", { class: "class", title: r.trace_class ?? "" }, r.trace_class ? r.trace_class.slice(0, 10) : "—"),
    h("td", {}, faults),
    h("td", { class: "num" }, String(r.events)),
    h(
      "td",
      { class: "actions" },
      r.parent ? h("a", { href: pages.compare(r.parent, r.id) }, "compare") : null,
      " ",
      remove,
    ),
  );
}
