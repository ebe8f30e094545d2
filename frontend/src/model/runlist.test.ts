import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunSummary } from "./api.ts";
import { buildForest, countRuns, filterForest, flatten, type ListNode, NO_FILTER, paginate } from "./runlist.ts";

const run = (id: string, parent: string | null, started_ms: number, extra: Partial<RunSummary> = {}): RunSummary => ({
  id,
  command: "kv scenario",
  started_ms,
  duration_ms: 10,
  status: "done",
  verdict: "pass",
  trace_class: null,
  parent,
  faults: { planned: 0, fired: 0 },
  events: 1,
  ...extra,
});

/** Three sweeps of 12 messages each of the baseline `demo`, as `bop explore --sweep` names them. */
function demoWithSweeps(): RunSummary[] {
  const runs = [run("demo", null, 0)];
  for (const [s, x] of ["xa", "xb", "xc"].entries()) {
    for (let k = 0; k < 12; k++) {
      const verdict = k === 3 ? "fail" : "pass";
      runs.push(run(`${x}-m${k}`, "demo", 100 * (s + 1) + k, { verdict, group: { kind: "exploration", id: x }, fault_kinds: ["drop"], faults: { planned: 1, fired: 1 } }));
    }
  }
  return runs.reverse(); // newest first, as the API lists them
}

const show = (nodes: ListNode[], expanded: Set<string> = new Set()) =>
  flatten(nodes, expanded).map(({ node, depth }) => `${"  ".repeat(depth)}${node.kind === "run" ? node.run.id : node.key}`);

test("three sweeps of the demo are three collapsed rows under the baseline", () => {
  const forest = buildForest(demoWithSweeps());
  assert.deepEqual(show(forest), ["demo", "  group:exploration:xa", "  group:exploration:xb", "  group:exploration:xc"]);
  const xb = forest[0].children[1];
  assert.equal(xb.kind, "group");
  if (xb.kind !== "group") return;
  assert.deepEqual([xb.total, xb.verdicts], [12, { pass: 11, fail: 1, unknown: 0 }]);
  const open = show(forest, new Set(["group:exploration:xb"]));
  assert.equal(open.length, 4 + 12);
  assert.deepEqual(open.slice(2, 5), ["  group:exploration:xb", "    xb-m0", "    xb-m1"]);
  assert.equal(countRuns(forest), 37);
});

test("reruns nest under their parents, oldest first, roots newest first", () => {
  const runs = [run("c", null, 9), run("a2", "a", 8), run("a1", "a", 7), run("a1x", "a1", 7.5), run("orphan", "gone", 6), run("a", null, 5)];
  assert.deepEqual(show(buildForest(runs)), ["c", "orphan", "a", "  a1", "    a1x", "  a2"]);
});

test("a rerun of a group's run stays under that run inside the group", () => {
  const s = { kind: "search" as const, id: "s1" };
  const runs = [run("s1-0", "base", 2, { group: s }), run("s1-1", "base", 3, { group: s }), run("r", "s1-0", 4), run("base", null, 1)];
  assert.deepEqual(show(buildForest(runs), new Set(["group:search:s1"])), ["base", "  group:search:s1", "    s1-0", "      r", "    s1-1"]);
});

test("a group whose baseline is not listed is a root", () => {
  const g = { kind: "exploration" as const, id: "x" };
  assert.deepEqual(show(buildForest([run("x-1", "gone", 2, { group: g }), run("x-0", "gone", 1, { group: g }), run("y", null, 0)])), [
    "group:exploration:x",
    "y",
  ]);
});

test("parent cycles do not loop or drop runs", () => {
  const forest = buildForest([run("x", "y", 1), run("y", "x", 2)]);
  assert.equal(countRuns(forest), 2);
});

test("filters by verdict, class prefix, fault kind and words, keeping ancestors and counting group matches", () => {
  const forest = buildForest([
    ...demoWithSweeps(),
    run("plain", null, 5000, { trace_class: "abcdef0123", verdict: "unknown" }),
    run("delayed", "plain", 5001, { fault_kinds: ["delay"], faults: { planned: 1, fired: 0 } }),
  ]);
  const failing = filterForest(forest, { ...NO_FILTER, verdict: "fail" });
  assert.deepEqual(show(failing), ["demo", "  group:exploration:xa", "  group:exploration:xb", "  group:exploration:xc"]);
  const xa = failing[0].children[0];
  assert.ok(xa.kind === "group" && xa.shown === 1 && xa.total === 12);
  assert.deepEqual(show(filterForest(forest, { ...NO_FILTER, cls: "ABC" })), ["plain"]);
  assert.deepEqual(show(filterForest(forest, { ...NO_FILTER, fault: "delay" })), ["plain", "  delayed"]);
  assert.equal(countRuns(filterForest(forest, { ...NO_FILTER, fault: "none" })), 2, "demo and plain");
  assert.deepEqual(show(filterForest(forest, { ...NO_FILTER, text: "XB m11" }), new Set(["group:exploration:xb"])), [
    "demo",
    "  group:exploration:xb",
    "    xb-m11",
  ]);
  assert.deepEqual(filterForest(forest, { ...NO_FILTER, text: "nothing-like-this" }), []);
  assert.equal(filterForest(forest, NO_FILTER), forest, "no filter: the same forest");
});

test("pages clamp into range", () => {
  const items = Array.from({ length: 105 }, (_, i) => i);
  assert.deepEqual(paginate(items, 0, 50).items.length, 50);
  const last = paginate(items, 99, 50);
  assert.deepEqual([last.page, last.pages, last.items], [2, 3, [100, 101, 102, 103, 104]]);
  assert.deepEqual(paginate([], 3, 50), { items: [], page: 0, pages: 1 });
  assert.equal(paginate(items, -1, 50).page, 0);
});
