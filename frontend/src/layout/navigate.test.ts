import assert from "node:assert/strict";
import { test } from "node:test";
import { applyWheel, type Extent, navigate, PAN_STEP, plotCenter, reveal, viewWindow, wheelGesture, ZOOM_STEP, zoomToSpan } from "./navigate.ts";
import { fit, screenX, type Viewport, worldX } from "./viewport.ts";

const base: Viewport = { x0: 0, k: 1, y0: 0, width: 1170, height: 400, left: 170, top: 26 };
const extent: Extent = { minX: 0, maxX: 1e6, height: 1000 };
const fitted = fit(base, extent.minX, extent.maxX);
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} vs ${b}`);
const noWheel = { deltaX: 0, deltaY: 0, deltaMode: 0, shiftKey: false, altKey: false };

test("zoom steps keep the middle of the plot in place and undo each other", () => {
  const mid = worldX(fitted, plotCenter(fitted));
  const zin = navigate(fitted, "zoom-in", extent);
  near(zin.k, fitted.k * ZOOM_STEP, "k");
  near(worldX(zin, plotCenter(zin)), mid, "middle");
  const back = navigate(zin, "zoom-out", extent);
  near(back.k, fitted.k, "k back");
  near(back.x0, fitted.x0, "x0 back");
});

test("pan steps move the content by PAN_STEP px; vertical ones stop at the content's edges", () => {
  const right = navigate(fitted, "pan-right", extent);
  near(screenX(right, worldX(fitted, 600)), 600 - PAN_STEP, "later events come in from the right");
  near(navigate(right, "pan-left", extent).x0, fitted.x0, "left undoes right");
  const down = navigate(fitted, "pan-down", extent);
  assert.equal(down.y0, PAN_STEP);
  assert.equal(navigate(fitted, "pan-up", extent).y0, 0, "cannot scroll above the first lane");
  let v = fitted;
  for (let i = 0; i < 50; i++) v = navigate(v, "pan-down", extent);
  assert.equal(v.y0, extent.height - (base.height - base.top) + 8, "nor below the last");
  assert.equal(navigate(fitted, "pan-down", { ...extent, height: 100 }).y0, 0, "short content does not scroll");
});

test("fit shows the extent again from anywhere", () => {
  let v = fitted;
  for (const a of ["zoom-in", "zoom-in", "pan-right", "pan-down"] as const) v = navigate(v, a, extent);
  assert.deepEqual(navigate(v, "fit", extent), fitted);
});

test("wheel: vertical zooms (up is in), horizontal or Shift pans in time, Alt scrolls the lanes", () => {
  assert.deepEqual(wheelGesture({ ...noWheel, deltaY: -300 }), { kind: "zoom", factor: Math.E });
  assert.deepEqual(wheelGesture({ ...noWheel, deltaY: 300 }), { kind: "zoom", factor: 1 / Math.E });
  assert.deepEqual(wheelGesture({ ...noWheel, deltaX: 40, deltaY: 5 }), { kind: "pan", dx: -40, dy: 0 });
  assert.deepEqual(wheelGesture({ ...noWheel, deltaY: 30, shiftKey: true }), { kind: "pan", dx: -30, dy: 0 });
  assert.deepEqual(wheelGesture({ ...noWheel, deltaY: 30, altKey: true }), { kind: "pan", dx: 0, dy: -30 });
  assert.deepEqual(wheelGesture({ ...noWheel, deltaY: -3, deltaMode: 1 }), wheelGesture({ ...noWheel, deltaY: -60 }), "lines are 20 px");
});

test("a wheel zoom keeps the world x under the pointer in place", () => {
  const at = worldX(fitted, 400);
  const z = applyWheel(fitted, { ...noWheel, deltaY: -150 }, 400, extent);
  near(worldX(z, 400), at, "anchor");
  near(z.k, fitted.k * Math.exp(0.5), "k");
});

test("reveal leaves an axis alone when the point is in view, centres it otherwise", () => {
  const inView = worldX(fitted, 600);
  assert.deepEqual(reveal(fitted, inView, 100, extent.height), fitted);
  const far = extent.maxX * 3;
  const r = reveal(fitted, far, 100, extent.height);
  near(screenX(r, far), plotCenter(r), "x centred");
  assert.equal(r.y0, 0, "y was in view");
  const low = reveal(fitted, inView, 900, extent.height);
  assert.equal(low.x0, fitted.x0);
  assert.equal(low.y0, Math.min(900 - (base.height - base.top) / 2, extent.height - (base.height - base.top) + 8));
  const c = reveal(fitted, inView, 100, extent.height, { center: true });
  near(screenX(c, inView), plotCenter(c), "centre on request");
});

test("zoomToSpan and the window in view", () => {
  const z = zoomToSpan(fitted, 1000);
  near(worldX(z, z.width) - worldX(z, z.left), 1000, "span fills the plot");
  const w = viewWindow({ ...z, y0: 50 });
  near(w.x[0], z.x0, "window x0");
  near(w.x[1] - w.x[0], 1000, "window span");
  assert.deepEqual(w.y, [50, 50 + base.height - base.top]);
});
