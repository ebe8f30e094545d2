// Browser test of the run list on a store of thousands of runs: the real
// `bop serve` reads a store whose manifests, exploration and search
// records are written here in the store's own format (recording 3,000
// real runs would take an hour; what is under test is the list, not the
// tracer). Three sweeps of 12 reruns of `demo` are the newest runs, as
// after three `bop explore --sweep` of the demo; a search of 20 reruns and
// 3,000 older runs (every fifth a rerun) fill the rest.
//
// Checks: the first screen is grouped (the 36 sweep reruns are 3 rows), a
// group expands, the verdict / fault / text filters narrow the list, and
// the pager reaches the oldest run. The first paint and the time to load
// every run are printed, not asserted.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, openPage, screenshotPath, startServer, stopAll, tempDir } from "./harness.mjs";

const OLD = 3000;
const SEARCH = 20;
let store;
let server;
let browser;
let total = 0;

function manifest(id, started_ms, { parent = null, verdict = "pass", faults = [], trace_class = "0a1b2c3d4e5f6071" } = {}) {
  return {
    schema: 1,
    id,
    target: { type: "command", argv: ["kvd"], cwd: "/" },
    command: `scenario demo-kv.toml (${id})`,
    started_ms,
    ended_ms: started_ms + 40,
    status: "done",
    verdict,
    trace_class,
    parent,
    faults: faults.map((fault) => ({ fault, fired: true, effect: "fired", count: 1 })),
    counts: { events: 120, processes: 3, threads: 3 },
  };
}

function writeRun(m) {
  mkdirSync(path.join(store, m.id));
  writeFileSync(path.join(store, m.id, "manifest.json"), JSON.stringify(m));
  total += 1;
}

function writeRecord(kind, record) {
  mkdirSync(path.join(store, kind), { recursive: true });
  writeFileSync(path.join(store, kind, `${record.id}.json`), JSON.stringify(record));
}

before(async () => {
  store = tempDir("bop-e2e-runlist-");
  const t0 = Date.UTC(2026, 10, 1);
  for (let k = 0; k < OLD; k++) {
    const parent = k % 5 === 4 ? `old-${String(k - 1).padStart(4, "0")}` : null;
    const faults = parent ? [{ kind: "crash", process: "replica" }] : [];
    writeRun(manifest(`old-${String(k).padStart(4, "0")}`, t0 + k * 1000, { parent, faults, verdict: k % 7 === 0 ? "unknown" : "pass" }));
  }
  const t1 = t0 + OLD * 1000;
  writeRun(manifest("sbase", t1));
  for (let k = 0; k < SEARCH; k++) {
    writeRun(manifest(`sfind-${k}`, t1 + 10 + k, { parent: "sbase", faults: [{ kind: "delay", message: `client->primary#0/${k}`, ms: 50 }] }));
  }
  writeRecord("searches", {
    id: "sfind", base: "sbase", runs: SEARCH, bugs: [], started_ms: t1 + 10,
    params: { budget: SEARCH, faults: ["delay"], max_faults: 1, confirm: 3, parallel: 2, baselines: 0 },
  });
  const t2 = t1 + 100_000;
  writeRun(manifest("demo", t2));
  for (const [s, x] of ["xa", "xb", "xc"].entries()) {
    for (let k = 0; k < 12; k++) {
      const verdict = k === 4 ? "fail" : "pass";
      writeRun(manifest(`${x}-m${k}`, t2 + 1000 * (s + 1) + k, { parent: "demo", verdict, faults: [{ kind: "drop", message: `client->primary#0/${k}` }] }));
    }
    writeRecord("explorations", {
      id: x, kind: "sweep", base_verdict: "pass", started_ms: t2 + 1000 * (s + 1), ended_ms: t2 + 1000 * (s + 1) + 20, complete: true,
      classes: [], probes: [],
      params: { base: "demo", runs: 0, jitter_ms: null, seed: 0, sweep: { fault: "drop" }, channels: [], max_runs: 12, parallel: 2 },
    });
  }
  server = await startServer(store);
  browser = await launchBrowser();
});

