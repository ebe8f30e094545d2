/**
 * Find over a run's events through `GET /api/runs/{id}/find` (docs/API.md):
 * the answer's shape, and the cursor that steps through the matches with
 * next / previous. The page never holds every match (nor every event: a
 * big run's page holds the window in view), so the cursor keeps one
 * contiguous stretch of the match list, says which page to fetch when a
 * step leaves it, and wraps around at both ends. Pure.
 */

/** One match: where it is, so the view can move there. */
export interface FindMatch {
  id: number;
  name: string;
  thread: string;
  start_ns: number;
  end_ns: number | null;
  lamport: number;
  /** What matched: name, call, channel or data. */
  field: string;
}

/** One page of matches. */
export interface FindPage {
  matches: FindMatch[];
  total: number;
  /** Rank of the page's first match among all matches. */
  first: number;
}

/** Which page to ask for: matches after an id, before one, or the first. */
export interface FindRequest {
  after?: number;
  before?: number;
}

/** `before` for the last page: past any event id. */
export const LAST_PAGE = Number.MAX_SAFE_INTEGER;

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

/** Checks a find answer; throws one sentence when it is not one. */
export function parseFindPage(x: unknown): FindPage {
  if (!isObject(x) || !Array.isArray(x.matches) || typeof x.total !== "number" || typeof x.first !== "number") {
    throw new Error("the find answer has no matches, total and first");
  }
  for (const [i, m] of x.matches.entries()) {
    if (!isObject(m) || typeof m.id !== "number" || typeof m.thread !== "string" || typeof m.start_ns !== "number" || typeof m.lamport !== "number") {
      throw new Error(`find match ${i} lacks an id, thread, start_ns or lamport`);
    }
  }
  return x as unknown as FindPage;
}

/** What a step gives: the match to show, or the page to fetch first. */
export type Step = { match: FindMatch } | { fetch: FindRequest } | null;

export class FindCursor {
  /** Matches held, of ranks `base .. base + items.length`. */
  private items: FindMatch[] = [];
  private base = 0;
  private pos = -1;
  private pending = -1;
  total = 0;

  constructor(page: FindPage) {
    this.add(page);
  }

  /** Rank of the current match (0-based), or -1 before the first step. */
  get rank(): number {
    return this.pos;
  }

  get current(): FindMatch | null {
    return this.pos >= 0 ? (this.items[this.pos - this.base] ?? null) : null;
  }

  /**
   * One step forward (1) or back (-1), wrapping around. Gives the match
   * when it is held, else the page to fetch: hand that page to
   * {@link add}, which then gives the match.
   */
  step(dir: 1 | -1): Step {
    if (this.total === 0) return null;
    const from = this.pos < 0 ? (dir > 0 ? -1 : 0) : this.pos;
    const target = (((from + dir) % this.total) + this.total) % this.total;
    return this.goto(target);
  }

  private goto(target: number): Step {
    const held = target - this.base;
    if (held >= 0 && held < this.items.length) {
      this.pos = target;
      this.pending = -1;
      return { match: this.items[held] };
    }
    this.pending = target;
    const last = this.items[this.items.length - 1];
    if (last !== undefined && target === this.base + this.items.length) return { fetch: { after: last.id } };
    const first = this.items[0];
    if (first !== undefined && target === this.base - 1) return { fetch: { before: first.id } };
    if (target === 0) return { fetch: {} };
    return { fetch: { before: LAST_PAGE } };
  }

  /**
   * Takes a fetched page: joined to the stretch held when it touches it,
   * else replacing it. Gives the match a pending step asked for, if the
   * page holds it.
   */
  add(page: FindPage): FindMatch | null {
    this.total = page.total;
    const n = page.matches.length;
    if (this.items.length > 0 && page.first === this.base + this.items.length) this.items = this.items.concat(page.matches);
    else if (this.items.length > 0 && page.first + n === this.base) {
      this.items = page.matches.concat(this.items);
      this.base = page.first;
    } else {
      this.items = page.matches.slice();
      this.base = page.first;
    }
    if (this.pos >= this.total) this.pos = -1;
    if (this.pending < 0) return null;
    const held = this.pending - this.base;
    if (held < 0 || held >= this.items.length) return null;
    this.pos = this.pending;
    this.pending = -1;
    return this.items[held];
  }
}

/** `3 of 17`, `no matches`, `17 matches` before the first step. */
export function findStatus(c: FindCursor | null): string {
  if (c === null) return "";
  if (c.total === 0) return "no matches";
  if (c.rank < 0) return `${c.total} match${c.total === 1 ? "" : "es"}`;
  return `${c.rank + 1} of ${c.total}`;
}
