// Shared by tests: the window contract (docs/API.md `GET /api/runs/{id}/window`)
// answered from a whole graph, the way the server answers it, so the page's
// window logic can be tested on graphs of any size without a server.
import type { Graph, GraphEvent } from "./api.ts";
import { DETAIL_PER_COLUMN, type WindowScale } from "./window.ts";

const xOf = (e: GraphEvent, scale: WindowScale) => (scale === "time" ? (e.end_ns ?? e.start_ns) : e.lamport);

/** The answer as the page gets it: fresh JSON, sharing nothing with `g`. */
export function windowAnswer(g: Graph, q: { scale?: WindowScale; x0?: number; x1?: number; columns?: number } = {}): unknown {
  return JSON.parse(JSON.stringify(answer(g, q)));
}

function answer(g: Graph, q: { scale?: WindowScale; x0?: number; x1?: number; columns?: number }): unknown {
  const scale = q.scale ?? "time";
  const xs = g.events.map((e) => xOf(e, scale));
  const ext = (s: WindowScale) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const e of g.events) {
      lo = Math.min(lo, xOf(e, s));
      hi = Math.max(hi, xOf(e, s));
    }
    return g.events.length === 0 ? [0, 0] : [lo, hi];
  };
  const [min, max] = ext(scale);
  const x0 = q.x0 ?? min;
  const x1 = q.x1 ?? max;
  const columns = q.columns ?? 1000;
  const inside = g.events.filter((_, i) => xs[i] >= x0 && xs[i] <= x1);
  const base = {
    schema: 1,
    run: g.run,
    processes: g.processes,
    threads: g.threads,
    channels: g.channels,
    extent: { time: ext("time"), logical: ext("logical") },
    scale,
    x0,
    x1,
    columns,
    total_events: inside.length,
  };
  if (inside.length <= columns * DETAIL_PER_COLUMN) {
    const ids = new Set(inside.map((e) => e.id));
    const touching = new Set(ids);
    const messages = g.messages.filter((m) => ids.has(m.send) || m.recvs.some((r) => ids.has(r)));
    for (const m of messages) [m.send, ...m.recvs].forEach((i) => touching.add(i));
    const edges = g.edges.filter((e) => ids.has(e.from) || ids.has(e.to));
    for (const e of edges) [e.from, e.to].forEach((i) => touching.add(i));
    const events = [...touching].sort((a, b) => a - b).map((i) => g.events[i]);
    return { ...base, events, messages, edges, lod: null };
  }
  const col = (x: number) => (x < x0 ? -1 : x > x1 ? columns : Math.floor(((x - x0) * columns) / (x1 - x0 + 1)));
  const lanes = new Map(g.threads.map((t) => [t.name, { thread: t.name, counts: new Array<number>(columns).fill(0), injected: new Array<number>(columns).fill(0) }]));
  for (const e of inside) {
    const lane = lanes.get(e.thread);
    if (!lane) continue;
    lane.counts[col(xOf(e, scale))]++;
    if (e.injected !== null) lane.injected[col(xOf(e, scale))]++;
  }
  const arrows = new Map<string, { from: string; to: string; column_from: number; column_to: number; count: number; kind: string }>();
  for (const m of g.messages) {
    const s = g.events[m.send];
    for (const r of m.recvs) {
      const d = g.events[r];
      if (!((xOf(s, scale) >= x0 && xOf(s, scale) <= x1) || (xOf(d, scale) >= x0 && xOf(d, scale) <= x1))) continue;
      const a = { from: s.thread, to: d.thread, column_from: col(xOf(s, scale)), column_to: col(xOf(d, scale)), count: 0, kind: "message" };
      const key = `${a.from}|${a.to}|${a.column_from}|${a.column_to}`;
      const had = arrows.get(key) ?? a;
      had.count++;
      arrows.set(key, had);
    }
  }
  return { ...base, events: null, messages: null, edges: null, lod: { lanes: [...lanes.values()], arrows: [...arrows.values()] } };
}
