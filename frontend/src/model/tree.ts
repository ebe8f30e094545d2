/**
 * The rerun tree of one run (`GET /api/runs/{id}/tree`, docs/API.md): its
 * reruns, their reruns, and so on, each with its fault plan and verdict,
 * as a branching history in the manner of Oddity. Here the answer is
 * checked and flattened into rows (depth, the edge from the parent, the
 * faults in one line each) that ui/tree.ts shows. Pure.
 */

import type { Verdict } from "./api.ts";
import { faultRows, faultSummary } from "./faults.ts";

export interface TreeNode {
  id: string;
  parent: string | null;
  started_ms: number;
  status: string;
  verdict: Verdict;
  trace_class: string | null;
  faults: unknown[];
  children: TreeNode[];
}

export interface RerunTree {
  ancestors: string[];
  root: TreeNode;
  size: number;
  depth: number;
}

/** One row of the tree as shown. */
export interface TreeRow {
  id: string;
  /** 0 for the root. */
  depth: number;
  /** The run this one reruns (the edge's other end), null for the root of a plain run. */
  parent: string | null;
  verdict: Verdict;
  status: string;
  trace_class: string | null;
  /** Each fault in one line, in plan order. */
  faults: string[];
  /** `1 of 2 faults fired`, or "" for a run without faults. */
  summary: string;
  /** Reruns directly under it. */
  children: number;
  /** The class differs from its parent's (the fault changed the causal structure). */
  newClass: boolean;
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

function checkNode(x: unknown, where: string): TreeNode {
  if (!isObject(x) || typeof x.id !== "string" || !Array.isArray(x.children) || !Array.isArray(x.faults)) {
    throw new Error(`${where} is not a run of the tree (id, faults, children)`);
  }
  x.children.forEach((c, i) => checkNode(c, `${where}.children[${i}]`));
  return x as unknown as TreeNode;
}

/** Checks a tree answer; throws one sentence when it is not one. */
export function parseTree(x: unknown): RerunTree {
  if (!isObject(x) || !Array.isArray(x.ancestors)) throw new Error("the tree answer has no ancestors");
  checkNode(x.root, "tree.root");
  return x as unknown as RerunTree;
}

/** The tree's rows, depth first, children in the answer's (oldest first) order. */
export function treeRows(tree: RerunTree): TreeRow[] {
  const rows: TreeRow[] = [];
  const visit = (n: TreeNode, depth: number, parentClass: string | null) => {
    const faults = faultRows(n.faults);
    rows.push({
      id: n.id,
      depth,
      parent: n.parent,
      verdict: n.verdict,
      status: n.status,
      trace_class: n.trace_class,
      faults: faults.map((f) => f.text),
      summary: faults.length > 0 ? faultSummary(faults) : "",
      children: n.children.length,
      newClass: depth > 0 && n.trace_class !== null && parentClass !== null && n.trace_class !== parentClass,
    });
    for (const c of n.children) visit(c, depth + 1, n.trace_class);
  };
  visit(tree.root, 0, null);
  return rows;
}
