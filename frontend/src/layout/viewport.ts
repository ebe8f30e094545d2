/**
 * The viewport: which part of the diagram's world is on screen. Pure and
 * immutable (every operation returns a new value), like a time scale:
 * world x (ns or Lamport ticks) maps linearly to screen px; y is in
 * content px (lanes have a fixed height) scrolled by `y0`.
 */

export interface Viewport {
  /** World x at the left edge of the plot area. */
  x0: number;
  /** Screen px per world unit. */
  k: number;
  /** Content px scrolled off the top. */
  y0: number;
  /** Canvas size in CSS px. */
  width: number;
  height: number;
  /** Plot area origin: lane labels on the left, time axis on top. */
  left: number;
  top: number;
}

export const MIN_K = 1e-12;
export const MAX_K = 1e4;

export function screenX(v: Viewport, wx: number): number {
  return v.left + (wx - v.x0) * v.k;
}

export function worldX(v: Viewport, sx: number): number {
  return v.x0 + (sx - v.left) / v.k;
}

export function screenY(v: Viewport, cy: number): number {
  return v.top + cy - v.y0;
}

export function contentY(v: Viewport, sy: number): number {
  return sy - v.top + v.y0;
}

/** The world x range visible in the plot area. */
export function visibleX(v: Viewport): [number, number] {
  return [v.x0, worldX(v, v.width)];
}

/** Zooms by `factor` (> 1 zooms in) keeping the world point under `sx` in place. */
export function zoomAt(v: Viewport, sx: number, factor: number): Viewport {
  const k = Math.min(MAX_K, Math.max(MIN_K, v.k * factor));
  const anchor = worldX(v, sx);
  return { ...v, k, x0: anchor - (sx - v.left) / k };
}

/** Pans by screen px (positive dx moves the content right), clamping y to the content. */
export function pan(v: Viewport, dx: number, dy: number, contentHeight: number): Viewport {
  return clampY({ ...v, x0: v.x0 - dx / v.k, y0: v.y0 - dy }, contentHeight);
}

export function clampY(v: Viewport, contentHeight: number): Viewport {
  const maxY = Math.max(0, contentHeight - (v.height - v.top) + 8);
  return { ...v, y0: Math.min(maxY, Math.max(0, v.y0)) };
}

/** Shows the world range [min, max] across the plot area with a margin, scrolled to the top. */
export function fit(v: Viewport, min: number, max: number, marginPx = 24): Viewport {
  const span = Math.max(max - min, 1e-9);
  const usable = Math.max(1, v.width - v.left - 2 * marginPx);
  const k = Math.min(MAX_K, Math.max(MIN_K, usable / span));
  return { ...v, k, x0: min - marginPx / k, y0: 0 };
}

/** The same view on a canvas of another size (keeps x0, k and y0). */
export function resize(v: Viewport, width: number, height: number): Viewport {
  return { ...v, width, height };
}

/** "Nice" tick values (1, 2, 5 × 10^n steps) covering [a, b], about `count` of them. */
export function ticks(a: number, b: number, count: number, integer = false): number[] {
  if (!(b > a) || count < 1) return [];
  const raw = (b - a) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const s = integer ? Math.max(1, Math.round(step)) : step;
  const out: number[] = [];
  for (let t = Math.ceil(a / s) * s; t <= b && out.length < 1000; t += s) out.push(t);
  return out;
}
