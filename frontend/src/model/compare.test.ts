import assert from "node:assert/strict";
import { test } from "node:test";
import demo from "../../fixtures/compare-demo.json";
import { type Comparison, DIFFERS, diffFlags, differences, DIVERGES, marks, parseComparison, SAME } from "./compare.ts";
import { eventId, smallGraph } from "./fixture.test-util.ts";

// The fixture is `bop diff base dropped --json` of the demo and its rerun
// with `client->primary#0/r1` dropped, recorded by the real binary.
const recorded = (): Comparison => parseComparison(structuredClone(demo));

test("the recorded comparison parses; its first divergence is the dropped reply's send", () => {
  const c = recorded();
  assert.equal(c.first_divergence?.kind, "changed");
  assert.equal(c.first_divergence?.a, "primary:t3/5:sendto");
  assert.match(c.first_divergence?.reason ?? "", /client->primary#0\/r1 was dropped in B/);
  assert.equal(c.b.faults[0].fault, "drop client->primary#0/r1");
});

test("differences: every changed, moved, removed and inserted entry, messages first", () => {
  const c = recorded();
  const d = differences(c);
  const expected =
    c.messages.changed.length +
    c.messages.only_a.length +
    c.messages.only_b.length +
    c.events.reduce((n, t) => n + t.changed.length + t.moved.length + t.removed.length + t.inserted.length, 0);
  assert.equal(d.length, expected);
  assert.equal(d[0].kind, "message-changed");
  assert.equal(d[0].a, "client->primary#0/r1");
  assert.ok(d[0].what.includes("dropped in B"), d[0].what.join("; "));
  const firstEvent = d.findIndex((x) => x.kind.startsWith("event"));
  assert.ok(d.slice(firstEvent).every((x) => x.kind.startsWith("event")), "events after messages");
  assert.ok(d.some((x) => x.kind === "event-only-b" && x.a === null && x.b !== null));
});

test("marks: names on each side, the divergence on both", () => {
  const m = marks(recorded());
  assert.ok(m.a.messages.has("client->primary#0/r1") && m.b.messages.has("client->primary#0/r1"));
  assert.equal(m.a.divergence, "primary:t3/5:sendto");
  assert.ok(m.a.events.has("primary:t3/5:sendto") && m.b.events.has("primary:t3/5:sendto"));
});

test("flags over a graph: differing events and messages, both ends of a differing message, the divergence", () => {
  const g = smallGraph();
  const f = diffFlags(g, { events: new Set(["replica:t0/4:read"]), messages: new Set(["client->primary#0/r0"]), divergence: "primary:t0/7:write" });
  const reply = g.messages.findIndex((m) => m.id === "client->primary#0/r0");
  assert.equal(f.messages[reply], DIFFERS);
  assert.equal(f.messages.reduce((n, x) => n + x, 0), 1);
  assert.equal(f.events[eventId(g, "replica:t0/4:read")], DIFFERS);
  assert.equal(f.events[eventId(g, "client:t0/3:read")], DIFFERS, "the receive of the differing reply");
  assert.equal(f.events[eventId(g, "primary:t0/7:write")], DIVERGES, "its send is the divergence");
  assert.equal(f.divergence, eventId(g, "primary:t0/7:write"));
  assert.equal(f.events[eventId(g, "client:t0/0:start")], SAME);
});

test("parsing: absent lists are empty, a newer schema is refused", () => {
  const c = parseComparison({ schema: 1, a: { id: "x" }, b: { id: "y" }, first_divergence: null });
  assert.deepEqual([c.events, c.messages.changed, c.other_divergences, c.threads.only_a], [[], [], [], []]);
  assert.deepEqual(differences(c), []);
  assert.throws(() => parseComparison({ schema: 2, a: { id: "x" }, b: { id: "y" } }), /schema 2 is not supported/);
  assert.throws(() => parseComparison({ a: { id: "x" } }), /comparison.b.id is missing/);
  assert.throws(() => parseComparison({ a: { id: "x" }, b: { id: "y" }, first_divergence: {} }), /first_divergence has no reason/);
});
