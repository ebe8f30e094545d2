// Browser end-to-end tests of the exploration and comparison pages: the
// real `bop serve` on a store the real `bop` recorded (`bop demo`, two
// `bop explore` runs, and `bop rerun --drop 'client->primary#0/r1'`),
// driven through the system Chromium. Expectations come from the API the
// same server answers, never from constants that could drift from it.
// Screenshots go to tests/artifacts/.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { bop, launchBrowser, openPage, rendered, repo, screenshotPath, startServer, stopAll, tempDir } from "./harness.mjs";

const DROPPED = "client->primary#0/r1";
const fixture = readFileSync(path.join(repo, "frontend/fixtures/compare-demo.json"), "utf8");
let store;
let server;
let browser;

before(async () => {
  store = tempDir("bop-e2e-explore-");
  bop(["demo", "--store", store, "--id", "demo"]);
  bop(["explore", "--store", store, "demo", "--id", "cls", "--runs", "8", "--jitter", "30"]);
  bop(["explore", "--store", store, "demo", "--id", "sw", "--sweep", "drop"]);
  // The rerun fails the check (double increment): exit status 1.
  bop(["rerun", "--store", store, "demo", "--id", "dropped", "--drop", DROPPED, "-q"], 1);
  server = await startServer(store);
  browser = await launchBrowser();
});

after(() => stopAll(browser, server, store));

const api = async (p) => (await fetch(`${server.url}api/${p}`)).json();

test("the run list links the explorations; the list shows both", async () => {
  const { page, errors } = await openPage(browser, server.url);
  await page.goto(server.url);
  await rendered(page);
  await page.click("#explorations-link");
  await page.waitForURL("**/explorations");
  await rendered(page);
  assert.equal(await page.getAttribute("#explorations", "data-rows"), "2");
  assert.deepEqual(await page.$$eval("#explorations tbody tr", (trs) => trs.map((tr) => tr.dataset.exploration)), ["sw", "cls"]);
  await page.screenshot({ path: screenshotPath("explorations") });
  assert.deepEqual(errors, []);
});

test("a class exploration: one bar per class, a click opens the representative run, two picked classes compare", async () => {
  const x = await api("explorations/cls");
  const { page, external, errors } = await openPage(browser, server.url);
  await page.goto(`${server.url}explorations/cls`);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  assert.equal(Number(await page.getAttribute("#histogram", "data-classes")), x.classes.length);
  const rows = await page.$$eval(".class-row", (rs) => rs.map((r) => [r.dataset.class, r.dataset.representative, Number(r.dataset.count)]));
  assert.deepEqual(
    rows,
    x.classes.map((c) => [c.class, c.representative, c.count]),
  );
  // Verdict segments add up to each class's runs.
  for (const c of x.classes) {
    const titles = await page.$$eval(`.class-row[data-class='${c.class}'] .segment`, (ss) => ss.map((s) => s.getAttribute("title")));
    assert.equal(titles.map((t) => Number(t.split(" ")[0])).reduce((a, b) => a + b, 0), c.count, titles.join(", "));
  }
  // The distinguishing lines of each class other than the most common.
  for (const c of x.classes.slice(1)) {
    const only = await page.$$eval(`.class-row[data-class='${c.class}'] .only-here code`, (cs) => cs.map((e) => e.textContent));
    const missing = await page.$$eval(`.class-row[data-class='${c.class}'] .missing-here code`, (cs) => cs.map((e) => e.textContent));
    assert.deepEqual([only, missing], [c.only_here, c.missing_here]);
  }
  await page.screenshot({ path: screenshotPath("exploration-classes"), fullPage: true });
  if (x.classes.length >= 2) {
    const boxes = await page.$$(".class-row input[type=checkbox]");
    await boxes[0].check();
    assert.equal(await page.isDisabled("#compare-classes"), true, "one class is not a pair");
    await boxes[1].check();
    await page.click("#compare-classes");
    await page.waitForURL(`**/compare?a=${x.classes[0].representative}&b=${x.classes[1].representative}`);
    await rendered(page);
    assert.equal(await page.getAttribute("body", "data-rendered"), "true");
    await page.goBack();
    await rendered(page);
  }
  const target = x.classes[x.classes.length - 1];
  await page.click(`.class-row[data-class='${target.class}'] a.bar`);
  await page.waitForURL(`**/runs/${target.representative}`);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
});

