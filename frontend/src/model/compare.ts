/**
 * Run comparison (`GET /api/compare?a=&b=`, `bop::diff::Comparison`,
 * docs/COMPARE.md schema 1) and what the comparison page derives from it,
 * pure: the names to highlight on each side, the first divergence, and
 * the list of differences the page shows and counts.
 */

import type { Graph, Verdict } from "./api.ts";

export interface CompareFault {
  fault: string;
  fired: boolean;
  at: string | null;
  effect: string;
  count: number;
}

export interface CompareRun {
  id: string;
  parent: string | null;
  command: string;
  verdict: Verdict;
  exit_status: number | null;
  trace_class: string;
  events: number;
  faults: CompareFault[];
}

export type DivergenceKind = "changed" | "only_a" | "only_b";

export interface Divergence {
  thread: string;
  a: string | null;
  b: string | null;
  kind: DivergenceKind;
  after: string | null;
  reason: string;
}

export interface OnlyIn {
  only_a: string[];
  only_b: string[];
}

export interface EventInfo {
  name: string;
  channel: string | null;
  outcome: string;
  messages: string[];
  payload: string | null;
  injected: string | null;
}

export interface EventChange {
  a: EventInfo;
  b: EventInfo;
  what: string[];
}

export interface ThreadDiff {
  thread: string;
  removed: EventInfo[];
  inserted: EventInfo[];
  moved: EventChange[];
  changed: EventChange[];
}

export interface MessageInfo {
  name: string;
  bytes: number;
  send: string;
  recvs: string[];
  lost: boolean;
  dropped: boolean;
  payload: string | null;
}

export interface MessageChange {
  a: MessageInfo;
  b: MessageInfo;
  what: string[];
}

/** `GET /api/compare?a=&b=`. */
export interface Comparison {
  schema: number;
  a: CompareRun;
  b: CompareRun;
  same_class: boolean;
  first_divergence: Divergence | null;
  other_divergences: Divergence[];
  processes: OnlyIn;
  threads: OnlyIn;
  channels: OnlyIn;
  events: ThreadDiff[];
  messages: { only_a: MessageInfo[]; only_b: MessageInfo[]; changed: MessageChange[] };
  summary: string;
}

/** The comparison answer did not have the expected shape. */
export class ComparisonError extends Error {
  override name = "ComparisonError";
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);
const list = <T>(x: unknown): T[] => (Array.isArray(x) ? (x as T[]) : []);
const onlyIn = (x: unknown): OnlyIn => (isObject(x) ? { only_a: list(x.only_a), only_b: list(x.only_b) } : { only_a: [], only_b: [] });

function divergence(x: unknown, where: string): Divergence {
  if (!isObject(x) || typeof x.reason !== "string") throw new ComparisonError(`${where} has no reason`);
  const kind = x.kind === "only_a" || x.kind === "only_b" ? x.kind : "changed";
  const name = (v: unknown) => (typeof v === "string" ? v : null);
  return { thread: String(x.thread ?? ""), a: name(x.a), b: name(x.b), kind, after: name(x.after), reason: x.reason };
}

/**
 * Checks a comparison answer against docs/COMPARE.md (schema 1) and
 * returns it typed; absent lists become empty, so a newer server that
 * adds fields still works and one that drops a list shows fewer
 * differences rather than none at all.
 */
export function parseComparison(x: unknown): Comparison {
  if (!isObject(x)) throw new ComparisonError("the comparison is not a JSON object");
  if (x.schema !== undefined && x.schema !== 1) {
    throw new ComparisonError(`comparison schema ${JSON.stringify(x.schema)} is not supported by this page (expected 1); reload after upgrading`);
  }
  for (const side of ["a", "b"] as const) {
    const r = x[side];
    if (!isObject(r) || typeof r.id !== "string") throw new ComparisonError(`comparison.${side}.id is missing`);
    r.faults = list(r.faults);
  }
  const messages = isObject(x.messages) ? x.messages : {};
  const events = list<Json>(x.events).map((t, i) => {
    if (!isObject(t) || typeof t.thread !== "string") throw new ComparisonError(`comparison.events[${i}] has no thread`);
    return { thread: t.thread, removed: list(t.removed), inserted: list(t.inserted), moved: list(t.moved), changed: list(t.changed) } as ThreadDiff;
  });
  return {
    schema: 1,
    a: x.a as unknown as CompareRun,
    b: x.b as unknown as CompareRun,
    same_class: x.same_class === true,
    first_divergence: x.first_divergence == null ? null : divergence(x.first_divergence, "comparison.first_divergence"),
    other_divergences: list(x.other_divergences).map((d, i) => divergence(d, `comparison.other_divergences[${i}]`)),
    processes: onlyIn(x.processes),
    threads: onlyIn(x.threads),
    channels: onlyIn(x.channels),
    events,
    messages: { only_a: list(messages.only_a), only_b: list(messages.only_b), changed: list(messages.changed) },
    summary: typeof x.summary === "string" ? x.summary : "",
  };
}

