import assert from "node:assert/strict";
import { test } from "node:test";
import { type ExplorationClass, histogram, parseExploration, type Probe, probeOutcome, sweepStrip } from "./explorations.ts";

const cls = (c: string, count: number, verdicts: Record<string, number>, extra: Partial<ExplorationClass> = {}): ExplorationClass => ({
  class: c,
  count,
  verdicts,
  representative: `${c}-run0`,
  runs: [`${c}-run0`],
  only_here: [],
  missing_here: [],
  ...extra,
});

test("the histogram: one bar per class, lengths relative to the largest, split by verdict", () => {
  const bars = histogram([cls("3a1610478d93cf3a", 6, { pass: 6 }), cls("26b3", 2, { fail: 1, pass: 1 }, { only_here: ["message x 4"], missing_here: ["message x 2"] })]);
  assert.equal(bars.length, 2);
  assert.deepEqual(
    bars.map((b) => [b.label, b.count, b.length, b.share, b.common]),
    [
      ["3a1610478d93", 6, 1, 0.75, true],
      ["26b3", 2, 2 / 6, 0.25, false],
    ],
  );
  assert.deepEqual(bars[1].segments, [
    { verdict: "pass", count: 1, fraction: 0.5 },
    { verdict: "fail", count: 1, fraction: 0.5 },
  ]);
  assert.deepEqual([bars[1].onlyHere, bars[1].missingHere], [["message x 4"], ["message x 2"]]);
  assert.equal(bars[1].representative, "26b3-run0");
});

test("odd verdict names count as unknown; no classes, no bars", () => {
  const [bar] = histogram([cls("c", 3, { pass: 1, weird: 2 })]);
  assert.deepEqual(
    bar.segments.map((s) => [s.verdict, s.count]),
    [
      ["pass", 1],
      ["unknown", 2],
    ],
  );
  assert.deepEqual(histogram([]), []);
});

const probe = (message: string, channel: string, run: string | null, flipped: boolean, fired = true): Probe => ({
  message,
  channel,
  run,
  verdict: run === null ? null : flipped ? "fail" : "pass",
  flipped,
  fired,
});

test("sweep outcomes: flips, keeps, did not fire, not recorded", () => {
  assert.equal(probeOutcome(probe("m", "c", "r", true)), "flips");
  assert.equal(probeOutcome(probe("m", "c", "r", false)), "keeps");
  assert.equal(probeOutcome(probe("m", "c", "r", true, false)), "not-fired", "a fault that did not fire flips nothing");
  assert.equal(probeOutcome(probe("m", "c", null, false, false)), "not-run");
});

test("the heat strip groups probes by channel in first-seen order, one cell per probe", () => {
  const probes = [
    probe("p->r#0/0", "p->r#0", "sw-m0", true),
    probe("p->r#0/1", "p->r#0", "sw-m1", false),
    probe("c->p#0/0", "c->p#0", "sw-m2", false, false),
    probe("p->r#0/r0", "p->r#0", null, false, false),
  ];
  const strip = sweepStrip(probes);
  assert.deepEqual(
    strip.rows.map((r) => [r.channel, r.cells.map((c) => `${c.index}:${c.outcome}`)]),
    [
      ["p->r#0", ["0:flips", "1:keeps", "3:not-run"]],
      ["c->p#0", ["2:not-fired"]],
    ],
  );
  assert.deepEqual(strip.counts, { flips: 1, keeps: 1, "not-fired": 1, "not-run": 1 });
});

test("parsing fills lists and rejects what the page cannot show", () => {
  const x = parseExploration({ id: "e", kind: "classes", params: { base: "b" }, base_verdict: "pass", started_ms: 1, ended_ms: null, complete: false, classes: [{ class: "c", count: 1, representative: "r" }] });
  assert.deepEqual(x.classes[0].only_here, []);
  assert.deepEqual(x.probes, []);
  assert.throws(() => parseExploration({ id: "e", kind: "other", params: { base: "b" } }), /neither classes nor sweep/);
  assert.throws(() => parseExploration({ id: "e", kind: "sweep", params: { base: "b" }, probes: [{}] }), /probes\[0\] has no message/);
  assert.throws(() => parseExploration([]), /not a JSON object/);
});
