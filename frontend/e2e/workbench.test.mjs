// Browser end-to-end tests of the workbench against a real server. Each
// step waits for an explicit flag (`body[data-rendered]`, panel
// `data-state`) rather than for time to pass. Screenshots go to
// tests/artifacts/ (gitignored).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { artifacts, cleanup, launchBrowser, makeStore, openPage, repo, screenshotPath, startServer } from "./harness.mjs";
import { syntheticGraph } from "../build-tests/lib/synthetic.mjs";

const fixture = readFileSync(path.join(repo, "frontend/fixtures/small-graph.json"), "utf8");
let store;
let server;
let browser;

before(async () => {
  store = makeStore();
  server = await startServer(store);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (store) cleanup(store);
});

const rendered = (page) => page.waitForSelector("body[data-rendered]", { timeout: 15_000 });

test("the run list shows runs, verdicts and the rerun tree, and filters", async () => {
  const { page, external, errors } = await openPage(browser, server.url);
  await page.goto(server.url);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  const rows = await page.$$eval("#runs tbody tr", (trs) => trs.map((tr) => [tr.dataset.run, tr.dataset.depth]));
  assert.deepEqual(rows, [["echo-2", "0"], ["kv-1", "0"], ["kv-1-drop", "1"]]);
  assert.match(await page.textContent("tr[data-run=kv-1-drop]"), /fail.*77aa00ff12.*1\/1 fired/s);
  await page.fill("#filter", "zebra");
  assert.deepEqual(await page.$$eval("#runs tbody tr", (trs) => trs.map((tr) => tr.dataset.run)), ["echo-2"]);
  await page.fill("#filter", "fail");
  assert.deepEqual(await page.$$eval("#runs tbody tr", (trs) => trs.map((tr) => tr.dataset.run)), ["kv-1", "kv-1-drop"]);
  await page.fill("#filter", "");
  await page.screenshot({ path: screenshotPath("run-list") });
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
});

test("a recorded run draws the graph the server computes", async (t) => {
  const { page, errors } = await openPage(browser, server.url);
  const graph = await (await fetch(`${server.url}api/runs/kv-1/graph`)).json();
  await page.goto(`${server.url}runs/kv-1`);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  const d = await page.$eval("#diagram", (el) => ({ ...el.dataset }));
  const lost = graph.messages.filter((m) => m.lost || m.recvs.length === 0).length;
  const deliveries = graph.messages.reduce((n, m) => n + m.recvs.length, 0);
  const others = graph.edges.filter((e) => e.kind !== "message").length;
  assert.equal(Number(d.lanes), graph.threads.length);
  assert.equal(Number(d.events), graph.events.length);
  assert.equal(Number(d.arrows), deliveries + lost + others);
  if (graph.events.length === 0) {
    t.diagnostic("graph_json is still the tracker stub: the recorded run has no events to draw yet");
    assert.match(await page.textContent("#status"), /recorded no events/);
  } else {
    assert.ok(Number(d.lanes) >= 2, "client and primary lanes");
  }
  await page.screenshot({ path: screenshotPath("run-recorded") });
  assert.deepEqual(errors, []);
});

