// Times the comparison page of two big runs in headless Chromium
// (ui/comparewin.ts on the real `bop serve`): for each size, two TCP
// ping-pongs recorded by the real `bop run`, B 1% longer than A (they
// diverge where A ends). On a fresh server: the page's first frame (both
// panes drawn from windows) and the moment it is centred on the first
// divergence (the summary computed: the first comparison of the pair);
// then the same page again (the summary cached); the server's peak RSS;
// and, for scale, the whole comparison (`GET /api/compare`, what the
// whole-graph page fetches besides both graphs). Prints a Markdown table;
// the numbers are written down in docs/PERFORMANCE.md.
//
//   BOP=target/release/bop node bench/compare.bench.mjs
//   BENCH_ROUND_TRIPS=25000,250000 (4 events each: 10^5 and 10^6 events)
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import path from "node:path";
import { bop, bopBinary, cleanup, launchBrowser, openPage, startServer, tempDir } from "../e2e/harness.mjs";

const sizes = (process.env.BENCH_ROUND_TRIPS ?? "25000").split(",").map(Number);
const guest = path.join(path.dirname(bopBinary()), "guest");
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(0) : "—");
const rows = [];

/** Peak RSS (MB) of the `bop serve` of `store`. */
function servePeakMb(store) {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!cmd.includes("serve") || !cmd.includes(store)) continue;
      const hwm = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+)/);
      return hwm ? Number(hwm[1]) / 1024 : NaN;
    } catch {
      // gone
    }
  }
  return NaN;
}

async function open(browser, url) {
  const { page } = await openPage(browser, url);
  await page.setViewportSize({ width: 1400, height: 900 });
  const t0 = performance.now();
  await page.goto(`${url}compare?a=a&b=b`);
  await page.waitForSelector("#compare[data-divergence-ms]", { timeout: 600_000 });
  const wall = performance.now() - t0;
  const ds = await page.evaluate(() => ({ ...document.querySelector("#compare").dataset }));
  await page.close();
  return { first: Number(ds.firstFrameMs), divergence: Number(ds.divergenceMs), wall, differences: Number(ds.differences) };
}

for (const trips of sizes) {
  const store = tempDir("bop-bench-cmp-");
  bop(["run", "--store", store, "--id", "a", "--quiet", "--", guest, "pingpong", String(trips)]);
  bop(["run", "--store", store, "--id", "b", "--quiet", "--", guest, "pingpong", String(Math.round(trips * 1.01))]);
  const server = await startServer(store);
  const browser = await launchBrowser();
  try {
    const events = await Promise.all(["a", "b"].map(async (id) => (await (await fetch(`${server.url}api/runs/${id}`)).json()).counts.events));
    const cold = await open(browser, server.url);
    const warm = await open(browser, server.url);
    const peakPage = servePeakMb(store);
    let t0 = performance.now();
    const whole = await (await fetch(`${server.url}api/compare?a=a&b=b`)).arrayBuffer();
    const wholeMs = performance.now() - t0;
    t0 = performance.now();
    const marks = await (await fetch(`${server.url}api/compare/marks?a=a&b=b&limit=10000`)).arrayBuffer();
    const marksMs = performance.now() - t0;
    rows.push({ events, cold, warm, peakPage, peakAll: servePeakMb(store), wholeMs, wholeMb: whole.byteLength / 1e6, marksMs, marksKb: marks.byteLength / 1e3 });
    console.error(JSON.stringify(rows.at(-1)));
  } finally {
    await browser.close();
    await server.stop();
    cleanup(store);
  }
}

console.log(`headless Chromium, ${new Date().toISOString().slice(0, 10)}`);
console.log("| events A / B | differences | first frame, fresh server (ms) | centred on the divergence, fresh (ms) | first frame / centred, summary cached (ms) | serve peak RSS after both pages (MB) | whole /api/compare (ms, MB) | serve peak RSS after it (MB) | 10,000 marks (ms, kB) |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.events.map((n) => n.toLocaleString("en")).join(" / ")} | ${r.cold.differences} | ${fmt(r.cold.first)} | ${fmt(r.cold.divergence)} | ${fmt(r.warm.first)} / ${fmt(r.warm.divergence)} | ${fmt(r.peakPage)} | ${fmt(r.wholeMs)}, ${r.wholeMb.toFixed(1)} | ${fmt(r.peakAll)} | ${fmt(r.marksMs)}, ${fmt(r.marksKb)} |`,
  );
}
process.exit(0);
