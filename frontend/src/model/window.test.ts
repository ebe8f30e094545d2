import assert from "node:assert/strict";
import { test } from "node:test";
import { GraphError } from "./api.ts";
import { smallGraph } from "./fixture.test-util.ts";
import { causalCone, indexGraph, PAST } from "./graph.ts";
import { syntheticGraph } from "./synthetic.ts";
import { windowAnswer } from "./window.test-util.ts";
import { covers, MAX_COLUMNS, mergeWindows, parseWindow, pickWindow, planWindow, satisfies, WindowCache } from "./window.ts";

test("a detailed window becomes a graph of its own with whole-graph ids kept aside", () => {
  const g = smallGraph();
  const xs = g.events.map((e) => e.end_ns ?? e.start_ns).sort((a, b) => a - b);
  const mid = xs[xs.length >> 1];
  const w = parseWindow(windowAnswer(g, { x0: xs[0], x1: mid, columns: 100 }));
  assert.ok(w.graph !== null && w.ids !== null && w.lod === null);
  assert.ok(w.graph.events.length < g.events.length, "a part of the run");
  w.graph.events.forEach((e, i) => {
    assert.equal(e.id, i, "ids are indices, as parseGraph and the layout want");
    assert.equal(e.name, g.events[w.ids?.[i] ?? -1].name, "ids maps back to the whole graph");
  });
  for (const m of w.graph.messages) {
    assert.equal(w.graph.events[m.send].name, g.events[g.messages.find((x) => x.id === m.id)?.send ?? -1].name, "sends remapped");
  }
  // The cone works on the window as on any graph.
  const last = w.graph.events.length - 1;
  const cone = causalCone(indexGraph(w.graph), last);
  assert.ok(cone.some((f) => (f & PAST) !== 0));
});

test("a level-of-detail window keeps per-column counts per lane", () => {
  const g = syntheticGraph({ events: 20_000 });
  const w = parseWindow(windowAnswer(g, { columns: 500 }));
  assert.equal(w.graph, null);
  assert.ok(w.lod !== null);
  const total = w.lod.lanes.reduce((n, l) => n + l.counts.reduce((a, b) => a + b, 0), 0);
  assert.equal(total, 20_000);
  assert.equal(w.totalEvents, 20_000);
  assert.ok(w.lod.arrows.length > 0);
});

test("bad window answers are one clear error", () => {
  const good = windowAnswer(smallGraph(), { columns: 10 }) as Record<string, unknown>;
  assert.throws(() => parseWindow(null), GraphError);
  assert.throws(() => parseWindow({ ...good, schema: 2 }), /schema 2/);
  assert.throws(() => parseWindow({ ...good, scale: "wall" }), /neither time nor logical/);
  assert.throws(() => parseWindow({ ...good, events: null, lod: null }), /neither events nor lod/);
  assert.throws(() => parseWindow({ ...good, events: null, lod: { lanes: [{ thread: "x", counts: [1] }], arrows: [] } }), /1 counts for 10 columns/);
  assert.throws(() => parseWindow({ ...good, extent: { time: [0] } }), /extent.time/);
});

test("plans snap to a grid: small pans and zooms ask for the same window, with a margin of a view on each side", () => {
  const ext: [number, number] = [0, 1e9];
  const p = planWindow("time", 100e6, 150e6, 1200, ext);
  assert.ok(p.x0 <= 100e6 - 50e6 && p.x1 >= 150e6 + 50e6, `[${p.x0}, ${p.x1}] has a view of margin each side`);
  assert.equal(planWindow("time", 101e6, 151e6, 1200, ext).key, p.key, "a small pan asks for the same window");
  assert.equal(planWindow("time", 100e6, 145e6, 1200, ext).key, p.key, "a small zoom too");
  assert.notEqual(planWindow("time", 400e6, 450e6, 1200, ext).key, p.key, "a far pan asks again");
  assert.notEqual(planWindow("time", 100e6, 110e6, 1200, ext).key, p.key, "a 5x zoom asks again");
  const all = planWindow("time", -5e6, 1.05e9, 1200, ext);
  assert.deepEqual([all.x0, all.x1], ext, "clamped to the run, whole numbers");
  const px = (1200 * 1e9) / 1.055e9; // the run's width on screen
  assert.ok(all.columns >= 0.95 * px && all.columns <= MAX_COLUMNS, `${all.columns} columns for ${px} px: about one per px`);
  const deep = planWindow("time", 100e6, 100.001e6, 1200, ext);
  assert.ok(deep.columns <= MAX_COLUMNS && deep.columns >= 4 * 1200, `${deep.columns} columns over four tiles`);
  assert.ok(Number.isInteger(p.x0) && Number.isInteger(p.x1));
});

