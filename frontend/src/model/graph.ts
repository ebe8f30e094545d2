/**
 * Indexes over a validated {@link Graph}: events per thread in program
 * order, the happens-before successors and predecessors of each event
 * (program order, every edge, every message delivery) in compact arrays,
 * and causal past / future of an event.
 */

import type { Graph } from "./api.ts";

export interface GraphIndex {
  graph: Graph;
  /** Thread index (into `graph.threads`) of each event. */
  threadOf: Int32Array;
  /** Event ids of each thread, in program order (the order of `events`). */
  eventsByThread: Int32Array[];
  /** Successors of event i: `succ[succStart[i] .. succStart[i+1]]`. */
  succStart: Int32Array;
  succ: Int32Array;
  /** Predecessors, same layout. */
  predStart: Int32Array;
  pred: Int32Array;
  /** Message index sent by each event, or -1. */
  messageOfSend: Int32Array;
}

/** Builds the index in O(events + edges). */
export function indexGraph(graph: Graph): GraphIndex {
  const n = graph.events.length;
  const threadIds = new Map<string, number>();
  graph.threads.forEach((t, i) => threadIds.set(t.name, i));
  const threadOf = new Int32Array(n);
  const counts = new Int32Array(graph.threads.length);
  for (let i = 0; i < n; i++) {
    const t = threadIds.get(graph.events[i].thread) ?? -1;
    threadOf[i] = t;
    if (t >= 0) counts[t]++;
  }
  const eventsByThread = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(graph.threads.length);
  for (let i = 0; i < n; i++) {
    const t = threadOf[i];
    if (t >= 0) eventsByThread[t][fill[t]++] = i;
  }

  // Collect every happens-before pair once as (from, to).
  const from: number[] = [];
  const to: number[] = [];
  for (const lane of eventsByThread) {
    for (let j = 1; j < lane.length; j++) {
      from.push(lane[j - 1]);
      to.push(lane[j]);
    }
  }
  for (const e of graph.edges) {
    from.push(e.from);
    to.push(e.to);
  }
  const messageOfSend = new Int32Array(n).fill(-1);
  graph.messages.forEach((m, mi) => {
    messageOfSend[m.send] = mi;
    for (const r of m.recvs) {
      from.push(m.send);
      to.push(r);
    }
  });
  const [succStart, succ] = csr(n, from, to);
  const [predStart, pred] = csr(n, to, from);
  return { graph, threadOf, eventsByThread, succStart, succ, predStart, pred, messageOfSend };
}

function csr(n: number, src: number[], dst: number[]): [Int32Array, Int32Array] {
  const start = new Int32Array(n + 1);
  for (const s of src) start[s + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const out = new Int32Array(src.length);
  const pos = start.slice(0, n);
  for (let k = 0; k < src.length; k++) out[pos[src[k]]++] = dst[k];
  return [start, out];
}

/** Flags of {@link causalCone}. */
export const PAST = 1;
export const FUTURE = 2;
export const SELF = 4;

/**
 * The causal cone of an event: for each event, PAST if it happened before
 * `id`, FUTURE if it happened after, SELF for `id` itself, 0 if concurrent.
 */
export function causalCone(index: GraphIndex, id: number): Uint8Array {
  const n = index.threadOf.length;
  const flags = new Uint8Array(n);
  if (id < 0 || id >= n) return flags;
  walk(index.predStart, index.pred, id, flags, PAST);
  walk(index.succStart, index.succ, id, flags, FUTURE);
  flags[id] = SELF;
  return flags;
}

function walk(start: Int32Array, adj: Int32Array, id: number, flags: Uint8Array, flag: number): void {
  const stack = [id];
  while (stack.length > 0) {
    const v = stack.pop() as number;
    for (let k = start[v]; k < start[v + 1]; k++) {
      const w = adj[k];
      if ((flags[w] & flag) === 0) {
        flags[w] |= flag;
        stack.push(w);
      }
    }
  }
}

/** The events that happened before `id`, in increasing id order. */
export function causalPast(index: GraphIndex, id: number): number[] {
  return collect(causalCone(index, id), PAST);
}

/** The events that happened after `id`, in increasing id order. */
export function causalFuture(index: GraphIndex, id: number): number[] {
  return collect(causalCone(index, id), FUTURE);
}

function collect(flags: Uint8Array, flag: number): number[] {
  const out: number[] = [];
  flags.forEach((f, i) => {
    if (f & flag) out.push(i);
  });
  return out;
}
