import assert from "node:assert/strict";
import { test } from "node:test";
import { indexGraph } from "../model/graph.ts";
import { smallGraph } from "../model/fixture.test-util.ts";
import { layoutDiagram } from "./diagram.ts";
import { centreAt, columnOf, type Density, densityOf, miniX, windowBox } from "./minimap.ts";
import { fit, type Viewport, worldX } from "./viewport.ts";

const view = (o: Partial<Viewport> = {}): Viewport => ({ x0: 0, k: 1, y0: 0, width: 1100, height: 300, left: 100, top: 20, ...o });

const strip = (): Density => ({ minX: 0, maxX: 1000, columns: 10, height: 200, lanes: [{ top: 0, bottom: 100, counts: new Uint32Array(10) }], max: 0 });

test("the density counts every laid-out event once, in its lane and column", () => {
  const g = smallGraph();
  const l = layoutDiagram(indexGraph(g), "time");
  const d = densityOf(l, 40);
  assert.equal(d.lanes.length, l.lanes.lanes.length);
  let sum = 0;
  for (const lane of d.lanes) for (let c = 0; c < d.columns; c++) sum += lane.counts[c];
  assert.equal(sum, g.events.length);
  const last = g.events.length - 1;
  assert.ok(d.lanes[l.laneOf[last]].counts[columnOf(d, l.x[last])] >= 1);
  assert.ok(d.max >= 1);
  assert.equal(columnOf(d, d.maxX), 39, "the right edge is in the last column");
});

test("the window box is the part of the extent in view, clipped, at least 3 px", () => {
  const d = strip();
  const box = { width: 500, height: 40 };
  // 1000 px of plot at k = 1 from x0 = 250: world 250..1250, clipped at 1000.
  const w = windowBox(d, box, view({ x0: 250 }));
  assert.equal(w.x, 125);
  assert.equal(w.w, 375);
  assert.equal(w.y, 0);
  // A deep zoom still shows a box.
  const deep = windowBox(d, box, view({ x0: 500, k: 1e6 }));
  assert.equal(deep.w, 3);
  assert.equal(deep.x, miniX(d, box, 500));
  // Fit: the whole strip.
  const all = windowBox(d, box, fit(view(), 0, 1000, 0));
  assert.equal(Math.round(all.x), 0);
  assert.equal(Math.round(all.w), 500);
});

test("a click centres the view on the point under it, at the same zoom", () => {
  const d = strip();
  const box = { width: 500, height: 40 };
  const v = view({ k: 4 });
  const moved = centreAt(v, d, box, 200, 20);
  assert.equal(moved.k, 4);
  const centre = worldX(moved, (moved.left + moved.width) / 2);
  assert.ok(Math.abs(centre - 400) < 1e-9, `centre ${centre}`);
  assert.equal(moved.y0, 100 - (v.height - v.top) / 2);
  // Outside the strip: clamped to its ends.
  assert.ok(Math.abs(worldX(centreAt(v, d, box, -50, 0), (v.left + v.width) / 2) - 0) < 1e-9);
});
