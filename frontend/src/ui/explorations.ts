/**
 * The exploration pages. `/explorations`: every stored exploration, newest
 * first. `/explorations/{id}`: a class exploration as a histogram of
 * trace classes (bars split by verdict; click one to open its
 * representative run; tick two and compare them side by side; what
 * distinguishes each class from the most common one under its bar), or a
 * sweep as a heat strip over the baseline's messages (flips the verdict,
 * keeps it, did not fire; click a cell to open its rerun) and a table.
 *
 * Test hooks: `body[data-rendered]`; `#explorations[data-rows]`;
 * `#histogram[data-classes]` with `.class-row[data-class][data-representative]`;
 * `#sweep[data-probes]` with `.probe-cell[data-message][data-outcome][data-run]`.
 */

import type { Verdict } from "../model/api.ts";
import {
  describeSweep,
  type Exploration,
  type ExplorationSummary,
  type HistogramBar,
  histogram,
  OUTCOME_TEXT,
  type ProbeOutcome,
  parseExploration,
  sweepStrip,
} from "../model/explorations.ts";
import { formatMs } from "../model/format.ts";
import { api, pages } from "../model/routes.ts";
import { describe, getJson } from "./client.ts";
import { $, h, setStatus } from "./dom.ts";

const badge = (v: Verdict | null) => h("span", { class: `badge verdict-${v ?? "unknown"}` }, v ?? "—");

export async function explorationListPage(): Promise<void> {
  const table = $("explorations") as HTMLTableElement;
  try {
    const { explorations } = await getJson<{ explorations: ExplorationSummary[] }>(api.explorations());
    table.tBodies[0].replaceChildren(
      ...explorations.map((e) =>
        h(
          "tr",
          { "data-exploration": e.id },
          h("td", { class: "id" }, h("a", { href: pages.exploration(e.id) }, e.id)),
          h("td", {}, e.kind === "sweep" ? "sweep" : "trace classes"),
          h("td", { class: "id" }, h("a", { href: pages.run(e.base) }, e.base), " ", badge(e.base_verdict)),
          h("td", {}, new Date(e.started_ms).toLocaleString()),
          h("td", { class: "num" }, String(e.runs)),
          h("td", {}, e.kind === "sweep" ? `${e.flipped} of ${e.probes} flip the verdict` : `${e.classes} trace class${e.classes === 1 ? "" : "es"}`),
          h("td", {}, e.complete ? "yes" : e.ended_ms === null ? "running" : "no"),
        ),
      ),
    );
    table.dataset.rows = String(explorations.length);
    table.hidden = explorations.length === 0;
    setStatus("ok", explorations.length === 0 ? "No explorations yet. Start one with: bop explore RUN --runs 20 --jitter 30, or bop explore RUN --sweep drop" : "");
    document.body.dataset.rendered = "true";
  } catch (e) {
    setStatus("error", `Cannot load the explorations: ${describe(e)}`);
    document.body.dataset.rendered = "error";
  }
}

export async function explorationPage(): Promise<void> {
  const id = document.body.dataset.explorationId ?? "";
  let x: Exploration;
  try {
    x = parseExploration(await getJson<unknown>(api.exploration(id)));
  } catch (e) {
    setStatus("error", `Cannot show exploration ${id}: ${describe(e)}`);
    $("status").append(" ", h("a", { href: pages.explorations() }, "Back to the explorations"));
    document.body.dataset.rendered = "error";
    return;
  }
  const duration = x.ended_ms === null ? "still running" : formatMs(x.ended_ms - x.started_ms);
  $("exploration-meta").replaceChildren(
    h(
      "span",
      {},
      x.kind === "sweep" ? `single-fault sweep (${describeSweep(x.params.sweep)})` : `${x.params.runs} reruns${x.params.jitter_ms !== null ? ` with up to ${x.params.jitter_ms} ms jitter per send` : ""}`,
      " of ",
      h("a", { href: pages.run(x.params.base) }, x.params.base),
      " ",
      badge(x.base_verdict),
      ` · ${duration}`,
      x.complete ? "" : " · incomplete",
    ),
  );
  const section = $("exploration");
  section.replaceChildren(x.kind === "sweep" ? sweepView(x) : classesView(x));
  setStatus("ok", "");
  document.body.dataset.rendered = "true";
}