test("a sweep: one cell per probe coloured by outcome; a click opens its rerun", async () => {
  const x = await api("explorations/sw");
  const { page, errors } = await openPage(browser, server.url);
  await page.goto(`${server.url}explorations/sw`);
  await rendered(page);
  assert.equal(Number(await page.getAttribute("#sweep", "data-probes")), x.probes.length);
  const cells = await page.$$eval(".probe-cell", (cs) => cs.map((c) => [c.dataset.message, c.dataset.outcome, c.dataset.run]));
  assert.equal(cells.length, x.probes.length);
  const outcome = (p) => (p.run === null ? "not-run" : !p.fired ? "not-fired" : p.flipped ? "flips" : "keeps");
  assert.deepEqual(
    cells.sort(),
    x.probes.map((p) => [p.message, outcome(p), p.run ?? ""]).sort(),
  );
  const probe = x.probes.find((p) => p.message === DROPPED);
  assert.ok(probe?.flipped, `dropping ${DROPPED} flips the verdict: ${JSON.stringify(probe)}`);
  const color = await page.$eval(`.probe-cell[data-message='${DROPPED}']`, (c) => getComputedStyle(c).backgroundColor);
  assert.equal(color, "rgb(207, 34, 46)", "flips are red");
  await page.screenshot({ path: screenshotPath("exploration-sweep"), fullPage: true });
  await page.click(`.probe-cell[data-message='${DROPPED}']`);
  await page.waitForURL(`**/runs/${probe.run}`);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  assert.deepEqual(errors, []);
});

