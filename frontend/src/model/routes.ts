/**
 * Every URL the workbench builds: its pages (backend/server/src/pages.rs)
 * and the JSON API (docs/API.md, backend/server/src/api.rs). One place so
 * a route changes once, and so every id and query value is encoded: ids
 * are validated by the server ([A-Za-z0-9._-]), but a page must never
 * depend on that to build a URL that means what it says.
 */

/** Builds `path?k=v&…` from the values that are set, in the given order. */
function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const parts = Object.entries(query)
    .filter((kv): kv is [string, string | number] => kv[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length === 0 ? path : `${path}?${parts.join("&")}`;
}

const seg = encodeURIComponent;

/** The pages the server renders (each starts the bundle with `data-page`). */
export const pages = {
  /** The run list. */
  runs: (): string => "/",
  run: (id: string): string => `/runs/${seg(id)}`,
  /** A run's rerun tree: its reruns, their reruns, ... with a comparison on every edge. */
  tree: (id: string): string => `/runs/${seg(id)}/tree`,
  /** The comparison of A with B; without both, the page offers a picker. */
  compare: (a?: string, b?: string): string => withQuery("/compare", { a, b }),
  explorations: (): string => "/explorations",
  exploration: (id: string): string => `/explorations/${seg(id)}`,
  searches: (): string => "/searches",
  search: (id: string): string => `/searches/${seg(id)}`,
} as const;

/** `GET /api/runs/{id}/export?format=`: the formats `bop export` writes. */
export type ExportFormat = "json" | "dot" | "shiviz" | "perfetto";

/** `?offset&limit` of the paged API routes. */
export interface PageParams {
  offset?: number;
  limit?: number;
}

/** The JSON API under `/api/`. */
export const api = {
  /** `GET` a page of runs, newest first (`limit` 1-1000), by offset or by `cursor` (`""` for the first page). */
  runs: (p: PageParams & { cursor?: string } = {}): string =>
    withQuery("/api/runs", { offset: p.offset, limit: p.limit, cursor: p.cursor }),
  /** `GET` the manifest; `DELETE` the run. */
  run: (id: string): string => `/api/runs/${seg(id)}`,
  graph: (id: string): string => `/api/runs/${seg(id)}/graph`,
  /** `GET` one window of the graph (a big run's page asks for what it shows). */
  window: (id: string, q: { scale: string; x0?: number; x1?: number; columns?: number; lanes?: string[] }): string =>
    withQuery(`/api/runs/${seg(id)}/window`, { scale: q.scale, x0: q.x0, x1: q.x1, lanes: q.lanes?.join(","), columns: q.columns }),
  events: (id: string, p: PageParams = {}): string => withQuery(`/api/runs/${seg(id)}/events`, { offset: p.offset, limit: p.limit }),
  /** `GET` a page of the events matching `q` (names, calls, channels, payload text), by id after or before one. */
  find: (id: string, p: { q: string; after?: number; before?: number; limit?: number }): string =>
    withQuery(`/api/runs/${seg(id)}/find`, { q: p.q, after: p.after, before: p.before, limit: p.limit }),
  /** `GET` the rerun tree of a run. */
  tree: (id: string): string => `/api/runs/${seg(id)}/tree`,
  export: (id: string, format: ExportFormat): string => withQuery(`/api/runs/${seg(id)}/export`, { format }),
  /** `POST` a fault plan: reruns the run with it. */
  reruns: (id: string): string => `/api/runs/${seg(id)}/reruns`,
  /** `GET` the state of one rerun. */
  rerun: (id: string): string => `/api/reruns/${seg(id)}`,
  compare: (a: string, b: string): string => withQuery("/api/compare", { a, b }),
  /** `GET` the comparison without its lists, divergences placed (big runs; computed once per pair). */
  compareSummary: (a: string, b: string, keptOnly = false): string => withQuery("/api/compare/summary", { a, b, kept: keptOnly ? "only" : undefined }),
  /** `GET` a page of the comparison's placed differences, optionally those in an x range of a scale. */
  compareMarks: (a: string, b: string, q: { scale?: string; x0?: number; x1?: number; offset?: number; limit?: number } = {}): string =>
    withQuery("/api/compare/marks", { a, b, scale: q.scale, x0: q.x0, x1: q.x1, offset: q.offset, limit: q.limit }),
  explorations: (): string => "/api/explorations",
  exploration: (id: string): string => `/api/explorations/${seg(id)}`,
  /** `GET` every search; `POST` a search request: starts one. */
  searches: (): string => "/api/searches",
  /** `GET` the state and findings of one search. */
  search: (id: string): string => `/api/searches/${seg(id)}`,
  /** `POST`: stops a queued or running search. */
  stopSearch: (id: string): string => `/api/searches/${seg(id)}/stop`,
} as const;

/** The most runs one `GET /api/runs` returns (api.rs `MAX_RUNS_PAGE`): the pickers and the run list ask for that many. */
export const MAX_RUNS_PAGE = 1000;
