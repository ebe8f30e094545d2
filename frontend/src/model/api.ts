/**
 * Types of the JSON API (docs/API.md) and of the graph export contract
 * (`GET /api/runs/{id}/graph`), with validation: the server is trusted to
 * answer in shape, but a mismatch must surface as one clear sentence, not
 * as a diagram that silently draws nothing.
 */

export type Verdict = "pass" | "fail" | "unknown";
/** `abandoned`: the manifest says running, but its recorder is gone. */
export type RunStatus = "running" | "done" | "failed" | "abandoned";

/** One row of `GET /api/runs`. */
export interface RunSummary {
  id: string;
  command: string;
  started_ms: number;
  duration_ms: number | null;
  status: RunStatus;
  verdict: Verdict;
  trace_class: string | null;
  parent: string | null;
  faults: { planned: number; fired: number };
  events: number;
  /** The planned faults' kinds (absent when there are none). */
  fault_kinds?: string[];
  /** The exploration or search that recorded the run (absent for others). */
  group?: RunGroupRef;
}

export interface RunGroupRef {
  kind: "exploration" | "search";
  id: string;
}

export interface RunsPage {
  total: number;
  offset: number;
  limit: number;
  runs: RunSummary[];
  /** With `cursor=`: the next page's cursor, `null` on the last page. */
  next_cursor?: string | null;
}

/** The API's error body. */
export interface ApiErrorBody {
  error: string;
  detail: string;
}

export type EdgeKind = "message" | "connect" | "spawn" | "exit" | "eof";
export const EDGE_KINDS: readonly EdgeKind[] = ["message", "connect", "spawn", "exit", "eof"];

export interface GraphRun {
  id: string;
  command: string;
  exit_status: number | null;
  verdict: Verdict;
  trace_class: string | null;
  parent: string | null;
  /** The manifest's fault records (see model/faults.ts faultRecords). */
  faults: unknown[];
  /** Processes that did I/O bop could not see (io_uring); absent when none. */
  unseen?: UnseenIo[];
}

/** A process whose I/O the tracer could not see: its part of the graph is partial. */
export interface UnseenIo {
  process: string;
  calls: string[];
  count: number;
}

export interface GraphProcess {
  name: string;
  pid: number;
  parent: string | null;
  exe: string | null;
  exit: number | null;
}

export interface GraphThread {
  name: string;
  process: string;
  tid: number;
}

export interface GraphChannel {
  name: string;
  kind: "tcp" | "udp" | "unix" | "pipe";
  ends: string[];
}

export interface GraphEvent {
  /** Index in `events`. */
  id: number;
  /** Logical name, `client:t0/17:write`. */
  name: string;
  thread: string;
  process: string;
  call: string;
  fd: number | null;
  channel: string | null;
  ret: number | null;
  errno: string | null;
  bytes: number | null;
  start_ns: number;
  end_ns: number | null;
  lamport: number;
  /** Captured payload, hex. */
  data: string | null;
  /** What the fault injector did, if anything. */
  injected: string | null;
}

export interface GraphMessage {
  /** Logical name, `client->primary#0/3`. */
  id: string;
  channel: string;
  send: number;
  recvs: number[];
  bytes: number | null;
  /** Never delivered (dropped, or the run ended first). */
  lost: boolean;
  /** Dropped by the fault injector. */
  dropped: boolean;
}

export interface GraphEdge {
  from: number;
  to: number;
  kind: EdgeKind;
}

/** `GET /api/runs/{id}/graph`. */
export interface Graph {
  schema: number;
  run: GraphRun;
  processes: GraphProcess[];
  threads: GraphThread[];
  channels: GraphChannel[];
  events: GraphEvent[];
  messages: GraphMessage[];
  edges: GraphEdge[];
}

/**
 * One fault in logical names, as `bop::inject::Fault` serializes it: the
 * body of `POST /api/runs/{id}/reruns` and the `fault` of a fault record.
 */
export type Fault =
  | { kind: "delay"; message: string; ms: number | "inf" }
  | { kind: "drop"; message: string }
  | {
      kind: "error";
      event?: string;
      /** The connect that opens this channel. */
      connect?: string;
      /** The send of this message. */
      send?: string;
      /** The first receive of this message. */
      receive?: string;
      process?: string;
      call?: string;
      channel?: string;
      nth?: number;
      errno: string;
    }
  | { kind: "crash"; process: string; after?: string; after_send?: string; kill?: boolean }
  | {
      kind: "partition";
      groups: [string[], string[]];
      after?: string;
      after_send?: string;
      after_ms?: number;
      heal_ms?: number;
      connect?: "refuse" | "timeout" | "hang";
    };

export interface FaultPlan {
  faults: Fault[];
}

/** Where a fault fired (`bop::inject::Fired`). */
export interface FaultSite {
  /** Logical name of the event in the rerun. */
  event: string | null;
  seq: number | null;
  pid: number;
  tid: number;
  call: string;
  at_ms: number;
}