test(`comparing the demo with its rerun that dropped ${DROPPED}: highlighted, first divergence marked`, async () => {
  const cmp = await api("compare?a=demo&b=dropped");
  assert.equal(cmp.first_divergence?.kind, "changed", JSON.stringify(cmp.first_divergence));
  const { page, external, errors } = await openPage(browser, server.url);
  // Reached from the rerun's page: "compare with parent".
  await page.goto(`${server.url}runs/dropped`);
  await rendered(page);
  await page.click("a.compare-parent");
  await page.waitForURL("**/compare?a=demo&b=dropped");
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  const d = await page.$eval("#compare", (el) => ({ ...el.dataset }));
  const expected =
    cmp.messages.changed.length +
    cmp.messages.only_a.length +
    cmp.messages.only_b.length +
    cmp.events.reduce((n, t) => n + t.changed.length + t.moved.length + t.removed.length + t.inserted.length, 0);
  assert.equal(Number(d.differences), expected);
  assert.equal(d.firstDivergence, cmp.first_divergence.a);
  assert.match(d.firstDivergence, /^primary:t\d+\/\d+:(sendto|write)$/);
  assert.ok(d.messagesA.split("|").includes(DROPPED), d.messagesA);
  assert.ok(d.messagesB.split("|").includes(DROPPED), d.messagesB);
  assert.equal(d.mode, "side");
  // Both sides have the same lanes: every thread of either run.
  const [ga, gb] = [await api("runs/demo/graph"), await api("runs/dropped/graph")];
  assert.equal(Number(d.lanes), new Set([...ga.threads, ...gb.threads].map((t) => t.name)).size);
  // The divergence is on screen, at the same height on both sides.
  const pa = await page.evaluate((n) => window.bopCompare.eventPoint("a", n), d.firstDivergence);
  const pb = await page.evaluate((n) => window.bopCompare.eventPoint("b", n), cmp.first_divergence.b);
  assert.ok(pa && pb);
  assert.equal(pa.y, pb.y);
  const boxes = await page.$$eval(".compare-pane canvas", (cs) => cs.map((c) => c.getBoundingClientRect().toJSON()));
  assert.ok(pa.x > boxes[0].left && pa.x < boxes[0].right && pa.y > boxes[0].top && pa.y < boxes[0].bottom, "A's divergence is in view");
  assert.match(await page.textContent("#compare-summary"), /First divergence:.*client->primary#0\/r1 was dropped in B/s);
  assert.match(await page.textContent("#differences li[data-kind=message-changed]"), /client->primary#0\/r1.*dropped in B/s);
  await page.screenshot({ path: screenshotPath("compare-side"), fullPage: true });

  // Hovering the dropped message in B says what differs.
  const lost = await page.evaluate((id) => window.bopCompare.messagePoint("b", id), DROPPED);
  await page.mouse.move(lost.x, lost.y);
  await page.waitForSelector("#tooltip:not([hidden])");
  assert.match(await page.textContent("#tooltip"), /dropped in B/);

  // Zoom is shared: a wheel over A zooms B too.
  const before = await page.evaluate(() => window.bopCompare.viewport());
  await page.mouse.move(boxes[0].left + boxes[0].width / 2, boxes[0].top + 80);
  await page.mouse.wheel(0, -300);
  await page.waitForFunction((k) => Number(document.getElementById("compare").dataset.viewK) > k, before.k);
  // What the shared viewport promises: one world x is at one pane x on
  // both sides. In real time an event's x is when it returned (ns since
  // its run started), so the same event sits at a different pane x in
  // each run, each exactly where the one viewport puts its own time.
  const v = await page.evaluate(() => window.bopCompare.viewport());
  const paneX = async (side, name) => {
    const q = await page.evaluate(([s, n]) => window.bopCompare.eventPoint(s, n), [side, name]);
    return q.x - boxes[side === "a" ? 0 : 1].left;
  };
  for (const [side, g] of [
    ["a", ga],
    ["b", gb],
  ]) {
    const e = g.events.find((x) => x.name === "client:t0/0:start");
    const expected = v.left + ((e.end_ns ?? e.start_ns) - v.x0) * v.k;
    const x = await paneX(side, e.name);
    assert.ok(Math.abs(x - expected) < 0.01, `${side}: ${e.name} returned at ${e.end_ns} ns, drawn at pane x ${x}; the shared viewport puts that time at ${expected}`);
  }
  // In logical time the runs agree on the Lamport clocks before the
  // divergence: those events are at the very same pane x on both sides.
  await page.check("input[name=layout][value=logical]");
  await page.waitForSelector("#compare[data-scale=logical]");
  const lamportB = new Map(gb.events.map((e) => [e.name, e.lamport]));
  const agreed = ga.events.filter((e) => e.thread.startsWith("client") && lamportB.get(e.name) === e.lamport).slice(0, 3);
  assert.ok(agreed.length > 0, "the client starts the same way in both runs");
  for (const e of agreed) {
    const [xa, xb] = [await paneX("a", e.name), await paneX("b", e.name)];
    assert.ok(Math.abs(xa - xb) < 1e-6, `${e.name} at Lamport ${e.lamport} in both runs, drawn at pane x ${xa} in A, ${xb} in B`);
  }
  await page.check("input[name=layout][value=time]");
  await page.waitForSelector("#compare[data-scale=time]");

  // A difference in the list focuses it on both sides.
  await page.click("#differences li[data-kind=message-changed] button");
  await page.waitForSelector(`#compare[data-selected-a='${ga.events[ga.messages.find((m) => m.id === DROPPED).send].name}']`);

  // Overlaid mode: one canvas, the same counts.
  await page.check("input[name=mode][value=overlay]");
  await page.waitForSelector("#compare[data-mode=overlay]");
  assert.equal(await page.isHidden(".compare-pane[data-side=b]"), true);
  assert.equal(await page.getAttribute("#compare", "data-differences"), d.differences);
  await page.click("#to-divergence");
  await page.waitForTimeout(100);
  await page.screenshot({ path: screenshotPath("compare-overlay"), fullPage: true });
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
});

test("the comparison page against the recorded fixture (bop diff --json)", async () => {
  const cmp = JSON.parse(fixture);
  const { page, errors } = await openPage(browser, server.url);
  await page.route("**/api/compare?*", (route) => route.fulfill({ status: 200, contentType: "application/json", body: fixture }));
  await page.goto(`${server.url}compare?a=demo&b=dropped`);
  await rendered(page);
  assert.equal(await page.getAttribute("#compare", "data-first-divergence"), cmp.first_divergence.a);
  assert.ok((await page.getAttribute("#compare", "data-messages-b")).split("|").includes(DROPPED));
  assert.deepEqual(errors, []);
});

test("the run page's 'compare with…' picker and the compare page's own picker", async () => {
  const { page, errors } = await openPage(browser, server.url);
  await page.goto(`${server.url}runs/demo`);
  await rendered(page);
  assert.equal(await page.isVisible("a.compare-parent"), false, "the demo has no parent");
  await page.waitForSelector("#compare-with option[value=dropped]", { state: "attached" });
  await page.selectOption("#compare-with", "dropped");
  await page.waitForURL("**/compare?a=demo&b=dropped");
  await rendered(page);
  await page.goto(`${server.url}compare`);
  await rendered(page);
  assert.equal(await page.isVisible("#compare-picker"), true);
  await page.selectOption("#compare-picker select[name=a]", "demo");
  await page.selectOption("#compare-picker select[name=b]", "sw-m0");
  await page.click("#compare-picker button[type=submit]");
  await page.waitForURL("**/compare?a=demo&b=sw-m0");
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  assert.deepEqual(errors, []);
});

test("a missing run or exploration shows the server's explanation", async () => {
  const { page, errors } = await openPage(browser, server.url);
  await page.goto(`${server.url}compare?a=demo&b=nope`);
  await rendered(page);
  assert.equal(await page.getAttribute("body", "data-rendered"), "error");
  assert.match(await page.textContent("#status"), /no run 'nope' in this store/);
  const res = await page.goto(`${server.url}explorations/nope`);
  assert.equal(res.status(), 404);
  await rendered(page);
  assert.match(await page.textContent("#status"), /no exploration 'nope' in this store/);
  assert.deepEqual(errors, []);
});
