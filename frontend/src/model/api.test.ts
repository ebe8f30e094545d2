import assert from "node:assert/strict";
import { test } from "node:test";
import fixture from "../../fixtures/small-graph.json";
import { errorDetail, GraphError, parseGraph } from "./api.ts";

const clone = (): Record<string, any> => structuredClone(fixture);

test("the fixture follows the contract", () => {
  const g = parseGraph(clone());
  assert.equal(g.events.length, 31);
  assert.equal(g.threads.length, 5);
  assert.equal(g.messages.filter((m) => m.lost).length, 1);
});

test("missing optional fields become null", () => {
  const raw = clone();
  delete raw.events[0].data;
  delete raw.events[0].errno;
  const g = parseGraph(raw);
  assert.equal(g.events[0].data, null);
  assert.equal(g.events[0].errno, null);
});

test("contract violations are reported in one sentence", () => {
  const cases: [string, (g: Record<string, any>) => void, RegExp][] = [
    ["not an object", (g) => (g.events = 3), /graph.events is missing or not an array/],
    ["ids are not indices", (g) => (g.events[2].id = 7), /events\[2\].id is 7/],
    ["unknown thread", (g) => (g.events[0].thread = "ghost:t0"), /"ghost:t0" is not in graph.threads/],
    ["dangling send", (g) => (g.messages[0].send = 999), /messages\[0\].send is 999/],
    ["dangling recv", (g) => (g.messages[0].recvs = [-1]), /recvs\[0\] is -1/],
    ["dangling edge", (g) => (g.edges[0].to = 31), /edges\[0\].to is 31/],
    ["unknown kind", (g) => (g.edges[0].kind = "telepathy"), /"telepathy" is unknown/],
    ["future schema", (g) => (g.schema = 2), /schema 2 is not supported/],
    ["no run", (g) => delete g.run, /graph.run is missing/],
  ];
  for (const [what, spoil, message] of cases) {
    const raw = clone();
    spoil(raw);
    assert.throws(() => parseGraph(raw), (e: unknown) => e instanceof GraphError && message.test(e.message), what);
  }
});

test("the stub graph (no schema, empty arrays) is accepted", () => {
  const g = parseGraph({ run: { id: "r" }, processes: [], threads: [], channels: [], events: [], messages: [], edges: [] });
  assert.equal(g.events.length, 0);
});

test("error bodies", () => {
  assert.deepEqual(errorDetail(404, { error: "not_found", detail: "no run 'x'" }), { error: "not_found", detail: "no run 'x'" });
  assert.equal(errorDetail(502, "<html>").detail, "the server answered 502");
});
