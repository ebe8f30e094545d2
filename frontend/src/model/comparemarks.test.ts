import assert from "node:assert/strict";
import { test } from "node:test";
import { marksIn, parseMarks, parseSummary, sideMarks } from "./comparemarks.ts";

// Shapes as `GET /api/compare/summary` and `/marks` answer them (docs/API.md).
const run = (id: string) => ({ id, parent: null, command: "guest pingpong", verdict: "pass", exit_status: 0, trace_class: "abc", events: 30_000, faults: [] });
const place = (name: string, time: number, logical: number) => ({ name, thread: name.split("/")[0], time, logical });
const summary = {
  schema: 1,
  a: run("a"),
  b: run("b"),
  same_class: false,
  first_divergence: { thread: "client:t0", a: null, b: "client:t0/9:write", kind: "only_b", after: "client:t0/8:read", in_workload: true, reason: "only in B", at_a: null, at_b: place("client:t0/9:write", 900, 40) },
  other_divergences: [],
  processes: { only_a: [], only_b: [] },
  threads: { only_a: [], only_b: [] },
  channels: { only_a: [], only_b: [] },
  differences: { marks: 3, messages: 1, events: 2 },
  summary: "B has more",
};
const marks = {
  total: 4,
  offset: 0,
  marks: [
    { kind: "message-only-b", a: null, b: place("client:t0/9:write", 900, 40), message: "client->server#0/9", text: "message only in B", what: ["1 bytes"] },
    { kind: "event-changed", a: place("server:t0/3:read", 300, 12), b: place("server:t0/3:read", 310, 12), message: null, text: "server:t0/3:read", what: ["bytes"] },
    { kind: "event-only-b", a: null, b: place("server:t0/10:read", 1000, 41), message: null, text: "only in B", what: ["1 bytes"] },
    { kind: "something-newer", a: null, b: null, message: null, text: "?", what: [] },
  ],
};

test("a summary parses with its divergence placed on the side it is in", () => {
  const s = parseSummary(structuredClone(summary));
  assert.equal(s.first_divergence?.at_a, null);
  assert.deepEqual(s.first_divergence?.at_b, { name: "client:t0/9:write", thread: "client:t0", time: 900, logical: 40 });
  assert.equal(s.differences.marks, 3);
  assert.throws(() => parseSummary({ ...summary, schema: 2 }), /schema 2/);
  assert.throws(() => parseSummary({ ...summary, a: {} }), /a\.id/);
});

test("marks of unknown kinds are left out; the rest keep their places", () => {
  const p = parseMarks(structuredClone(marks));
  assert.equal(p.total, 4);
  assert.deepEqual(
    p.marks.map((m) => m.kind),
    ["message-only-b", "event-changed", "event-only-b"],
  );
  assert.throws(() => parseMarks({ total: 1 }), /no marks list/);
});

test("the marks in view are those of the side whose x is in the range, in either scale", () => {
  const p = parseMarks(structuredClone(marks)).marks;
  assert.deepEqual(
    marksIn(p, "b", "time", 800, 1000).map((x) => x.name),
    ["client:t0/9:write", "server:t0/10:read"],
  );
  assert.deepEqual(
    marksIn(p, "a", "time", 0, 1000).map((x) => x.name),
    ["server:t0/3:read"],
  );
  assert.deepEqual(
    marksIn(p, "b", "logical", 0, 12).map((x) => x.name),
    ["server:t0/3:read"],
  );
});

test("a side's highlight names hold its events, its messages' sends and the divergence", () => {
  const p = parseMarks(structuredClone(marks)).marks;
  const s = parseSummary(structuredClone(summary));
  const b = sideMarks(p, "b", s.first_divergence);
  assert.equal(b.divergence, "client:t0/9:write");
  assert.deepEqual([...b.messages], ["client->server#0/9"]);
  assert.deepEqual([...b.events].sort(), ["client:t0/9:write", "server:t0/10:read", "server:t0/3:read"]);
  const a = sideMarks(p, "a", s.first_divergence);
  assert.equal(a.divergence, null);
  assert.deepEqual([...a.events], ["server:t0/3:read"]);
});
