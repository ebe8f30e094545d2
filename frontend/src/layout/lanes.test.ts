import assert from "node:assert/strict";
import { test } from "node:test";
import type { Graph } from "../model/api.ts";
import { indexGraph } from "../model/graph.ts";
import { smallGraph } from "../model/fixture.test-util.ts";
import { layoutDiagram } from "./diagram.ts";
import { laneSpec, layoutLanes, mergeOrder, sharedLaneSpec } from "./lanes.ts";

test("mergeOrder keeps A's order and slots B's extras after their predecessor in B", () => {
  assert.deepEqual(mergeOrder(["a", "b", "c"], ["a", "x", "c", "y"]), ["a", "x", "b", "c", "y"]);
  assert.deepEqual(mergeOrder([], ["p", "q"]), ["p", "q"]);
  assert.deepEqual(mergeOrder(["a"], ["z", "a"]), ["z", "a"]);
  assert.deepEqual(mergeOrder(["a", "b"], ["b", "a"]), ["a", "b"], "conflicting orders: A wins");
});

/** The fixture without the forked shell and with an extra replica thread. */
function variant(): Graph {
  const g = smallGraph();
  const threads = g.threads.filter((t) => t.process !== "primary/sh#0").concat([{ name: "replica:t1", process: "replica", tid: 99 }]);
  return { ...g, processes: g.processes.filter((p) => p.name !== "primary/sh#0"), threads, events: [], messages: [], edges: [] };
}

test("shared lanes: every thread of either run, keyed by name, in the same rows on both sides", () => {
  const a = smallGraph();
  const b = variant();
  const spec = sharedLaneSpec(a, b);
  assert.deepEqual(spec, [
    { process: "client", threads: ["client:t0"] },
    { process: "primary", threads: ["primary:t0", "primary:t1"] },
    { process: "primary/sh#0", threads: ["primary/sh#0:t0"] },
    { process: "replica", threads: ["replica:t0", "replica:t1"] },
  ]);
  const la = layoutLanes(a, spec);
  const lb = layoutLanes(b, spec);
  assert.deepEqual(
    la.lanes.map((l) => [l.label, l.y]),
    lb.lanes.map((l) => [l.label, l.y]),
  );
  assert.equal(la.lanes.find((l) => l.label === "replica:t1")?.thread, -1, "A lacks replica:t1: an empty lane");
  assert.equal(lb.lanes.find((l) => l.label === "primary/sh#0:t0")?.thread, -1, "B lacks the shell");
  assert.equal(la.height, lb.height);
  // The diagram over a spec with an empty lane still lays out every event.
  const d = layoutDiagram(indexGraph(a), "logical", spec);
  assert.equal(d.laneEvents.length, 6);
  assert.equal(d.laneEvents[5].length, 0);
  assert.ok(Array.from(d.laneOf).every((x) => x >= 0));
});

test("a graph's own spec reproduces its own lanes", () => {
  const g = smallGraph();
  assert.deepEqual(layoutLanes(g, laneSpec(g)), layoutLanes(g));
  assert.deepEqual(
    layoutLanes(g).lanes.map((l) => l.label),
    ["client:t0", "primary:t0", "primary:t1", "primary/sh#0:t0", "replica:t0"],
  );
});
