// Browser tests of the navigation for big diagrams (issue 16): collapsing a
// process's threads and hiding lanes, filtering arrows by channel and by
// process, the find box (next/previous, keys, centring and selecting the
// match, payload text), the minimap (click and drag move the view), the
// details panel (call, payload hex and text, causal past and future
// counts, a message's ends), the keyboard help's new keys, and the rerun
// tree page with its comparison links. Runs are recorded by the real bop
// binary (the demo, reruns of it and of a rerun, a pipe with captured
// payload) and served by a real `bop serve`; what is checked is what the
// page shows: lane rows, where marks are drawn, which arrows can be
// pointed at, the viewport, the text of the panels.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { bop, bopBinary, launchBrowser, openPage, screenshotPath, startServer, stopAll, tempDir } from "./harness.mjs";
import { bindingsFor } from "../build-tests/lib/keymap.mjs";
import { causalCone, FUTURE, indexGraph, PAST } from "../build-tests/lib/graph.mjs";
import { parseGraph } from "../build-tests/lib/api.mjs";

const DROPPED = "client->primary#0/r1";

let store;
let server;
let browser;

/** `bop rerun` whatever its verdict (a rerun that breaks the demo exits 1). */
function rerun(parent, id, args) {
  const res = spawnSync(bopBinary(), ["rerun", "--store", store, parent, "--id", id, ...args, "-q"], { encoding: "utf8", timeout: 120_000 });
  assert.ok(res.status === 0 || res.status === 1, `bop rerun ${parent} exited ${res.status}:\n${res.stderr}`);
}

before(async () => {
  store = tempDir("bop-e2e-bignav-");
  bop(["demo", "--store", store, "--id", "demo"]);
  rerun("demo", "dropped", ["--drop", DROPPED]);
  rerun("dropped", "again", ["--drop", DROPPED]);
  rerun("demo", "delayed", ["--delay", `${DROPPED}=50`]);
  bop(["run", "--store", store, "--id", "pipe", "--quiet", "--capture-bytes", "64", "--", "/bin/sh", "-c", "echo needle-7 | cat"]);
  server = await startServer(store);
  browser = await launchBrowser();
});

after(() => stopAll(browser, server, store));

const api = async (p) => (await fetch(`${server.url}api/${p}`)).json();

/** Opens a run page and waits until it is drawn; returns the page, its graph and helpers. */
async function open(id) {
  const opened = await openPage(browser, server.url);
  const { page } = opened;
  await page.goto(`${server.url}runs/${id}`);
  await page.waitForSelector("body[data-rendered]", { timeout: 20_000 });
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  const graph = parseGraph(await api(`runs/${id}/graph`));
  const ds = async () => page.$eval("#diagram", (el) => ({ ...el.dataset }));
  const point = (name) => page.evaluate((n) => window.bopDiagram.eventPoint(n), name);
  const viewport = () => page.evaluate(() => window.bopDiagram.viewport());
  const canvas = () => page.$eval("#canvas", (c) => c.getBoundingClientRect().toJSON());
  return { ...opened, graph, ds, point, viewport, canvas };
}

/** Opens a menu (`#lanes-menu` or `#arrows-menu`) if it is closed. */
async function openMenu(page, host) {
  if (!(await page.$eval(`${host} details`, (d) => d.open))) await page.click(`${host} summary`);
}

