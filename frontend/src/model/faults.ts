/**
 * Faults and fault records as the run page shows them; pure. The manifest
 * holds one record per planned fault (`bop::inject::FaultRecord`): the
 * fault, whether it fired, where (first time), what it did or why it did
 * not fire. Records are read leniently: one that does not have that shape
 * is shown as its JSON, never dropped (DESIGN.md: never pretend a fault
 * fired, and never hide one).
 */

import type { Fault, FaultRecord } from "./api.ts";

/** One line for a fault, in its logical names. */
export function describeFault(f: Fault): string {
  switch (f.kind) {
    case "delay":
      return f.ms === "inf" ? `delay ${f.message} forever` : `delay ${f.message} by ${f.ms} ms`;
    case "drop":
      return `drop ${f.message}`;
    case "error": {
      if (f.event !== undefined) return `fail ${f.event} with ${f.errno}`;
      if (f.connect !== undefined) return `fail the connect of ${f.connect} with ${f.errno}`;
      if (f.send !== undefined) return `fail the send of ${f.send} with ${f.errno}`;
      if (f.receive !== undefined) return `fail the first receive of ${f.receive} with ${f.errno}`;
      const nth = f.nth ?? 0;
      const which = [f.call ?? "call", f.process ? `of ${f.process}` : "", f.channel ? `on ${f.channel}` : ""].filter(Boolean).join(" ");
      return `fail the ${ordinal(nth + 1)} ${which} with ${f.errno}`;
    }
    case "crash":
      return `${f.kill ? "kill" : "crash"} ${f.process}${after(f.after, f.after_send)}`;
    case "partition": {
      const [a, b] = f.groups;
      const when = f.after || f.after_send ? after(f.after, f.after_send) : f.after_ms !== undefined ? ` after ${f.after_ms} ms` : "";
      const heal = f.heal_ms !== undefined ? `, heal after ${f.heal_ms} ms` : "";
      return `partition {${a.join(", ")}} from {${b.join(", ")}}${when}${heal}`;
    }
  }
}

/** When a crash or a partition starts: after an event, or after a send. */
function after(event: string | undefined, send: string | undefined): string {
  if (event) return ` after ${event}`;
  return send ? ` after the send of ${send}` : "";
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return `${n}${suffix}`;
}

/** A fault record ready to show. */
export interface FaultRow {
  /** The fault in one line. */
  text: string;
  /** null when the record could not be read. */
  fired: boolean | null;
  /** Logical name of the event where it fired (first time), if known. */
  event: string | null;
  /** `sendto at 77 ms (pid 21765, tid 21775)`. */
  where: string | null;
  effect: string;
  count: number;
  /** The message the fault names, if any (to find its arrow). */
  message: string | null;
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);
const FAULT_KINDS = ["delay", "drop", "error", "crash", "partition"];

function asRecord(x: unknown): FaultRecord | null {
  if (!isObject(x) || typeof x.fired !== "boolean" || !isObject(x.fault)) return null;
  if (typeof x.fault.kind !== "string" || !FAULT_KINDS.includes(x.fault.kind)) return null;
  if (x.fault.kind === "partition" && !(Array.isArray(x.fault.groups) && x.fault.groups.length === 2 && x.fault.groups.every(Array.isArray))) return null;
  return x as unknown as FaultRecord;
}

/** The rows of a manifest's `faults`, in plan order. */
export function faultRows(faults: unknown[]): FaultRow[] {
  return faults.map((x) => {
    const r = asRecord(x);
    if (r === null) {
      return { text: JSON.stringify(x), fired: null, event: null, where: null, effect: "unreadable fault record", count: 0, message: null };
    }
    const at = isObject(r.at) ? r.at : null;
    const where = at ? `${at.call} at ${at.at_ms} ms (pid ${at.pid}, tid ${at.tid})` : null;
    return {
      text: describeFault(r.fault),
      fired: r.fired,
      event: at && typeof at.event === "string" ? at.event : null,
      where,
      effect: typeof r.effect === "string" ? r.effect : "",
      count: typeof r.count === "number" ? r.count : 0,
      message: "message" in r.fault && typeof r.fault.message === "string" ? r.fault.message : null,
    };
  });
}

/** `1 of 2 faults fired`. */
export function faultSummary(rows: FaultRow[]): string {
  const fired = rows.filter((r) => r.fired === true).length;
  return `${fired} of ${rows.length} fault${rows.length === 1 ? "" : "s"} fired`;
}
