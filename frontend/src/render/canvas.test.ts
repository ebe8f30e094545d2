import assert from "node:assert/strict";
import { test } from "node:test";
import { causalCone, indexGraph } from "../model/graph.ts";
import { eventId, smallGraph } from "../model/fixture.test-util.ts";
import { layoutDiagram } from "../layout/diagram.ts";
import { fit, type Viewport } from "../layout/viewport.ts";
import { diffFlags } from "../model/compare.ts";
import { draw, drawOverlay, NO_HIGHLIGHT } from "./canvas.ts";
import { recordingContext } from "./fake-context.ts";
import { THEME } from "./theme.ts";

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

test("comparison frames: differences drawn over dimmed matches; overlay draws both runs on one frame", () => {
  const g = smallGraph();
  const l = layoutDiagram(indexGraph(g), "logical");
  const v = fit(screen, l.minX, l.maxX);
  const flags = diffFlags(g, { events: new Set(), messages: new Set(["client->primary#0/r0"]), divergence: "primary:t0/7:write" });
  const ctx = recordingContext();
  const one = draw(ctx, l, v, { ...NO_HIGHLIGHT, diff: flags, tint: "#e36209" });
  assert.equal(one.arrows, 11, "dimmed or not, every arrow is drawn");
  assert.equal(one.events, g.events.length, "with a diff every mark is drawn");
  const both = drawOverlay(recordingContext(), l, l, v, { ...NO_HIGHLIGHT, diff: flags }, { ...NO_HIGHLIGHT, diff: flags });
  assert.equal(both.arrows, 22);
  assert.equal(both.events, 2 * g.events.length);
  assert.equal(both.lanes, 5);
});

test("the arrows of faulted messages get a wide mark in the injected colour", () => {
  const g = smallGraph();
  const l = layoutDiagram(indexGraph(g), "logical");
  const v = fit(screen, l.minX, l.maxX);
  const strokes = (faulted: Uint8Array | null): number => {
    const ctx = recordingContext();
    let marks = 0;
    ctx.stroke = () => {
      if (ctx.strokeStyle === THEME.injected && ctx.lineWidth === 6) marks++;
    };
    draw(ctx, l, v, { ...NO_HIGHLIGHT, faulted });
    return marks;
  };
  assert.equal(strokes(null), 0);
  assert.equal(strokes(new Uint8Array(g.messages.length)), 0, "nothing faulted, nothing marked");
  const one = new Uint8Array(g.messages.length);
  one[g.messages.findIndex((m) => m.id === "client->primary#0/0")] = 1;
  assert.equal(strokes(one), 1);
});
