import assert from "node:assert/strict";
import { test } from "node:test";
import { FindCursor, type FindMatch, type FindPage, findStatus, LAST_PAGE, parseFindPage } from "./find.ts";

const m = (id: number): FindMatch => ({ id, name: `a:t0/${id}:write`, thread: "a:t0", start_ns: id, end_ns: id + 1, lamport: id, field: "name" });
/** The server's answer for matches at ids 0, 10, 20, ... (total n), as find.rs pages them. */
function serve(n: number, limit: number, r: { after?: number; before?: number }): FindPage {
  const all = Array.from({ length: n }, (_, i) => m(i * 10));
  if (r.after !== undefined) {
    const rest = all.filter((x) => x.id > r.after!);
    return { matches: rest.slice(0, limit), total: n, first: n - rest.length };
  }
  if (r.before !== undefined) {
    const head = all.filter((x) => x.id < r.before!);
    const page = head.slice(Math.max(0, head.length - limit));
    return { matches: page, total: n, first: head.length - page.length };
  }
  return { matches: all.slice(0, limit), total: n, first: 0 };
}

/** Steps like the find box does: fetch what the cursor asks for, hand it back. */
function walk(c: FindCursor, dir: 1 | -1, n: number, limit: number): { id: number; fetched: boolean } {
  const s = c.step(dir);
  assert.ok(s !== null);
  if ("match" in s) return { id: s.match.id, fetched: false };
  const got = c.add(serve(n, limit, s.fetch));
  assert.ok(got !== null, `the page for ${JSON.stringify(s.fetch)} holds the match`);
  return { id: got.id, fetched: true };
}

test("next walks every match in order across pages and wraps to the first", () => {
  const c = new FindCursor(serve(7, 3, {}));
  assert.equal(findStatus(c), "7 matches");
  const seen = Array.from({ length: 8 }, () => walk(c, 1, 7, 3));
  assert.deepEqual(seen.map((s) => s.id), [0, 10, 20, 30, 40, 50, 60, 0]);
  // Pages are fetched as the walk leaves what is held; the wrap finds the first page still held.
  assert.deepEqual(seen.map((s) => s.fetched), [false, false, false, true, false, false, true, false]);
  assert.equal(c.rank, 0);
  assert.equal(findStatus(c), "1 of 7");
});

test("previous from the start wraps to the last match, then walks back across pages", () => {
  const c = new FindCursor(serve(7, 3, {}));
  const first = c.step(-1);
  assert.deepEqual(first, { fetch: { before: LAST_PAGE } });
  assert.equal(c.add(serve(7, 3, { before: LAST_PAGE }))?.id, 60);
  assert.equal(findStatus(c), "7 of 7");
  const back = Array.from({ length: 6 }, () => walk(c, -1, 7, 3).id);
  assert.deepEqual(back, [50, 40, 30, 20, 10, 0]);
  assert.equal(c.current?.id, 0);
});

test("next then previous returns to the same match without a fetch", () => {
  const c = new FindCursor(serve(5, 100, {}));
  walk(c, 1, 5, 100);
  walk(c, 1, 5, 100);
  assert.deepEqual(walk(c, -1, 5, 100), { id: 0, fetched: false });
});

test("no matches: no step; a malformed answer is refused", () => {
  const c = new FindCursor({ matches: [], total: 0, first: 0 });
  assert.equal(c.step(1), null);
  assert.equal(findStatus(c), "no matches");
  assert.equal(findStatus(null), "");
  assert.throws(() => parseFindPage({ matches: [{ id: 1 }], total: 1, first: 0 }), /lacks/);
  assert.throws(() => parseFindPage([]), /no matches/);
  assert.deepEqual(parseFindPage(serve(1, 1, {})), serve(1, 1, {}));
});
