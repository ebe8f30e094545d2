import assert from "node:assert/strict";
import { test } from "node:test";
import { indexGraph } from "../model/graph.ts";
import { smallGraph } from "../model/fixture.test-util.ts";
import { ARROW_MESSAGE, arrowAt, arrowPoints, layoutDiagram } from "./diagram.ts";
import { ALL_LANES, setHidden, shapeLanes } from "./collapse.ts";
import { arrowChannel, filterArrows, NO_FILTER, setFiltered } from "./arrows.ts";
import { fit } from "./viewport.ts";

const base = () => {
  const g = smallGraph();
  return { g, l: layoutDiagram(indexGraph(g), "time") };
};

test("no filter keeps the very layout", () => {
  const { g, l } = base();
  assert.equal(filterArrows(l, g, NO_FILTER), l);
});

test("a channel filter drops that channel's arrows and keeps the others", () => {
  const { g, l } = base();
  const f = filterArrows(l, g, setFiltered(NO_FILTER, "channels", "primary->replica#0", true));
  const channels = (layout: typeof l) => Array.from(layout.arrowFrom, (_, a) => arrowChannel(layout, g, a));
  const before = channels(l).filter((c) => c === "primary->replica#0").length;
  assert.ok(before >= 3, "deliveries both ways plus the connect");
  assert.equal(f.arrowFrom.length, l.arrowFrom.length - before);
  assert.ok(!channels(f).includes("primary->replica#0"));
  assert.ok(channels(f).includes("client->primary#0"));
  // Putting it back restores every arrow.
  const back = setFiltered(setFiltered(NO_FILTER, "channels", "primary->replica#0", true), "channels", "primary->replica#0", false);
  assert.equal(filterArrows(l, g, back).arrowFrom.length, l.arrowFrom.length);
});

test("a process filter drops every arrow with an end in it; hit tests follow", () => {
  const { g, l } = base();
  const f = filterArrows(l, g, setFiltered(NO_FILTER, "processes", "client", true));
  for (let a = 0; a < f.arrowFrom.length; a++) {
    assert.notEqual(g.events[f.arrowFrom[a]].process, "client");
    if (f.arrowTo[a] >= 0) assert.notEqual(g.events[f.arrowTo[a]].process, "client");
  }
  assert.ok(f.arrowFrom.length < l.arrowFrom.length);
  // The client's first delivery is under the pointer in the full layout, not in the filtered one.
  const v = fit({ x0: 0, k: 1, y0: 0, width: 1200, height: 400, left: 170, top: 26 }, l.minX, l.maxX);
  const a = Array.from(l.arrowKind).findIndex((k, i) => k === ARROW_MESSAGE && g.events[l.arrowFrom[i]].process === "client");
  const [x1, y1, x2, y2] = arrowPoints(l, v, a);
  const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
  assert.equal(arrowAt(l, v, mx, my), a);
  const hit = arrowAt(f, v, mx, my);
  assert.ok(hit < 0 || g.events[f.arrowFrom[hit]].process !== "client");
});

test("arrows with an end in a hidden lane are dropped", () => {
  const g = smallGraph();
  const lanes = shapeLanes(g, setHidden(ALL_LANES, "replica:t0", true));
  const l = layoutDiagram(indexGraph(g), "time", undefined, lanes);
  const f = filterArrows(l, g, NO_FILTER);
  for (let a = 0; a < f.arrowFrom.length; a++) {
    assert.ok(f.laneOf[f.arrowFrom[a]] >= 0);
    if (f.arrowTo[a] >= 0) assert.ok(f.laneOf[f.arrowTo[a]] >= 0);
  }
  assert.ok(f.arrowFrom.length < l.arrowFrom.length);
});
