import assert from "node:assert/strict";
import { test } from "node:test";
import { causalCone, causalFuture, causalPast, indexGraph, SELF } from "./graph.ts";
import { eventId, smallGraph } from "./fixture.test-util.ts";
import { syntheticGraph } from "./synthetic.ts";

test("events per thread keep program order", () => {
  const g = smallGraph();
  const idx = indexGraph(g);
  const primary = g.threads.findIndex((t) => t.name === "primary:t0");
  const names = Array.from(idx.eventsByThread[primary], (e) => g.events[e].name);
  assert.equal(names.length, 12);
  names.forEach((n, i) => assert.match(n, new RegExp(`^primary:t0/${i}:`)));
});

test("causal past and future of the client's read of the reply", () => {
  const g = smallGraph();
  const idx = indexGraph(g);
  const read = eventId(g, "client:t0/3:read");
  const name = (ids: number[]) => ids.map((i) => g.events[i].name.split(":").slice(0, 2).join(":")).sort();
  const past = causalPast(idx, read);
  // The request, its forwarding to the replica and back, the reply; not the helper thread's start.
  for (const n of ["client:t0/2:write", "primary:t0/4:read", "replica:t0/3:write", "primary:t0/7:write", "client:t0/1:connect", "replica:t0/1:accept"]) {
    assert.ok(past.includes(eventId(g, n)), `${n} is in the past`);
  }
  assert.ok(!past.includes(eventId(g, "primary:t1/0:start")), "a spawn of an earlier event is not in the past");
  assert.equal(past.length, 15, name(past).join(" "));
  const future = causalFuture(idx, read);
  assert.deepEqual(
    future.map((i) => g.events[i].name),
    ["client:t0/4:write", "client:t0/5:close", "primary:t0/10:read", "client:t0/6:exit_group", "primary:t0/11:exit_group"],
  );
  const cone = causalCone(idx, read);
  assert.equal(cone[read], SELF);
  assert.equal(cone[eventId(g, "replica:t0/4:read")], 0, "concurrent");
});

test("past and future are consistent on a large graph: b in future(a) iff a in past(b)", () => {
  const g = syntheticGraph({ events: 3000, seed: 7 });
  const idx = indexGraph(g);
  for (const a of [5, 500, 1500, 2999]) {
    const fut = new Set(causalFuture(idx, a));
    for (const b of [0, 10, 700, 1600, 2500]) {
      assert.equal(fut.has(b), causalPast(idx, b).includes(a), `${a} → ${b}`);
    }
    // Happens-before respects Lamport clocks.
    for (const b of fut) assert.ok(g.events[b].lamport > g.events[a].lamport);
  }
});
