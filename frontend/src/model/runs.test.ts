import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunSummary } from "./api.ts";
import { filterRows, runTree } from "./runs.ts";

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

test("reruns nest under their parents, oldest rerun first", () => {
  const runs = [run("c", null, 9), run("a2", "a", 8), run("a1", "a", 7), run("a1x", "a1", 7.5), run("orphan", "gone", 6), run("a", null, 5)];
  const rows = runTree(runs).map((r) => `${"  ".repeat(r.depth)}${r.run.id}`);
  assert.deepEqual(rows, ["c", "orphan", "a", "  a1", "    a1x", "  a2"]);
});

test("parent cycles do not loop or drop runs", () => {
  const rows = runTree([run("x", "y", 1), run("y", "x", 2)]);
  assert.deepEqual(rows.map((r) => r.run.id).sort(), ["x", "y"]);
});

test("filter keeps ancestors of matches", () => {
  const rows = runTree([run("a", null, 1), run("b", "a", 2, { verdict: "fail" }), run("c", null, 3, { command: "echo zebra" })]);
  assert.deepEqual(filterRows(rows, "FAIL").map((r) => r.run.id), ["a", "b"]);
  assert.deepEqual(filterRows(rows, "  ").length, 3);
  assert.deepEqual(filterRows(rows, "echo ZEB").map((r) => r.run.id), ["c"]);
});
