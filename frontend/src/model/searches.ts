/**
 * Searches as the workbench shows them; pure. `GET /api/searches/{id}`
 * (docs/API.md "Searches") is the stored record of `bop search` plus the
 * server's view of its process; this module turns it into what the page
 * draws: the progress bar, one line of counts, and per bug its plan, flip
 * rate, failing run and the comparison to read it.
 */

import type { FaultPlan } from "./api.ts";
import { describePlan } from "./plan.ts";

export type SearchState = "queued" | "running" | "done" | "failed" | "stopped";
export type FaultKind = "drop" | "delay" | "crash" | "partition" | "error";
export const FAULT_KINDS: readonly FaultKind[] = ["drop", "delay", "crash", "partition", "error"];

/** One bug, as `bop search --json` prints it. */
export interface SearchBug {
  plan: FaultPlan;
  runs_to_find: number;
  confirmed: { failed: number; of: number };
  check: string;
  run: string;
  /** The run the plan is rerun from, when not the base (a fault names a message only that rerun had). */
  parent?: string;
  also?: FaultPlan[];
}

export interface SearchStatus {
  id: string;
  base: string;
  state: SearchState;
  runs_done: number;
  budget: number;
  bugs: SearchBug[];
  faults: FaultKind[];
  max_faults: number;
  baselines: string[];
  candidates: number;
  supports: number;
  started_ms: number;
  ended_ms: number | null;
  ended: string | null;
  detail: string | null;
  log: string[];
}

/** The body of `POST /api/searches`. */
export interface SearchRequest {
  run: string;
  budget: number;
  faults: FaultKind[];
  max_faults: number;
  confirm: number;
  baselines: number;
}

/** True while the search may still change (the page keeps polling). */
export const isLive = (s: SearchState): boolean => s === "queued" || s === "running";

/**
 * The bar's fill, 0 to 1. Confirmation and minimisation may take a search
 * a little past its budget, so the fill is capped; an ended search is full.
 */
export function progress(s: Pick<SearchStatus, "state" | "runs_done" | "budget">): number {
  if (!isLive(s.state)) return 1;
  if (s.budget <= 0) return 0;
  return Math.min(1, Math.max(0, s.runs_done / s.budget));
}

/** One line of counts under the bar. */
export function countsLine(s: SearchStatus): string {
  const bugs = s.bugs.length === 1 ? "1 bug" : `${s.bugs.length} bugs`;
  const parts = [`${s.runs_done} of ${s.budget} reruns`, bugs, `${s.candidates} candidate faults`, `${s.supports} supports`];
  return parts.join(" · ");
}

/** "2 of 3 reruns failed (67%)". */
export function flipRate(b: SearchBug): string {
  const { failed, of } = b.confirmed;
  const pct = of === 0 ? 0 : Math.round((100 * failed) / of);
  return `${failed} of ${of} reruns failed (${pct}%)`;
}

/** What the page shows of one bug. */
export interface BugView {
  plan: string;
  faults: number;
  flipRate: string;
  check: string;
  foundAfter: string;
  run: string;
  /** The run to compare the failing one with: the first baseline, else the base. */
  compareWith: string;
  /** The run the plan reruns from, when it is not the base. */
  rerunFrom: string | null;
  others: string[];
}

export function bugView(s: Pick<SearchStatus, "base" | "baselines">, b: SearchBug): BugView {
  return {
    plan: describePlan(b.plan),
    faults: b.plan.faults.length,
    flipRate: flipRate(b),
    check: b.check,
    foundAfter: `found after ${b.runs_to_find} rerun${b.runs_to_find === 1 ? "" : "s"}`,
    run: b.run,
    compareWith: s.base,
    rerunFrom: b.parent ?? null,
    others: (b.also ?? []).map(describePlan),
  };
}

/** The search form's fields as the page reads them (text, unchecked). */
export interface SearchForm {
  budget: string;
  kinds: string[];
  maxFaults: string;
  confirm: string;
  baselines: string;
}

/** A whole number within lo..hi, or null. */
function whole(text: string, lo: number, hi: number): number | null {
  const n = Number(text);
  return text.trim() !== "" && Number.isInteger(n) && n >= lo && n <= hi ? n : null;
}

/**
 * Reads the search form's values into a request, or says what is wrong
 * (the server checks again with the same bounds, docs/API.md; this only
 * spares a round trip).
 */
export function searchRequest(run: string, f: SearchForm): SearchRequest | string {
  const budget = whole(f.budget, 1, 1000);
  if (budget === null) return "the budget must be a whole number of reruns, 1 to 1000";
  const maxFaults = whole(f.maxFaults, 1, 5);
  if (maxFaults === null) return "at most 1 to 5 faults at once";
  const confirm = whole(f.confirm, 1, 20);
  if (confirm === null) return "a failure is confirmed by 1 to 20 reruns";
  const baselines = whole(f.baselines, 1, 50);
  if (baselines === null) return "1 to 50 plain reruns first";
  const faults = FAULT_KINDS.filter((k) => f.kinds.includes(k));
  if (faults.length === 0) return "pick at least one fault kind";
  return { run, budget, faults, max_faults: maxFaults, confirm, baselines };
}
