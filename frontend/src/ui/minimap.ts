/**
 * The minimap under the run page's toolbar: the whole run as a density
 * strip (layout/minimap.ts, render/minimap.ts) with the diagram's window
 * on it. A click centres the diagram on that point at the same zoom; a
 * drag keeps doing so as the pointer moves. It redraws on every viewport
 * change (it subscribes to the shared controller) and when handed a new
 * density (relayout, or later the window API's level of detail).
 *
 * Test hooks: `#minimap` carries `data-window-x`, `data-window-w` (the
 * window box, CSS px) and `data-columns`.
 */

import { type Box, centreAt, type Density, windowBox } from "../layout/minimap.ts";
import type { Viewport } from "../layout/viewport.ts";
import { drawMinimap } from "../render/minimap.ts";
import { sizeCanvas, type ViewportController } from "./controller.ts";

export const MINIMAP_HEIGHT = 44;

export class Minimap {
  private readonly canvas: HTMLCanvasElement;
  private density: Density | null = null;
  private box: Box = { width: 0, height: MINIMAP_HEIGHT };
  private dragging = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly nav: ViewportController,
  ) {
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("aria-label", "Minimap of the whole run: click or drag to move the view");
    this.canvas.style.cursor = "pointer";
    root.replaceChildren(this.canvas);
    nav.subscribe(() => this.paint());
    new ResizeObserver(() => this.paint()).observe(root);
    const move = (ev: PointerEvent) => {
      if (this.density === null) return;
      const rect = this.canvas.getBoundingClientRect();
      this.nav.set(centreAt(this.nav.view, this.density, this.box, ev.clientX - rect.left, ev.clientY - rect.top), "minimap");
    };
    this.canvas.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      this.dragging = true;
      this.canvas.setPointerCapture(ev.pointerId);
      move(ev);
    });
    this.canvas.addEventListener("pointermove", (ev) => {
      if (this.dragging) move(ev);
    });
    const stop = () => {
      this.dragging = false;
    };
    this.canvas.addEventListener("pointerup", stop);
    this.canvas.addEventListener("pointercancel", stop);
  }

  /** The columns a density should have for the strip's width. */
  columns(): number {
    return Math.max(50, Math.min(2000, Math.round(this.root.clientWidth || 800)));
  }

  setDensity(d: Density): void {
    this.density = d;
    this.root.dataset.columns = String(d.columns);
    this.paint();
  }

  private paint(): void {
    const d = this.density;
    if (d === null) return;
    const width = Math.max(100, this.root.clientWidth);
    if (width !== this.box.width) {
      this.box = { width, height: MINIMAP_HEIGHT };
      sizeCanvas(this.canvas, width, MINIMAP_HEIGHT);
    }
    const ctx = this.canvas.getContext("2d");
    if (ctx === null) return;
    const v: Viewport = this.nav.view;
    const dpr = this.canvas.width / width;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    drawMinimap(ctx, d, this.box, v);
    const w = windowBox(d, this.box, v);
    this.root.dataset.windowX = w.x.toFixed(1);
    this.root.dataset.windowW = w.w.toFixed(1);
  }
}
