/**
 * The messages a run's faults acted on, to mark their arrows on the
 * diagram (issue 14: on a failing run's diagram, reached from a search's
 * bug, the faulted messages are what a reader looks for first). Pure.
 *
 * A message is faulted when a delay or drop of the plan names it, when the
 * injector dropped it (a drop on a stream cuts every later message that
 * way too), or when its send is an event the injector changed (`injected`:
 * a held or dropped send, whatever fault matched it).
 */

import type { Graph } from "./api.ts";
import { faultRows } from "./faults.ts";

/** 1 for each message (index into `graph.messages`) the faults acted on. */
export function faultedMessages(graph: Graph): Uint8Array {
  const named = new Set(faultRows(graph.run.faults).flatMap((r) => (r.message === null ? [] : [r.message])));
  const out = new Uint8Array(graph.messages.length);
  graph.messages.forEach((m, i) => {
    const send = graph.events[m.send];
    if (named.has(m.id) || m.dropped || (send !== undefined && send.injected !== null)) out[i] = 1;
  });
  return out;
}

/** The names of the marked messages, in graph order. */
export function faultedNames(graph: Graph, faulted: Uint8Array): string[] {
  return graph.messages.filter((_, i) => faulted[i] === 1).map((m) => m.id);
}
