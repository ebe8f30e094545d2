/**
 * The run page's banner for I/O bop could not see: processes that used
 * io_uring moved bytes outside the system calls the tracer records, so
 * their messages are missing from the diagram. Said plainly above it
 * rather than leaving a partial graph to look complete.
 */

import type { Graph } from "../model/api.ts";
import { unseenText } from "../model/unseen.ts";
import { h } from "./dom.ts";

/** Inserts the banner before `before` when some process did unseen I/O. */
export function showUnseen(graph: Graph, before: HTMLElement): void {
  const text = unseenText(graph.run.unseen);
  if (text === null) return;
  before.before(h("div", { id: "unseen", class: "status error", role: "note" }, text));
}
