import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTree, type TreeNode, treeRows } from "./tree.ts";

const node = (id: string, parent: string | null, cls: string, children: TreeNode[] = [], faults: unknown[] = []): TreeNode => ({
  id,
  parent,
  started_ms: 0,
  status: "done",
  verdict: faults.length > 0 ? "fail" : "pass",
  trace_class: cls,
  faults,
  children,
});
const drop = (message: string, fired: boolean) => ({ fault: { kind: "drop", message }, fired, at: null, effect: "drop", count: 1 });

test("rows are depth first with the edge, faults in one line and class changes marked", () => {
  const tree = parseTree({
    ancestors: [],
    size: 4,
    depth: 2,
    root: node("base", null, "c1", [node("r1", "base", "c2", [node("r1a", "r1", "c2", [], [drop("a->b#0/2", false)])], [drop("a->b#0/1", true)]), node("r2", "base", "c1")]),
  });
  const rows = treeRows(tree);
  assert.deepEqual(
    rows.map((r) => [r.id, r.depth, r.parent, r.children]),
    [
      ["base", 0, null, 2],
      ["r1", 1, "base", 1],
      ["r1a", 2, "r1", 0],
      ["r2", 1, "base", 0],
    ],
  );
  assert.deepEqual(rows[1].faults, ["drop a->b#0/1"]);
  assert.equal(rows[1].summary, "1 of 1 fault fired");
  assert.equal(rows[2].summary, "0 of 1 fault fired");
  assert.deepEqual(rows.map((r) => r.newClass), [false, true, false, false]);
  assert.equal(rows[0].summary, "");
});

test("a malformed tree is refused with where it breaks", () => {
  assert.throws(() => parseTree({ root: node("a", null, "c") }), /ancestors/);
  assert.throws(() => parseTree({ ancestors: [], root: { id: "a", faults: [], children: [{ id: 3 }] } }), /tree\.root\.children\[0\]/);
});
