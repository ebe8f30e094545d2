/**
 * The rerun tree page (`/runs/{id}/tree`): the run's ancestors, then the
 * run and every rerun under it, nested (a branching history in the manner
 * of Oddity), each with its verdict, trace class (marked when a fault
 * changed it) and fault plan; every edge carries a link comparing the
 * rerun with the run it reruns, and every run a link to its own tree.
 *
 * Test hooks: `#tree` carries `data-size` and `data-depth`; each run is a
 * `li[data-run][data-depth]`; each edge's link is
 * `a.compare-edge[data-from][data-to]`.
 */

import { type RerunTree, type TreeNode, type TreeRow, parseTree, treeRows } from "../model/tree.ts";
import { api, pages } from "../model/routes.ts";
import { describe, getJson } from "./client.ts";
import { $, h, setStatus } from "./dom.ts";

export async function treePage(): Promise<void> {
  const id = document.body.dataset.runId ?? "";
  let tree: RerunTree;
  try {
    tree = parseTree(await getJson<unknown>(api.tree(id)));
  } catch (e) {
    setStatus("error", `Cannot show the rerun tree of ${id}: ${describe(e)}`);
    document.body.dataset.rendered = "error";
    return;
  }
  const rows = new Map(treeRows(tree).map((r) => [r.id, r]));
  const root = $("tree");
  root.dataset.size = String(tree.size);
  root.dataset.depth = String(tree.depth);
  $("tree-meta").textContent = `${tree.size} run${tree.size === 1 ? "" : "s"}, ${tree.depth} level${tree.depth === 1 ? "" : "s"} of reruns`;
  root.replaceChildren(ancestors(tree), h("ul", { class: "tree-top" }, node(tree.root, rows, id)));
  setStatus("ok", tree.size === 1 ? "This run has no reruns yet: click a message arrow on its page to make one." : "");
  document.body.dataset.rendered = "true";
}

/** The chain of runs above the root, topmost first, with a comparison on each step. */
function ancestors(tree: RerunTree): Node {
  if (tree.ancestors.length === 0) return h("p", { class: "ancestors meta" }, "Not a rerun: this run is the root of its history.");
  const chain = [...tree.ancestors, tree.root.id];
  const parts: (Node | string)[] = [];
  chain.forEach((run, i) => {
    if (i > 0) parts.push(" → ", compareLink(chain[i - 1], run), " → ");
    parts.push(h("a", { href: pages.tree(run), "data-ancestor": run }, run));
  });
  return h("p", { class: "ancestors" }, "History: ", ...parts);
}

function compareLink(from: string, to: string): HTMLElement {
  return h("a", { class: "compare-edge", href: pages.compare(from, to), "data-from": from, "data-to": to, title: `Compare ${to} with ${from}` }, "compare");
}

function node(n: TreeNode, rows: Map<string, TreeRow>, current: string): HTMLElement {
  const r = rows.get(n.id);
  if (r === undefined) return h("li", {}, n.id);
  const edge = r.depth > 0 && r.parent !== null ? h("span", { class: "tree-edge" }, compareLink(r.parent, r.id), " with parent") : null;
  const faults = r.faults.length > 0 ? h("ul", { class: "tree-faults" }, ...r.faults.map((f) => h("li", {}, h("code", {}, f)))) : null;
  const box = h(
    "div",
    { class: `tree-node${n.id === current ? " current" : ""}` },
    h("a", { href: pages.run(r.id), class: "run-link" }, h("code", {}, r.id)),
    h("span", { class: `badge verdict-${r.verdict}` }, r.verdict),
    r.status !== "done" ? h("span", { class: `status-${r.status}` }, r.status) : null,
    r.trace_class ? h("span", { class: "meta", title: "trace class" }, `class ${r.trace_class.slice(0, 10)}${r.newClass ? " (new)" : ""}`) : null,
    r.summary ? h("span", { class: "meta" }, r.summary) : null,
    edge,
    r.children > 0 && r.depth > 0 ? h("a", { href: pages.tree(r.id), class: "meta" }, "its tree") : null,
  );
  return h("li", { "data-run": r.id, "data-depth": String(r.depth) }, box, faults, n.children.length > 0 ? h("ul", { class: "tree-children" }, ...n.children.map((c) => node(c, rows, current))) : null);
}
