/**
 * The one key map of the diagrams: key → action → description, as data.
 * The run view and the comparison bind it through the same controller
 * (ui/controller.ts), and the keyboard help (`?`) is generated from it, so
 * the keys, what they do and what the page says they do cannot drift apart.
 *
 * Where a key acts (`actionFor`), decided once for both pages:
 * - keys the browser gives no meaning to (+ - 0 f d / n N c ? Escape) act
 *   anywhere on the page, so they work right after clicking a toolbar
 *   button, not only once a diagram has focus;
 * - arrow keys scroll the page when nothing claims them, and the
 *   comparison's page (differences list) is often longer than the window:
 *   they pan only while a diagram has focus (click, drag or Tab to it);
 * - in a text field (the rerun panel's delay) keys type and move the
 *   caret: there only Escape acts;
 * - with Ctrl, Meta or Alt a key is the browser's (Ctrl + + zooms the page);
 * - while the help is open only `?` and Escape act, and both close it.
 */

import type { NavAction } from "./navigate.ts";

/** The pages with a diagram. */
export type Page = "run" | "compare";

/** Everything a key can do: a viewport step, or a page action. */
export type Action = NavAction | "divergence" | "clear" | "help" | "find" | "find-next" | "find-prev" | "collapse-all";

export interface KeyBinding {
  readonly action: Action;
  /** `KeyboardEvent.key` values; the first is the one the help shows first. */
  readonly keys: readonly string[];
  /** What the help says, in the imperative. */
  readonly description: string;
  /** Acts only while a diagram has focus (keys the browser would otherwise use to scroll). */
  readonly needsFocus: boolean;
  /** The pages where the action exists; absent: every page. */
  readonly pages?: readonly Page[];
}

export const KEYMAP: readonly KeyBinding[] = [
  { action: "zoom-in", keys: ["+", "="], description: "Zoom in (around the middle)", needsFocus: false },
  { action: "zoom-out", keys: ["-", "_"], description: "Zoom out", needsFocus: false },
  { action: "fit", keys: ["0", "f"], description: "Fit the whole diagram in view", needsFocus: false },
  { action: "pan-left", keys: ["ArrowLeft"], description: "Pan to earlier events", needsFocus: true },
  { action: "pan-right", keys: ["ArrowRight"], description: "Pan to later events", needsFocus: true },
  { action: "pan-up", keys: ["ArrowUp"], description: "Scroll the lanes up", needsFocus: true },
  { action: "pan-down", keys: ["ArrowDown"], description: "Scroll the lanes down", needsFocus: true },
  { action: "divergence", keys: ["d"], description: "Zoom to the first divergence", needsFocus: false, pages: ["compare"] },
  { action: "find", keys: ["/"], description: "Find events by name, call, channel or payload text", needsFocus: false, pages: ["run"] },
  { action: "find-next", keys: ["n"], description: "Go to the next match of the find box", needsFocus: false, pages: ["run"] },
  { action: "find-prev", keys: ["N"], description: "Go to the previous match", needsFocus: false, pages: ["run"] },
  { action: "collapse-all", keys: ["c"], description: "Collapse every process's threads into one lane, or expand them", needsFocus: false, pages: ["run"] },
  { action: "clear", keys: ["Escape"], description: "Clear the selection (and close an open panel)", needsFocus: false },
  { action: "help", keys: ["?"], description: "Show or hide the list of keys", needsFocus: false },
];

/** The bindings that exist on `page`, in the help's order. */
export function bindingsFor(page: Page, map: readonly KeyBinding[] = KEYMAP): KeyBinding[] {
  return map.filter((b) => b.pages === undefined || b.pages.includes(page));
}

/** The parts of a DOM `KeyboardEvent` that decide its action. */
export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** Where the key was pressed. */
export interface KeyContext {
  page: Page;
  /** Focus is on a diagram (or inside one). */
  diagramFocused: boolean;
  /** The key went to a field that takes text. */
  inTextField: boolean;
  helpOpen: boolean;
}

/** The action of a key press in its context, or null when the key is not ours there (see the module comment). */
export function actionFor(press: KeyPress, ctx: KeyContext, map: readonly KeyBinding[] = KEYMAP): Action | null {
  if (press.ctrlKey || press.metaKey || press.altKey) return null;
  const binding = bindingsFor(ctx.page, map).find((b) => b.keys.includes(press.key));
  if (binding === undefined) return null;
  if (ctx.helpOpen) return binding.action === "help" || binding.action === "clear" ? "help" : null;
  if (ctx.inTextField && (press.key.length === 1 || binding.needsFocus)) return null;
  if (binding.needsFocus && !ctx.diagramFocused) return null;
  return binding.action;
}

const KEY_LABELS: Record<string, string> = { ArrowLeft: "←", ArrowRight: "→", ArrowUp: "↑", ArrowDown: "↓", Escape: "Esc" };

/** How the help shows a key: arrows as arrows, Escape as Esc. */
export function keyLabel(key: string): string {
  return KEY_LABELS[key] ?? key;
}
