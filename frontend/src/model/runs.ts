/** The run list as a forest: reruns under their parents; pure. */

import type { RunSummary } from "./api.ts";

export interface RunRow {
  run: RunSummary;
  /** Nesting depth: 0 for a run whose parent is not listed. */
  depth: number;
}

/**
 * Orders runs depth-first: each root (newest first, as given), then its
 * reruns (oldest first, so a rerun tree reads top-down in time) and so on.
 * A run whose parent is missing (deleted, or on another page) is a root.
 */
export function runTree(runs: RunSummary[]): RunRow[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const children = new Map<string, RunSummary[]>();
  for (const r of runs) {
    if (r.parent !== null && byId.has(r.parent) && r.parent !== r.id) {
      const list = children.get(r.parent) ?? [];
      list.push(r);
      children.set(r.parent, list);
    }
  }
  for (const list of children.values()) list.sort((a, b) => a.started_ms - b.started_ms || a.id.localeCompare(b.id));
  const out: RunRow[] = [];
  const seen = new Set<string>();
  const visit = (r: RunSummary, depth: number) => {
    if (seen.has(r.id)) return; // a parent cycle in corrupt manifests must not loop
    seen.add(r.id);
    out.push({ run: r, depth });
    for (const c of children.get(r.id) ?? []) visit(c, depth + 1);
  };
  for (const r of runs) if (r.parent === null || !byId.has(r.parent) || r.parent === r.id) visit(r, 0);
  for (const r of runs) visit(r, 0);
  return out;
}

/** Text a filter matches against. */
function haystack(r: RunSummary): string {
  return [r.id, r.command, r.verdict, r.status, r.trace_class ?? "", r.parent ?? ""].join(" ").toLowerCase();
}

/**
 * Rows matching every word of `query`, plus their ancestors (so a matching
 * rerun is still shown under its parent).
 */
export function filterRows(rows: RunRow[], query: string): RunRow[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return rows;
  const keep = new Set<string>();
  const parentOf = new Map(rows.map((r) => [r.run.id, r.run.parent]));
  for (const row of rows) {
    const text = haystack(row.run);
    if (words.every((w) => text.includes(w))) {
      let id: string | null | undefined = row.run.id;
      while (id && !keep.has(id)) {
        keep.add(id);
        id = parentOf.get(id);
      }
    }
  }
  return rows.filter((r) => keep.has(r.run.id));
}
