/** Text shown for model values (tooltips, tables); pure. */

import type { GraphEvent, GraphMessage } from "./api.ts";

/** `1.234 ms`, `56.7 µs`, `2.50 s` from nanoseconds. */
export function formatNs(ns: number): string {
  const abs = Math.abs(ns);
  if (abs >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (abs >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (abs >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns} ns`;
}

/** A time-axis label: `0`, `250 µs`, `2 ms`, `1.5 s` (no trailing zeros). */
export function formatTick(ns: number): string {
  if (ns === 0) return "0";
  const abs = Math.abs(ns);
  const [div, unit] = abs >= 1e9 ? [1e9, "s"] : abs >= 1e6 ? [1e6, "ms"] : abs >= 1e3 ? [1e3, "µs"] : [1, "ns"];
  return `${Number((ns / div).toPrecision(6))} ${unit}`;
}

/** `250 ms`, `1.5 s`, `—` for a duration in milliseconds. */
export function formatMs(ms: number | null): string {
  if (ms === null) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Captured payload as text with non-printable bytes as `\xNN`, shortened. */
export function formatData(hex: string, max = 64): string {
  let out = "";
  for (let i = 0; i + 1 < hex.length && out.length < max; i += 2) {
    const b = parseInt(hex.slice(i, i + 2), 16);
    if (Number.isNaN(b)) break;
    out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : b === 0x0a ? "\\n" : `\\x${hex.slice(i, i + 2)}`;
  }
  return out.length >= max ? `${out}…` : out;
}

/** Tooltip lines for an event: label, value pairs; absent fields left out. */
export function eventFacts(e: GraphEvent): [string, string][] {
  const facts: [string, string][] = [
    ["event", e.name],
    ["syscall", e.call],
  ];
  if (e.fd !== null) facts.push(["fd", String(e.fd)]);
  if (e.channel !== null) facts.push(["channel", e.channel]);
  if (e.bytes !== null) facts.push(["bytes", String(e.bytes)]);
  facts.push(["ret", e.ret === null ? "(did not return)" : String(e.ret)]);
  if (e.errno !== null) facts.push(["errno", e.errno]);
  facts.push(["time", e.end_ns === null ? `${formatNs(e.start_ns)} →` : `${formatNs(e.start_ns)} → ${formatNs(e.end_ns)}`]);
  facts.push(["lamport", String(e.lamport)]);
  facts.push(["thread", e.thread]);
  if (e.data !== null) facts.push(["data", formatData(e.data)]);
  if (e.injected !== null) facts.push(["injected", e.injected]);
  return facts;
}

/** Tooltip lines for a message: its name, channel, size and fate. */
export function messageFacts(m: GraphMessage): [string, string][] {
  const facts: [string, string][] = [
    ["message", m.id],
    ["channel", m.channel],
  ];
  if (m.bytes !== null) facts.push(["bytes", String(m.bytes)]);
  if (m.dropped) facts.push(["dropped", "by the fault injector"]);
  else if (m.lost) facts.push(["lost", "never delivered"]);
  return facts;
}

/** One line of a hex dump: offset, up to 16 bytes as hex, the same as text (`.` for non-printable). */
export interface HexLine {
  offset: string;
  hex: string;
  text: string;
}

/**
 * A captured payload (hex) as hex-dump lines, at most `maxBytes` bytes
 * (the rest is counted by the caller: `bytes` may exceed the capture).
 */
export function hexDump(hex: string, maxBytes = 256): HexLine[] {
  const lines: HexLine[] = [];
  const n = Math.min(Math.floor(hex.length / 2), maxBytes);
  for (let at = 0; at < n; at += 16) {
    const parts: string[] = [];
    let text = "";
    for (let i = at; i < Math.min(at + 16, n); i++) {
      const pair = hex.slice(2 * i, 2 * i + 2);
      const b = parseInt(pair, 16);
      parts.push(pair);
      text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
    }
    lines.push({ offset: at.toString(16).padStart(4, "0"), hex: parts.join(" "), text });
  }
  return lines;
}
