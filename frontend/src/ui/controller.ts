/**
 * The pan/zoom/keys controller shared by the run view and the comparison:
 * it owns the viewport, binds the one key map (layout/keymap.ts), the
 * toolbar's zoom/fit/keys buttons, the wheel and drag on each canvas, and
 * announces every viewport change to its subscribers. The views only draw
 * and handle hover and click.
 *
 * Keys: one `keydown` listener on `document` per page, not one per
 * diagram. The comparison has two diagrams on one viewport, so "which
 * diagram has the key" never matters, and a key like `+` must work right
 * after clicking a toolbar button. Keys the browser needs elsewhere
 * (arrows scroll the page) act only while a diagram has focus; that rule,
 * like every other "where does a key act" rule, is `actionFor`'s, in the
 * key map. A press on a canvas focuses its diagram.
 *
 * Every viewport change goes through `set`: it clamps the view to the
 * content, writes `data-view-x0`, `data-view-k`, `data-view-y0` and
 * `data-content-height` on the host element (test hooks) and calls each
 * subscriber once with the new
 * view, the world window in view and the cause. A view repaints from it;
 * fetching the window in view (issue 16) subscribes to the same call.
 */

import { type Action, actionFor, bindingsFor, keyLabel, type Page } from "../layout/keymap.ts";
import { applyWheel, type Extent, navigate, type ViewWindow, viewWindow } from "../layout/navigate.ts";
import { clampY, pan, resize, type Viewport } from "../layout/viewport.ts";
import { KeyHelp } from "./keyhelp.ts";

/** What moved the viewport. */
export type ViewportCause = "key" | "button" | "wheel" | "drag" | "resize" | "focus" | "layout" | "minimap" | "find";

export interface ViewportChange {
  view: Viewport;
  /** The world x range and content y range in view. */
  window: ViewWindow;
  cause: ViewportCause;
}

/** A diagram: its focusable element and the canvas inside it. */
export interface Surface {
  root: HTMLElement;
  canvas: HTMLCanvasElement;
}

export interface ControllerOptions {
  page: Page;
  /** Carries the `data-view-*` test hooks. */
  host: HTMLElement;
  surfaces: Surface[];
  /** What can be navigated now (it changes with the x-scale). */
  extent: () => Extent;
  initial: Viewport;
  /** The key map's page actions: Escape on both pages, `d` on the comparison, find and collapse on the run page. */
  actions: { clear: () => void; divergence?: () => void; find?: () => void; findNext?: () => void; findPrev?: () => void; collapseAll?: () => void };
  /** The pointer over surface `i` while no drag is going on (screen px on its canvas). */
  pointer: {
    hover(i: number, sx: number, sy: number): void;
    click(i: number, sx: number, sy: number): void;
    leave(): void;
  };
}

/** Pointer travel (px) below which a press is a click, not a drag. */
const CLICK_SLOP = 4;

/** Input types that take typed text (radio buttons and checkboxes do not). */
const NOT_TEXT = new Set(["radio", "checkbox", "button", "submit", "reset", "range", "color", "file", "image"]);