test("satisfies and pickWindow: details serve any zoom inside them, a coarse level of detail does not", () => {
  const g = syntheticGraph({ events: 20_000 });
  const ext = parseWindow(windowAnswer(g, { columns: 10 })).extent.time;
  const span = ext[1] - ext[0];
  const lod = parseWindow(windowAnswer(g, { columns: 2400 }));
  assert.ok(lod.lod !== null);
  const fitView = planWindow("time", ext[0], ext[1], 1200, ext);
  assert.ok(satisfies(lod, fitView, ext[0], ext[1]), "the first window serves the fit view");
  const a = ext[0] + span * 0.4;
  const b = a + span / 1000;
  const zoomed = planWindow("time", a, b, 1200, ext);
  assert.ok(!satisfies(lod, zoomed, a, b), "zoomed 1000x, the whole-run density is too coarse");
  const detail = parseWindow(windowAnswer(g, { x0: zoomed.x0, x1: zoomed.x1, columns: zoomed.columns }));
  assert.ok(detail.graph !== null, "that zoom gets events");
  assert.ok(satisfies(detail, zoomed, a, b));
  assert.ok(satisfies(detail, planWindow("time", a, a + span / 4000, 1200, ext), a, a + span / 4000), "zooming further in needs nothing new");
  const entries = [
    { key: "lod", window: lod },
    { key: "detail", window: detail },
  ];
  assert.equal(pickWindow(entries, zoomed, a, b), detail);
  assert.equal(pickWindow(entries, fitView, ext[0], ext[1]), lod, "zoomed out again: the density");
  assert.ok(covers(lod, "time", a, b) && !covers(lod, "logical", a, b));
  const far = planWindow("time", ext[1] + span, ext[1] + 2 * span, 1200, ext);
  assert.equal(pickWindow([{ key: "detail", window: detail }], far, ext[1] + span, ext[1] + 2 * span), null, "nothing that meets the view");
  // The previous window stays drawn while the next is on its way.
  const pan = detail.x1 - (b - a) / 2;
  const panned = planWindow("time", pan, pan + (b - a), 1200, ext);
  assert.ok(!covers(detail, "time", pan, pan + (b - a)));
  assert.equal(pickWindow([{ key: "detail", window: detail }], panned, pan, pan + (b - a)), detail);
});

test("the cache keeps the most recently used windows", () => {
  const c = new WindowCache<number>(3);
  c.put("a", 1);
  c.put("b", 2);
  c.put("c", 3);
  assert.equal(c.get("a"), 1);
  c.put("d", 4);
  assert.equal(c.has("b"), false, "b was the least recently used");
  assert.deepEqual(
    c.entries().map((e) => e.key),
    ["d", "a", "c"],
  );
  c.put("a", 5);
  assert.equal(c.size, 3);
  assert.equal(c.entries()[0].window, 5);
});

test("merging two overlapping detailed windows: each event, message and edge once, deliveries joined", () => {
  const g = syntheticGraph({ events: 3_000 });
  const ext = parseWindow(windowAnswer(g, { columns: 10_000 })).extent.time;
  const span = ext[1] - ext[0];
  const wa = parseWindow(windowAnswer(g, { x0: ext[0], x1: ext[0] + span * 0.6, columns: 1000 }));
  const wb = parseWindow(windowAnswer(g, { x0: ext[0] + span * 0.4, x1: ext[1], columns: 1000 }));
  const m = mergeWindows(wa, wb);
  assert.ok(m !== null && m.graph !== null && m.ids !== null);
  assert.equal(m.graph.events.length, g.events.length, "together they hold the whole run");
  assert.deepEqual([...m.ids], g.events.map((e) => e.id));
  assert.equal(m.graph.messages.length, g.messages.length);
  const merged = m.graph;
  for (const msg of merged.messages) {
    const whole = g.messages.find((x) => x.id === msg.id);
    assert.deepEqual(
      msg.recvs.map((r) => merged.events[r].name),
      whole?.recvs.map((r) => g.events[r].name),
      msg.id,
    );
  }
  assert.deepEqual([m.x0, m.x1], [wa.x0, wb.x1]);
  const apart = parseWindow(windowAnswer(g, { x0: ext[0] + span * 0.8, x1: ext[1], columns: 1000 }));
  const early = parseWindow(windowAnswer(g, { x0: ext[0], x1: ext[0] + span * 0.2, columns: 1000 }));
  assert.equal(mergeWindows(early, apart), null, "windows with a gap are not merged");
  assert.equal(mergeWindows(wa, parseWindow(windowAnswer(g, { columns: 10 }))), null, "nor a level of detail");
});
