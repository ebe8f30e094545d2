/**
 * The search pages and the run page's "Search for bugs" control.
 * `/searches`: every search, newest first. `/searches/{id}`: live progress
 * (a bar from runs_done/budget, polled while the search is queued or
 * running; the reruns as they finish) and each bug with its plan, flip
 * rate, failing run and its comparison with the base run.
 *
 * Test hooks: `body[data-rendered]`; `#searches[data-rows]`;
 * `#search-progress[data-state][data-runs-done]`; `#search-bugs[data-bugs]`
 * with `.bug[data-run]`.
 */

import { type BugView, bugView, countsLine, isLive, progress, type SearchStatus, searchRequest } from "../model/searches.ts";
import { api, pages } from "../model/routes.ts";
import { describe, getJson, postJson } from "./client.ts";
import { $, h, setStatus } from "./dom.ts";

/** How often a live search is polled. */
const POLL_MS = 1000;

/** Wires the run page's form: POST, then open the new search's page. */
export function searchControl(run: string): void {
  const form = document.getElementById("search-form") as HTMLFormElement | null;
  if (form === null) return;
  const error = $("search-error");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = (id: string) => ($(id) as HTMLInputElement).value;
    const req = searchRequest(run, {
      budget: value("search-budget"),
      kinds: [...form.querySelectorAll<HTMLInputElement>('input[name="kind"]:checked')].map((i) => i.value),
      maxFaults: value("search-max-faults"),
      confirm: value("search-confirm"),
      baselines: value("search-baselines"),
    });
    const show = (text: string) => {
      error.textContent = text;
      error.hidden = text === "";
    };
    if (typeof req === "string") return show(req);
    show("");
    const button = $("search-start") as HTMLButtonElement;
    button.disabled = true;
    postJson<{ id: string }>(api.searches(), req)
      .then(({ id }) => window.location.assign(pages.search(id)))
      .catch((e: unknown) => {
        show(`Cannot start the search: ${describe(e)}`);
        button.disabled = false;
      });
  });
}

const stateBadge = (s: SearchStatus["state"]) => h("span", { class: `badge search-${s}` }, s);

export async function searchListPage(): Promise<void> {
  const table = $("searches") as HTMLTableElement;
  try {
    const { searches } = await getJson<{ searches: SearchStatus[] }>(api.searches());
    table.tBodies[0].replaceChildren(
      ...searches.map((s) =>
        h(
          "tr",
          { "data-search": s.id },
          h("td", { class: "id" }, h("a", { href: pages.search(s.id) }, s.id)),
          h("td", { class: "id" }, h("a", { href: pages.run(s.base) }, s.base)),
          h("td", {}, new Date(s.started_ms).toLocaleString()),
          h("td", {}, stateBadge(s.state)),
          h("td", { class: "num" }, `${s.runs_done} / ${s.budget}`),
          h("td", { class: "num" }, String(s.bugs.length)),
        ),
      ),
    );
    table.dataset.rows = String(searches.length);
    table.hidden = searches.length === 0;
    setStatus("ok", searches.length === 0 ? "No searches yet. Start one from a run's page (Search for bugs), or with: bop search RUN" : "");
    document.body.dataset.rendered = "true";
  } catch (e) {
    setStatus("error", `Cannot load the searches: ${describe(e)}`);
    document.body.dataset.rendered = "error";
  }
}

function bugCard(v: BugView, k: number): HTMLElement {
  return h(
    "article",
    { class: "bug", "data-run": v.run },
    h("h2", {}, `Bug ${k + 1}: `, h("code", {}, v.check || "(the check printed nothing)")),
    h("p", {}, h("strong", {}, v.faults === 1 ? "Plan: " : `Plan (${v.faults} faults): `), h("code", { class: "plan" }, v.plan)),
    h("p", { class: "meta" }, `${v.flipRate} · ${v.foundAfter}`),
    v.rerunFrom === null
      ? null
      : h("p", { class: "meta bug-parent" }, "Rerun from ", h("a", { href: pages.run(v.rerunFrom) }, v.rerunFrom), ": a fault of the plan names a message only that rerun had (a retry, a fail-over)"),
    h(
      "p",
      {},
      "Failing run ",
      h("a", { href: pages.run(v.run), class: "bug-run" }, v.run),
      " · ",
      h("a", { href: pages.compare(v.compareWith, v.run), class: "bug-compare" }, `compare with the base run ${v.compareWith}`),
    ),
    v.others.length > 0 ? h("details", {}, h("summary", {}, `${v.others.length} other way${v.others.length === 1 ? "" : "s"} in`), h("ul", {}, ...v.others.map((o) => h("li", {}, h("code", {}, o))))) : null,
  );
}

function draw(s: SearchStatus): void {
  $("search-meta").replaceChildren(
    "of ",
    h("a", { href: pages.run(s.base) }, s.base),
    ` · ${s.faults.join(", ")} · up to ${s.max_faults} faults at once · `,
    stateBadge(s.state),
  );
  const box = $("search-progress");
  box.hidden = false;
  box.dataset.state = s.state;
  box.dataset.runsDone = String(s.runs_done);
  const fill = progress(s);
  $("search-bar").style.width = `${(fill * 100).toFixed(1)}%`;
  const bar = box.querySelector(".progress");
  bar?.setAttribute("aria-valuemax", String(s.budget));
  bar?.setAttribute("aria-valuenow", String(Math.min(s.runs_done, s.budget)));
  $("search-counts").textContent = countsLine(s);
  const bugs = $("search-bugs");
  bugs.dataset.bugs = String(s.bugs.length);
  bugs.replaceChildren(...s.bugs.map((b, k) => bugCard(bugView(s, b), k)));
  $("search-log").textContent = s.log.join("\n");
  const stop = $("search-stop") as HTMLButtonElement;
  stop.hidden = !isLive(s.state);
  const why = s.detail ?? s.ended;
  if (isLive(s.state)) setStatus("loading", s.state === "queued" ? "Waiting for a free slot…" : "Searching…");
  else if (s.state === "done") setStatus("ok", `Done: ${s.ended ?? ""}${s.bugs.length === 0 ? " · no bug found" : ""}`);
  else setStatus("error", `Search ${s.state}${why ? `: ${why}` : ""}`);
}

export async function searchPage(): Promise<void> {
  const id = document.body.dataset.searchId ?? "";
  const stop = $("search-stop") as HTMLButtonElement;
  stop.addEventListener("click", () => {
    stop.disabled = true;
    postJson(api.stopSearch(id), {}).catch((e: unknown) => setStatus("error", `Cannot stop the search: ${describe(e)}`));
  });
  for (;;) {
    let s: SearchStatus;
    try {
      s = await getJson<SearchStatus>(api.search(id));
    } catch (e) {
      setStatus("error", `Cannot show search ${id}: ${describe(e)}`);
      $("status").append(" ", h("a", { href: pages.searches() }, "Back to the searches"));
      document.body.dataset.rendered = "error";
      return;
    }
    draw(s);
    document.body.dataset.rendered = "true";
    if (!isLive(s.state)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
