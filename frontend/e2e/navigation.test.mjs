// Browser tests of the one pan/zoom/keys controller (ui/controller.ts) on
// both pages that draw diagrams: the run page of the real demo and its
// comparison with a real rerun that dropped a message. Every key of the
// key map (src/layout/keymap.ts, imported from the test build) is pressed
// on both pages and must move the viewport as its action says
// (src/layout/navigate.ts, the same pure functions the unit tests check)
// and the same way on both; the keyboard help must list exactly the
// table; the wheel and a drag must zoom and pan both. The viewport is
// read from `window.bopDiagram.viewport()` / `window.bopCompare.viewport()`
// and must agree with the controller's `data-view-*` hooks.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { bop, launchBrowser, openPage, screenshotPath, startServer, stopAll, tempDir } from "./harness.mjs";
import { bindingsFor } from "../build-tests/lib/keymap.mjs";
import { navigate, PAN_STEP, WHEEL_ZOOM_PX, ZOOM_STEP } from "../build-tests/lib/navigate.mjs";

const DROPPED = "client->primary#0/r1";
/** The two pages under test: where their viewport lives and which runs they draw. */
const PAGES = [
  { name: "run", path: "runs/demo", host: "#diagram", surfaces: ["#diagram"], hook: "bopDiagram", runs: ["demo"] },
  {
    name: "compare",
    path: "compare?a=demo&b=dropped",
    host: "#compare",
    surfaces: [".compare-pane[data-side=a] .diagram", ".compare-pane[data-side=b] .diagram"],
    hook: "bopCompare",
    runs: ["demo", "dropped"],
  },
];
/** The viewport actions of the key map; the page actions (d, Escape, ?) have their own tests. */
const NAV_ACTIONS = new Set(["zoom-in", "zoom-out", "pan-left", "pan-right", "pan-up", "pan-down", "fit"]);

let store;
let server;
let browser;

before(async () => {
  store = tempDir("bop-e2e-nav-");
  bop(["demo", "--store", store, "--id", "demo"]);
  bop(["rerun", "--store", store, "demo", "--id", "dropped", "--drop", DROPPED, "-q"], 1);
  server = await startServer(store);
  browser = await launchBrowser();
});

after(() => stopAll(browser, server, store));

const api = async (p) => (await fetch(`${server.url}api/${p}`)).json();

/**
 * Opens one of PAGES in a window short enough that the lanes overflow
 * (so vertical panning can be seen) and returns helpers on it.
 */
async function open(spec, height = 300) {
  const opened = await openPage(browser, server.url);
  const { page } = opened;
  await page.setViewportSize({ width: 1200, height });
  await page.goto(`${server.url}${spec.path}`);
  await page.waitForSelector("body[data-rendered]", { timeout: 20_000 });
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  // The extent the page navigates over, from the API: the world x range of
  // every event of its runs (real time) and the lanes' height.
  const graphs = await Promise.all(spec.runs.map((r) => api(`runs/${r}/graph`)));
  const events = graphs.flatMap((g) => g.events);
  const minX = Math.min(...events.map((e) => e.start_ns));
  const maxX = Math.max(...events.map((e) => e.end_ns ?? e.start_ns));
  const view = async () => {
    const [v, ds] = await page.evaluate(
      ([hook, host]) => [window[hook].viewport(), { ...document.querySelector(host).dataset }],
      [spec.hook, spec.host],
    );
    assert.deepEqual([Number(ds.viewX0), Number(ds.viewK), Number(ds.viewY0)], [v.x0, v.k, v.y0], "the data-view-* hooks follow the viewport");
    return v;
  };
  const extent = { minX, maxX, height: Number(await page.getAttribute(spec.host, "data-content-height")) };
  const blur = () => page.evaluate(() => document.activeElement?.blur());
  // The first diagram's canvas, scrolled into the short window for the pointer.
  const box = await page.$eval(`${spec.surfaces[0]} canvas`, (c) => {
    c.scrollIntoView({ block: "center" });
    return c.getBoundingClientRect().toJSON();
  });
  return { ...opened, view, extent, blur, box };
}