test("the contract fixture: lanes, arrows, tooltip, causal cone, rerun panel", async () => {
  const { page, external, errors } = await openPage(browser, server.url);
  // The graph answer is replaced by the hand-written contract fixture (the
  // same one the unit tests use); everything else, including the rerun
  // POST and its polling, goes to the real server.
  await page.route("**/api/runs/kv-1/graph", (route) => route.fulfill({ status: 200, contentType: "application/json", body: fixture }));
  await page.goto(`${server.url}runs/kv-1`);
  await rendered(page);
  const d = await page.$eval("#diagram", (el) => ({ ...el.dataset }));
  assert.deepEqual([d.lanes, d.arrows, d.events], ["5", "11", "31"]);
  await page.screenshot({ path: screenshotPath("run-fixture-time") });

  // Hover an event: the tooltip shows its facts.
  const read = await page.evaluate(() => window.bopDiagram.eventPoint("client:t0/3:read"));
  await page.mouse.move(read.x, read.y);
  await page.waitForSelector("#tooltip:not([hidden])");
  const tip = await page.textContent("#tooltip");
  for (const s of ["client:t0/3:read", "syscall", "read", "client->primary#0", "bytes", "8", "OK x = 1", "lamport"]) assert.ok(tip.includes(s), `tooltip lacks ${s}: ${tip}`);
  await page.screenshot({ path: screenshotPath("run-fixture-tooltip") });

  // Click it: its causal past and future are highlighted.
  await page.mouse.click(read.x, read.y);
  await page.waitForSelector("#diagram[data-selected='client:t0/3:read']");
  await page.screenshot({ path: screenshotPath("run-fixture-selected") });

  // Logical layout.
  await page.check("input[name=layout][value=logical]");
  await page.waitForSelector("#diagram[data-scale=logical]");
  await page.keyboard.press("Escape");
  await page.screenshot({ path: screenshotPath("run-fixture-logical") });

  // Click the reply's arrow: the rerun panel opens for that message.
  const arrow = await page.evaluate(() => window.bopDiagram.messagePoint("primary->client#0/0"));
  await page.mouse.move(arrow.x, arrow.y);
  await page.mouse.click(arrow.x, arrow.y);
  await page.waitForSelector("#panel:not([hidden])");
  assert.equal(await page.getAttribute("#panel", "data-message"), "primary->client#0/0");
  await page.check("#panel input[value=drop]");
  await page.click("#panel button[type=submit]");
  // `bop rerun` is not wired yet, so the real child fails and the panel says why.
  await page.waitForSelector("#panel[data-state=failed], #panel[data-state=done]", { timeout: 30_000 });
  const state = await page.getAttribute("#panel", "data-state");
  const text = await page.textContent("#panel .rerun-status");
  await page.screenshot({ path: screenshotPath("run-fixture-rerun") });
  assert.ok(state === "done" || /failed: .*bop rerun/.test(text), `${state}: ${text}`);
  const rerunId = await page.getAttribute("#panel", "data-rerun");
  const status = await (await fetch(`${server.url}api/reruns/${rerunId}`)).json();
  assert.deepEqual(status.plan, { faults: [{ kind: "drop", message: "primary->client#0/0" }] });

  // The lost message's × opens the panel too.
  const lost = await page.evaluate(() => window.bopDiagram.messagePoint("client->primary#0/1"));
  await page.mouse.click(lost.x, lost.y);
  await page.waitForSelector("#panel[data-message='client->primary#0/1']");
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
});

test("a missing run shows the server's explanation", async () => {
  const { page, errors } = await openPage(browser, server.url);
  const res = await page.goto(`${server.url}runs/no-such-run`);
  assert.equal(res.status(), 404);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "error");
  assert.equal(await page.getAttribute("#status", "data-state"), "error");
  assert.match(await page.textContent("#status"), /Cannot show run no-such-run: no run 'no-such-run' in this store/);
  await page.screenshot({ path: screenshotPath("run-missing") });
  assert.deepEqual(errors, []);
});

test("100,000 events: frame times in a real browser", async (t) => {
  const { page, errors } = await openPage(browser, server.url);
  const big = JSON.stringify(syntheticGraph({ events: 100_000 }));
  await page.route("**/api/runs/kv-1/graph", (route) => route.fulfill({ status: 200, contentType: "application/json", body: big }));
  const t0 = Date.now();
  await page.goto(`${server.url}runs/kv-1`);
  await rendered(page);
  const load = Date.now() - t0;
  const frame = async () => Number(await page.getAttribute("#diagram", "data-render-ms"));
  const fitMs = await frame();
  const box = await page.$eval("#canvas", (c) => c.getBoundingClientRect().toJSON());
  const zoomed = [];
  await page.mouse.move(box.x + box.width / 2, box.y + 100);
  for (let i = 0; i < 8; i++) {
    await page.mouse.wheel(0, -300);
    await page.waitForTimeout(50);
    zoomed.push(await frame());
  }
  const pans = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press("ArrowRight");
    await page.waitForTimeout(50);
    pans.push(await frame());
  }
  await page.screenshot({ path: screenshotPath("run-100k") });
  const result = { events: 100_000, load_to_first_frame_ms: load, fit_frame_ms: fitMs, zoomed_frame_ms: zoomed, pan_frame_ms: pans };
  writeFileSync(path.join(artifacts, "perf-100k.json"), JSON.stringify(result, null, 2));
  t.diagnostic(JSON.stringify(result));
  assert.equal(await page.getAttribute("#diagram", "data-events"), "100000");
  assert.deepEqual(errors, []);
});