test("collapse a process's threads into one lane and expand them again (menu, gutter, c)", async () => {
  const { page, graph, ds, point, errors } = await open("demo");
  const byProcess = new Map();
  for (const t of graph.threads) byProcess.set(t.process, [...(byProcess.get(t.process) ?? []), t.name]);
  const [process, threads] = [...byProcess].find(([, ts]) => ts.length > 1);
  const lanes = Number((await ds()).lanes);
  assert.equal(lanes, graph.threads.length);
  // Two events of different threads of that process are on different rows before.
  const first = (t) => graph.events.find((e) => e.thread === t).name;
  const [a, b] = [first(threads[0]), first(threads[1])];
  assert.notEqual((await point(a)).y, (await point(b)).y);

  await openMenu(page, "#lanes-menu");
  await page.click(`#lanes-menu button.collapse-toggle[data-process="${process}"]`);
  await page.waitForSelector(`#diagram[data-lanes="${lanes - threads.length + 1}"]`);
  assert.equal((await point(a)).y, (await point(b)).y, "one lane for the process's threads");
  assert.equal(await page.getAttribute("#lanes-menu", "data-collapsed"), "1");
  await page.screenshot({ path: screenshotPath("bignav-collapsed") });
  // The same button expands it.
  await page.click(`#lanes-menu button.collapse-toggle[data-process="${process}"]`);
  await page.waitForSelector(`#diagram[data-lanes="${lanes}"]`);

  // `c` collapses every process with several threads: one lane per process.
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press("c");
  await page.waitForSelector(`#diagram[data-lanes="${byProcess.size}"]`);
  await page.keyboard.press("c");
  await page.waitForSelector(`#diagram[data-lanes="${lanes}"]`);

  // A click on the process's name in the label gutter toggles it too.
  const header = await page.evaluate((p) => window.bopDiagram.groupHeaderPoint(p), process);
  await page.mouse.click(header.x, header.y);
  await page.waitForSelector(`#diagram[data-lanes="${lanes - threads.length + 1}"]`);
  assert.deepEqual(errors, []);
});

test("hide a lane and show it again: its events are not drawn meanwhile", async () => {
  const { page, graph, ds, point, canvas, errors } = await open("demo");
  const lanes = Number((await ds()).lanes);
  const thread = graph.threads.find((t) => t.process === "replica").name;
  const ev = graph.events.find((e) => e.thread === thread).name;
  const box = await canvas();
  assert.ok((await point(ev)).y > box.y, "drawn on the canvas before");
  await openMenu(page, "#lanes-menu");
  await page.uncheck(`#lanes-menu input[data-lane="${thread}"]`);
  await page.waitForSelector(`#diagram[data-lanes="${lanes - 1}"]`);
  assert.ok((await point(ev)).y < box.y, "no longer on any row of the canvas");
  assert.match(await page.textContent("#lanes-menu summary"), /1 hidden/);
  await page.click("#lanes-show-all");
  await page.waitForSelector(`#diagram[data-lanes="${lanes}"]`);
  assert.ok((await point(ev)).y > box.y);
  assert.deepEqual(errors, []);
});

test("filter arrows by channel and by process: their arrows go, the others stay", async () => {
  const { page, graph, ds, errors } = await open("demo");
  const arrows = Number((await ds()).arrows);
  const channel = graph.messages.find((m) => m.channel.includes("replica")).channel;
  // Arrows of the channel: its deliveries, its lost messages, its connect and EOF edges.
  const own = graph.messages.filter((m) => m.channel === channel).reduce((n, m) => n + m.recvs.length + (m.lost || m.recvs.length === 0 ? 1 : 0), 0);
  const edges = graph.edges.filter((e) => e.kind !== "message" && graph.events[e.from].channel === channel).length;
  const onChannel = graph.messages.find((m) => m.channel === channel && m.recvs.length > 0).id;
  const other = graph.messages.find((m) => m.channel !== channel && m.recvs.length > 0 && !m.channel.includes("replica")).id;
  const messagePoint = (id) => page.evaluate((m) => window.bopDiagram.messagePoint(m), id);
  assert.notEqual(await messagePoint(onChannel), null);

  await openMenu(page, "#arrows-menu");
  await page.uncheck(`#arrows-menu input[data-channel="${channel}"]`);
  await page.waitForSelector(`#diagram[data-arrows="${arrows - own - edges}"]`);
  assert.equal(await messagePoint(onChannel), null, "the channel's arrow is gone");
  assert.notEqual(await messagePoint(other), null, "other channels keep theirs");
  await page.screenshot({ path: screenshotPath("bignav-arrows-filtered") });
  await page.check(`#arrows-menu input[data-channel="${channel}"]`);
  await page.waitForSelector(`#diagram[data-arrows="${arrows}"]`);

  // By process: every arrow with an end in the client goes.
  const client = graph.messages.find((m) => graph.events[m.send].process === "client" && m.recvs.length > 0).id;
  await page.uncheck(`#arrows-menu input[data-process="client"]`);
  await page.waitForFunction((n) => Number(document.querySelector("#diagram").dataset.arrows) < n, arrows);
  assert.equal(await messagePoint(client), null);
  assert.notEqual(await messagePoint(onChannel), null, "the primary-replica arrows stay");
  assert.match(await page.textContent("#arrows-menu summary"), /1 filtered/);
  assert.deepEqual(errors, []);
});