export type Side = "a" | "b";

export type DifferenceKind =
  | "event-changed"
  | "event-moved"
  | "event-only-a"
  | "event-only-b"
  | "message-changed"
  | "message-only-a"
  | "message-only-b";

/** One entry of the differences list: what differs, named on each side where it exists. */
export interface Difference {
  kind: DifferenceKind;
  /** Event or message name in A (null when only in B). */
  a: string | null;
  b: string | null;
  /** Thread, for events; channel-less for messages. */
  thread: string | null;
  /** One line for the list. */
  text: string;
  /** What differs, one phrase each. */
  what: string[];
}

/**
 * Every difference the page lists, highlights and counts
 * (`data-differences`): messages first (changed, only in A, only in B),
 * then events thread by thread (changed, moved, only in A, only in B).
 */
export function differences(c: Comparison): Difference[] {
  const out: Difference[] = [];
  for (const m of c.messages.changed) {
    const name = m.a.name === m.b.name ? m.a.name : `${m.a.name} → ${m.b.name}`;
    out.push({ kind: "message-changed", a: m.a.name, b: m.b.name, thread: null, text: `message ${name}`, what: m.what });
  }
  for (const m of c.messages.only_a) out.push({ kind: "message-only-a", a: m.name, b: null, thread: null, text: `message ${m.name} only in A`, what: [`${m.bytes} bytes sent by ${m.send}`] });
  for (const m of c.messages.only_b) out.push({ kind: "message-only-b", a: null, b: m.name, thread: null, text: `message ${m.name} only in B`, what: [`${m.bytes} bytes sent by ${m.send}`] });
  for (const t of c.events) {
    for (const e of t.changed) out.push({ kind: "event-changed", a: e.a.name, b: e.b.name, thread: t.thread, text: pairName(e), what: e.what });
    for (const e of t.moved) out.push({ kind: "event-moved", a: e.a.name, b: e.b.name, thread: t.thread, text: `${pairName(e)} moved`, what: e.what });
    for (const e of t.removed) out.push({ kind: "event-only-a", a: e.name, b: null, thread: t.thread, text: `${e.name} only in A`, what: [e.outcome] });
    for (const e of t.inserted) out.push({ kind: "event-only-b", a: null, b: e.name, thread: t.thread, text: `${e.name} only in B`, what: [e.outcome] });
  }
  return out;
}

function pairName(e: EventChange): string {
  return e.a.name === e.b.name ? e.a.name : `${e.a.name} / ${e.b.name}`;
}

/** Names to highlight on one side. */
export interface SideMarks {
  events: Set<string>;
  messages: Set<string>;
  /** The first divergence's event on this side, if it exists here. */
  divergence: string | null;
}

/** What to highlight in A and in B: every difference, and the first divergence. */
export function marks(c: Comparison): { a: SideMarks; b: SideMarks } {
  const a: SideMarks = { events: new Set(), messages: new Set(), divergence: c.first_divergence?.a ?? null };
  const b: SideMarks = { events: new Set(), messages: new Set(), divergence: c.first_divergence?.b ?? null };
  for (const d of differences(c)) {
    const message = d.kind.startsWith("message");
    if (d.a !== null) (message ? a.messages : a.events).add(d.a);
    if (d.b !== null) (message ? b.messages : b.events).add(d.b);
  }
  for (const d of [c.first_divergence, ...c.other_divergences]) {
    if (d === null) continue;
    if (d.a !== null) a.events.add(d.a);
    if (d.b !== null) b.events.add(d.b);
  }
  return { a, b };
}

/** Per-event and per-message flags of one graph, for drawing. */
export const SAME = 0;
export const DIFFERS = 1;
export const DIVERGES = 2;

export interface DiffFlags {
  /** SAME, DIFFERS or DIVERGES per event id. */
  events: Uint8Array;
  /** SAME or DIFFERS per message index. */
  messages: Uint8Array;
  /** Event id of the first divergence in this graph, or -1. */
  divergence: number;
}

/**
 * Flags a graph's events and messages from one side's marks. The events
 * that send or receive a differing message are flagged too, so a changed
 * message is visible at both of its ends.
 */
export function diffFlags(g: Graph, m: SideMarks): DiffFlags {
  const events = new Uint8Array(g.events.length);
  const messages = new Uint8Array(g.messages.length);
  let divergence = -1;
  g.events.forEach((e, i) => {
    if (m.events.has(e.name)) events[i] = DIFFERS;
    if (e.name === m.divergence) {
      events[i] = DIVERGES;
      divergence = i;
    }
  });
  g.messages.forEach((msg, i) => {
    if (!m.messages.has(msg.id)) return;
    messages[i] = DIFFERS;
    for (const e of [msg.send, ...msg.recvs]) if (events[e] === SAME) events[e] = DIFFERS;
  });
  return { events, messages, divergence };
}
