/**
 * The comparison of two big runs as the server serves it
 * (`GET /api/compare/summary` and `GET /api/compare/marks`, docs/API.md):
 * the summary without the per-event lists, and one mark per difference
 * placed on each side (thread, and x in both window scales), so the page
 * draws differences it holds no events for. Pure: parsing, and the marks
 * in a view.
 */

import type { CompareRun, Divergence, OnlyIn } from "./compare.ts";
import { ComparisonError, type Side, type SideMarks } from "./compare.ts";
import type { WindowScale } from "./window.ts";

/** Where an event of one side is drawn. */
export interface Place {
  name: string;
  thread: string;
  time: number;
  logical: number;
}

export type MarkKind = "message-changed" | "message-only-a" | "message-only-b" | "event-changed" | "event-moved" | "event-only-a" | "event-only-b";

export interface Mark {
  kind: MarkKind;
  a: Place | null;
  b: Place | null;
  /** The message's logical name, for message marks. */
  message: string | null;
  text: string;
  what: string[];
}

export interface PlacedDivergence extends Divergence {
  at_a: Place | null;
  at_b: Place | null;
}

/** `GET /api/compare/summary`. */
export interface CompareSummary {
  a: CompareRun;
  b: CompareRun;
  same_class: boolean;
  first_divergence: PlacedDivergence | null;
  other_divergences: PlacedDivergence[];
  processes: OnlyIn;
  threads: OnlyIn;
  channels: OnlyIn;
  differences: { marks: number; messages: number; events: number };
  summary: string;
}

/** `GET /api/compare/marks`. */
export interface MarksPage {
  total: number;
  offset: number;
  marks: Mark[];
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);
const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const str = (x: unknown): string | null => (typeof x === "string" ? x : null);
const num = (x: unknown): number => (typeof x === "number" && Number.isFinite(x) ? x : 0);
const onlyIn = (x: unknown): OnlyIn => (isObject(x) ? { only_a: list(x.only_a) as string[], only_b: list(x.only_b) as string[] } : { only_a: [], only_b: [] });

function place(x: unknown): Place | null {
  if (!isObject(x) || typeof x.name !== "string" || typeof x.thread !== "string") return null;
  return { name: x.name, thread: x.thread, time: num(x.time), logical: num(x.logical) };
}

function divergence(x: unknown, where: string): PlacedDivergence {
  if (!isObject(x) || typeof x.reason !== "string") throw new ComparisonError(`${where} has no reason`);
  const kind = x.kind === "only_a" || x.kind === "only_b" ? x.kind : "changed";
  return { thread: String(x.thread ?? ""), a: str(x.a), b: str(x.b), kind, after: str(x.after), reason: x.reason, at_a: place(x.at_a), at_b: place(x.at_b) };
}

/** Checks a summary answer and returns it typed (absent lists become empty). */
export function parseSummary(x: unknown): CompareSummary {
  if (!isObject(x)) throw new ComparisonError("the comparison summary is not a JSON object");
  if (x.schema !== undefined && x.schema !== 1) throw new ComparisonError(`comparison schema ${JSON.stringify(x.schema)} is not supported by this page (expected 1)`);
  for (const side of ["a", "b"] as const) {
    const r = x[side];
    if (!isObject(r) || typeof r.id !== "string") throw new ComparisonError(`summary.${side}.id is missing`);
    r.faults = list(r.faults);
  }
  const d = isObject(x.differences) ? x.differences : {};
  return {
    a: x.a as unknown as CompareRun,
    b: x.b as unknown as CompareRun,
    same_class: x.same_class === true,
    first_divergence: x.first_divergence == null ? null : divergence(x.first_divergence, "summary.first_divergence"),
    other_divergences: list(x.other_divergences).map((v, i) => divergence(v, `summary.other_divergences[${i}]`)),
    processes: onlyIn(x.processes),
    threads: onlyIn(x.threads),
    channels: onlyIn(x.channels),
    differences: { marks: num(d.marks), messages: num(d.messages), events: num(d.events) },
    summary: str(x.summary) ?? "",
  };
}

const KINDS = new Set<string>(["message-changed", "message-only-a", "message-only-b", "event-changed", "event-moved", "event-only-a", "event-only-b"]);

/** Checks a marks page; marks of unknown kinds (a newer server) are left out. */
export function parseMarks(x: unknown): MarksPage {
  if (!isObject(x) || !Array.isArray(x.marks)) throw new ComparisonError("the marks answer has no marks list");
  const marks: Mark[] = [];
  for (const m of x.marks) {
    if (!isObject(m) || typeof m.kind !== "string" || !KINDS.has(m.kind)) continue;
    marks.push({ kind: m.kind as MarkKind, a: place(m.a), b: place(m.b), message: str(m.message), text: str(m.text) ?? "", what: list(m.what).filter((w) => typeof w === "string") as string[] });
  }
  return { total: num(x.total), offset: num(x.offset), marks };
}

/** The x of a place in a scale. */
export function placeX(p: Place, scale: WindowScale): number {
  return scale === "time" ? p.time : p.logical;
}

/**
 * The names to highlight in a detailed window of one side (model/compare.ts
 * `diffFlags` takes them): the marks' events and messages there, and the
 * first divergence's event.
 */
export function sideMarks(marks: Mark[], side: Side, first: PlacedDivergence | null): SideMarks {
  const out: SideMarks = { events: new Set(), messages: new Set(), divergence: first === null ? null : side === "a" ? first.a : first.b };
  for (const m of marks) {
    const p = side === "a" ? m.a : m.b;
    if (p === null) continue;
    // A message is marked at its send too: its name may differ in B (a shifted ordinal), its send's place does not.
    if (m.message !== null && m.kind.startsWith("message")) out.messages.add(m.message);
    out.events.add(p.name);
  }
  if (out.divergence !== null) out.events.add(out.divergence);
  return out;
}

/** The marks of one side whose place is in [x0, x1] of a scale. */
export function marksIn(marks: Mark[], side: Side, scale: WindowScale, x0: number, x1: number): Place[] {
  const out: Place[] = [];
  for (const m of marks) {
    const p = side === "a" ? m.a : m.b;
    if (p === null) continue;
    const x = placeX(p, scale);
    if (x >= x0 && x <= x1) out.push(p);
  }
  return out;
}
