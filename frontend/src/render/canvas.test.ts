import assert from "node:assert/strict";
import { test } from "node:test";
import { causalCone, indexGraph } from "../model/graph.ts";
import { eventId, smallGraph } from "../model/fixture.test-util.ts";
import { layoutDiagram } from "../layout/diagram.ts";
import { fit, type Viewport } from "../layout/viewport.ts";
import { draw, NO_HIGHLIGHT } from "./canvas.ts";
import { recordingContext } from "./fake-context.ts";

const screen: Viewport = { x0: 0, k: 1, y0: 0, width: 1370, height: 600, left: 170, top: 26 };

test("a frame draws every event, arrow and label of the fixture", () => {
  const g = smallGraph();
  const idx = indexGraph(g);
  const l = layoutDiagram(idx, "logical");
  const ctx = recordingContext();
  const stats = draw(ctx, l, fit(screen, l.minX, l.maxX), NO_HIGHLIGHT);
  assert.equal(stats.arrows, 11);
  assert.ok(stats.events >= 28, `${stats.events} marks`);
  assert.equal(stats.lanes, 5);
  for (const label of ["client:t0", "primary:t1", "replica", "primary/sh#0"]) assert.ok(ctx.texts.includes(label), label);
  const selected = eventId(g, "client:t0/3:read");
  const again = draw(ctx, l, fit(screen, l.minX, l.maxX), { ...NO_HIGHLIGHT, selected, cone: causalCone(idx, selected) });
  assert.equal(again.events, g.events.length, "with a selection every mark is drawn in its cone colour");
});
