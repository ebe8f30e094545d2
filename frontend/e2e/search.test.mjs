// Browser end-to-end test of searches: the real `bop serve` on a store
// holding `bop demo`, driven through the system Chromium. The run page's
// "Search for bugs" starts a real `bop search` (child process, real
// ptrace and faults); its page shows the progress bar moving and the stale
// read appearing, with links to the failing run and its comparison.
// Expectations come from the API the same server answers.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { bop, launchBrowser, openPage, rendered, screenshotPath, startServer, stopAll, tempDir } from "./harness.mjs";

let store;
let server;
let browser;

before(async () => {
  store = tempDir("bop-e2e-search-");
  bop(["demo", "--store", store, "--id", "demo"]);
  server = await startServer(store);
  browser = await launchBrowser();
});

after(() => stopAll(browser, server, store));

const api = async (p) => (await fetch(`${server.url}api/${p}`)).json();

test("a search started from the run page shows progress and finds the stale read", async () => {
  const { page, errors } = await openPage(browser, server.url);
  await page.goto(`${server.url}runs/demo`);
  await rendered(page);
  await page.click("#search-control summary");
  await page.fill("#search-budget", "12");
  await page.fill("#search-max-faults", "1");
  await page.fill("#search-confirm", "2");
  await page.fill("#search-baselines", "2");
  for (const kind of ["crash", "partition", "error"]) await page.uncheck(`#search-kinds input[value="${kind}"]`);
  await page.click("#search-start");
  await page.waitForURL("**/searches/*", { timeout: 10_000 });
  const id = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
  await rendered(page);
  // Progress while it runs: some reruns done, the bar partly filled.
  await page.waitForSelector('#search-progress[data-state="running"]', { timeout: 60_000 });
  await page.waitForFunction(() => Number(document.querySelector("#search-progress")?.dataset.runsDone) > 0, null, { timeout: 120_000 });
  const width = await page.$eval("#search-bar", (el) => el.style.width);
  assert.match(width, /^\d+(\.\d)?%$/);
  await page.screenshot({ path: screenshotPath("search-running") });
  // A bug appears, with its plan, flip rate and links.
  await page.waitForSelector(".bug", { timeout: 240_000 });
  await page.waitForSelector('#search-progress:not([data-state="running"]):not([data-state="queued"])', { timeout: 240_000 });
  const s = await api(`searches/${id}`);
  assert.equal(s.state, "done", JSON.stringify(s));
  const stale = s.bugs.find((b) => b.check.includes("read-your-writes"));
  assert.ok(stale, `no stale read among ${JSON.stringify(s.bugs)}`);
  // The form's confirmation and baseline counts reached the search.
  assert.equal(stale.confirmed.of, 2, JSON.stringify(stale));
  assert.equal(s.baselines.length, 2, JSON.stringify(s.baselines));
  assert.equal(await page.getAttribute("#search-bugs", "data-bugs"), String(s.bugs.length));
  const card = page.locator(`.bug[data-run="${stale.run}"]`);
  assert.match(await card.innerText(), /read-your-writes/);
  assert.match(await card.innerText(), /reruns failed/);
  assert.equal(await card.locator(".bug-run").getAttribute("href"), `/runs/${encodeURIComponent(stale.run)}`);
  assert.equal(await card.locator(".bug-compare").getAttribute("href"), `/compare?a=demo&b=${encodeURIComponent(stale.run)}`);
  assert.equal(await page.$eval("#search-bar", (el) => el.style.width), "100%");
  await page.screenshot({ path: screenshotPath("search-done") });
  // The failing run's diagram, reached from the bug, marks the plan's
  // faulted messages (issue 14).
  await card.locator(".bug-run").click();
  await page.waitForURL(`**/runs/${encodeURIComponent(stale.run)}`, { timeout: 10_000 });
  await rendered(page);
  const graph = await api(`runs/${encodeURIComponent(stale.run)}/graph`);
  const planned = stale.plan.faults.filter((f) => f.message !== undefined).map((f) => f.message);
  assert.ok(planned.length > 0, JSON.stringify(stale.plan));
  // A message held until the run ended never became one in the graph:
  // then its send is the injected event flagged instead.
  const occurred = planned.filter((m) => graph.messages.some((x) => x.id === m));
  const marked = (await page.getAttribute("#diagram", "data-faulted-messages")).split(" ").filter(Boolean);
  for (const m of occurred) assert.ok(marked.includes(m), `${m} not marked: ${marked}`);
  assert.equal(Number(await page.getAttribute("#diagram", "data-faulted")), marked.length);
  const flagged = Number(await page.getAttribute("#diagram", "data-injected"));
  assert.ok(marked.length + flagged > 0, `nothing faulted shown for ${JSON.stringify(stale.plan)}`);
  if (occurred.length === 0) assert.ok(flagged > 0, `the held send is flagged: ${JSON.stringify(planned)}`);
  assert.ok(await page.isVisible(".legend .faulted"));
  await page.screenshot({ path: screenshotPath("search-bug-run") });
  // The list shows it.
  await page.goto(`${server.url}searches`);
  await rendered(page);
  assert.equal(await page.getAttribute("#searches", "data-rows"), "1");
  assert.deepEqual(await page.$$eval("#searches tbody tr", (trs) => trs.map((tr) => tr.dataset.search)), [id]);
  assert.deepEqual(errors, []);
});

test("a bad budget is refused on the run page and starts nothing", async () => {
  const before = (await api("searches")).searches.length;
  const { page, errors } = await openPage(browser, server.url);
  await page.goto(`${server.url}runs/demo`);
  await rendered(page);
  await page.click("#search-control summary");
  await page.fill("#search-budget", "1001");
  await page.evaluate(() => document.getElementById("search-form").setAttribute("novalidate", ""));
  await page.click("#search-start");
  await page.waitForSelector("#search-error:not([hidden])");
  assert.match(await page.innerText("#search-error"), /budget/);
  assert.equal((await api("searches")).searches.length, before);
  assert.deepEqual(errors, []);
});
