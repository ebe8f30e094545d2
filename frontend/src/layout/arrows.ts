/**
 * Which arrows to draw: the user filters arrows by channel or by process
 * (ShiViz's "hide this host's communication"), and arrows with an end in
 * a hidden lane (layout/collapse.ts) are dropped, since half an arrow
 * pointing off into nothing would read as a lost message. Pure: a layout
 * and a filter give the same layout with fewer arrows and its own arrow
 * index, so drawing and hit testing agree on what is there.
 */

import type { Graph } from "../model/api.ts";
import { ArrowIndex, type DiagramLayout } from "./diagram.ts";

/** Arrows to leave out. Immutable. */
export interface ArrowFilter {
  /** Channel names: message arrows on them, and connect/EOF arrows of them. */
  readonly channels: ReadonlySet<string>;
  /** Process names: every arrow with an end in one of them. */
  readonly processes: ReadonlySet<string>;
}

export const NO_FILTER: ArrowFilter = { channels: new Set(), processes: new Set() };

/** The channel an arrow belongs to: its message's, else its first event's (connect, EOF), else null (spawn, exit). */
export function arrowChannel(l: DiagramLayout, graph: Graph, a: number): string | null {
  const m = l.arrowMessage[a];
  if (m >= 0) return graph.messages[m].channel;
  return graph.events[l.arrowFrom[a]].channel;
}

/** True when arrow `a` of `l` is drawn under `filter`. */
export function arrowShown(l: DiagramLayout, graph: Graph, filter: ArrowFilter, a: number): boolean {
  const from = l.arrowFrom[a];
  const to = l.arrowTo[a];
  if (l.laneOf[from] < 0 || (to >= 0 && l.laneOf[to] < 0)) return false;
  if (filter.processes.size > 0) {
    if (filter.processes.has(graph.events[from].process)) return false;
    if (to >= 0 && filter.processes.has(graph.events[to].process)) return false;
  }
  if (filter.channels.size > 0) {
    const c = arrowChannel(l, graph, a);
    if (c !== null && filter.channels.has(c)) return false;
  }
  return true;
}

/** `l` with only the arrows `filter` shows (the same object when it shows them all). */
export function filterArrows(l: DiagramLayout, graph: Graph, filter: ArrowFilter): DiagramLayout {
  const keep: number[] = [];
  const n = l.arrowFrom.length;
  for (let a = 0; a < n; a++) if (arrowShown(l, graph, filter, a)) keep.push(a);
  if (keep.length === n) return l;
  const out: DiagramLayout = {
    ...l,
    arrowFrom: Int32Array.from(keep, (a) => l.arrowFrom[a]),
    arrowTo: Int32Array.from(keep, (a) => l.arrowTo[a]),
    arrowKind: Uint8Array.from(keep, (a) => l.arrowKind[a]),
    arrowMessage: Int32Array.from(keep, (a) => l.arrowMessage[a]),
  };
  out.arrows = new ArrowIndex(out);
  return out;
}

/** `filter` with `name` (a channel or a process, per `kind`) left out or put back. */
export function setFiltered(filter: ArrowFilter, kind: "channels" | "processes", name: string, out: boolean): ArrowFilter {
  const next = new Set(filter[kind]);
  if (out) next.add(name);
  else next.delete(name);
  return { ...filter, [kind]: next };
}
