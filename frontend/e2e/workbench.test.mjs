// Browser end-to-end tests of the workbench: the real `bop serve` on a
// store of runs the real `bop` recorded (`bop demo`, `bop run`), a real
// rerun with a fault injected by the real tracer, driven through the
// system Chromium. Each step waits for an explicit flag
// (`body[data-rendered]`, panel `data-state`) rather than for time to
// pass. Screenshots go to tests/artifacts/ (gitignored). The tests run in
// order and share the server: the rerun test adds a run the later run-list
// test expects.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { artifacts, launchBrowser, makeStore, openPage, rendered, repo, screenshotPath, startServer, stopAll } from "./harness.mjs";
import { syntheticGraph } from "../build-tests/lib/synthetic.mjs";

const fixture = readFileSync(path.join(repo, "frontend/fixtures/small-graph.json"), "utf8");
const DROPPED = "client->primary#0/r1";
let store;
let server;
let browser;
/** The rerun made by the drop test, for the tests after it. */
let rerunId;

before(async () => {
  store = makeStore();
  server = await startServer(store);
  browser = await launchBrowser();
});

after(() => stopAll(browser, server, store));

const api = async (p) => (await fetch(`${server.url}api/${p}`)).json();
const rowsOf = (page) => page.$$eval("#runs tbody tr", (trs) => trs.map((tr) => [tr.dataset.run, tr.dataset.depth]));

test("the run list shows the recorded runs and filters", async () => {
  const { page, external, errors } = await openPage(browser, server.url);
  await page.goto(server.url);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  assert.deepEqual(await rowsOf(page), [
    ["echo", "0"],
    ["demo", "0"],
  ]);
  assert.match(await page.textContent("tr[data-run=demo]"), /scenario demo-kv\.toml.*done.*pass/s);
  assert.match(await page.textContent("tr[data-run=echo]"), /echo hi \| cat.*done.*pass/s);
  await page.fill("#filter", "scenario");
  assert.deepEqual(await rowsOf(page), [["demo", "0"]]);
  await page.fill("#filter", "");
  await page.screenshot({ path: screenshotPath("run-list") });
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
});

test("the demo run draws the graph the server computes; hovering an event shows its syscall", async () => {
  const { page, errors } = await openPage(browser, server.url);
  const graph = await api("runs/demo/graph");
  await page.goto(`${server.url}runs/demo`);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  const d = await page.$eval("#diagram", (el) => ({ ...el.dataset }));
  const lost = graph.messages.filter((m) => m.lost || m.recvs.length === 0).length;
  const deliveries = graph.messages.reduce((n, m) => n + m.recvs.length, 0);
  const others = graph.edges.filter((e) => e.kind !== "message").length;
  assert.ok(graph.threads.length >= 3, `primary, replica and client threads: ${graph.threads.length}`);
  assert.ok(graph.messages.length > 0 && others > 0, "the demo has messages and connect/spawn edges");
  assert.equal(Number(d.lanes), graph.threads.length);
  assert.equal(Number(d.events), graph.events.length);
  assert.equal(Number(d.messages), graph.messages.length);
  assert.equal(Number(d.arrows), deliveries + lost + others);
  assert.ok(Number(d.arrows) > 0);
  assert.equal(Number(d.injected), 0, "nothing injected in a plain run");
  assert.equal(Number(d.faulted), 0, "no faulted message in a plain run");
  assert.equal(await page.isHidden("#faults"), true, "no fault list for a run without faults");
  await page.screenshot({ path: screenshotPath("run-demo") });

  // Hover a message send whose mark stands apart from its lane's neighbours.
  const target = await page.evaluate((events) => {
    const hooks = window.bopDiagram;
    for (const e of events) {
      if (!["sendto", "write", "recvfrom", "read"].includes(e.call) || e.channel === null) continue;
      const p = hooks.eventPoint(e.name);
      const near = events.filter((o) => o.thread === e.thread && o.id !== e.id).map((o) => hooks.eventPoint(o.name));
      if (p && near.every((q) => Math.abs(q.x - p.x) > 10)) return { name: e.name, call: e.call, channel: e.channel, ...p };
    }
    return null;
  }, graph.events);
  assert.ok(target, "an event far enough from its neighbours to hover");
  await page.mouse.move(target.x, target.y);
  await page.waitForSelector("#tooltip:not([hidden])");
  const tip = await page.textContent("#tooltip");
  for (const s of [target.name, "syscall", target.call, target.channel, "lamport"]) assert.ok(tip.includes(s), `tooltip lacks ${s}: ${tip}`);
  await page.screenshot({ path: screenshotPath("run-demo-tooltip") });
  assert.deepEqual(errors, []);
});

