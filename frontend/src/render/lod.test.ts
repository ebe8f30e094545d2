import assert from "node:assert/strict";
import { test } from "node:test";
import { syntheticGraph } from "../model/synthetic.ts";
import { windowAnswer } from "../model/window.test-util.ts";
import { parseWindow } from "../model/window.ts";
import { layoutLod, lodAt } from "../layout/lod.ts";
import { fit, type Viewport, zoomAt } from "../layout/viewport.ts";
import { recordingContext } from "./fake-context.ts";
import { drawLod } from "./lod.ts";

const screen: Viewport = { x0: 0, k: 1, y0: 0, width: 1370, height: 900, left: 170, top: 26 };

test("a level-of-detail frame: labels, at most one density bar per px per lane, bucketed arrows", () => {
  const g = syntheticGraph({ events: 50_000 });
  const w = parseWindow(windowAnswer(g, { columns: 4000 }));
  const l = layoutLod(w);
  const v = fit(screen, w.x0, w.x1);
  const ctx = recordingContext();
  const stats = drawLod(ctx, l, v);
  for (const t of g.threads.slice(0, 3)) assert.ok(ctx.texts.includes(t.name), t.name);
  assert.ok(stats.columns > 100, `${stats.columns} bars`);
  assert.ok(stats.columns <= g.threads.length * (v.width - v.left + 2), "folded to screen px");
  assert.ok(stats.arrows > 0 && stats.arrows <= l.arrowCount.length);
  const zoomed = drawLod(ctx, l, zoomAt(v, 700, 50), lodAt(l, v, 700, 26 + l.frame.lanes.lanes[0].y));
  assert.ok(zoomed.columns < stats.columns, "zoomed in, only the columns in view");
});
