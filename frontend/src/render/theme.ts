/** Colours and sizes of the diagram; only render/ reads them. */

export const THEME = {
  background: "#ffffff",
  groupBand: ["#f6f8fa", "#ffffff"],
  gutter: "#f0f2f5",
  laneLine: "#d0d7de",
  label: "#24292f",
  groupLabel: "#57606a",
  axis: "#57606a",
  grid: "#eaeef2",
  /** By call class (model/calls.ts): other, send, receive, setup, teardown, process. */
  event: ["#8c959f", "#0969da", "#1a7f37", "#8250df", "#bf8700", "#57606a"],
  /** By arrow kind: message, connect, spawn, exit, eof, lost. */
  arrow: ["#0969da", "#8250df", "#57606a", "#bf3989", "#bf8700", "#cf222e"],
  arrowDash: [[], [6, 3], [2, 3], [6, 2, 2, 2], [1, 3], [4, 3]] as number[][],
  injected: "#cf222e",
  past: "#d1600a",
  future: "#0550ae",
  selected: "#000000",
  hover: "#ff8c00",
  dimAlpha: 0.15,
  /** Comparisons: differences in A, in B, and the first divergence. */
  diffA: "#e36209",
  diffB: "#8250df",
  divergence: "#cf222e",
  font: "12px system-ui, sans-serif",
  smallFont: "11px system-ui, sans-serif",
} as const;

export const GUTTER = 170;
export const AXIS = 26;
export const MARK = 3.5;