const close = (a, b, what) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} vs ${b}`);
const sameView = (actual, expected, what) => {
  for (const f of ["x0", "k", "y0"]) close(actual[f], expected[f], `${what}: ${f}`);
};
const maxY0 = (v, height) => Math.max(0, height - (v.height - v.top) + 8);

/** What each key did on each page, in the table's own terms, to compare the pages. */
const effects = { run: new Map(), compare: new Map() };

for (const spec of PAGES) {
  test(`${spec.name} page: every pan/zoom key of the table does what its action says`, async () => {
    const { page, errors, view, extent, blur } = await open(spec);
    const start = await view();
    assert.ok(maxY0(start, extent.height) > 0, `the lanes (${extent.height} px) overflow the ${start.height} px canvas, so vertical pans show`);
    await blur();
    await page.keyboard.press("0");
    const fitted = await view();
    // Fit, checked against the API's extent rather than the code under test.
    close(fitted.k, (fitted.width - fitted.left - 48) / (extent.maxX - extent.minX), "fit: k spans every event");
    close(fitted.x0, extent.minX - 24 / fitted.k, "fit: x0 is the first event with a margin");
    assert.equal(fitted.y0, 0);
    await page.keyboard.press("+"); // so that panning and zooming out start from a zoomed view
    for (const b of bindingsFor(spec.name).filter((x) => NAV_ACTIONS.has(x.action))) {
      for (const key of b.keys) {
        await blur();
        let before = await view();
        await page.keyboard.press(key);
        if (b.needsFocus) {
          sameView(await view(), before, `${key} without a focused diagram is the page's (it scrolls)`);
          await page.focus(spec.surfaces[spec.surfaces.length - 1]);
          if (b.action === "pan-up") await page.keyboard.press("ArrowDown"); // something to scroll back
          before = await view();
          await page.keyboard.press(key);
        }
        const after = await view();
        sameView(after, navigate(before, b.action, extent), `${spec.name} ${key} (${b.action})`);
        // In the plot's own terms, so that pages of different widths compare.
        const mid = (v) => v.x0 + ((v.left + v.width) / 2 - v.left) / v.k;
        const kRatio = Number((after.k / before.k).toPrecision(12));
        const dxPx = Number(((before.x0 - after.x0) * before.k).toPrecision(9));
        const effect = { kRatio, middleKept: Math.abs(mid(after) - mid(before)) * after.k < 1e-6, panPx: kRatio === 1 ? dxPx : null, dy: Math.sign(after.y0 - before.y0) };
        effects[spec.name].set(key, effect);
        // The action's meaning, said independently of navigate().
        if (b.action === "zoom-in") assert.deepEqual([kRatio, effect.middleKept], [ZOOM_STEP, true], key);
        if (b.action === "zoom-out") assert.deepEqual([kRatio, effect.middleKept], [Number((1 / ZOOM_STEP).toPrecision(12)), true], key);
        if (b.action === "pan-left") assert.equal(effect.panPx, PAN_STEP, key);
        if (b.action === "pan-right") assert.equal(effect.panPx, -PAN_STEP, key);
        if (b.action === "pan-down") assert.equal(after.y0, Math.min(before.y0 + PAN_STEP, maxY0(before, extent.height)), key);
        if (b.action === "pan-up") assert.equal(after.y0, Math.max(0, before.y0 - PAN_STEP), key);
        if (b.action === "fit") sameView(after, fitted, key);
      }
    }
    await page.screenshot({ path: screenshotPath(`keys-${spec.name}`) });
    assert.deepEqual(errors, []);
  });
}

test("the same keys do the same thing on the run page and the comparison", () => {
  assert.ok(effects.run.size > 0 && effects.compare.size > 0, "the key tests ran");
  const shared = [...effects.run.keys()].filter((k) => effects.compare.has(k));
  assert.deepEqual(shared.sort(), [...effects.run.keys()].sort(), "every pan/zoom key of the run page exists on the comparison");
  for (const key of shared) assert.deepEqual(effects.run.get(key), effects.compare.get(key), key);
});

for (const spec of PAGES) {
  test(`${spec.name} page: ? opens the keyboard help listing every key of the table; ? and Escape close it`, async () => {
    const { page, errors, view } = await open(spec);
    const bindings = bindingsFor(spec.name);
    assert.equal(await page.isVisible("#key-help"), false);
    await page.keyboard.press("?");
    await page.waitForSelector("#key-help[open]");
    assert.equal(await page.isVisible("#key-help"), true);
    const rows = await page.$$eval("#key-help tr[data-action]", (trs) =>
      trs.map((tr) => ({ action: tr.dataset.action, keys: [...tr.querySelectorAll("kbd")].map((k) => k.dataset.key), text: tr.textContent })),
    );
    assert.deepEqual(
      rows.map(({ action, keys }) => ({ action, keys })),
      bindings.map((b) => ({ action: b.action, keys: [...b.keys] })),
    );
    for (const [i, b] of bindings.entries()) assert.ok(rows[i].text.includes(b.description), `${b.action}: ${rows[i].text}`);
    await page.screenshot({ path: screenshotPath(`keys-help-${spec.name}`) });
    // While it is open, the other keys do nothing.
    const before = await view();
    await page.keyboard.press("+");
    sameView(await view(), before, "+ under the help");
    await page.keyboard.press("?");
    await page.waitForSelector("#key-help", { state: "hidden" });
    // The visible Keys control opens it too; Escape closes it.
    assert.match(await page.getAttribute("#keys", "title"), /\?/);
    await page.click("#keys");
    await page.waitForSelector("#key-help[open]");
    await page.keyboard.press("Escape");
    await page.waitForSelector("#key-help", { state: "hidden" });
    // The toolbar's titles come from the same table.
    for (const [id, action] of [
      ["zoom-in", "zoom-in"],
      ["fit", "fit"],
    ]) {
      const b = bindings.find((x) => x.action === action);
      assert.ok((await page.getAttribute(`#${id}`, "title")).startsWith(b.description), id);
    }
    assert.deepEqual(errors, []);
  });
}

