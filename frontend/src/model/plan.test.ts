import assert from "node:assert/strict";
import { test } from "node:test";
import { describePlan, planFor } from "./plan.ts";

test("plans for each choice", () => {
  const m = "client->primary#0/3";
  assert.deepEqual(planFor(m, { kind: "delay", ms: 500 }), { faults: [{ kind: "delay", message: m, ms: 500 }] });
  assert.deepEqual(planFor(m, { kind: "delay-forever" }), { faults: [{ kind: "delay", message: m, ms: "inf" }] });
  assert.deepEqual(planFor(m, { kind: "drop" }), { faults: [{ kind: "drop", message: m }] });
  for (const ms of [0, -1, 1.5, Number.NaN, 1e9]) assert.equal(typeof planFor(m, { kind: "delay", ms }), "string", String(ms));
  assert.equal(describePlan({ faults: [{ kind: "delay", message: m, ms: "inf" }] }), `delay ${m} forever`);
});
