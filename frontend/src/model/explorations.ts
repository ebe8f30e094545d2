/**
 * Explorations (`GET /api/explorations`, `GET /api/explorations/{id}`,
 * `bop::explore::Exploration`) and what their pages show, pure: a class
 * exploration as a histogram of trace classes split by verdict, a sweep
 * as one cell per probed message of the baseline, coloured by outcome.
 */

import type { Verdict } from "./api.ts";

/** One row of `GET /api/explorations`. */
export interface ExplorationSummary {
  id: string;
  kind: "classes" | "sweep";
  base: string;
  base_verdict: Verdict;
  started_ms: number;
  ended_ms: number | null;
  complete: boolean;
  runs: number;
  classes: number;
  probes: number;
  flipped: number;
}

/** One trace class of a class exploration (`bop::explore::Class`). */
export interface ExplorationClass {
  class: string;
  count: number;
  /** Verdict name → runs. */
  verdicts: Record<string, number>;
  representative: string;
  runs: string[];
  /** Structure lines this class has and the most common one lacks. */
  only_here: string[];
  /** Structure lines the most common class has and this one lacks. */
  missing_here: string[];
}

/** One message of a sweep (`bop::explore::Probe`). */
export interface Probe {
  message: string;
  channel: string;
  run: string | null;
  verdict: Verdict | null;
  flipped: boolean;
  fired: boolean;
}

export type SweepFault = { fault: "drop" } | { fault: "delay"; ms: number };

/** `GET /api/explorations/{id}`. */
export interface Exploration {
  id: string;
  kind: "classes" | "sweep";
  params: {
    base: string;
    runs: number;
    jitter_ms: number | null;
    seed: number;
    sweep: SweepFault | null;
    channels: string[];
    max_runs: number;
    parallel: number;
  };
  base_verdict: Verdict;
  started_ms: number;
  ended_ms: number | null;
  complete: boolean;
  classes: ExplorationClass[];
  probes: Probe[];
}

/** The exploration answer did not have the expected shape. */
export class ExplorationError extends Error {
  override name = "ExplorationError";
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);
const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : []);

/** Checks an exploration answer and returns it typed (lists default to empty). */
export function parseExploration(x: unknown): Exploration {
  if (!isObject(x)) throw new ExplorationError("the exploration is not a JSON object");
  if (typeof x.id !== "string") throw new ExplorationError("exploration.id is missing");
  if (x.kind !== "classes" && x.kind !== "sweep") throw new ExplorationError(`exploration.kind ${JSON.stringify(x.kind)} is neither classes nor sweep`);
  if (!isObject(x.params) || typeof x.params.base !== "string") throw new ExplorationError("exploration.params.base is missing");
  const classes = (Array.isArray(x.classes) ? x.classes : []).map((c, i) => {
    if (!isObject(c) || typeof c.class !== "string" || typeof c.count !== "number" || typeof c.representative !== "string") {
      throw new ExplorationError(`exploration.classes[${i}] lacks class, count or representative`);
    }
    return {
      class: c.class,
      count: c.count,
      verdicts: isObject(c.verdicts) ? (c.verdicts as Record<string, number>) : {},
      representative: c.representative,
      runs: strings(c.runs),
      only_here: strings(c.only_here),
      missing_here: strings(c.missing_here),
    };
  });
  const probes = (Array.isArray(x.probes) ? x.probes : []).map((p, i) => {
    if (!isObject(p) || typeof p.message !== "string") throw new ExplorationError(`exploration.probes[${i}] has no message`);
    return {
      message: p.message,
      channel: typeof p.channel === "string" ? p.channel : "",
      run: typeof p.run === "string" ? p.run : null,
      verdict: (p.verdict ?? null) as Verdict | null,
      flipped: p.flipped === true,
      fired: p.fired === true,
    };
  });
  return { ...(x as unknown as Exploration), classes, probes };
}

/** Verdicts in the order a bar shows them. */
export const VERDICT_ORDER: readonly Verdict[] = ["pass", "fail", "unknown"];