test(`clicking ${DROPPED} and choosing drop reruns the demo: done, verdict fail, the fault fired`, async () => {
  const { page, external, errors } = await openPage(browser, server.url);
  await page.goto(`${server.url}runs/demo`);
  await rendered(page);
  const arrow = await page.evaluate((id) => window.bopDiagram.messagePoint(id), DROPPED);
  assert.ok(arrow, `the demo has a ${DROPPED} arrow`);
  await page.mouse.move(arrow.x, arrow.y);
  await page.waitForSelector("#tooltip:not([hidden])");
  assert.match(await page.textContent("#tooltip"), new RegExp(`message${DROPPED.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  await page.mouse.click(arrow.x, arrow.y);
  await page.waitForSelector("#panel:not([hidden])");
  assert.equal(await page.getAttribute("#panel", "data-message"), DROPPED);
  await page.check("#panel input[value=drop]");
  await page.click("#panel button[type=submit]");
  await page.waitForSelector("#panel[data-state=done], #panel[data-state=failed], #panel[data-state=error]", { timeout: 90_000 });
  await page.screenshot({ path: screenshotPath("rerun-panel-done") });
  const state = await page.getAttribute("#panel", "data-state");
  assert.equal(state, "done", await page.textContent("#panel"));
  rerunId = await page.getAttribute("#panel", "data-rerun");
  assert.equal(await page.getAttribute("#panel", "data-verdict"), "fail");
  assert.match(await page.textContent("#panel .rerun-status"), /finished: verdict\s*fail/);
  assert.equal(await page.getAttribute("#panel a.compare-runs", "href"), `/compare?a=demo&b=${rerunId}`);
  const status = await api(`reruns/${rerunId}`);
  assert.deepEqual(status.plan, { faults: [{ kind: "drop", message: DROPPED }] });

  // "open" goes to the new run: its verdict, its parent, its fired fault.
  await page.click("#panel a.open-run");
  await page.waitForURL(`**/runs/${rerunId}`);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  assert.match(await page.textContent("#run-meta"), /fail.*rerun of demo.*1 of 1 fault fired/s);
  assert.equal(await page.getAttribute("#faults", "data-fired"), "1");
  await page.screenshot({ path: screenshotPath("rerun-page") });
  const fault = await page.textContent("#faults li[data-fired=fired]");
  assert.match(fault, new RegExp(`fired\\s*drop ${DROPPED.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} at primary:t\\d+/\\d+:\\w+ · \\w+ at \\d+ ms`));
  const d = await page.$eval("#diagram", (el) => ({ ...el.dataset }));
  assert.ok(Number(d.injected) >= 1, `an injected event is flagged: ${JSON.stringify(d)}`);
  assert.ok(Number(d.lost) >= 1, "the dropped message is drawn as lost");
  assert.ok(d.faultedMessages.split(" ").includes(DROPPED), `the dropped message is marked faulted: ${JSON.stringify(d)}`);
  const graph = await api(`runs/${rerunId}/graph`);
  const dropped = graph.messages.find((m) => m.id === DROPPED);
  assert.ok(dropped?.lost && dropped.recvs.length === 0, JSON.stringify(dropped));
  assert.match(graph.events[dropped.send].injected, /^drop/);
  // Its × is where the diagram says, and the fault's event button selects the send.
  const cross = await page.evaluate((id) => window.bopDiagram.messagePoint(id), DROPPED);
  assert.ok(cross, "the dropped message has a lost ×");
  await page.click("#faults .event-link");
  await page.waitForSelector(`#diagram[data-selected='${graph.events[dropped.send].name}']`);
  await page.mouse.move(cross.x, cross.y);
  await page.waitForSelector("#tooltip:not([hidden])");
  assert.match(await page.textContent("#tooltip"), /droppedby the fault injector/);
  await page.screenshot({ path: screenshotPath("rerun-page-selected") });
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
});

test("the run list shows the rerun under its parent", async () => {
  assert.ok(rerunId, "the rerun test ran");
  const { page, errors } = await openPage(browser, server.url);
  await page.goto(server.url);
  await rendered(page);
  assert.deepEqual(await rowsOf(page), [
    ["echo", "0"],
    ["demo", "0"],
    [rerunId, "1"],
  ]);
  assert.match(await page.textContent(`tr[data-run='${rerunId}']`), /fail.*1\/1 fired.*compare/s);
  assert.equal(await page.getAttribute(`tr[data-run='${rerunId}'] a[href^='/compare']`, "href"), `/compare?a=demo&b=${rerunId}`);
  await page.screenshot({ path: screenshotPath("run-list-rerun") });
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
  assert.equal(await page.isHidden("#diagram"), true);
  assert.equal(await page.isHidden(".controls"), true, "no diagram controls without a diagram");
  assert.equal(await page.getAttribute("#status a", "href"), "/");
  await page.screenshot({ path: screenshotPath("run-missing") });
  assert.deepEqual(errors, []);
});

test("the contract fixture: tooltip facts, causal cone, logical layout, fault list, rerun panel", async () => {
  const { page, external, errors } = await openPage(browser, server.url);
  // The graph answer is replaced by the hand-written contract fixture (the
  // same one the unit tests use), shown as the demo run's page.
  await page.route("**/api/runs/demo/graph", (route) => route.fulfill({ status: 200, contentType: "application/json", body: fixture }));
  await page.goto(`${server.url}runs/demo`);
  await rendered(page);
  const d = await page.$eval("#diagram", (el) => ({ ...el.dataset }));
  assert.deepEqual([d.lanes, d.arrows, d.events, d.injected, d.lost], ["5", "11", "31", "1", "1"]);
  assert.deepEqual(await page.$$eval("#faults li", (lis) => lis.map((li) => li.dataset.fired)), ["fired", "not-fired"]);
  assert.match(await page.textContent("#faults li[data-fired=not-fired]"), /did not fire.*did not occur in the parent run/s);
  await page.screenshot({ path: screenshotPath("fixture-time") });

  const read = await page.evaluate(() => window.bopDiagram.eventPoint("client:t0/3:read"));
  await page.mouse.move(read.x, read.y);
  await page.waitForSelector("#tooltip:not([hidden])");
  const tip = await page.textContent("#tooltip");
  for (const s of ["client:t0/3:read", "syscall", "read", "client->primary#0", "bytes", "8", "OK x = 1", "lamport"]) assert.ok(tip.includes(s), `tooltip lacks ${s}: ${tip}`);

  await page.mouse.click(read.x, read.y);
  await page.waitForSelector("#diagram[data-selected='client:t0/3:read']");
  await page.screenshot({ path: screenshotPath("fixture-selected") });

  await page.check("input[name=layout][value=logical]");
  await page.waitForSelector("#diagram[data-scale=logical]");
  await page.keyboard.press("Escape");
  await page.screenshot({ path: screenshotPath("fixture-logical") });

  const reply = await page.evaluate(() => window.bopDiagram.messagePoint("client->primary#0/r0"));
  await page.mouse.move(reply.x, reply.y);
  await page.mouse.click(reply.x, reply.y);
  await page.waitForSelector("#panel[data-message='client->primary#0/r0']");
  await page.keyboard.press("Escape");
  await page.waitForSelector("#panel", { state: "hidden" });
  const lost = await page.evaluate(() => window.bopDiagram.messagePoint("client->primary#0/1"));
  await page.mouse.click(lost.x, lost.y);
  await page.waitForSelector("#panel[data-message='client->primary#0/1']");
  await page.screenshot({ path: screenshotPath("fixture-panel") });
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
});

test("100,000 events: frame times in a real browser", async (t) => {
  const { page, errors } = await openPage(browser, server.url);
  const big = JSON.stringify(syntheticGraph({ events: 100_000 }));
  await page.route("**/api/runs/demo/graph", (route) => route.fulfill({ status: 200, contentType: "application/json", body: big }));
  const t0 = Date.now();
  await page.goto(`${server.url}runs/demo`);
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
  // The arrows pan only while the diagram has focus (layout/keymap.ts);
  // each press must move the view, or the frame timed is a stale one.
  await page.focus("#diagram");
  const pans = [];
  for (let i = 0; i < 8; i++) {
    const x0 = await page.getAttribute("#diagram", "data-view-x0");
    await page.keyboard.press("ArrowRight");
    assert.notEqual(await page.getAttribute("#diagram", "data-view-x0"), x0, "ArrowRight pans");
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