after(() => stopAll(browser, server, store));

const rowsOf = (page) =>
  page.$$eval("#runs tbody tr", (trs) => trs.map((tr) => `${"  ".repeat(Number(tr.dataset.depth))}${tr.dataset.run ?? tr.dataset.group}`));
const data = (page) => page.$eval("#runs", (t) => ({ ...t.dataset }));

test("thousands of runs: grouped first screen, a group expands, filters narrow, the pager reaches the oldest run", async () => {
  const { page, errors } = await openPage(browser, server.url);
  const started = Date.now();
  await page.goto(server.url);
  await page.waitForSelector("body[data-rendered]", { timeout: 60_000 });
  const loadedMs = Date.now() - started;
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  const d = await data(page);
  assert.equal(Number(d.loaded), total, "every run fetched");
  console.log(`runlist e2e: ${total} runs; first paint ${d.firstPaintMs} ms after navigation, all loaded and drawn ${loadedMs} ms`);

  // Grouped: the 36 sweep reruns are three rows under demo, the search one row.
  const rows = await rowsOf(page);
  assert.deepEqual(rows.slice(0, 6), [
    "demo",
    "  group:exploration:xa",
    "  group:exploration:xb",
    "  group:exploration:xc",
    "sbase",
    "  group:search:sfind",
  ]);
  assert.ok(!rows.some((r) => /x[abc]-m|sfind-/.test(r)), "no group is open");
  assert.ok(rows.length < 120, `one page of rows, not ${total}: ${rows.length}`);
  assert.match(await page.textContent('tr[data-group="group:exploration:xb"]'), /exploration · 12 runs.*11 pass.*1 fail/s);

  // A group expands and collapses.
  await page.click('tr[data-group="group:exploration:xb"] button.toggle');
  const open = await rowsOf(page);
  assert.deepEqual(open.slice(2, 16), ["  group:exploration:xb", ...Array.from({ length: 12 }, (_, k) => `    xb-m${k}`), "  group:exploration:xc"]);
  await page.screenshot({ path: screenshotPath("run-list-thousands") });
  await page.click('tr[data-group="group:exploration:xb"] button.toggle');
  assert.equal((await rowsOf(page)).length, rows.length);

  // Filters narrow: verdict fail keeps the three sweeps (one failing run each) and their baseline.
  await page.selectOption("#filter-verdict", "fail");
  assert.deepEqual(await rowsOf(page), ["demo", "  group:exploration:xa", "  group:exploration:xb", "  group:exploration:xc"]);
  assert.match(await page.textContent('tr[data-group="group:exploration:xa"]'), /1 of 12 runs match/);
  await page.selectOption("#filter-verdict", "");
  await page.selectOption("#filter-fault", "delay");
  assert.deepEqual(await rowsOf(page), ["sbase", "  group:search:sfind"]);
  await page.selectOption("#filter-fault", "");
  await page.fill("#filter", "old-1234");
  assert.deepEqual(await rowsOf(page), ["old-1233", "  old-1234"]);
  await page.fill("#filter", "");

  // The pager reaches the oldest run.
  assert.equal((await data(page)).page, "1");
  await page.click("#page-last");
  const last = await data(page);
  assert.equal(last.page, last.pages);
  assert.ok(Number(last.pages) > 10, `thousands of runs take many pages: ${last.pages}`);
  const lastRows = await rowsOf(page);
  assert.equal(lastRows.at(-1), "old-0000");
  assert.match(await page.textContent("#page-label"), new RegExp(`Page ${last.pages} of ${last.pages} · ${total} of ${total} runs`));
  await page.click("#page-prev");
  assert.equal((await data(page)).page, String(Number(last.pages) - 1));
  assert.deepEqual(errors, []);
});
