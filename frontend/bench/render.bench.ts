// Times the diagram pipeline on a synthetic 100,000-event run in node:
// validation, indexing, layout, a full frame at fit-to-view and zoomed in
// (with a call-counting context: this is the JavaScript side of a frame;
// the browser test measures real canvas frames), hit tests and a causal
// cone. Prints a table; results are written down in docs/PERFORMANCE-frontend.md.
import { parseGraph } from "../src/model/api.ts";
import { causalCone, indexGraph } from "../src/model/graph.ts";
import { syntheticGraph } from "../src/model/synthetic.ts";
import { arrowAt, eventAt, layoutDiagram } from "../src/layout/diagram.ts";
import { fit, type Viewport, zoomAt } from "../src/layout/viewport.ts";
import { draw, NO_HIGHLIGHT } from "../src/render/canvas.ts";
import { recordingContext } from "../src/render/fake-context.ts";

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
const screen: Viewport = { x0: 0, k: 1, y0: 0, width: 1600, height: 900, left: 170, top: 26 };
const rows: [string, number][] = [];
function time<T>(label: string, f: () => T, repeat = 1): T {
  let out: T = f(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < repeat; i++) out = f();
  rows.push([label, (performance.now() - t0) / repeat]);
  return out;
}

const raw = JSON.parse(JSON.stringify(syntheticGraph({ events: N })));
const text = JSON.stringify(raw);
const graph = time("JSON.parse + parseGraph", () => parseGraph(JSON.parse(text)));
const index = time("indexGraph", () => indexGraph(graph));
const layout = time("layoutDiagram (time)", () => layoutDiagram(index, "time"));
const all = fit(screen, layout.minX, layout.maxX);
const ctx = recordingContext();
const frame = time("frame at fit-to-view", () => draw(ctx, layout, all, NO_HIGHLIGHT), 10);
const zoomed = zoomAt(all, 800, 100);
const zframe = time("frame zoomed ×100", () => draw(ctx, layout, zoomed, NO_HIGHLIGHT), 10);
time("1000 hover hit tests", () => {
  for (let i = 0; i < 1000; i++) {
    const x = 170 + ((i * 7919) % 1430);
    const y = 26 + ((i * 104729) % 870);
    if (eventAt(layout, zoomed, x, y) < 0) arrowAt(layout, zoomed, x, y);
  }
});
const cone = time("causal cone of a middle event", () => causalCone(index, N >> 1), 5);
const selected = time("frame with a selection", () => draw(ctx, layout, all, { ...NO_HIGHLIGHT, selected: N >> 1, cone }), 10);

console.log(`synthetic run: ${graph.events.length} events, ${graph.messages.length} messages, ${layout.arrowFrom.length} arrows, ${layout.lanes.lanes.length} lanes`);
console.log(`fit-to-view frame drew ${frame.events} marks and ${frame.arrows} arrows; zoomed ${zframe.events} and ${zframe.arrows}; with selection ${selected.events}`);
console.log("| step | ms |\n| --- | ---: |");
for (const [label, ms] of rows) console.log(`| ${label} | ${ms.toFixed(1)} |`);
