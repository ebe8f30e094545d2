/** Small DOM helpers: element lookup and creation, the status line, tooltips. */

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`page lacks #${id}`);
  return el;
}

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

/** Creates an element; attributes starting with `on` are not supported on purpose (use addEventListener). */
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

/** Shows a status line: loading, running, or an error with the server's detail. */
export function setStatus(kind: "loading" | "ok" | "error", text: string): void {
  const el = document.getElementById("status");
  if (el === null) return;
  el.textContent = text;
  el.className = `status ${kind}`;
  el.hidden = kind === "ok" && text === "";
  el.dataset.state = kind;
}

/**
 * Fills a tooltip with label/value pairs and places it beside (x, y) in
 * its positioned parent, flipped to the left of the point when it would
 * overflow `width`.
 */
export function showTooltip(t: HTMLElement, facts: [string, string][], x: number, y: number, width: number): void {
  t.replaceChildren(h("dl", {}, ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  t.hidden = false;
  const w = t.offsetWidth;
  const left = x + 14 + w > width ? x - 14 - w : x + 14;
  t.style.left = `${Math.max(0, left)}px`;
  t.style.top = `${Math.max(0, y + 14)}px`;
}

/**
 * A paint request that coalesces: however often it is called before the
 * next animation frame (a drag fires many events per frame), `paint` runs
 * once, in that frame.
 */
export function paintOnNextFrame(paint: () => void): () => void {
  let frame = 0;
  return () => {
    if (frame !== 0) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      paint();
    });
  };
}
