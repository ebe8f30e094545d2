import assert from "node:assert/strict";
import { test } from "node:test";
import { bugView, countsLine, isLive, progress, type SearchBug, type SearchStatus, searchRequest } from "./searches.ts";

const bug: SearchBug = {
  plan: { faults: [{ kind: "delay", message: "primary->replica#0/0", ms: 55 }] },
  runs_to_find: 7,
  confirmed: { failed: 2, of: 3 },
  check: "FAIL read-your-writes: read 0 after writing 1",
  run: "s1-9",
  also: [{ faults: [{ kind: "drop", message: "primary->replica#0/0" }] }],
};

const status = (extra: Partial<SearchStatus> = {}): SearchStatus => ({
  id: "s1",
  base: "base",
  state: "running",
  runs_done: 5,
  budget: 20,
  bugs: [],
  faults: ["drop"],
  max_faults: 3,
  baselines: ["s1-0"],
  candidates: 12,
  supports: 4,
  started_ms: 1,
  ended_ms: null,
  ended: null,
  detail: null,
  log: [],
  ...extra,
});

test("progress follows runs_done over the budget, capped, and is full once ended", () => {
  assert.equal(progress(status()), 0.25);
  assert.equal(progress(status({ runs_done: 26 })), 1);
  assert.equal(progress(status({ state: "queued", runs_done: 0 })), 0);
  assert.equal(progress(status({ state: "stopped", runs_done: 3 })), 1);
  assert.equal(progress(status({ budget: 0 })), 0);
  assert.deepEqual(["queued", "running", "done", "failed", "stopped"].map((s) => isLive(s as SearchStatus["state"])), [true, true, false, false, false]);
});

test("the counts line and a bug's view", () => {
  assert.equal(countsLine(status({ bugs: [bug] })), "5 of 20 reruns · 1 bug · 12 candidate faults · 4 supports");
  const v = bugView(status(), bug);
  assert.equal(v.plan, "delay primary->replica#0/0 by 55 ms");
  assert.equal(v.flipRate, "2 of 3 reruns failed (67%)");
  assert.equal(v.foundAfter, "found after 7 reruns");
  assert.deepEqual([v.run, v.compareWith, v.faults], ["s1-9", "base", 1]);
  assert.deepEqual(v.others, ["drop primary->replica#0/0"]);
  assert.equal(v.rerunFrom, null);
  // A plan learned from a rerun says where it reruns from.
  assert.equal(bugView(status(), { ...bug, parent: "s1-4" }).rerunFrom, "s1-4");
});

test("the form: a request in the server's shape, or what is wrong", () => {
  const form = { budget: "40", kinds: ["error", "drop"], maxFaults: "2", confirm: "3", baselines: "5" };
  assert.deepEqual(searchRequest("r1", form), { run: "r1", budget: 40, faults: ["drop", "error"], max_faults: 2, confirm: 3, baselines: 5 });
  assert.match(String(searchRequest("r1", { ...form, budget: "0" })), /budget/);
  assert.match(String(searchRequest("r1", { ...form, budget: "2.5" })), /budget/);
  assert.match(String(searchRequest("r1", { ...form, budget: "" })), /budget/);
  assert.match(String(searchRequest("r1", { ...form, kinds: [] })), /fault kind/);
  assert.match(String(searchRequest("r1", { ...form, maxFaults: "9" })), /faults at once/);
  assert.match(String(searchRequest("r1", { ...form, confirm: "0" })), /confirmed/);
  assert.match(String(searchRequest("r1", { ...form, confirm: "21" })), /confirmed/);
  assert.match(String(searchRequest("r1", { ...form, baselines: "51" })), /plain reruns/);
});
