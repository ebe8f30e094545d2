/** The run list page: a table of runs with rerun trees and a filter box. */

import type { RunsPage, RunSummary } from "../model/api.ts";
import { formatMs } from "../model/format.ts";
import { filterRows, type RunRow, runTree } from "../model/runs.ts";
import { api, MAX_RUNS_PAGE, pages } from "../model/routes.ts";
import { del, describe, getJson } from "./client.ts";
import { $, h, setStatus } from "./dom.ts";

export async function runListPage(): Promise<void> {
  const table = $("runs") as HTMLTableElement;
  const body = table.tBodies[0];
  const filter = $("filter") as HTMLInputElement;
  let rows: RunRow[] = [];
  const render = () => {
    const shown = filterRows(rows, filter.value);
    body.replaceChildren(...shown.map((row) => renderRow(row, reload)));
    table.dataset.rows = String(shown.length);
    if (rows.length === 0) setStatus("ok", "No runs yet. Record one with: bop run -- COMMAND");
    else if (shown.length === 0) setStatus("ok", `No run matches “${filter.value}”.`);
    else setStatus("ok", "");
  };
  const reload = async () => {
    setStatus("loading", "Loading runs…");
    try {
      const page = await getJson<RunsPage>(api.runs({ limit: MAX_RUNS_PAGE }));
      rows = runTree(page.runs);
      table.hidden = false;
      render();
      if (page.total > page.runs.length) setStatus("ok", `Showing the newest ${page.runs.length} of ${page.total} runs.`);
      document.body.dataset.rendered = "true";
    } catch (e) {
      table.hidden = true;
      setStatus("error", `Cannot load the runs: ${describe(e)}`);
      document.body.dataset.rendered = "error";
    }
  };
  filter.addEventListener("input", render);
  await reload();
}

function renderRow(row: RunRow, reload: () => Promise<void>): HTMLElement {
  const r: RunSummary = row.run;
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
  const faults = r.faults.planned === 0 ? "—" : `${r.faults.fired}/${r.faults.planned} fired`;
  return h(
    "tr",
    { "data-run": r.id, "data-depth": row.depth, class: row.depth > 0 ? "rerun" : "" },
    h(
      "td",
      { class: "id", style: `padding-left: ${0.5 + row.depth * 1.4}em` },
      row.depth > 0 ? h("span", { class: "tree", "aria-hidden": "true" }, "↳ ") : null,
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
