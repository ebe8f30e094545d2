import assert from "node:assert/strict";
import { test } from "node:test";
import { indexGraph } from "../model/graph.ts";
import { eventId, smallGraph } from "../model/fixture.test-util.ts";
import { syntheticGraph } from "../model/synthetic.ts";
import {
  ARROW_CONNECT,
  ARROW_EOF,
  ARROW_EXIT,
  ARROW_LOST,
  ARROW_MESSAGE,
  ARROW_SPAWN,
  arrowAt,
  arrowPoints,
  eventAt,
  eventPoint,
  layoutDiagram,
  LOST_DX,
  LOST_DY,
  messageAnchor,
  segmentDistance,
} from "./diagram.ts";
import { fit, type Viewport, visibleX, zoomAt } from "./viewport.ts";

const screen: Viewport = { x0: 0, k: 1, y0: 0, width: 1370, height: 600, left: 170, top: 26 };

test("lanes: one per thread, grouped by process in listed order", () => {
  const l = layoutDiagram(indexGraph(smallGraph()), "time");
  assert.deepEqual(
    l.lanes.lanes.map((x) => x.label),
    ["client:t0", "primary:t0", "primary:t1", "primary/sh#0:t0", "replica:t0"],
  );
  assert.deepEqual(l.lanes.groups.map((g) => [g.process, g.lanes.length]), [["client", 1], ["primary", 2], ["primary/sh#0", 1], ["replica", 1]]);
  const ys = l.lanes.lanes.map((x) => x.y);
  assert.ok(ys.every((y, i) => i === 0 || y > ys[i - 1]));
});

test("arrows: deliveries, the lost message, and each edge kind", () => {
  const g = smallGraph();
  const l = layoutDiagram(indexGraph(g), "time");
  const kinds = Array.from(l.arrowKind);
  const count = (k: number) => kinds.filter((x) => x === k).length;
  assert.equal(kinds.length, 11);
  assert.deepEqual([ARROW_MESSAGE, ARROW_LOST, ARROW_CONNECT, ARROW_SPAWN, ARROW_EXIT, ARROW_EOF].map(count), [4, 1, 2, 2, 1, 1]);
  const lost = kinds.indexOf(ARROW_LOST);
  assert.equal(l.arrowTo[lost], -1);
  assert.equal(g.messages[l.arrowMessage[lost]].id, "client->primary#0/1");
  assert.equal(l.injected[eventId(g, "client:t0/4:write")], 1);
});

test("real-time x is the return time, logical x the Lamport clock", () => {
  const g = smallGraph();
  const idx = indexGraph(g);
  const e = eventId(g, "client:t0/3:read");
  const t = layoutDiagram(idx, "time");
  assert.equal(t.x[e], 9_000_000);
  assert.equal(t.x0[e], 3_100_000);
  assert.equal(t.maxX, 14_000_000);
  const lg = layoutDiagram(idx, "logical");
  assert.equal(lg.x[e], 11);
  assert.equal(lg.x0[e], 11);
  // Every arrow goes forward in logical time.
  for (let a = 0; a < lg.arrowTo.length; a++) {
    if (lg.arrowTo[a] >= 0) assert.ok(lg.x[lg.arrowTo[a]] > lg.x[lg.arrowFrom[a]], `arrow ${a}`);
  }
});

test("hit tests find events and arrows at their drawn positions", () => {
  const g = smallGraph();
  const l = layoutDiagram(indexGraph(g), "logical");
  const v = fit(screen, l.minX, l.maxX);
  for (let e = 0; e < g.events.length; e++) {
    const [x, y] = eventPoint(l, v, e);
    const hit = eventAt(l, v, x + 1, y - 1);
    // Two marks may share a spot; the hit must then be one at the same place.
    assert.ok(hit >= 0, `event ${g.events[e].name} not hit`);
    assert.deepEqual(eventPoint(l, v, hit), [x, y]);
  }
  assert.equal(eventAt(l, v, 5, 5), -1, "nothing in the label gutter");
  for (let a = 0; a < l.arrowFrom.length; a++) {
    const [x1, y1, x2, y2] = arrowPoints(l, v, a);
    const hit = arrowAt(l, v, (x1 + x2) / 2, (y1 + y2) / 2 + 1);
    assert.ok(hit >= 0, `arrow ${a} not hit`);
    assert.ok(segmentDistance((x1 + x2) / 2, (y1 + y2) / 2, ...arrowPoints(l, v, hit)) < 2);
  }
  const lost = Array.from(l.arrowKind).indexOf(ARROW_LOST);
  const [sx, sy] = eventPoint(l, v, l.arrowFrom[lost]);
  assert.equal(arrowAt(l, v, sx + LOST_DX, sy + LOST_DY), lost, "the × end of a lost message");
});

test("a message's anchor is on its own arrow: a delivery's middle, a lost message's ×", () => {
  const g = smallGraph();
  const l = layoutDiagram(indexGraph(g), "time");
  const v = fit(screen, l.minX, l.maxX);
  g.messages.forEach((m, mi) => {
    const p = messageAnchor(l, v, mi);
    assert.ok(p, `${m.id} has an anchor`);
    const hit = arrowAt(l, v, p[0], p[1]);
    assert.equal(l.arrowMessage[hit], mi, `${m.id}: the arrow under its anchor is its own`);
    if (m.recvs.length === 0) {
      const [sx, sy] = eventPoint(l, v, m.send);
      assert.deepEqual(p, [sx + LOST_DX, sy + LOST_DY]);
    }
  });
  assert.equal(messageAnchor(l, v, g.messages.length), null);
});

test("the arrow index returns every arrow a brute-force scan finds", () => {
  const g = syntheticGraph({ events: 5000, seed: 3 });
  const l = layoutDiagram(indexGraph(g), "time");
  let v = fit(screen, l.minX, l.maxX);
  for (const zoom of [1, 8, 64, 512]) {
    v = zoomAt(fit(screen, l.minX, l.maxX), 700, zoom);
    const [a, b] = visibleX(v);
    const found = new Set<number>();
    l.arrows.query(a, b, (x) => found.add(x));
    for (let arrow = 0; arrow < l.arrowFrom.length; arrow++) {
      const fx = l.x[l.arrowFrom[arrow]];
      const tx = l.arrowTo[arrow] >= 0 ? l.x[l.arrowTo[arrow]] : fx;
      if (Math.max(fx, tx) >= a && Math.min(fx, tx) <= b) assert.ok(found.has(arrow), `zoom ${zoom}: arrow ${arrow} missed`);
    }
  }
});
