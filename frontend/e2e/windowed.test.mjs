// Browser tests of the run page of a big run (ui/windowed.ts): a real TCP
// ping-pong recorded by the real `bop run` (over 50,000 events), served by
// the real `bop serve`, opened in the system Chromium. The page must ask
// for windows (`GET /api/runs/{id}/window`), never the whole graph; show
// the level of detail zoomed out; fetch and draw events zoomed in; fetch
// a new window when panned past what it holds and draw its events; select
// an event and plan a rerun from a message in a window. The comparison
// of two big runs is compare-big.test.mjs's.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { bop, launchBrowser, openPage, screenshotPath, startServer, stopAll, tempDir, guestBinary } from "./harness.mjs";

/** Round trips of the ping-pong: four events each (write, read on both sides). */
const ROUND_TRIPS = 13_000;

let store;
let server;
let browser;
let events;

before(async () => {
  const guest = guestBinary();
  store = tempDir("bop-e2e-big-");
  bop(["run", "--store", store, "--id", "big", "--quiet", "--", guest, "pingpong", String(ROUND_TRIPS)]);
  server = await startServer(store);
  const manifest = await (await fetch(`${server.url}api/runs/big`)).json();
  events = manifest.counts.events;
  assert.ok(events >= 50_000, `the ping-pong recorded ${events} events`);
  browser = await launchBrowser();
});

after(() => stopAll(browser, server, store));

/** Opens the big run's page; returns helpers and every API request it made. */
async function openBig() {
  const opened = await openPage(browser, server.url);
  const { page } = opened;
  const requests = [];
  page.on("request", (r) => {
    if (r.url().includes("/api/")) requests.push(new URL(r.url()));
  });
  await page.goto(`${server.url}runs/big`);
  await page.waitForSelector("body[data-rendered=true]", { timeout: 30_000 });
  const ds = () => page.evaluate(() => ({ ...document.querySelector("#diagram").dataset }));
  const mode = (m) => page.waitForSelector(`#diagram[data-window-mode=${m}]`, { timeout: 20_000 });
  /**
   * Waits until the window drawn reaches later in the run than `x1` (a
   * window fetched for the panned view, or one merged with it), in mode `m`.
   */
  const laterWindow = (x1, m) =>
    page.waitForFunction(
      ([x, wanted]) => {
        const d = document.querySelector("#diagram").dataset;
        return Number(d.windowX1) > Number(x) && d.windowMode === wanted;
      },
      [x1, m],
      { timeout: 20_000 },
    );
  return { ...opened, requests, ds, mode, laterWindow };
}

/** Presses + (1.5x each), letting each window arrive, until events are drawn. */
async function zoomUntilEvents(page, ds) {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press("+");
    await page.waitForTimeout(250);
    await page.waitForFunction(() => document.querySelector("#diagram").dataset.windowMode !== "loading");
    if ((await ds()).windowMode === "events") return i + 1;
  }
  throw new Error("30 zoom steps never reached single events");
}

const windows = (requests) => requests.filter((u) => u.pathname === "/api/runs/big/window");
const graphs = (requests) => requests.filter((u) => u.pathname === "/api/runs/big/graph");

test("a big run opens by window, drawn as event density when zoomed out", async () => {
  const { page, requests, ds, mode, errors, external } = await openBig();
  await mode("lod");
  const d = await ds();
  assert.equal(d.windowed, "true");
  assert.equal(Number(d.eventsTotal), events);
  assert.ok(Number(d.lodColumns) > 100, `${d.lodColumns} density bars drawn`);
  assert.ok(Number(d.drawnArrows) > 0, "bucketed arrows drawn");
  assert.equal(graphs(requests).length, 0, "the whole graph is never fetched");
  assert.ok(windows(requests).length >= 1);
  const first = windows(requests)[0];
  assert.equal(first.searchParams.get("scale"), "time");
  assert.ok(Number(first.searchParams.get("columns")) >= 1000, "about two columns per px");
  assert.match(await page.textContent("#status"), /zoom in to see them/);
  await page.screenshot({ path: screenshotPath("windowed-lod") });
  assert.deepEqual(errors, []);
  assert.deepEqual(external, []);
  await page.close();
});

