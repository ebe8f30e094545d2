/**
 * The run page's find box: a text, next / previous (buttons, Enter and
 * Shift+Enter in the box, `n` / `N` anywhere, `/` to type), "3 of 17".
 * Matches come from the server (`GET /api/runs/{id}/find`) a page at a
 * time, through model/find.ts's cursor, so find works on a run whose page
 * holds only the window in view; each match reached is handed to
 * `onMatch`, which centres and selects it.
 *
 * Test hooks: `#find` carries `data-total`, `data-rank` (1-based, "" for
 * none), `data-match` (the current match's event name) and `data-state`
 * (idle, loading, ready, error).
 */

import { FindCursor, type FindMatch, type FindRequest, findStatus, parseFindPage } from "../model/find.ts";
import { api } from "../model/routes.ts";
import { describe, getJson } from "./client.ts";
import { h } from "./dom.ts";

/** Matches fetched per page. */
const PAGE = 200;
/** Typing pause (ms) before the text is searched. */
const DEBOUNCE_MS = 250;

export class FindBox {
  private readonly input: HTMLInputElement;
  private readonly status: HTMLElement;
  private cursor: FindCursor | null = null;
  private text = "";
  /** Bumped on every new text, so an answer to an older one is dropped. */
  private generation = 0;
  private timer = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly runId: string,
    private readonly onMatch: (m: FindMatch) => void,
  ) {
    this.input = h("input", { type: "search", id: "find-text", placeholder: "find events: name, call, channel, payload", "aria-label": "Find events", autocomplete: "off" }) as HTMLInputElement;
    const prev = h("button", { type: "button", id: "find-prev", title: "Previous match (N, Shift+Enter)", "aria-label": "Previous match" }, "↑");
    const next = h("button", { type: "button", id: "find-next", title: "Next match (n, Enter)", "aria-label": "Next match" }, "↓");
    this.status = h("span", { id: "find-status", class: "meta", "aria-live": "polite" });
    prev.addEventListener("click", () => void this.step(-1));
    next.addEventListener("click", () => void this.step(1));
    this.input.addEventListener("input", () => this.typed());
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter") return;
      ev.preventDefault();
      void this.step(ev.shiftKey ? -1 : 1);
    });
    root.replaceChildren(this.input, prev, next, this.status);
    root.dataset.state = "idle";
    this.show();
  }

  /** Puts the caret in the box (`/`). */
  focus(): void {
    this.input.focus();
    this.input.select();
  }

  private typed(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.search(), DEBOUNCE_MS);
  }

  /** Starts over with the box's text; resolves once the first page is in. */
  private async search(): Promise<void> {
    window.clearTimeout(this.timer);
    const text = this.input.value;
    if (text === this.text && this.cursor !== null) return;
    this.text = text;
    const generation = ++this.generation;
    this.cursor = null;
    if (text === "") {
      this.root.dataset.state = "idle";
      this.show();
      return;
    }
    this.root.dataset.state = "loading";
    try {
      const page = await this.fetch({});
      if (generation !== this.generation) return;
      this.cursor = new FindCursor(page);
      this.root.dataset.state = "ready";
    } catch (e) {
      if (generation !== this.generation) return;
      this.root.dataset.state = "error";
      this.status.textContent = describe(e);
      return;
    }
    this.show();
  }

  /** Moves to the next (1) or previous (-1) match, fetching its page if needed. */
  async step(dir: 1 | -1): Promise<void> {
    if (this.input.value !== this.text || this.cursor === null) await this.search();
    const cursor = this.cursor;
    if (cursor === null) return;
    const generation = this.generation;
    const step = cursor.step(dir);
    let match: FindMatch | null = null;
    if (step !== null && "match" in step) match = step.match;
    else if (step !== null) {
      this.root.dataset.state = "loading";
      try {
        const page = await this.fetch(step.fetch);
        if (generation !== this.generation) return;
        match = cursor.add(page);
        this.root.dataset.state = "ready";
      } catch (e) {
        this.root.dataset.state = "error";
        this.status.textContent = describe(e);
        return;
      }
    }
    this.show();
    if (match !== null) this.onMatch(match);
  }

  private async fetch(r: FindRequest) {
    return parseFindPage(await getJson<unknown>(api.find(this.runId, { q: this.text, after: r.after, before: r.before, limit: PAGE })));
  }

  private show(): void {
    const c = this.cursor;
    this.status.textContent = findStatus(c);
    const ds = this.root.dataset;
    ds.total = c === null ? "" : String(c.total);
    ds.rank = c === null || c.rank < 0 ? "" : String(c.rank + 1);
    ds.match = c?.current?.name ?? "";
  }
}
