import assert from "node:assert/strict";
import { test } from "node:test";
import { faultedMessages, faultedNames } from "./faulted.ts";
import { smallGraph } from "./fixture.test-util.ts";

test("the message a drop names is faulted; a delay of a message that did not occur marks nothing", () => {
  const g = smallGraph();
  const f = faultedMessages(g);
  assert.deepEqual(faultedNames(g, f), ["client->primary#0/1"]);
  assert.equal(f.length, g.messages.length);
});

test("a plan's delay, a cut stream's later message and an injected send are each marked", () => {
  const g = smallGraph();
  // The plan delays the primary's first message to the replica.
  (g.run.faults[1] as { fault: { message: string } }).fault.message = "primary->replica#0/0";
  // The drop cut the stream: the client's reply that way is dropped too.
  const reply = g.messages.findIndex((m) => m.id === "client->primary#0/r0");
  g.messages[reply] = { ...g.messages[reply], dropped: true };
  // The injector held a send no fault of the plan names by message.
  const ack = g.messages.find((m) => m.id === "primary->replica#0/r0");
  assert.ok(ack);
  g.events[ack.send] = { ...g.events[ack.send], injected: "delay 5 ms" };
  const names = faultedNames(g, faultedMessages(g));
  assert.deepEqual(names, ["client->primary#0/1", "primary->replica#0/0", "primary->replica#0/r0", "client->primary#0/r0"]);
});

test("a run without faults marks nothing", () => {
  const g = smallGraph();
  g.run.faults = [];
  g.messages = g.messages.map((m) => ({ ...m, dropped: false }));
  g.events = g.events.map((e) => ({ ...e, injected: null }));
  assert.deepEqual(faultedNames(g, faultedMessages(g)), []);
});
