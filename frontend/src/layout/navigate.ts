/**
 * Pan and zoom gestures as pure viewport transforms, shared by the run
 * view and the comparison so that a key, a wheel notch or a drag moves
 * both the same way. Here a gesture becomes a new `Viewport`; ui/controller.ts
 * only reads DOM events and calls these.
 */

import { clampY, fit, pan, type Viewport, worldX, zoomAt } from "./viewport.ts";

/** Zoom factor of one key press or button click. */
export const ZOOM_STEP = 1.5;
/** Screen px one arrow key pans. */
export const PAN_STEP = 80;
/** Wheel delta (px) that zooms by a factor of e: a 100 px notch zooms by about 1.4. */
export const WHEEL_ZOOM_PX = 300;

/** What the viewport navigates over: the world x range of the diagram and its content height (px). */
export interface Extent {
  minX: number;
  maxX: number;
  height: number;
}

/** The gestures a key or a toolbar button can ask for. */
export type NavAction = "zoom-in" | "zoom-out" | "pan-left" | "pan-right" | "pan-up" | "pan-down" | "fit";

/** Screen x of the middle of the plot area, where key and button zooms are anchored. */
export function plotCenter(v: Viewport): number {
  return (v.left + v.width) / 2;
}

/** The viewport after one step of `action`. */
export function navigate(v: Viewport, action: NavAction, extent: Extent): Viewport {
  switch (action) {
    case "zoom-in":
      return zoomAt(v, plotCenter(v), ZOOM_STEP);
    case "zoom-out":
      return zoomAt(v, plotCenter(v), 1 / ZOOM_STEP);
    // Panning left shows what is to the left: the content moves right.
    case "pan-left":
      return pan(v, PAN_STEP, 0, extent.height);
    case "pan-right":
      return pan(v, -PAN_STEP, 0, extent.height);
    case "pan-up":
      return pan(v, 0, PAN_STEP, extent.height);
    case "pan-down":
      return pan(v, 0, -PAN_STEP, extent.height);
    case "fit":
      return fit(v, extent.minX, extent.maxX);
  }
}

/** The fields of a DOM `WheelEvent` that decide its gesture. */
export interface WheelInput {
  deltaX: number;
  deltaY: number;
  /** 0 pixels, 1 lines, 2 pages (`WheelEvent.deltaMode`). */
  deltaMode: number;
  shiftKey: boolean;
  altKey: boolean;
}

export type WheelGesture = { kind: "zoom"; factor: number } | { kind: "pan"; dx: number; dy: number };

/**
 * A wheel turn: a vertical wheel zooms (up zooms in); a horizontal one
 * (a trackpad swipe, or Shift + wheel) pans in time; Alt + wheel scrolls
 * the lanes. Line and page deltas (Firefox, some mice) are scaled to px.
 */
export function wheelGesture(w: WheelInput): WheelGesture {
  const unit = w.deltaMode === 1 ? 20 : w.deltaMode === 2 ? 400 : 1;
  if (w.shiftKey || Math.abs(w.deltaX) > Math.abs(w.deltaY)) return { kind: "pan", dx: -(w.deltaX || w.deltaY) * unit, dy: 0 };
  if (w.altKey) return { kind: "pan", dx: 0, dy: -w.deltaY * unit };
  return { kind: "zoom", factor: Math.exp((-w.deltaY * unit) / WHEEL_ZOOM_PX) };
}

/** The pointer gestures, as the keyboard help lists them (`wheelGesture` and ui/controller.ts implement them). */
export const GESTURES: readonly { readonly gesture: string; readonly description: string }[] = [
  { gesture: "Wheel", description: "Zoom in or out around the pointer" },
  { gesture: "Shift + wheel, sideways swipe", description: "Pan in time" },
  { gesture: "Alt + wheel", description: "Scroll the lanes" },
  { gesture: "Drag", description: "Pan in time and scroll the lanes" },
];

/** The viewport after a wheel turn with the pointer at screen x `sx` (a zoom keeps the world x under it in place). */
export function applyWheel(v: Viewport, w: WheelInput, sx: number, extent: Extent): Viewport {
  const g = wheelGesture(w);
  return g.kind === "zoom" ? zoomAt(v, sx, g.factor) : pan(v, g.dx, g.dy, extent.height);
}

/** Sets the zoom so that `span` world units fill the plot area (keeps x0). */
export function zoomToSpan(v: Viewport, span: number): Viewport {
  return { ...v, k: (v.width - v.left) / Math.max(span, 1e-9) };
}

export interface RevealOptions {
  /** Centre the point even when it is already in view. */
  center?: boolean;
  /** How close (px) to the plot edges still counts as in view. */
  marginX?: number;
  marginY?: number;
}

/**
 * Scrolls so that world x `wx` and content y `cy` (a lane) are in view:
 * an axis already in view (within the margins) is left alone, so clicking
 * through a list of differences does not jerk the diagram around.
 */
export function reveal(v: Viewport, wx: number, cy: number, contentHeight: number, o: RevealOptions = {}): Viewport {
  const mx = o.marginX ?? 20;
  const my = o.marginY ?? 10;
  let out = v;
  const sx = v.left + (wx - v.x0) * v.k;
  if (o.center === true || sx < v.left + mx || sx > v.width - mx) out = { ...out, x0: wx - (v.width - v.left) / 2 / v.k };
  const sy = v.top + cy - v.y0;
  if (o.center === true || sy < v.top + my || sy > v.height - my) out = clampY({ ...out, y0: cy - (v.height - v.top) / 2 }, contentHeight);
  return out;
}

/** The part of the world in view: world x range and content y range (px), what a windowed fetch asks for. */
export interface ViewWindow {
  x: [number, number];
  y: [number, number];
}

export function viewWindow(v: Viewport): ViewWindow {
  return { x: [v.x0, worldX(v, v.width)], y: [v.y0, v.y0 + v.height - v.top] };
}
