import assert from "node:assert/strict";
import { test } from "node:test";
import { eventFacts, formatData, formatMs, formatNs, formatTick, hexDump, messageFacts } from "./format.ts";
import { smallGraph } from "./fixture.test-util.ts";

test("durations", () => {
  assert.equal(formatNs(512), "512 ns");
  assert.equal(formatNs(1_500), "1.5 µs");
  assert.equal(formatNs(3_200_000), "3.200 ms");
  assert.equal(formatNs(2_500_000_000), "2.50 s");
  assert.equal(formatMs(null), "—");
  assert.deepEqual([0, 2_000_000, 2_500_000, 250_000, 1_500_000_000].map(formatTick), ["0", "2 ms", "2.5 ms", "250 µs", "1.5 s"]);
  assert.equal(formatMs(250), "250 ms");
});

test("captured data is printable", () => {
  assert.equal(formatData("4f4b0a00"), "OK\\n\\x00");
  assert.equal(formatData("41".repeat(100), 8), "AAAAAAAA…");
});

test("tooltip facts of a read", () => {
  const g = smallGraph();
  const facts = Object.fromEntries(eventFacts(g.events[20]));
  assert.equal(facts.syscall, "read");
  assert.equal(facts.fd, "3");
  assert.equal(facts.channel, "client->primary#0");
  assert.equal(facts.bytes, "8");
  assert.equal(facts.data, "OK x = 1");
  const never = Object.fromEntries(eventFacts(g.events[29]));
  assert.equal(never.ret, "(did not return)");
  assert.match(Object.fromEntries(eventFacts(g.events[22])).injected, /drop/);
});

test("message facts say whether the message was dropped or lost", () => {
  const g = smallGraph();
  const lost = g.messages.find((m) => m.lost);
  const delivered = g.messages.find((m) => !m.lost && m.bytes !== null);
  assert.ok(lost && delivered, "the fixture has a lost and a delivered message");
  assert.deepEqual(messageFacts(delivered), [
    ["message", delivered.id],
    ["channel", delivered.channel],
    ["bytes", String(delivered.bytes)],
  ]);
  const facts = new Map(messageFacts(lost));
  assert.equal(facts.get(lost.dropped ? "dropped" : "lost"), lost.dropped ? "by the fault injector" : "never delivered");
  assert.equal(new Map(messageFacts({ ...lost, dropped: true })).get("dropped"), "by the fault injector");
  assert.equal(new Map(messageFacts({ ...lost, dropped: true })).has("lost"), false, "dropped says more than lost");
});

test("hex dumps: 16 bytes a line with offsets, printable text, cut at the limit", () => {
  const hex = Array.from("GET /key\n", (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("") + "00".repeat(10);
  const lines = hexDump(hex);
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[0], { offset: "0000", hex: "47 45 54 20 2f 6b 65 79 0a 00 00 00 00 00 00 00", text: "GET /key........" });
  assert.deepEqual(lines[1], { offset: "0010", hex: "00 00 00", text: "..." });
  assert.equal(hexDump(hex, 4).map((l) => l.text).join(""), "GET ");
  assert.deepEqual(hexDump(""), []);
});