const VERDICT_TITLE: Record<Verdict, string> = { pass: "pass", fail: "fail", unknown: "unknown" };

function classesView(x: Exploration): HTMLElement {
  const bars = histogram(x.classes);
  const total = bars.reduce((n, b) => n + b.count, 0);
  const picked: string[] = [];
  const compareButton = h("button", { type: "button", class: "primary", id: "compare-classes", disabled: true }, "Compare the two ticked classes") as HTMLButtonElement;
  const hint = h("span", { class: "meta" }, "tick two classes to open their representative runs side by side");
  const boxes: HTMLInputElement[] = [];
  const update = () => {
    compareButton.disabled = picked.length !== 2;
    for (const b of boxes) b.disabled = picked.length >= 2 && !b.checked;
  };
  compareButton.addEventListener("click", () => {
    if (picked.length === 2) window.location.href = pages.compare(picked[0], picked[1]);
  });
  const rows = bars.map((bar) => {
    const box = h("input", { type: "checkbox", "aria-label": `pick class ${bar.label} for comparison`, value: bar.representative }) as HTMLInputElement;
    boxes.push(box);
    box.addEventListener("change", () => {
      const i = picked.indexOf(bar.representative);
      if (box.checked && i < 0) picked.push(bar.representative);
      if (!box.checked && i >= 0) picked.splice(i, 1);
      update();
    });
    return classRow(bar, box, x.classes.length > 1);
  });
  const legend = h(
    "p",
    { class: "legend" },
    ...(["pass", "fail", "unknown"] as Verdict[]).map((v) => h("span", { class: `swatch verdict-bg-${v}` }, VERDICT_TITLE[v])),
    " · bar length: runs in the class · click a bar to open its representative run",
  );
  const list = h("div", { id: "histogram", class: "histogram", "data-classes": bars.length, role: "list" }, ...rows);
  return h(
    "div",
    {},
    h("h2", {}, `${total} runs in ${bars.length} trace class${bars.length === 1 ? "" : "es"}`),
    legend,
    list,
    h("div", { class: "buttons compare-classes" }, compareButton, " ", hint),
  );
}

function classRow(bar: HistogramBar, box: HTMLInputElement, several: boolean): HTMLElement {
  const segments = bar.segments.map((s) =>
    h("span", { class: `segment verdict-bg-${s.verdict}`, style: `width: ${(s.fraction * 100).toFixed(2)}%`, title: `${s.count} ${s.verdict}` }),
  );
  const open = h(
    "a",
    { class: "bar", href: pages.run(bar.representative), title: `Open ${bar.representative}, the first run of class ${bar.class}` },
    h("span", { class: "bar-fill", style: `width: ${(bar.length * 100).toFixed(2)}%` }, ...segments),
  );
  const verdicts = bar.segments.map((s) => `${s.count} ${s.verdict}`).join(", ");
  let lines: HTMLElement | null = null;
  if (!bar.common && (bar.onlyHere.length > 0 || bar.missingHere.length > 0)) {
    lines = h(
      "ul",
      { class: "distinguish", "aria-label": "what distinguishes this class from the most common one" },
      ...bar.onlyHere.map((l) => h("li", { class: "only-here" }, h("span", { class: "sign" }, "+"), " ", h("code", {}, l))),
      ...bar.missingHere.map((l) => h("li", { class: "missing-here" }, h("span", { class: "sign" }, "−"), " ", h("code", {}, l))),
    );
  } else if (bar.common && several) {
    lines = h("p", { class: "meta distinguish" }, "the most common class: the others are described relative to it");
  } else if (!bar.common) {
    lines = h("p", { class: "meta distinguish" }, "same structure lines as the most common class (differs in order or sizes)");
  }
  return h(
    "div",
    { class: "class-row", role: "listitem", "data-class": bar.class, "data-representative": bar.representative, "data-count": bar.count },
    h(
      "div",
      { class: "class-head" },
      box,
      h("code", { class: "class-hash", title: bar.class }, bar.label),
      h("span", { class: "class-count" }, `${bar.count} run${bar.count === 1 ? "" : "s"} · ${(bar.share * 100).toFixed(0)}%`),
      open,
      h("span", { class: "meta" }, verdicts, " · e.g. ", h("a", { href: pages.run(bar.representative), class: "representative" }, bar.representative)),
    ),
    lines,
  );
}

