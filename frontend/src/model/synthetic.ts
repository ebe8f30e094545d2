/**
 * A deterministic synthetic graph of any size, for performance tests and
 * benchmarks: processes with a few threads each exchange messages over
 * TCP channels, with a few lost messages and injected faults.
 */

import type { Graph, GraphEvent, GraphMessage } from "./api.ts";

/** Small fast PRNG (mulberry32) so sizes and shapes repeat exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticOptions {
  events: number;
  processes?: number;
  threadsPerProcess?: number;
  seed?: number;
}

export function syntheticGraph(opts: SyntheticOptions): Graph {
  const P = opts.processes ?? 8;
  const T = opts.threadsPerProcess ?? 3;
  const random = rng(opts.seed ?? 1);
  const processes = Array.from({ length: P }, (_, p) => ({ name: `node${p}`, pid: 1000 + p, parent: null, exe: "/usr/bin/node", exit: 0 }));
  const threads = processes.flatMap((p, pi) => Array.from({ length: T }, (_, t) => ({ name: `${p.name}:t${t}`, process: p.name, tid: 1000 + pi * 100 + t })));
  const clock = new Float64Array(threads.length);
  const lamport = new Float64Array(threads.length);
  const ordinal = new Int32Array(threads.length);
  const inbox: { msg: number; lamport: number; t: number }[][] = threads.map(() => []);
  const perChannel = new Map<string, number>();
  const events: GraphEvent[] = [];
  const messages: GraphMessage[] = [];
  const edges: Graph["edges"] = [];
  const push = (th: number, call: string, extra: Partial<GraphEvent>, minLamport = 0, minTime = 0): GraphEvent => {
    const start = Math.max(clock[th], minTime) + Math.floor(random() * 50_000);
    const end = start + 1_000 + Math.floor(random() * 20_000);
    clock[th] = end;
    lamport[th] = Math.max(lamport[th], minLamport) + 1;
    const thread = threads[th];
    const e: GraphEvent = {
      id: events.length,
      name: `${thread.name}/${ordinal[th]++}:${call}`,
      thread: thread.name,
      process: thread.process,
      call,
      fd: null,
      channel: null,
      ret: 0,
      errno: null,
      bytes: null,
      start_ns: start,
      end_ns: end,
      lamport: lamport[th],
      data: null,
      injected: null,
      ...extra,
    };
    events.push(e);
    return e;
  };
  // Threads with mail waiting, oldest first: most messages are read soon
  // after they are sent, as in a request/response system.
  const mailQueue: number[] = [];
  while (events.length < opts.events) {
    const mail = mailQueue.length > 0 && random() < 0.6;
    const th = mail ? (mailQueue.shift() as number) : Math.floor(random() * threads.length);
    const r = mail ? 0 : random();
    if (r < 0.2 && inbox[th].length > 0) {
      const m = inbox[th].shift() as { msg: number; lamport: number; t: number };
      const msg = messages[m.msg];
      const e = push(th, "read", { fd: 4, channel: msg.channel, bytes: msg.bytes, ret: msg.bytes }, m.lamport, m.t);
      msg.recvs.push(e.id);
      edges.push({ from: msg.send, to: e.id, kind: "message" });
    } else if (r < 0.9) {
      let to = Math.floor(random() * threads.length);
      if (to === th) to = (to + T) % threads.length;
      const a = threads[th].process;
      const b = threads[to].process;
      const channel = `${a}->${b}#0`;
      const ord = perChannel.get(channel) ?? 0;
      perChannel.set(channel, ord + 1);
      const bytes = 16 + Math.floor(random() * 200);
      const lost = random() < 0.01;
      const e = push(th, "write", { fd: 3, channel, bytes, ret: bytes, injected: lost ? "drop" : null, data: "70696e67" });
      const msg = messages.length;
      messages.push({ id: `${channel}/${ord}`, channel, send: e.id, recvs: [], bytes, lost, dropped: lost });
      if (!lost) {
        inbox[to].push({ msg, lamport: e.lamport, t: e.end_ns as number });
        mailQueue.push(to);
      }
    } else {
      push(th, "poll", {});
    }
  }
  // Undelivered messages at the end are lost too.
  for (const m of messages) if (m.recvs.length === 0) m.lost = true;
  const channels = [...perChannel.keys()].map((name) => ({ name, kind: "tcp" as const, ends: name.split("#")[0].split("->") }));
  return {
    schema: 1,
    run: { id: "synthetic", command: `synthetic ${opts.events} events`, exit_status: 0, verdict: "pass", trace_class: null, parent: null, faults: [] },
    processes,
    threads,
    channels,
    events,
    messages,
    edges,
  };
}
