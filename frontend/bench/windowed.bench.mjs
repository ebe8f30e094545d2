// Times the run page of big runs in headless Chromium (ui/windowed.ts on
// the real `bop serve`): for each size, a TCP ping-pong recorded by the
// real `bop run`, then the first frame (navigation start to the first
// drawn window, and the first window's request), frames while zooming in
// with the keys (down to single events), frames while panning at full
// detail with the arrow keys, and how long a pan past the window in hand
// takes to draw the next one. Prints a Markdown table; the numbers are
// written down in docs/PERFORMANCE-frontend.md.
//
//   BOP=target/release/bop node bench/windowed.bench.mjs
//   BENCH_ROUND_TRIPS=25000,250000 (4 events each: 10^5 and 10^6 events)
//   BENCH_STORE=DIR: use runs pp<round trips> already recorded in DIR
//     (recording 10^6 events takes minutes), left in place
//   BENCH_WARM=0: open the page on a fresh server, without the first
//     window request before it (its index is opened for the page)
import { performance } from "node:perf_hooks";
import { bop, cleanup, launchBrowser, openPage, startServer, tempDir, guestBinary } from "../e2e/harness.mjs";

const sizes = (process.env.BENCH_ROUND_TRIPS ?? "25000,250000").split(",").map(Number);
const guest = guestBinary();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 1 : 0) : "—");
const rows = [];

const given = process.env.BENCH_STORE;
const warm = process.env.BENCH_WARM !== "0";
for (const trips of sizes) {
  const store = given ?? tempDir("bop-bench-big-");
  const id = given ? `pp${trips}` : "big";
  let t0 = performance.now();
  if (!given) bop(["run", "--store", store, "--id", id, "--quiet", "--", guest, "pingpong", String(trips)]);
  const recordS = given ? NaN : (performance.now() - t0) / 1000;
  const server = await startServer(store);
  const browser = await launchBrowser();
  try {
    const events = (await (await fetch(`${server.url}api/runs/${id}`)).json()).counts.events;
    // The first window request of a fresh server (it may build the run's index).
    let coldMs = NaN;
    if (warm) {
      t0 = performance.now();
      const cold = await fetch(`${server.url}api/runs/${id}/window?scale=time&columns=2460`);
      await cold.arrayBuffer();
      coldMs = performance.now() - t0;
    }
    const { page } = await openPage(browser, server.url);
    await page.setViewportSize({ width: 1400, height: 900 });
    t0 = performance.now();
    await page.goto(`${server.url}runs/${id}`);
    await page.waitForSelector("#diagram[data-first-frame-ms]", { timeout: 120_000 });
    const wallMs = performance.now() - t0;
    const ds = () => page.evaluate(() => ({ ...document.querySelector("#diagram").dataset }));
    const first = await ds();
    const settle = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.focus("#diagram");
    const zoom = [];
    for (let i = 0; i < 24; i++) {
      await page.keyboard.press("+");
      await settle();
      zoom.push(Number((await ds()).renderMs));
    }
    // Let the window for the deepest zoom arrive, then pan at full detail.
    // A fixed wait (1.5 s) was not enough on a loaded machine: the page
    // still drew the zoomed-out level-of-detail window, whose mode reports
    // 0 drawn events, so the row said "0 marks" of a view full of them.
    await page
      .waitForFunction(() => document.querySelector("#diagram").dataset.windowMode === "events", null, { timeout: 60_000 })
      .catch(() => {});
    const detail = await ds();
    const pan = [];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press("ArrowRight");
      await settle();
      pan.push(Number((await ds()).renderMs));
    }
    // Pans past the window in hand: drag until the page draws another
    // window; the page times the fetch from the viewport change.
    const x0 = (await ds()).windowX0;
    const box = await page.locator("#canvas").boundingBox();
    let drags = 0;
    while ((await ds()).windowX0 === x0 && drags < 60) {
      await page.mouse.move(box.x + box.width - 20, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + 190, box.y + box.height / 2, { steps: 4 });
      await page.mouse.up();
      drags++;
      await page.waitForTimeout(200);
    }
    await page.waitForFunction((x) => document.querySelector("#diagram").dataset.windowX0 !== x, x0, { timeout: 60_000 });
    const end = await ds();
    const nextMs = Number(end.windowLatencyMs);
    rows.push({
      events,
      recordS,
      coldMs,
      firstFrameMs: Number(first.firstFrameMs),
      wallMs,
      firstMode: first.windowMode,
      firstRender: Number(first.renderMs),
      zoomMedian: median(zoom),
      zoomMax: Math.max(...zoom),
      detailMode: detail.windowMode,
      detailEvents: Number(detail.drawnEvents),
      panMedian: median(pan),
      panMax: Math.max(...pan),
      nextMs,
      requests: Number(end.windowRequests),
      aborted: Number(end.windowAborted ?? 0),
    });
    console.error(JSON.stringify(rows.at(-1)));
  } finally {
    await browser.close();
    await server.stop();
    if (!given) cleanup(store);
  }
}

console.log(`headless Chromium (software canvas), ${new Date().toISOString().slice(0, 10)}`);
console.log("| events | record (s) | first /window, cold (ms) | first frame (ms) | goto → drawn (ms) | first frame paint (ms) | zoom frames median / max (ms) | pan frames at detail median / max (ms) | pan past the window → next drawn (ms) | window requests (aborted) |");
console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.events.toLocaleString("en")} | ${fmt(r.recordS)} | ${fmt(r.coldMs)} | ${fmt(r.firstFrameMs)} | ${fmt(r.wallMs)} | ${fmt(r.firstRender)} (${r.firstMode}) | ${fmt(r.zoomMedian)} / ${fmt(r.zoomMax)} | ${fmt(r.panMedian)} / ${fmt(r.panMax)} (${r.detailMode}, ${r.detailEvents} marks) | ${fmt(r.nextMs)} | ${r.requests} (${r.aborted}) |`,
  );
}
process.exit(0);