const OUTCOME_ORDER: ProbeOutcome[] = ["flips", "keeps", "not-fired", "not-run"];

function sweepView(x: Exploration): HTMLElement {
  const strip = sweepStrip(x.probes);
  const cell = (c: (typeof strip.rows)[number]["cells"][number]) => {
    const title = `${c.message}: ${OUTCOME_TEXT[c.outcome]}${c.verdict ? ` (verdict ${c.verdict})` : ""}${c.run ? ` · open ${c.run}` : ""}`;
    const attrs = { class: `probe-cell outcome-${c.outcome}`, title, "data-message": c.message, "data-outcome": c.outcome, "data-run": c.run ?? "" };
    return c.run !== null ? h("a", { ...attrs, href: pages.run(c.run) }, shortMessage(c.message)) : h("span", attrs, shortMessage(c.message));
  };
  const heat = h(
    "div",
    { id: "sweep", class: "sweep", "data-probes": x.probes.length, role: "table", "aria-label": "one cell per message of the baseline" },
    ...strip.rows.map((row) =>
      h("div", { class: "sweep-row", role: "row", "data-channel": row.channel }, h("code", { class: "sweep-channel", role: "rowheader" }, row.channel), h("div", { class: "sweep-cells" }, ...row.cells.map(cell))),
    ),
  );
  const legend = h(
    "p",
    { class: "legend" },
    ...OUTCOME_ORDER.map((o) => h("span", { class: `swatch outcome-${o}` }, `${OUTCOME_TEXT[o]} (${strip.counts[o]})`)),
    " · click a cell to open its rerun",
  );
  const table = h(
    "table",
    { class: "runs probes" },
    h("thead", {}, h("tr", {}, h("th", {}, "Message"), h("th", {}, "Channel"), h("th", {}, "Outcome"), h("th", {}, "Verdict"), h("th", {}, "Rerun"), h("th", {}, ""))),
    h(
      "tbody",
      {},
      ...x.probes.map((p) => {
        const o = strip.rows.flatMap((r) => r.cells).find((c) => c.message === p.message)?.outcome ?? "not-run";
        return h(
          "tr",
          { "data-message": p.message },
          h("td", {}, h("code", {}, p.message)),
          h("td", {}, h("code", {}, p.channel)),
          h("td", {}, h("span", { class: `swatch outcome-${o}` }, OUTCOME_TEXT[o])),
          h("td", {}, badge(p.verdict)),
          h("td", { class: "id" }, p.run ? h("a", { href: pages.run(p.run) }, p.run) : "—"),
          h("td", {}, p.run ? h("a", { href: pages.compare(x.params.base, p.run) }, "compare with baseline") : null),
        );
      }),
    ),
  );
  return h(
    "div",
    {},
    h("h2", {}, `${x.probes.length} single-fault reruns; ${strip.counts.flips} flip the baseline's verdict (${x.base_verdict})`),
    legend,
    heat,
    table,
  );
}

/** `client->primary#0/r1` → `r1` inside its channel's row. */
function shortMessage(m: string): string {
  const i = m.lastIndexOf("/");
  return i >= 0 ? m.slice(i + 1) : m;
}
