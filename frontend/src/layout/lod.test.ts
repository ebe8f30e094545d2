import assert from "node:assert/strict";
import { test } from "node:test";
import { syntheticGraph } from "../model/synthetic.ts";
import { windowAnswer } from "../model/window.test-util.ts";
import { parseWindow } from "../model/window.ts";
import { columnRange, columnX, layoutLod, lodAt, weight } from "./lod.ts";
import { fit, screenX, type Viewport } from "./viewport.ts";

const screen: Viewport = { x0: 0, k: 1, y0: 0, width: 1370, height: 900, left: 170, top: 26 };
const g = syntheticGraph({ events: 20_000 });
const w = parseWindow(windowAnswer(g, { columns: 600 }));
const l = layoutLod(w);

test("a level of detail sits on the detailed diagram's lanes, columns spanning the window", () => {
  assert.equal(l.frame.lanes.lanes.length, g.threads.length);
  assert.equal(l.counts.filter((c) => c !== null).length, g.threads.length);
  assert.equal(columnX(l, 0), w.x0);
  assert.ok(Math.abs(columnX(l, l.columns) - (w.x1 + 1)) < 1e-6, "the last column ends one unit past x1");
  const sum = l.counts.reduce((n, c) => n + (c === null ? 0 : c.reduce((a, b) => a + b, 0)), 0);
  assert.equal(sum, g.events.length);
  assert.ok(l.arrowCount.length > 0 && l.maxArrow >= 1);
  assert.deepEqual(columnRange(l, w.x0, w.x1), [0, l.columns]);
  assert.deepEqual(columnRange(l, w.x1 + 1e12, w.x1 + 2e12), [l.columns, l.columns], "nothing beyond the window");
});

test("weights are logarithmic: a lone event shows beside thousands", () => {
  assert.equal(weight(0, 100), 0);
  assert.equal(weight(100, 100), 1);
  assert.ok(weight(1, 10_000) > 0.07);
});

test("lodAt finds the lane and the events under the pointer", () => {
  const v = fit(screen, w.x0, w.x1);
  const lane = l.frame.lanes.lanes[0];
  let found = 0;
  for (let sx = screenX(v, w.x0) + 3; sx < screenX(v, w.x1) - 3; sx += 3) {
    const hit = lodAt(l, v, sx, v.top + lane.y - v.y0);
    assert.ok(hit !== null);
    assert.equal(hit.lane, 0);
    found += hit.count;
  }
  assert.ok(found > 0);
  assert.equal(lodAt(l, v, v.left + 100, v.top + l.frame.lanes.height + 50), null, "below the lanes");
  assert.equal(lodAt(l, v, v.left + 1, v.top + lane.y - v.y0), null, "left of the window");
});
