// Browser test of the comparison page of two big runs while their
// comparison is computed and once it is kept (issue 16 item 3): two real
// TCP ping-pongs recorded by the real `bop run` (over 20,000 events each,
// B longer, so they diverge where A ends), the real `bop serve`, the
// system Chromium. The first frame must not wait for the comparison: with
// every summary request held back in the browser, both panes are drawn
// from windows; released, the divergence is ringed in both, centred. Then
// a second server on the same store: the summary kept next to run A is
// served from disk (`x-bop-compare: disk`) in answer to the request the
// page makes alongside its first windows, and the page never asks for it
// to be computed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { bop, launchBrowser, openPage, startServer, stopAll, tempDir, guestBinary } from "./harness.mjs";

let store;
let server;
let browser;

before(async () => {
  const guest = guestBinary();
  store = tempDir("bop-e2e-cmpkept-");
  for (const [id, n] of [
    ["ka", 5_300],
    ["kb", 5_400],
  ]) {
    bop(["run", "--store", store, "--id", id, "--quiet", "--", guest, "pingpong", String(n)]);
  }
  server = await startServer(store);
  browser = await launchBrowser();
});

after(() => stopAll(browser, server, store));

const dataset = (page) => page.evaluate(() => ({ ...document.querySelector("#compare").dataset }));

/** Both rings inside their pane, in its middle third (centred). */
async function assertCentred(page) {
  await page.waitForFunction(() => document.querySelector("#compare").dataset.divergenceDrawn === "a b", null, { timeout: 30_000 });
  for (const side of ["a", "b"]) {
    const p = await page.evaluate((s) => window.bopCompare.divergencePoint(s), side);
    const box = await page.locator(`.compare-pane[data-side=${side}] canvas`).boundingBox();
    assert.ok(p !== null && p.x > box.x + box.width / 3 && p.x < box.x + (2 * box.width) / 3, `${side}: the ring at ${JSON.stringify(p)} is centred in ${JSON.stringify(box)}`);
    assert.ok(p.y > box.y && p.y < box.y + box.height, `${side}: the ring is inside the pane`);
  }
}

test("both panes are drawn while the comparison is held back, then the divergence is ringed", async () => {
  const { page, errors } = await openPage(browser, server.url);
  const held = [];
  let release;
  const released = new Promise((r) => {
    release = r;
  });
  await page.route("**/api/compare/summary*", async (route) => {
    held.push(new URL(route.request().url()));
    await released;
    await route.continue();
  });
  await page.goto(`${server.url}compare?a=ka&b=kb`);
  // Drawn from windows, both panes, with no summary answered.
  await page.waitForSelector("#compare[data-first-frame-ms]", { timeout: 60_000 });
  let d = await dataset(page);
  assert.equal(d.windowed, "true");
  assert.ok(["lod", "events"].includes(d.windowModeA) && ["lod", "events"].includes(d.windowModeB), `both panes drawn: ${JSON.stringify(d)}`);
  assert.equal(d.divergenceMs, undefined, "not centred yet: the summary is held");
  assert.equal(d.divergenceDrawn, "");
  assert.ok(held.length >= 1, "the page asked for the summary");
  assert.ok(
    held.every((u) => u.searchParams.get("kept") === "only"),
    `only the kept summary is asked for before the first windows are in: ${held.map(String)}`,
  );
  release();
  await page.waitForSelector("#compare[data-divergence-ms]", { timeout: 120_000 });
  // Nothing was kept: after the kept-only miss the page asked for it computed.
  assert.ok(held.some((u) => u.searchParams.get("kept") === null), `the summary was computed on request: ${held.map(String)}`);
  await assertCentred(page);
  d = await dataset(page);
  assert.ok(Number(d.divergenceMs) >= Number(d.firstFrameMs));
  assert.deepEqual(errors, []);
  await page.close();
  assert.ok(existsSync(path.join(store, "ka", "compare", "kb.json")), "the comparison is kept next to run A");
});

test("a new server answers the page from the kept summary", async () => {
  await server.stop();
  server = await startServer(store);
  const { page, errors } = await openPage(browser, server.url);
  const answers = [];
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (u.pathname === "/api/compare/summary") answers.push({ kept: u.searchParams.get("kept"), status: r.status(), source: r.headers()["x-bop-compare"] });
  });
  await page.goto(`${server.url}compare?a=ka&b=kb`);
  await page.waitForSelector("#compare[data-divergence-ms]", { timeout: 60_000 });
  await assertCentred(page);
  assert.deepEqual(answers, [{ kept: "only", status: 200, source: "disk" }]);
  const summary = await (await fetch(`${server.url}api/compare/summary?a=ka&b=kb`)).json();
  const d = await dataset(page);
  assert.equal(d.firstDivergence, summary.first_divergence.a ?? summary.first_divergence.b);
  assert.deepEqual(errors, []);
  await page.close();
});
