import assert from "node:assert/strict";
import { test } from "node:test";
import { indexGraph } from "../model/graph.ts";
import { eventId, smallGraph } from "../model/fixture.test-util.ts";
import { layoutDiagram, mergeByX } from "./diagram.ts";
import { ALL_LANES, collapsedLabel, groupHeaderAt, laneChoices, revealThread, setHidden, shapeLanes, showAll, toggleAllCollapsed, toggleCollapsed } from "./collapse.ts";
import { GROUP_HEADER, LANE_HEIGHT, laneSpec, layoutLanes } from "./lanes.ts";

test("with nothing collapsed or hidden the lanes are the graph's own", () => {
  const g = smallGraph();
  assert.deepEqual(shapeLanes(g, ALL_LANES), layoutLanes(g));
});

test("collapsing a process puts all its threads on one lane, and its events in x order on it", () => {
  const g = smallGraph();
  const state = toggleCollapsed(ALL_LANES, "primary");
  const lanes = shapeLanes(g, state);
  assert.equal(lanes.lanes.length, 4, "primary's two threads became one lane");
  const primary = lanes.lanes.find((l) => l.process === "primary");
  assert.equal(primary?.label, collapsedLabel("primary", 2));
  const t0 = g.threads.findIndex((t) => t.name === "primary:t0");
  const t1 = g.threads.findIndex((t) => t.name === "primary:t1");
  assert.equal(lanes.laneOfThread[t0], lanes.laneOfThread[t1]);
  assert.equal(lanes.height, layoutLanes(g).height - LANE_HEIGHT);
  const layout = layoutDiagram(indexGraph(g), "time", undefined, lanes);
  const lane = lanes.laneOfThread[t0];
  const evs = Array.from(layout.laneEvents[lane]);
  assert.equal(evs.length, g.events.filter((e) => e.process === "primary").length);
  for (let i = 1; i < evs.length; i++) assert.ok(layout.x[evs[i - 1]] <= layout.x[evs[i]], "sorted by x");
  assert.equal(layout.laneOf[eventId(g, "primary:t1/1:poll")], lane);
  // Toggling again expands it; a one-thread process does not collapse.
  assert.equal(shapeLanes(g, toggleCollapsed(state, "primary")).lanes.length, 5);
  assert.equal(shapeLanes(g, toggleCollapsed(ALL_LANES, "client")).lanes[0].label, "client:t0");
});

test("collapse all takes every many-threaded process, and a second time none", () => {
  const spec = laneSpec(smallGraph());
  const all = toggleAllCollapsed(ALL_LANES, spec);
  assert.deepEqual([...all.collapsed], ["primary"]);
  assert.deepEqual([...toggleAllCollapsed(all, spec).collapsed], []);
});

test("hidden lanes get no lane, their events none, and a process with none left no header", () => {
  const g = smallGraph();
  let state = setHidden(ALL_LANES, "replica:t0", true);
  let lanes = shapeLanes(g, state);
  assert.equal(lanes.lanes.length, 4);
  assert.equal(lanes.groups.length, 3, "replica's group went with its only lane");
  assert.equal(lanes.laneOfThread[g.threads.findIndex((t) => t.name === "replica:t0")], -1);
  const layout = layoutDiagram(indexGraph(g), "time", undefined, lanes);
  assert.equal(layout.laneOf[eventId(g, "replica:t0/2:read")], -1);
  // A collapsed lane is hidden by its process's name.
  state = setHidden(toggleCollapsed(state, "primary"), "primary", true);
  lanes = shapeLanes(g, state);
  assert.deepEqual(
    lanes.lanes.map((l) => l.label),
    ["client:t0", "primary/sh#0:t0"],
  );
  const menu = laneChoices(laneSpec(g), state);
  assert.deepEqual(
    menu.flatMap((m) => m.lanes.filter((l) => l.hidden).map((l) => l.key)),
    ["primary", "replica:t0"],
  );
  assert.equal(shapeLanes(g, showAll(state)).lanes.length, 4, "shown again, primary still collapsed");
});

test("revealing a thread shows its lane or its collapsed process's lane, and leaves the rest", () => {
  const hidden = setHidden(setHidden(ALL_LANES, "primary:t1", true), "client:t0", true);
  assert.deepEqual([...revealThread(hidden, "primary", "primary:t1").hidden], ["client:t0"]);
  const collapsed = setHidden(toggleCollapsed(ALL_LANES, "primary"), "primary", true);
  assert.deepEqual([...revealThread(collapsed, "primary", "primary:t0").hidden], []);
  assert.equal(revealThread(ALL_LANES, "client", "client:t0"), ALL_LANES, "nothing to do: the same state");
});

test("a process's header band is found by content y", () => {
  const lanes = shapeLanes(smallGraph(), ALL_LANES);
  const primary = lanes.groups[1];
  assert.equal(groupHeaderAt(lanes, primary.top + 1), "primary");
  assert.equal(groupHeaderAt(lanes, primary.top + GROUP_HEADER + 1), null, "a lane, not the header");
});

test("lists merged by x keep x order and every event once", () => {
  const x = Float64Array.from([5, 1, 3, 3, 9, 0, 7]);
  const merged = mergeByX(x, [Int32Array.from([1, 2, 0]), Int32Array.from([5, 3, 6]), Int32Array.from([4])]);
  assert.deepEqual(Array.from(merged), [5, 1, 2, 3, 0, 6, 4]);
  assert.deepEqual(Array.from(mergeByX(x, [])), []);
});
