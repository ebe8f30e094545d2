import assert from "node:assert/strict";
import { test } from "node:test";
import { clampY, fit, pan, screenX, ticks, type Viewport, visibleX, worldX, zoomAt } from "./viewport.ts";

const base: Viewport = { x0: 0, k: 1, y0: 0, width: 1170, height: 400, left: 170, top: 26 };

test("fit shows the whole range with margins", () => {
  const v = fit(base, 1000, 2000, 0);
  assert.equal(screenX(v, 1000), 170);
  assert.equal(screenX(v, 2000), 1170);
  const [a, b] = visibleX(fit(base, 1000, 2000));
  assert.ok(a < 1000 && b > 2000);
});

test("zoom keeps the point under the cursor in place", () => {
  const v = fit(base, 0, 1e9);
  for (const factor of [2, 0.5, 10]) {
    const before = worldX(v, 600);
    const z = zoomAt(v, 600, factor);
    assert.ok(Math.abs(worldX(z, 600) - before) < 1e-3);
    assert.ok(Math.abs(z.k / v.k - factor) < 1e-9);
  }
});

test("pan moves content with the pointer and clamps y", () => {
  const v = pan(fit(base, 0, 100), 50, -30, 1000);
  assert.ok(Math.abs(screenX(v, worldX(fit(base, 0, 100), 300)) - 350) < 1e-9);
  assert.equal(v.y0, 30);
  assert.equal(pan(v, 0, 500, 1000).y0, 0);
  assert.equal(clampY({ ...v, y0: 1e6 }, 1000).y0, 1000 - (400 - 26) + 8);
  assert.equal(clampY({ ...v, y0: 50 }, 100).y0, 0, "content shorter than the view does not scroll");
});

test("ticks are round numbers", () => {
  assert.deepEqual(ticks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(ticks(3, 9, 3, true), [4, 6, 8]);
  assert.deepEqual(ticks(5, 5, 3), []);
  assert.ok(ticks(0, 1e9, 8).every((t) => t % 1e8 === 0));
});