export interface BarSegment {
  verdict: Verdict;
  count: number;
  /** Share of the whole bar (0..1). */
  fraction: number;
}

/** One bar of the class histogram. */
export interface HistogramBar {
  class: string;
  /** Short form of the class hash. */
  label: string;
  count: number;
  /** Bar length relative to the largest class (0..1]. */
  length: number;
  /** Share of all runs (0..1). */
  share: number;
  segments: BarSegment[];
  representative: string;
  runs: string[];
  /** The most common class: the others are described relative to it. */
  common: boolean;
  onlyHere: string[];
  missingHere: string[];
}

/**
 * The histogram of a class exploration, most common class first (the
 * order the exploration stores). Unknown verdict names count as unknown.
 */
export function histogram(classes: ExplorationClass[]): HistogramBar[] {
  const max = Math.max(1, ...classes.map((c) => c.count));
  const total = Math.max(1, classes.reduce((n, c) => n + c.count, 0));
  return classes.map((c, i) => {
    const counts = new Map<Verdict, number>();
    for (const [v, n] of Object.entries(c.verdicts)) {
      const key: Verdict = v === "pass" || v === "fail" ? v : "unknown";
      counts.set(key, (counts.get(key) ?? 0) + n);
    }
    const inBar = Math.max(1, [...counts.values()].reduce((a, b) => a + b, 0));
    return {
      class: c.class,
      label: c.class.slice(0, 12),
      count: c.count,
      length: c.count / max,
      share: c.count / total,
      segments: VERDICT_ORDER.filter((v) => (counts.get(v) ?? 0) > 0).map((v) => ({
        verdict: v,
        count: counts.get(v) ?? 0,
        fraction: (counts.get(v) ?? 0) / inBar,
      })),
      representative: c.representative,
      runs: c.runs,
      common: i === 0,
      onlyHere: c.only_here,
      missingHere: c.missing_here,
    };
  });
}

/** What faulting one message did. */
export type ProbeOutcome = "flips" | "keeps" | "not-fired" | "not-run";

export const OUTCOME_TEXT: Record<ProbeOutcome, string> = {
  flips: "flips the verdict",
  keeps: "keeps the verdict",
  "not-fired": "did not fire",
  "not-run": "not recorded",
};

export function probeOutcome(p: Probe): ProbeOutcome {
  if (p.run === null) return "not-run";
  if (!p.fired) return "not-fired";
  return p.flipped ? "flips" : "keeps";
}

export interface SweepCell {
  /** Index in `probes`. */
  index: number;
  message: string;
  outcome: ProbeOutcome;
  run: string | null;
  verdict: Verdict | null;
}

export interface SweepRow {
  channel: string;
  cells: SweepCell[];
}

export interface SweepStrip {
  /** One row per channel, in the order channels first appear among the probes (the baseline's message order). */
  rows: SweepRow[];
  counts: Record<ProbeOutcome, number>;
}

/** The heat strip of a sweep: a cell per probe, grouped by channel. */
export function sweepStrip(probes: Probe[]): SweepStrip {
  const rows: SweepRow[] = [];
  const byChannel = new Map<string, SweepRow>();
  const counts: Record<ProbeOutcome, number> = { flips: 0, keeps: 0, "not-fired": 0, "not-run": 0 };
  probes.forEach((p, index) => {
    let row = byChannel.get(p.channel);
    if (row === undefined) {
      row = { channel: p.channel, cells: [] };
      byChannel.set(p.channel, row);
      rows.push(row);
    }
    const outcome = probeOutcome(p);
    counts[outcome]++;
    row.cells.push({ index, message: p.message, outcome, run: p.run, verdict: p.verdict });
  });
  return { rows, counts };
}

/** What a sweep did to each message, in words. */
export function describeSweep(s: SweepFault | null): string {
  if (s === null) return "";
  return s.fault === "drop" ? "drop each message" : `delay each message by ${s.ms} ms`;
}