test("find: count, next and previous by buttons and keys, the match centred and selected", async () => {
  const { page, graph, ds, point, canvas, errors } = await open("demo");
  const expected = graph.events.filter((e) => e.name.includes("sendto") || e.call.includes("sendto") || (e.channel ?? "").includes("sendto"));
  assert.ok(expected.length >= 3, "the demo sends with sendto");
  const answer = await api("runs/demo/find?q=sendto&limit=1000");
  assert.deepEqual(answer.matches.map((m) => m.name), expected.map((e) => e.name));
  // Zoomed in, so that centring has something to do.
  await page.click("#diagram");
  for (let i = 0; i < 4; i++) await page.keyboard.press("+");
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "find-text", "/ puts the caret in the find box");
  await page.keyboard.type("SENDTO");
  await page.keyboard.press("Enter");
  await page.waitForSelector('#find[data-rank="1"]');
  assert.equal(await page.getAttribute("#find", "data-total"), String(expected.length));
  assert.equal(await page.textContent("#find-status"), `1 of ${expected.length}`);
  const centred = async (name) => {
    await page.waitForSelector(`#diagram[data-selected="${name}"]`);
    const p = await point(name);
    const box = await canvas();
    const v = await page.evaluate(() => window.bopDiagram.viewport());
    const mid = box.x + (v.left + v.width) / 2;
    assert.ok(Math.abs(p.x - mid) < 2, `${name} at x ${p.x}, the plot's middle is ${mid}`);
    assert.ok(p.y > box.y + v.top && p.y < box.y + v.height, `${name} is on a visible row`);
  };
  await centred(expected[0].name);
  assert.equal((await ds()).selected, expected[0].name);
  // n / N from anywhere but a text field; the buttons do the same.
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press("n");
  await page.waitForSelector('#find[data-rank="2"]');
  await centred(expected[1].name);
  await page.click("#find-next");
  await page.waitForSelector('#find[data-rank="3"]');
  await centred(expected[2].name);
  await page.keyboard.press("N");
  await page.waitForSelector('#find[data-rank="2"]');
  await page.click("#find-prev");
  await page.click("#find-prev");
  await page.waitForSelector(`#find[data-rank="${expected.length}"]`, { timeout: 5000 });
  await centred(expected[expected.length - 1].name);
  await page.screenshot({ path: screenshotPath("bignav-find") });
  // A text with no match says so.
  await page.fill("#find-text", "no-such-thing-here");
  await page.keyboard.press("Enter");
  await page.waitForSelector('#find[data-total="0"]');
  assert.equal(await page.textContent("#find-status"), "no matches");
  assert.deepEqual(errors, []);
});