test("zooming in fetches events; panning past them fetches the next window and draws its events; zooming out shows the density again", async () => {
  const { page, requests, ds, mode, laterWindow, errors } = await openBig();
  await mode("lod");
  // The logical layout (Lamport x): the ping-pong is evenly dense there,
  // while on real time a recording made under load has quiet stretches
  // longer than the pans below (a fresh-clone CI run at load 20 panned 30
  // times through one without meeting an event).
  await page.check("input[name=layout][value=logical]");
  await page.waitForSelector("#diagram[data-scale=logical]", { timeout: 20_000 });
  await mode("lod");
  await page.focus("#diagram");
  // Each + zooms 1.5x around the middle: 16 quick presses are ~650x (a
  // few hundred events in view); windows for the zooms passed on the way
  // are cancelled or never asked for.
  for (let i = 0; i < 16; i++) await page.keyboard.press("+");
  await mode("events");
  await page.waitForTimeout(500);
  const zoomed = await ds();
  assert.ok(Number(zoomed.drawnEvents) > 0, "events drawn");
  const before = new Set(await page.evaluate(() => window.bopDiagram.inView(1000)));
  assert.ok(before.size > 0);
  const fetched = windows(requests).length;
  // Drag the diagram left until the view is past the window in hand.
  const box = await page.locator("#canvas").boundingBox();
  const drag = async () => {
    await page.mouse.move(box.x + box.width - 20, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + 200, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
  };
  for (let i = 0; i < 60 && Number((await ds()).viewX0) <= Number(zoomed.windowX1); i++) await drag();
  assert.ok(Number((await ds()).viewX0) > Number(zoomed.windowX1), "panned past the window");
  await laterWindow(zoomed.windowX1, "events");
  assert.ok(windows(requests).length > fetched, "panning fetched a new window");
  // Pan on until events the first window did not hold are in view.
  let now = [];
  let fresh = [];
  for (let i = 0; i < 30; i++) {
    now = await page.evaluate(() => window.bopDiagram.inView(1000));
    fresh = now.filter((n) => !before.has(n));
    if (fresh.length > 0) break;
    await drag();
    await page.waitForTimeout(400);
  }
  assert.ok(fresh.length > 0, "events the first window did not show are drawn");
  const p = await page.evaluate((n) => window.bopDiagram.eventPoint(n), fresh[0]);
  assert.ok(p !== null && p.x >= box.x && p.x <= box.x + box.width, `${fresh[0]} is on screen`);
  // Select an event in the new window: its causal cone is drawn from the events in hand.
  await page.mouse.click(p.x, p.y);
  // The nearest mark is selected: fresh[0], or one drawn on the same pixel.
  const selected = await page.getAttribute("#diagram", "data-selected");
  assert.ok(now.includes(selected), `selected ${selected}, an event of the new window`);
  // The status line is written when the selection is painted, on the next frame.
  await page
    .waitForFunction(() => /within the loaded part of the run/.test(document.getElementById("status")?.textContent ?? ""), null, { timeout: 5_000 })
    .catch(() => {});
  assert.match(await page.textContent("#status"), /within the loaded part of the run/);
  await page.screenshot({ path: screenshotPath("windowed-events") });
  // Fit: the density again (from the cache: no new request needed for it).
  await page.keyboard.press("0");
  await mode("lod");
  assert.equal(graphs(requests).length, 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a message of a window opens the rerun panel with its logical name", async () => {
  const { page, ds, mode, errors } = await openBig();
  await mode("lod");
  await page.focus("#diagram");
  await zoomUntilEvents(page, ds);
  for (let i = 0; i < 6; i++) await page.keyboard.press("+");
  await page.waitForTimeout(300);
  // The middle of the ping-pong has quiet stretches: pan (half a view at a time) to messages.
  const box = await page.locator("#canvas").boundingBox();
  let inView = [];
  for (let i = 0; i < 40; i++) {
    inView = await page.evaluate(() => window.bopDiagram.messagesInView(1000));
    if (inView.length > 0) break;
    await page.mouse.move(box.x + box.width - 20, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    await page.waitForTimeout(300);
  }
  assert.ok(inView.length > 0, "a message is in view");
  const p = await page.evaluate((m) => window.bopDiagram.messagePoint(m), inView[0]);
  await page.mouse.click(p.x, p.y);
  await page.waitForSelector("#panel:not([hidden])");
  // The nearest arrow's message: inView[0], or one crossing the same point.
  const named = await page.textContent("#panel .message-name");
  assert.ok(inView.includes(named), `the panel names ${named}, a message of the window`);
  assert.match(named, /->.*#\d+\/r?\d+$/, "a logical message name");
  assert.deepEqual(errors, []);
  await page.close();
});