function isTextField(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  if (t.isContentEditable || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return true;
  return t instanceof HTMLInputElement && !NOT_TEXT.has(t.type);
}

export class ViewportController {
  private current: Viewport;
  private readonly listeners = new Set<(c: ViewportChange) => void>();
  private drag: { x: number; y: number; moved: boolean } | null = null;
  private readonly help: KeyHelp;

  constructor(private readonly o: ControllerOptions) {
    this.current = o.initial;
    this.help = new KeyHelp(o.page);
    this.writeHooks();
  }

  get view(): Viewport {
    return this.current;
  }

  /** Calls `fn` after every viewport change; returns the unsubscribe function. */
  subscribe(fn: (c: ViewportChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The one way the viewport changes (see the module comment); a change to nothing is not announced. */
  set(v: Viewport, cause: ViewportCause): void {
    const next = clampY(v, this.o.extent().height);
    const c = this.current;
    if (next.x0 === c.x0 && next.k === c.k && next.y0 === c.y0 && next.width === c.width && next.height === c.height) return;
    this.current = next;
    this.writeHooks();
    const change: ViewportChange = { view: next, window: viewWindow(next), cause };
    for (const fn of this.listeners) fn(change);
  }

  /** Runs an action of the key map, whatever asked for it (a key, a button). */
  act(action: Action, cause: ViewportCause = "key"): void {
    switch (action) {
      case "help":
        this.help.toggle();
        return;
      case "clear":
        this.o.actions.clear();
        return;
      case "divergence":
        this.o.actions.divergence?.();
        return;
      case "find":
        this.o.actions.find?.();
        return;
      case "find-next":
        this.o.actions.findNext?.();
        return;
      case "find-prev":
        this.o.actions.findPrev?.();
        return;
      case "collapse-all":
        this.o.actions.collapseAll?.();
        return;
      default:
        this.set(navigate(this.current, action, this.o.extent()), cause);
    }
  }

  /** Shows the whole extent (after a change of x-scale or mode, say). */
  fit(cause: ViewportCause = "layout"): void {
    this.act("fit", cause);
  }

  /** The canvases now measure `width` × `height` CSS px. */
  resize(width: number, height: number): void {
    this.set(resize(this.current, width, height), "resize");
  }

  /**
   * Binds the keys, the pointer on each surface, and every toolbar button
   * that names its action (`<button data-action="zoom-in">`): the button
   * runs what the key runs and its title is the key map's description.
   */
  bind(): void {
    document.addEventListener("keydown", (ev) => this.onKey(ev));
    const bindings = bindingsFor(this.o.page);
    for (const button of document.querySelectorAll<HTMLButtonElement>("button[data-action]")) {
      const b = bindings.find((x) => x.action === button.dataset.action);
      if (b === undefined) throw new Error(`button ${button.id || button.textContent} asks for '${button.dataset.action}', not an action of the ${this.o.page} page`);
      button.title = `${b.description} (${b.keys.map(keyLabel).join(" or ")})`;
      button.addEventListener("click", () => this.act(b.action, "button"));
    }
    this.o.surfaces.forEach((s, i) => this.bindPointer(s, i));
  }

  private writeHooks(): void {
    const ds = this.o.host.dataset;
    ds.viewX0 = String(this.current.x0);
    ds.viewK = String(this.current.k);
    ds.viewY0 = String(this.current.y0);
    ds.contentHeight = String(this.o.extent().height);
  }

  private onKey(ev: KeyboardEvent): void {
    const focused = document.activeElement;
    const action = actionFor(ev, {
      page: this.o.page,
      diagramFocused: focused !== null && this.o.surfaces.some((s) => s.root.contains(focused)),
      inTextField: isTextField(ev.target),
      helpOpen: this.help.isOpen,
    });
    if (action === null) return;
    ev.preventDefault();
    this.act(action, "key");
  }

  private bindPointer(s: Surface, i: number): void {
    const c = s.canvas;
    const point = (ev: MouseEvent): [number, number] => {
      const rect = c.getBoundingClientRect();
      return [ev.clientX - rect.left, ev.clientY - rect.top];
    };
    c.addEventListener(
      "wheel",
      (ev) => {
        ev.preventDefault();
        this.set(applyWheel(this.current, ev, point(ev)[0], this.o.extent()), "wheel");
      },
      { passive: false },
    );
    c.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      this.drag = { x: ev.clientX, y: ev.clientY, moved: false };
      c.setPointerCapture(ev.pointerId);
      s.root.focus({ preventScroll: true });
    });
    c.addEventListener("pointermove", (ev) => {
      if (this.drag === null) {
        this.o.pointer.hover(i, ...point(ev));
        return;
      }
      const dx = ev.clientX - this.drag.x;
      const dy = ev.clientY - this.drag.y;
      if (this.drag.moved || Math.hypot(dx, dy) > CLICK_SLOP) {
        this.drag = { x: ev.clientX, y: ev.clientY, moved: true };
        c.style.cursor = "grabbing";
        this.set(pan(this.current, dx, dy, this.o.extent().height), "drag");
      }
    });
    c.addEventListener("pointerup", (ev) => {
      const drag = this.drag;
      this.drag = null;
      c.style.cursor = "";
      if (drag !== null && !drag.moved) this.o.pointer.click(i, ...point(ev));
    });
    c.addEventListener("pointercancel", () => {
      this.drag = null;
      c.style.cursor = "";
    });
    c.addEventListener("pointerleave", () => {
      if (this.drag === null) this.o.pointer.leave();
    });
  }
}

/** Sizes a canvas to `width` × `height` CSS px at the screen's pixel density. */
export function sizeCanvas(canvas: HTMLCanvasElement, width: number, height: number): void {
  const dpr = window.devicePixelRatio || 1;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
}