test("find reveals a match in a hidden lane, and finds payload text", async () => {
  const { page, graph, ds, errors } = await open("pipe");
  const reader = graph.events.find((e) => e.data !== null && e.call === "read");
  assert.ok(reader, "cat read the captured text");
  await openMenu(page, "#lanes-menu");
  await page.uncheck(`#lanes-menu input[data-lane="${reader.thread}"]`);
  const lanes = Number((await ds()).lanes);
  await page.fill("#find-text", "needle-7");
  await page.keyboard.press("Enter");
  await page.waitForSelector('#find[data-rank="1"]');
  const total = Number(await page.getAttribute("#find", "data-total"));
  assert.equal(total, graph.events.filter((e) => e.data?.includes("6e6565646c652d37")).length);
  // Step to the reader's match: its lane comes back.
  for (let i = 0; i < total && (await ds()).selected !== reader.name; i++) await page.click("#find-next");
  assert.equal((await ds()).selected, reader.name);
  assert.equal(Number((await ds()).lanes), lanes + 1, "the hidden lane is shown again");
  assert.deepEqual(errors, []);
});

test("minimap: a click and a drag move the view there; its box follows the view", async () => {
  const { page, graph, viewport, errors } = await open("demo");
  const minX = Math.min(...graph.events.map((e) => e.start_ns));
  const maxX = Math.max(...graph.events.map((e) => e.end_ns ?? e.start_ns));
  const centre = (v) => v.x0 + (v.width - v.left) / 2 / v.k;
  await page.click("#diagram");
  for (let i = 0; i < 5; i++) await page.keyboard.press("+");
  const k = (await viewport()).k;
  const box = await page.$eval("#minimap canvas", (c) => c.getBoundingClientRect().toJSON());
  const before = Number(await page.getAttribute("#minimap", "data-window-x"));
  await page.mouse.click(box.x + box.width * 0.8, box.y + box.height / 2);
  let v = await viewport();
  assert.equal(v.k, k, "the zoom stays");
  const want = (f) => minX + f * (maxX - minX);
  assert.ok(Math.abs(centre(v) - want(0.8)) < (maxX - minX) / box.width * 1.5, `centre ${centre(v)}, wanted ${want(0.8)}`);
  const after = Number(await page.getAttribute("#minimap", "data-window-x"));
  assert.ok(after > before + box.width * 0.2, `the window box moved right: ${before} → ${after}`);
  await page.screenshot({ path: screenshotPath("bignav-minimap") });
  // Drag from 20 % to 40 %: the view follows the pointer.
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2, { steps: 3 });
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 3 });
  await page.mouse.up();
  v = await viewport();
  assert.ok(Math.abs(centre(v) - want(0.4)) < (maxX - minX) / box.width * 1.5, `centre ${centre(v)}, wanted ${want(0.4)}`);
  assert.equal(Number(await page.getAttribute("#diagram", "data-view-x0")), v.x0, "the controller's hooks agree");
  assert.deepEqual(errors, []);
});

test("details: the call, its payload in hex and text, causal counts; a message's ends", async () => {
  const { page, graph, point, errors } = await open("pipe");
  const write = graph.events.find((e) => e.data !== null && e.call === "write");
  const cone = causalCone(indexGraph(graph), write.id);
  const past = cone.filter((f) => f & PAST).length;
  const future = cone.filter((f) => f & FUTURE).length;
  const p = await point(write.name);
  await page.mouse.click(p.x, p.y);
  await page.waitForSelector(`#details[data-kind=event][data-name="${write.name}"]`);
  assert.deepEqual(await page.$eval("#details", (el) => [el.dataset.past, el.dataset.future]), [String(past), String(future)]);
  const text = await page.textContent("#details");
  for (const s of [write.name, `write(fd ${write.fd}, ${write.bytes} bytes) = ${write.ret}`, "needle-7", "6e 65 65 64 6c 65 2d 37", `${past} events happened before it`, `${future} event`]) {
    assert.ok(text.includes(s), `the details lack ${JSON.stringify(s)}: ${text}`);
  }
  assert.match(await page.textContent("#details pre.hexdump"), /^0000 {2}6e 65 65 64/);
  await page.screenshot({ path: screenshotPath("bignav-details-event") });
  // A message arrow: its channel, fate and ends; an end's button selects that event.
  const m = graph.messages.find((x) => x.recvs.length > 0);
  const mp = await page.evaluate((id) => window.bopDiagram.messagePoint(id), m.id);
  await page.mouse.click(mp.x, mp.y);
  await page.waitForSelector(`#details[data-kind=message][data-name="${m.id}"]`);
  const mtext = await page.textContent("#details");
  for (const s of [m.channel, "delivered by", graph.events[m.send].name, graph.events[m.recvs[0]].name]) assert.ok(mtext.includes(s), `lacks ${s}: ${mtext}`);
  // The rerun panel opened too (a message arrow is where reruns start); the details stay below the diagram.
  await page.click(`#details button[data-event="${graph.events[m.recvs[0]].name}"]`);
  await page.waitForSelector(`#diagram[data-selected="${graph.events[m.recvs[0]].name}"]`);
  await page.waitForSelector(`#details[data-kind=event][data-name="${graph.events[m.recvs[0]].name}"]`);
  assert.deepEqual(errors, []);
});

