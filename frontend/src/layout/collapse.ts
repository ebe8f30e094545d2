/**
 * Lanes the user shaped, as ShiViz and Perfetto let one do on a big
 * diagram: a process's threads collapsed into one lane (and expanded
 * again), lanes hidden (and shown again). Pure: a {@link LaneState} and a
 * lane spec give a `LaneLayout` that layout/diagram.ts lays events out on;
 * a hidden thread maps to lane -1, so its events and the arrows that
 * touch it are not drawn (layout/arrows.ts drops those arrows).
 *
 * A lane is named by a key that survives collapsing: a thread's logical
 * name for its own lane, the process name for a collapsed one.
 */

import type { Graph } from "../model/api.ts";
import { GROUP_HEADER, type Lane, LANE_HEIGHT, type LaneLayout, type LaneSpec, laneSpec, type ProcessGroup } from "./lanes.ts";

/** What the user collapsed and hid. Immutable: every change makes a new one. */
export interface LaneState {
  /** Processes whose threads share one lane. */
  readonly collapsed: ReadonlySet<string>;
  /** Lane keys not drawn: thread names, or process names of collapsed lanes. */
  readonly hidden: ReadonlySet<string>;
}

export const ALL_LANES: LaneState = { collapsed: new Set(), hidden: new Set() };

/** One lane the user can act on: its key, what it shows, whether it is hidden. */
export interface LaneChoice {
  key: string;
  label: string;
  process: string;
  /** The threads it draws. */
  threads: string[];
  hidden: boolean;
}

/** The label of a collapsed process's lane. */
export function collapsedLabel(process: string, threads: number): string {
  return `${process} (${threads} threads)`;
}

/** The lanes `state` makes of `spec`, per process, hidden ones included (for the lane menu). */
export function laneChoices(spec: LaneSpec, state: LaneState): { process: string; threads: number; collapsed: boolean; lanes: LaneChoice[] }[] {
  return spec.map(({ process, threads }) => {
    const collapsed = state.collapsed.has(process) && threads.length > 1;
    const lanes: LaneChoice[] = collapsed
      ? [{ key: process, label: collapsedLabel(process, threads.length), process, threads, hidden: state.hidden.has(process) }]
      : threads.map((t) => ({ key: t, label: t, process, threads: [t], hidden: state.hidden.has(t) }));
    return { process, threads: threads.length, collapsed, lanes };
  });
}

/**
 * The lane layout of `graph` shaped by `state`: collapsed processes get
 * one lane for all their threads, hidden lanes none (nor does a process
 * whose lanes are all hidden).
 */
export function shapeLanes(graph: Graph, state: LaneState, spec: LaneSpec = laneSpec(graph)): LaneLayout {
  const threadIndex = new Map(graph.threads.map((t, i) => [t.name, i]));
  const lanes: Lane[] = [];
  const groups: ProcessGroup[] = [];
  const laneOfThread = new Int32Array(graph.threads.length).fill(-1);
  let y = 0;
  for (const group of laneChoices(spec, state)) {
    const shown = group.lanes.filter((l) => !l.hidden);
    if (shown.length === 0) continue;
    const g: ProcessGroup = { process: group.process, top: y, bottom: 0, lanes: [] };
    y += GROUP_HEADER;
    for (const choice of shown) {
      const threads = choice.threads.map((name) => threadIndex.get(name) ?? -1).filter((t) => t >= 0);
      for (const t of threads) laneOfThread[t] = lanes.length;
      g.lanes.push(lanes.length);
      lanes.push({ thread: threads[0] ?? -1, threads, label: choice.label, process: group.process, y: y + LANE_HEIGHT / 2 });
      y += LANE_HEIGHT;
    }
    g.bottom = y;
    groups.push(g);
  }
  return { lanes, groups, laneOfThread, height: y };
}

/** `state` with `process` collapsed if it was expanded, expanded if it was collapsed. */
export function toggleCollapsed(state: LaneState, process: string): LaneState {
  const collapsed = new Set(state.collapsed);
  if (!collapsed.delete(process)) collapsed.add(process);
  return { ...state, collapsed };
}

/** Every process with more than one thread collapsed, or (when all already are) none. */
export function toggleAllCollapsed(state: LaneState, spec: LaneSpec): LaneState {
  const many = spec.filter((g) => g.threads.length > 1).map((g) => g.process);
  const all = many.length > 0 && many.every((p) => state.collapsed.has(p));
  return { ...state, collapsed: all ? new Set() : new Set(many) };
}

/** `state` with lane `key` hidden or shown. */
export function setHidden(state: LaneState, key: string, hidden: boolean): LaneState {
  const next = new Set(state.hidden);
  if (hidden) next.add(key);
  else next.delete(key);
  return { ...state, hidden: next };
}

/** `state` with every lane shown again. */
export function showAll(state: LaneState): LaneState {
  return { ...state, hidden: new Set() };
}

/**
 * `state` with whatever keeps thread `thread` of `process` out of sight
 * undone (its lane, or its collapsed process's lane, shown again): find
 * reveals a match even in a hidden lane.
 */
export function revealThread(state: LaneState, process: string, thread: string): LaneState {
  if (!state.hidden.has(thread) && !state.hidden.has(process)) return state;
  const hidden = new Set(state.hidden);
  hidden.delete(thread);
  hidden.delete(process);
  return { ...state, hidden };
}

/** The process whose header band (in the label gutter) holds content y, or null. */
export function groupHeaderAt(layout: LaneLayout, cy: number): string | null {
  const g = layout.groups.find((x) => cy >= x.top && cy < x.top + GROUP_HEADER);
  return g?.process ?? null;
}