for (const spec of PAGES) {
  test(`${spec.name} page: the wheel zooms around the pointer, Shift + wheel pans, a drag pans and is not a click`, async () => {
    const { page, errors, view, extent, box } = await open(spec);
    const sx = box.width * 0.6;
    const sy = box.height * 0.6;
    await page.mouse.move(box.left + sx, box.top + sy);
    const v0 = await view();
    const under = v0.x0 + (sx - v0.left) / v0.k;
    await page.mouse.wheel(0, -150);
    await page.waitForFunction(([host, k]) => Number(document.querySelector(host).dataset.viewK) !== k, [spec.host, v0.k]);
    const v1 = await view();
    close(v1.k / v0.k, Math.exp(150 / WHEEL_ZOOM_PX), "wheel up zooms in");
    close(v1.x0 + (sx - v1.left) / v1.k, under, "the world x under the pointer stays there");
    await page.mouse.wheel(0, 150);
    await page.waitForFunction(([host, k]) => Number(document.querySelector(host).dataset.viewK) !== k, [spec.host, v1.k]);
    close((await view()).k, v0.k, "wheel down zooms back out");

    await page.keyboard.down("Shift");
    const v2 = await view();
    await page.mouse.wheel(0, 100);
    await page.keyboard.up("Shift");
    await page.waitForFunction(([host, x0]) => Number(document.querySelector(host).dataset.viewX0) !== x0, [spec.host, v2.x0]);
    const v3 = await view();
    close(v3.k, v2.k, "Shift + wheel does not zoom");
    close((v3.x0 - v2.x0) * v2.k, 100, "Shift + wheel pans in time");

    // A drag left and up shows later events and lower lanes; the selection stays.
    const selection = () => page.$eval(spec.host, (el) => [el.dataset.selected, el.dataset.selectedA, el.dataset.selectedB]);
    const selected = await selection();
    await page.evaluate(() => document.activeElement?.blur());
    const [dx, dy] = [-150, -20];
    await page.mouse.move(box.left + sx, box.top + sy);
    await page.mouse.down();
    await page.mouse.move(box.left + sx + dx, box.top + sy + dy, { steps: 10 });
    await page.mouse.up();
    const v4 = await view();
    close((v4.x0 - v3.x0) * v3.k, -dx, "the content follows the pointer");
    assert.equal(v4.y0, Math.min(v3.y0 - dy, maxY0(v3, extent.height)), "and vertically");
    assert.deepEqual(await selection(), selected, "a drag is not a click");
    if (spec.name === "run") assert.equal(await page.isHidden("#panel"), true, "no rerun panel after a drag");
    // The press focused the diagram: the arrows pan now.
    assert.ok(await page.evaluate((sel) => document.querySelector(sel).contains(document.activeElement), spec.surfaces[0]));
    await page.keyboard.press("ArrowLeft");
    close(((await view()).x0 - v4.x0) * v4.k, -PAN_STEP, "ArrowLeft after the drag");
    assert.deepEqual(errors, []);
  });
}

test("Escape clears the selection on both pages; d zooms to the first divergence on the comparison only", async () => {
  const cmp = await api("compare?a=demo&b=dropped");
  assert.ok(cmp.first_divergence?.a, JSON.stringify(cmp.first_divergence));
  const run = await open(PAGES[0], 900);
  const name = "client:t0/0:start";
  const p = await run.page.evaluate((n) => window.bopDiagram.eventPoint(n), name);
  await run.page.mouse.click(p.x, p.y);
  await run.page.waitForSelector(`#diagram[data-selected='${name}']`);
  await run.page.keyboard.press("Escape");
  await run.page.waitForSelector("#diagram[data-selected='']");
  const before = await run.view();
  await run.page.keyboard.press("d");
  sameView(await run.view(), before, "d is not a key of the run page");

  const c = await open(PAGES[1], 900);
  await c.page.keyboard.press("0");
  const fitted = await c.view();
  await c.page.keyboard.press("Escape");
  await c.page.waitForSelector("#compare[data-selected-a='']");
  await c.page.keyboard.press("d");
  await c.page.waitForSelector(`#compare[data-selected-a='${cmp.first_divergence.a}']`);
  const zoomed = await c.view();
  close(zoomed.k, ((zoomed.width - zoomed.left) * 10) / (c.extent.maxX - c.extent.minX), "a tenth of the runs fills the plot");
  assert.ok(zoomed.k > fitted.k);
  const at = await c.page.evaluate((n) => window.bopCompare.eventPoint("a", n), cmp.first_divergence.a);
  close(at.x - c.box.left, (zoomed.left + zoomed.width) / 2, "the divergence is in the middle");
  await c.page.keyboard.press("Escape");
  await c.page.waitForSelector("#compare[data-selected-a='']");
  assert.deepEqual([...run.errors, ...c.errors], []);
});
