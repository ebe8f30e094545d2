/**
 * The details panel under the run page's diagram: everything about the
 * selected event or message, where a tooltip has no room. For an event:
 * the call as strace would print it (`write(3, 11 bytes) = 11`), its
 * channel, times, Lamport clock, what the fault injector did, the
 * captured payload as a hex dump beside its text, and how many events
 * are in its causal past and future. For a message: its channel, size,
 * fate, send and deliveries (each a button that selects that event), and
 * the payload its send carried.
 *
 * Test hooks: `#details` carries `data-kind` (event, message or ""),
 * `data-name`, `data-past` and `data-future` (counts, events only).
 */

import type { GraphEvent, GraphMessage } from "../model/api.ts";
import { formatData, formatNs, hexDump } from "../model/format.ts";
import { h } from "./dom.ts";

/** Bytes of payload the hex dump shows at most. */
const DUMP_BYTES = 512;

/** `write(fd 3, 11 bytes) = 11` or `= -1 ECONNRESET`; `→ (did not return)` while it had not. */
export function callLine(e: GraphEvent): string {
  const args = [e.fd !== null ? `fd ${e.fd}` : null, e.bytes !== null ? `${e.bytes} bytes` : null].filter((x) => x !== null);
  const ret = e.ret === null ? "(did not return)" : e.errno !== null ? `${e.ret} ${e.errno}` : String(e.ret);
  return `${e.call}(${args.join(", ")}) = ${ret}`;
}

export class DetailsPanel {
  constructor(
    private readonly root: HTMLElement,
    /** Selects an event by id (the buttons of a message's ends). */
    private readonly select: (id: number) => void,
  ) {
    this.clear();
  }

  clear(): void {
    this.root.replaceChildren(h("p", { class: "meta" }, "Click an event or a message arrow to see its details here."));
    this.root.dataset.kind = "";
    this.root.dataset.name = "";
    delete this.root.dataset.past;
    delete this.root.dataset.future;
  }

  showEvent(e: GraphEvent, past: number, future: number): void {
    const rows: [string, Node | string][] = [
      ["call", h("code", {}, callLine(e))],
      ["thread", e.thread],
    ];
    if (e.channel !== null) rows.push(["channel", e.channel]);
    rows.push(["time", e.end_ns === null ? `${formatNs(e.start_ns)} → (no return)` : `${formatNs(e.start_ns)} → ${formatNs(e.end_ns)} (${formatNs(e.end_ns - e.start_ns)})`]);
    rows.push(["lamport", String(e.lamport)]);
    if (e.injected !== null) rows.push(["injected", e.injected]);
    rows.push(["causal past", `${past} event${past === 1 ? "" : "s"} happened before it`]);
    rows.push(["causal future", `${future} event${future === 1 ? "" : "s"} happened after it`]);
    this.root.replaceChildren(h("h2", {}, "Event ", h("code", {}, e.name)), table(rows), ...payload(e));
    const ds = this.root.dataset;
    ds.kind = "event";
    ds.name = e.name;
    ds.past = String(past);
    ds.future = String(future);
  }

  showMessage(m: GraphMessage, events: readonly GraphEvent[]): void {
    const send = events[m.send];
    const link = (id: number) => {
      const b = h("button", { type: "button", class: "link event-link", "data-event": events[id].name }, events[id].name);
      b.addEventListener("click", () => this.select(id));
      return b;
    };
    const fate = m.dropped ? "dropped by the fault injector" : m.lost ? "never delivered" : `delivered by ${m.recvs.length} read${m.recvs.length === 1 ? "" : "s"}`;
    const rows: [string, Node | string][] = [
      ["channel", m.channel],
      ["bytes", m.bytes === null ? "?" : String(m.bytes)],
      ["fate", fate],
      ["sent by", link(m.send)],
    ];
    if (m.recvs.length > 0) rows.push(["read by", h("span", {}, ...m.recvs.flatMap((r, i) => [i > 0 ? ", " : null, link(r)]))]);
    this.root.replaceChildren(h("h2", {}, "Message ", h("code", {}, m.id)), table(rows), ...payload(send));
    const ds = this.root.dataset;
    ds.kind = "message";
    ds.name = m.id;
    delete ds.past;
    delete ds.future;
  }
}

function table(rows: [string, Node | string][]): HTMLElement {
  return h("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** The captured payload: a text line, then the hex dump; a note when nothing was captured. */
function payload(e: GraphEvent): Node[] {
  if (e.data === null) return e.bytes !== null && e.bytes > 0 ? [h("p", { class: "meta" }, "No payload was captured for this call (bop run --capture-bytes sets how much is kept).")] : [];
  const captured = e.data.length / 2;
  const lines = hexDump(e.data, DUMP_BYTES);
  const more = captured > DUMP_BYTES ? `, first ${DUMP_BYTES} shown` : "";
  const of = e.bytes !== null && e.bytes > captured ? ` of ${e.bytes}` : "";
  return [
    h("h3", {}, `Payload · ${captured}${of} bytes captured${more}`),
    h("p", { class: "payload-text" }, h("code", {}, formatData(e.data, 400))),
    h("pre", { class: "hexdump", "aria-label": "hex dump" }, lines.map((l) => `${l.offset}  ${l.hex.padEnd(47)}  ${l.text}`).join("\n")),
  ];
}
