import assert from "node:assert/strict";
import { test } from "node:test";
import type { Fault } from "./api.ts";
import { describeFault, faultRows, faultSummary } from "./faults.ts";

test("every kind of fault reads as one line", () => {
  const cases: [Fault, string][] = [
    [{ kind: "delay", message: "a->b#0/1", ms: 500 }, "delay a->b#0/1 by 500 ms"],
    [{ kind: "delay", message: "a->b#0/r1", ms: "inf" }, "delay a->b#0/r1 forever"],
    [{ kind: "drop", message: "client->primary#0/r1" }, "drop client->primary#0/r1"],
    [{ kind: "error", event: "client:t0/5:connect", errno: "ECONNREFUSED" }, "fail client:t0/5:connect with ECONNREFUSED"],
    [{ kind: "error", call: "write", process: "client", nth: 1, errno: "EPIPE" }, "fail the 2nd write of client with EPIPE"],
    [{ kind: "error", channel: "a->b#0", nth: 10, errno: "EAGAIN" }, "fail the 11th call on a->b#0 with EAGAIN"],
    [{ kind: "crash", process: "primary", after: "primary:t1/3:sendto" }, "crash primary after primary:t1/3:sendto"],
    [{ kind: "crash", process: "replica", kill: true }, "kill replica"],
    [{ kind: "error", connect: "client->primary#1", errno: "ECONNREFUSED" }, "fail the connect of client->primary#1 with ECONNREFUSED"],
    [{ kind: "error", send: "a->b#0/2", errno: "EPIPE" }, "fail the send of a->b#0/2 with EPIPE"],
    [{ kind: "error", receive: "a->b#0/r2", errno: "ECONNRESET" }, "fail the first receive of a->b#0/r2 with ECONNRESET"],
    [{ kind: "crash", process: "primary", after_send: "primary->replica#0/0" }, "crash primary after the send of primary->replica#0/0"],
    [{ kind: "partition", groups: [["a"], ["b"]], after_send: "a->b#0/1" }, "partition {a} from {b} after the send of a->b#0/1"],
    [{ kind: "partition", groups: [["primary"], ["replica", "client"]], after_ms: 100, heal_ms: 900 }, "partition {primary} from {replica, client} after 100 ms, heal after 900 ms"],
  ];
  for (const [fault, text] of cases) assert.equal(describeFault(fault), text);
});

test("fault records become rows: fired or not, where, effect", () => {
  const rows = faultRows([
    {
      fault: { kind: "drop", message: "client->primary#0/r1" },
      fired: true,
      at: { event: "primary:t3/5:sendto", seq: 58, pid: 21765, tid: 21775, call: "sendto", at_ms: 77 },
      effect: "drop",
      count: 1,
    },
    { fault: { kind: "delay", message: "x->y#0/9", ms: 5 }, fired: false, at: null, effect: "message 'x->y#0/9' did not occur in the parent run", count: 0 },
    { kind: "drop", message: "old-shape", fired: true },
  ]);
  assert.deepEqual(rows[0], {
    text: "drop client->primary#0/r1",
    fired: true,
    event: "primary:t3/5:sendto",
    where: "sendto at 77 ms (pid 21765, tid 21775)",
    effect: "drop",
    count: 1,
    message: "client->primary#0/r1",
  });
  assert.equal(rows[1].fired, false);
  assert.equal(rows[1].where, null);
  assert.match(rows[1].effect, /did not occur/);
  assert.equal(rows[2].fired, null, "a record of another shape is shown, not trusted");
  assert.match(rows[2].text, /old-shape/);
  assert.equal(faultSummary(rows), "1 of 3 faults fired");
  assert.equal(faultSummary(rows.slice(0, 1)), "1 of 1 fault fired");
});

test("the contract fixture is a rerun whose drop fired where its message was lost", async () => {
  const { default: fixture } = await import("../../fixtures/small-graph.json");
  const { parseGraph } = await import("./api.ts");
  const g = parseGraph(structuredClone(fixture));
  const rows = faultRows(g.run.faults);
  assert.deepEqual(
    rows.map((r) => [r.fired, r.event]),
    [
      [true, "client:t0/4:write"],
      [false, null],
    ],
  );
  const dropped = g.messages.find((m) => m.id === rows[0].message);
  assert.ok(dropped?.lost && dropped.dropped);
  assert.equal(g.events[dropped.send].name, rows[0].event);
  assert.match(g.events[dropped.send].injected ?? "", /^drop/);
});