/** A fault and what became of it (`bop::inject::FaultRecord`, in the manifest). */
export interface FaultRecord {
  fault: Fault;
  fired: boolean;
  at: FaultSite | null;
  /** What it did, or why it did not fire. */
  effect: string;
  /** How many calls it affected. */
  count: number;
}

export type RerunState = "queued" | "running" | "done" | "failed";

/** `GET /api/reruns/{id}`. */
export interface RerunStatus {
  id: string;
  parent: string;
  state: RerunState;
  plan: FaultPlan;
  created_ms: number;
  started_ms: number | null;
  ended_ms: number | null;
  exit_status: number | null;
  /** The recorded run's verdict once done. */
  verdict: Verdict | null;
  detail: string | null;
  stderr_tail: string;
}

/** The graph answer did not follow the contract. */
export class GraphError extends Error {
  override name = "GraphError";
}

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function array(g: Json, key: string): unknown[] {
  const v = g[key];
  if (!Array.isArray(v)) throw new GraphError(`graph.${key} is missing or not an array`);
  return v;
}

function index(x: unknown, n: number, where: string): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x >= n) {
    throw new GraphError(`${where} is ${JSON.stringify(x)}, not an event id below ${n}`);
  }
  return x;
}

/**
 * Checks a graph answer against the contract and returns it typed.
 * Checks what drawing relies on: ids are indices, every event's thread is
 * listed, and every reference points at an existing event. Missing
 * optional fields are filled with null.
 */
export function parseGraph(x: unknown): Graph {
  if (!isObject(x)) throw new GraphError("the graph is not a JSON object");
  if (x.schema !== undefined && x.schema !== 1) {
    throw new GraphError(`graph schema ${JSON.stringify(x.schema)} is not supported by this page (expected 1); reload after upgrading`);
  }
  if (!isObject(x.run)) throw new GraphError("graph.run is missing");
  const threads = array(x, "threads") as GraphThread[];
  const threadNames = new Set<string>();
  for (const [i, t] of threads.entries()) {
    if (!isObject(t) || typeof t.name !== "string") throw new GraphError(`graph.threads[${i}] has no name`);
    threadNames.add(t.name);
  }
  const processes = array(x, "processes") as GraphProcess[];
  const events = array(x, "events") as GraphEvent[];
  const n = events.length;
  for (let i = 0; i < n; i++) {
    const e = events[i] as unknown;
    if (!isObject(e)) throw new GraphError(`graph.events[${i}] is not an object`);
    if (e.id !== i) throw new GraphError(`graph.events[${i}].id is ${JSON.stringify(e.id)}; ids must be indices`);
    if (typeof e.thread !== "string" || !threadNames.has(e.thread)) {
      throw new GraphError(`graph.events[${i}].thread ${JSON.stringify(e.thread)} is not in graph.threads`);
    }
    if (typeof e.start_ns !== "number") throw new GraphError(`graph.events[${i}].start_ns is not a number`);
    if (typeof e.lamport !== "number") throw new GraphError(`graph.events[${i}].lamport is not a number`);
    for (const k of ["fd", "channel", "ret", "errno", "bytes", "end_ns", "data", "injected"]) {
      if (e[k] === undefined) e[k] = null;
    }
  }
  const messages = array(x, "messages") as GraphMessage[];
  for (const [i, m] of messages.entries()) {
    if (!isObject(m) || typeof m.id !== "string") throw new GraphError(`graph.messages[${i}] has no id`);
    index(m.send, n, `graph.messages[${i}].send`);
    if (!Array.isArray(m.recvs)) throw new GraphError(`graph.messages[${i}].recvs is not an array`);
    m.recvs.forEach((r, j) => index(r, n, `graph.messages[${i}].recvs[${j}]`));
    m.lost = m.lost === true;
    m.dropped = m.dropped === true;
  }
  const edges = array(x, "edges") as GraphEdge[];
  for (const [i, e] of edges.entries()) {
    if (!isObject(e)) throw new GraphError(`graph.edges[${i}] is not an object`);
    index(e.from, n, `graph.edges[${i}].from`);
    index(e.to, n, `graph.edges[${i}].to`);
    if (!EDGE_KINDS.includes(e.kind as EdgeKind)) throw new GraphError(`graph.edges[${i}].kind ${JSON.stringify(e.kind)} is unknown`);
  }
  const channels = (Array.isArray(x.channels) ? x.channels : []) as GraphChannel[];
  return { schema: 1, run: x.run as unknown as GraphRun, processes, threads, channels, events, messages, edges };
}

/** Reads an error body, falling back to the status line. */
export function errorDetail(status: number, body: unknown): ApiErrorBody {
  if (isObject(body) && typeof body.error === "string" && typeof body.detail === "string") {
    return { error: body.error, detail: body.detail };
  }
  return { error: `http_${status}`, detail: `the server answered ${status}` };
}
