// Times the comparison page of two big runs in headless Chromium
// (ui/comparewin.ts on the real `bop serve`): for each size, two TCP
// ping-pongs recorded by the real `bop run`, B 1% longer than A (they
// diverge where A ends). Three pages: on a fresh server with nothing kept
// (the first comparison of the pair is computed and kept next to run A),
// again on that server (the summary in its memory), and on a second fresh
// server (the summary read back from A's `compare/B.json`). For each, the
// page's first frame (both panes drawn from windows) and the moment it is
// centred on the first divergence; each server's peak RSS; and, for
// scale, the whole comparison (`GET /api/compare`, what the whole-graph
// page fetches besides both graphs). Prints a Markdown table; the numbers
// are written down in docs/PERFORMANCE.md.
//
//   BOP=target/release/bop node bench/compare.bench.mjs
//   BENCH_ROUND_TRIPS=25000,250000 (4 events each: 10^5 and 10^6 events)
//   BENCH_STORES=DIR,DIR: stores already holding runs `a` and `b`, one per
//     size (recording 10^6 events takes a minute or more); their kept
//     comparisons are removed first, the runs are left.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import path from "node:path";
import { bop, cleanup, launchBrowser, openPage, startServer, tempDir, guestBinary } from "../e2e/harness.mjs";

const sizes = (process.env.BENCH_ROUND_TRIPS ?? "25000").split(",").map(Number);
const given = process.env.BENCH_STORES ? process.env.BENCH_STORES.split(",") : [];
const guest = guestBinary();
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

/**
 * One comparison page: its first frame, when it was centred on the
 * divergence with both panes drawn (the later of the first frame and the
 * summary's arrival: a kept summary can come before the first windows),
 * and where the server found each summary it answered (x-bop-compare).
 */
async function open(browser, url) {
  const { page } = await openPage(browser, url);
  await page.setViewportSize({ width: 1400, height: 900 });
  const sources = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname === "/api/compare/summary") sources.push(r.headers()["x-bop-compare"]);
  });
  const t0 = performance.now();
  await page.goto(`${url}compare?a=a&b=b`);
  await page.waitForSelector("#compare[data-divergence-ms][data-first-frame-ms]", { timeout: 600_000 });
  const wall = performance.now() - t0;
  const ds = await page.evaluate(() => ({ ...document.querySelector("#compare").dataset }));
  await page.close();
  const first = Number(ds.firstFrameMs);
  return { first, divergence: Math.max(first, Number(ds.divergenceMs)), wall, differences: Number(ds.differences), sources: sources.join("+") };
}

for (const [i, trips] of sizes.entries()) {
  const store = given[i] ?? tempDir("bop-bench-cmp-");
  if (given[i] === undefined) {
    bop(["run", "--store", store, "--id", "a", "--quiet", "--", guest, "pingpong", String(trips)]);
    bop(["run", "--store", store, "--id", "b", "--quiet", "--", guest, "pingpong", String(Math.round(trips * 1.01))]);
  }
  rmSync(path.join(store, "a", "compare"), { recursive: true, force: true });
  const browser = await launchBrowser();
  let server = await startServer(store);
  try {
    const events = await Promise.all(["a", "b"].map(async (id) => (await (await fetch(`${server.url}api/runs/${id}`)).json()).counts.events));
    const cold = await open(browser, server.url);
    const peakCold = servePeakMb(store);
    const memory = await open(browser, server.url);
    await server.stop();
    if (!existsSync(path.join(store, "a", "compare", "b.json"))) throw new Error("the comparison was not kept");
    server = await startServer(store);
    const kept = await open(browser, server.url);
    const peakKept = servePeakMb(store);
    let t0 = performance.now();
    const whole = await (await fetch(`${server.url}api/compare?a=a&b=b`)).arrayBuffer();
    const wholeMs = performance.now() - t0;
    t0 = performance.now();
    const marks = await (await fetch(`${server.url}api/compare/marks?a=a&b=b&limit=10000`)).arrayBuffer();
    const marksMs = performance.now() - t0;
    rows.push({ events, cold, peakCold, memory, kept, peakKept, peakAll: servePeakMb(store), wholeMs, wholeMb: whole.byteLength / 1e6, marksMs, marksKb: marks.byteLength / 1e3 });
    console.error(JSON.stringify(rows.at(-1)));
  } finally {
    await browser.close();
    await server.stop();
    if (given[i] === undefined) cleanup(store);
  }
}

const pair = (x) => `${fmt(x.first)} / ${fmt(x.divergence)}`;
console.log(`headless Chromium, ${new Date().toISOString().slice(0, 10)}, load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
console.log("| events A / B | differences | first frame / centred (ms), fresh server, nothing kept | serve peak RSS (MB) | same server again, summary in memory | fresh server, summary kept on disk | its peak RSS (MB) | whole /api/compare (ms, MB) | peak RSS after it (MB) | 10,000 marks (ms, kB) |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.events.map((n) => n.toLocaleString("en")).join(" / ")} | ${r.cold.differences} | ${pair(r.cold)} (${r.cold.sources}) | ${fmt(r.peakCold)} | ${pair(r.memory)} (${r.memory.sources}) | ${pair(r.kept)} (${r.kept.sources}) | ${fmt(r.peakKept)} | ${fmt(r.wholeMs)}, ${r.wholeMb.toFixed(1)} | ${fmt(r.peakAll)} | ${fmt(r.marksMs)}, ${fmt(r.marksKb)} |`,
  );
}
process.exit(0);