test("the keyboard help lists the navigation keys from the key table", async () => {
  const { page, errors } = await open("demo");
  await page.keyboard.press("?");
  await page.waitForSelector("#key-help[open]");
  const rows = await page.$$eval("#key-help tr[data-action]", (trs) => trs.map((tr) => [tr.dataset.action, [...tr.querySelectorAll("kbd")].map((k) => k.dataset.key)]));
  assert.deepEqual(rows, bindingsFor("run").map((b) => [b.action, [...b.keys]]));
  for (const action of ["find", "find-next", "find-prev", "collapse-all"]) assert.ok(rows.some(([a]) => a === action), `${action} is listed`);
  assert.deepEqual(errors, []);
});

test("the rerun tree: reruns of reruns with faults and verdicts, a compare link on every edge", async () => {
  const { page, errors } = await open("demo");
  await page.click("#tree-link");
  await page.waitForURL(/\/runs\/demo\/tree$/);
  await page.waitForSelector("body[data-rendered=true]");
  assert.deepEqual(await page.$eval("#tree", (el) => [el.dataset.size, el.dataset.depth]), ["4", "2"]);
  const nodes = await page.$$eval("#tree li[data-run]", (lis) => lis.map((li) => [li.dataset.run, li.dataset.depth]));
  assert.deepEqual(nodes, [
    ["demo", "0"],
    ["dropped", "1"],
    ["again", "2"],
    ["delayed", "1"],
  ]);
  assert.match(await page.textContent('#tree li[data-run="dropped"] > .tree-faults'), /drop client->primary#0\/r1/);
  assert.match(await page.textContent('#tree li[data-run="delayed"] > .tree-faults'), /delay client->primary#0\/r1 by 50 ms/);
  const edges = await page.$$eval("#tree a.compare-edge", (as) => as.map((a) => [a.dataset.from, a.dataset.to]));
  assert.deepEqual(edges, [
    ["demo", "dropped"],
    ["dropped", "again"],
    ["demo", "delayed"],
  ]);
  await page.screenshot({ path: screenshotPath("bignav-tree") });
  await page.click('#tree a.compare-edge[data-from="dropped"][data-to="again"]');
  await page.waitForURL(/\/compare\?a=dropped&b=again$/);
  await page.waitForSelector("body[data-rendered]", { timeout: 20_000 });
  assert.equal(await page.getAttribute("body", "data-rendered"), "true");
  // From a rerun of a rerun: its history above it, with comparisons.
  await page.goto(`${server.url}runs/again/tree`);
  await page.waitForSelector("body[data-rendered=true]");
  assert.deepEqual(await page.$$eval(".ancestors a[data-ancestor]", (as) => as.map((a) => a.dataset.ancestor)), ["demo", "dropped", "again"]);
  assert.equal(await page.$$eval(".ancestors a.compare-edge", (as) => as.length), 2);
  assert.deepEqual(errors, []);
});
