/**
 * The wiring every diagram page shares: how big its canvas is, when it
 * redraws after a resize, which x scale the layout radios pick, and where
 * a canvas point is on the page (for the browser tests' hooks). The run
 * view, the windowed run view and the comparison differ in what they draw,
 * not in this.
 */

import type { XScale } from "../layout/diagram.ts";
import { AXIS } from "../render/theme.ts";
import { sizeCanvas, type ViewportController } from "./controller.ts";

/**
 * Sizes a diagram's canvas to its host's width and its lanes' height,
 * never taller than the window below the host (the page scrolls, the
 * diagram pans), and tells the controller the new viewport size.
 */
export function fitCanvas(root: HTMLElement, canvas: HTMLCanvasElement, nav: ViewportController, lanesHeight: number): void {
  const width = Math.max(200, root.clientWidth);
  const wanted = lanesHeight + AXIS + 16;
  const height = Math.max(160, Math.min(wanted, window.innerHeight - root.getBoundingClientRect().top - 24, 2000));
  sizeCanvas(canvas, width, height);
  nav.resize(width, height);
}

/** Calls `resized` whenever the host changes size (after the canvas should be refitted). */
export function onResize(root: HTMLElement, resized: () => void): void {
  new ResizeObserver(resized).observe(root);
}

/** Calls `choose` with the scale of the page's layout radio the user checks. */
export function onScaleChoice(choose: (scale: XScale) => void): void {
  for (const radio of document.querySelectorAll<HTMLInputElement>("input[name=layout]")) {
    radio.addEventListener("change", () => {
      if (radio.checked) choose(radio.value === "logical" ? "logical" : "time");
    });
  }
}

/** Page coordinates of a point on `canvas` (null stays null). */
export function pagePoint(canvas: HTMLCanvasElement, p: [number, number] | null): { x: number; y: number } | null {
  if (p === null) return null;
  const rect = canvas.getBoundingClientRect();
  return { x: rect.left + p[0], y: rect.top + p[1] };
}
