// Browser test of the comparison of two big runs (ui/comparewin.ts): two
// real TCP ping-pongs of different lengths recorded by the real `bop run`
// (over 20,000 events each: B has 150 more round trips, so the runs
// diverge where A ends), served by the real `bop serve`, opened in the
// system Chromium. The page must draw both runs from windows, never
// fetching a whole graph or the whole comparison; ring the first
// divergence in both panes, centred; mark the differences in view; and
// fetch new windows of both runs when panned and zoomed (one viewport;
// on the logical layout, whose x does not depend on the recording's
// timing).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { bop, launchBrowser, openPage, startServer, stopAll, tempDir, guestBinary } from "./harness.mjs";

/** Round trips of A and B: four events each. */
const ROUNDS_A = 5_300;
const ROUNDS_B = 5_450;

let store;
let server;
let browser;

before(async () => {
  const guest = guestBinary();
  store = tempDir("bop-e2e-cmpbig-");
  for (const [id, n] of [
    ["ppa", ROUNDS_A],
    ["ppb", ROUNDS_B],
  ]) {
    bop(["run", "--store", store, "--id", id, "--quiet", "--", guest, "pingpong", String(n)]);
  }
  server = await startServer(store);
  for (const id of ["ppa", "ppb"]) {
    const m = await (await fetch(`${server.url}api/runs/${id}`)).json();
    assert.ok(m.counts.events > 20_000, `${id} recorded ${m.counts.events} events`);
  }
  browser = await launchBrowser();
});

after(() => stopAll(browser, server, store));

/** Polls `ok` until it holds (true) or 15 s pass (false). */
async function until(ok) {
  for (let i = 0; i < 150; i++) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return ok();
}

async function openCompare() {
  const opened = await openPage(browser, server.url);
  const { page } = opened;
  const requests = [];
  page.on("request", (r) => {
    if (r.url().includes("/api/")) requests.push(new URL(r.url()));
  });
  await page.goto(`${server.url}compare?a=ppa&b=ppb`);
  await page.waitForSelector("#compare[data-windowed=true][data-divergence-ms]", { timeout: 60_000 });
  const ds = () => page.evaluate(() => ({ ...document.querySelector("#compare").dataset }));
  const windows = (id) => requests.filter((u) => u.pathname === `/api/runs/${id}/window`).length;
  return { ...opened, requests, ds, windows };
}

test("two big runs are compared from windows: the divergence is ringed, centred, and the differences marked", async () => {
  const { page, requests, ds, errors } = await openCompare();
  const d = await ds();
  const summary = await (await fetch(`${server.url}api/compare/summary?a=ppa&b=ppb`)).json();
  const fd = summary.first_divergence;
  assert.ok(fd !== null, "B's extra rounds diverge");
  assert.equal(d.firstDivergence, fd.a ?? fd.b);
  assert.equal(Number(d.differences), summary.differences.marks);
  assert.ok(summary.differences.marks > 0, "the runs differ");
  await page.waitForFunction(() => document.querySelector("#compare").dataset.divergenceDrawn === "a b", null, { timeout: 20_000 });
  // Centred: the ring is in the middle third of each pane.
  for (const side of ["a", "b"]) {
    const p = await page.evaluate((s) => window.bopCompare.divergencePoint(s), side);
    const box = await page.locator(`.compare-pane[data-side=${side}] canvas`).boundingBox();
    assert.ok(p !== null && p.x > box.x + box.width / 3 && p.x < box.x + (2 * box.width) / 3, `${side}: the ring at ${JSON.stringify(p)} is centred in ${JSON.stringify(box)}`);
    assert.ok(p.y > box.y && p.y < box.y + box.height, `${side}: the ring is inside the pane`);
  }
  // The marks of the differences in view: B's extra rounds.
  await page.waitForFunction(() => Number(document.querySelector("#compare").dataset.marksDrawnB) > 0, null, { timeout: 20_000 });
  assert.ok((await page.textContent("#compare-summary")).includes("First divergence"));
  await page.waitForSelector("#differences li[data-kind]", { timeout: 20_000 });
  const paths = requests.map((u) => u.pathname);
  assert.ok(!paths.some((p) => p.endsWith("/graph")), `no whole graph: ${paths}`);
  assert.ok(!paths.includes("/api/compare"), "no whole comparison");
  assert.ok(paths.includes("/api/compare/summary") && paths.includes("/api/compare/marks"));
  assert.deepEqual(errors, []);
  await page.close();
});

test("zooming and panning moves both panes and fetches windows of both runs", async () => {
  const { page, ds, windows, errors } = await openCompare();
  const bothEvents = async () => {
    try {
      await page.waitForFunction(
        () => {
          const d = document.querySelector("#compare").dataset;
          return d.windowModeA === "events" && d.windowModeB === "events";
        },
        null,
        { timeout: 20_000 },
      );
    } catch (e) {
      throw new Error(`both panes never drew events: ${JSON.stringify(await ds())}`, { cause: e });
    }
  };
  await page.waitForFunction(() => document.querySelector("#compare").dataset.divergenceDrawn === "a b", null, { timeout: 20_000 });
  // The logical layout: Lamport clocks, the same in both runs up to A's
  // end whatever the timing of the recording, so what is drawn where is
  // the same on every run of this test. Both runs are fetched anew.
  const timed = { a: windows("ppa"), b: windows("ppb") };
  await page.check("input[name=layout][value=logical]");
  assert.ok(await until(() => windows("ppa") > timed.a && windows("ppb") > timed.b), `the logical layout fetched windows of both runs: ${JSON.stringify(timed)} → ${windows("ppa")}, ${windows("ppb")}`);
  // Zoom in (1.5x a press, on the middle of the runs) to single events of both.
  await page.focus(".compare-pane[data-side=a] .diagram");
  const fitted = { a: windows("ppa"), b: windows("ppb") };
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press("+");
    await page.waitForTimeout(200);
    const d = await ds();
    if (d.windowModeA === "events" && d.windowModeB === "events") break;
  }
  await bothEvents();
  assert.ok(windows("ppa") > fitted.a && windows("ppb") > fitted.b, `zooming in fetched windows of both runs: ${JSON.stringify(fitted)} → ${windows("ppa")}, ${windows("ppb")}`);
  // Pan to earlier events (drag on B's pane), past what the zoom fetched
  // (a detailed window serves every zoom inside it, and the coarser
  // levels' windows span many views): both panes move, both fetch.
  const x0 = (await ds()).viewX0;
  const zoomed = { a: windows("ppa"), b: windows("ppb") };
  const box = await page.locator(".compare-pane[data-side=b] canvas").boundingBox();
  for (let i = 0; i < 30; i++) {
    await page.mouse.move(box.x + 80, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 10, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    await page.waitForTimeout(100);
  }
  assert.ok(Number((await ds()).viewX0) < Number(x0), "the view moved to earlier events");
  assert.ok(await until(() => windows("ppa") > zoomed.a && windows("ppb") > zoomed.b), `panning fetched windows of both runs: ${JSON.stringify(zoomed)} → ${windows("ppa")}, ${windows("ppb")}`);
  await bothEvents();
  assert.deepEqual(errors, []);
  await page.close();
});
