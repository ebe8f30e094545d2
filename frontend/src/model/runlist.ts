/**
 * The run list as a forest, pure: reruns under their parent, and the runs of
 * one exploration or search folded into one group node (under the run they
 * all rerun), then filtered, flattened by what is expanded, and paged.
 */

import type { RunGroupRef, RunSummary, Verdict } from "./api.ts";

/** A run and what hangs under it. */
export interface RunNode {
  kind: "run";
  run: RunSummary;
  children: ListNode[];
}

/** The runs one exploration or search recorded. */
export interface GroupNode {
  kind: "group";
  group: RunGroupRef;
  /** `group:KIND:ID`, the key of its expanded state. */
  key: string;
  children: ListNode[];
  /** Runs in it, and how many of them the filter kept (`total` unfiltered). */
  total: number;
  shown: number;
  verdicts: Record<Verdict, number>;
  /** Its newest run's start, to sort it among its siblings. */
  started_ms: number;
}

export type ListNode = RunNode | GroupNode;

/** One row on screen. */
export interface ListRow {
  node: ListNode;
  depth: number;
}

export interface RunFilter {
  /** `""`: any verdict. */
  verdict: "" | Verdict;
  /** A prefix of the trace class. */
  cls: string;
  /** A fault kind (`drop`, `delay`, ...), `none` for runs without faults, `""` for any. */
  fault: string;
  /** Words that must all occur in the run's id, command, verdict, class, parent, faults or group. */
  text: string;
}

export const NO_FILTER: RunFilter = { verdict: "", cls: "", fault: "", text: "" };

export const groupKey = (g: RunGroupRef): string => `group:${g.kind}:${g.id}`;

const startOf = (n: ListNode): number => (n.kind === "run" ? n.run.started_ms : n.started_ms);
const idOf = (n: ListNode): string => (n.kind === "run" ? n.run.id : n.key);

/** Newest first for roots; oldest first under a parent, so a tree reads top-down in time. */
function sortNodes(nodes: ListNode[], newestFirst: boolean): void {
  const sign = newestFirst ? -1 : 1;
  nodes.sort((a, b) => sign * (startOf(a) - startOf(b)) || sign * idOf(a).localeCompare(idOf(b)));
}

/**
 * Builds the forest. A run's container is its group if it has one, else its
 * listed parent; a group's container is its first run's listed parent. A
 * run whose parent is missing (deleted, filtered out by the server) is a
 * root, and so is any run caught in a parent cycle of corrupt manifests.
 */
export function buildForest(runs: RunSummary[]): ListNode[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const groups = new Map<string, { ref: RunGroupRef; runs: RunSummary[] }>();
  for (const r of runs) {
    if (!r.group) continue;
    const key = groupKey(r.group);
    const g = groups.get(key) ?? { ref: r.group, runs: [] };
    g.runs.push(r);
    groups.set(key, g);
  }
  // Container key -> child keys; "" is the root. Runs are keyed by id.
  const children = new Map<string, string[]>();
  const place = (child: string, container: string) => children.set(container, [...(children.get(container) ?? []), child]);
  const parentKey = (r: RunSummary): string =>
    r.parent !== null && r.parent !== r.id && byId.has(r.parent) ? r.parent : "";
  for (const r of runs) place(r.id, r.group ? groupKey(r.group) : parentKey(r));
  for (const [key, g] of groups) {
    const parent = parentKey(g.runs[0]);
    const inside = parent !== "" && byId.get(parent)?.group && groupKey(byId.get(parent)!.group!) === key;
    place(key, inside ? "" : parent);
  }
  const seen = new Set<string>();
  const make = (key: string): ListNode | null => {
    if (seen.has(key)) return null;
    seen.add(key);
    const kids = (children.get(key) ?? []).map(make).filter((n): n is ListNode => n !== null);
    sortNodes(kids, false);
    const run = byId.get(key);
    if (run) return { kind: "run", run, children: kids };
    const g = groups.get(key)!;
    const verdicts: Record<Verdict, number> = { pass: 0, fail: 0, unknown: 0 };
    for (const r of g.runs) verdicts[r.verdict] += 1;
    const started = Math.max(...g.runs.map((r) => r.started_ms));
    return { kind: "group", group: g.ref, key, children: kids, total: g.runs.length, shown: g.runs.length, verdicts, started_ms: started };
  };
  const roots = (children.get("") ?? []).map(make).filter((n): n is ListNode => n !== null);
  for (const r of runs) {
    const stray = make(r.id); // in a parent cycle: never reached from a root
    if (stray) roots.push(stray);
  }
  sortNodes(roots, true);
  return roots;
}

/** Text the filter's words are looked for in. */
function haystack(r: RunSummary): string {
  return [r.id, r.command, r.verdict, r.status, r.trace_class ?? "", r.parent ?? "", ...(r.fault_kinds ?? []), r.group?.id ?? ""]
    .join(" ")
    .toLowerCase();
}

export function isFiltering(f: RunFilter): boolean {
  return f.verdict !== "" || f.cls.trim() !== "" || f.fault !== "" || f.text.trim() !== "";
}

/** Whether one run passes every part of the filter. */
export function matchesRun(r: RunSummary, f: RunFilter): boolean {
  if (f.verdict !== "" && r.verdict !== f.verdict) return false;
  const cls = f.cls.trim().toLowerCase();
  if (cls !== "" && !(r.trace_class ?? "").toLowerCase().startsWith(cls)) return false;
  const kinds = r.fault_kinds ?? [];
  if (f.fault === "none" && r.faults.planned > 0) return false;
  if (f.fault !== "" && f.fault !== "none" && !kinds.includes(f.fault)) return false;
  const words = f.text.toLowerCase().split(/\s+/).filter(Boolean);
  const text = haystack(r);
  return words.every((w) => text.includes(w));
}

/**
 * The nodes with a matching run in them: a matching run keeps its
 * ancestors (so a matching rerun is still shown under its parent); a group
 * is kept when one of its runs is, and counts how many.
 */
export function filterForest(nodes: ListNode[], f: RunFilter): ListNode[] {
  if (!isFiltering(f)) return nodes;
  const out: ListNode[] = [];
  for (const n of nodes) {
    const kids = filterForest(n.children, f);
    if (n.kind === "run") {
      if (kids.length > 0 || matchesRun(n.run, f)) out.push({ ...n, children: kids });
    } else if (kids.length > 0) {
      out.push({ ...n, children: kids, shown: kids.length });
    }
  }
  return out;
}

/** Rows on screen: every run node's children, a group's only when expanded. */
export function flatten(nodes: ListNode[], expanded: ReadonlySet<string>, depth = 0, out: ListRow[] = []): ListRow[] {
  for (const n of nodes) {
    out.push({ node: n, depth });
    if (n.kind === "run" || expanded.has(n.key)) flatten(n.children, expanded, depth + 1, out);
  }
  return out;
}

/** Every run in a forest (for counts). */
export function countRuns(nodes: ListNode[]): number {
  return nodes.reduce((sum, n) => sum + (n.kind === "run" ? 1 : 0) + countRuns(n.children), 0);
}

export interface Page<T> {
  items: T[];
  /** 0-based, clamped into range. */
  page: number;
  pages: number;
}

/** Page `page` of `items`, `size` a page; a page past the end shows the last. */
export function paginate<T>(items: T[], page: number, size: number): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const p = Math.min(Math.max(0, Math.floor(page)), pages - 1);
  return { items: items.slice(p * size, (p + 1) * size), page: p, pages };
}
