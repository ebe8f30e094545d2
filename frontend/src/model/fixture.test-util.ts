// Shared by tests: the hand-written contract fixture (fixtures/small-graph.json),
// a scenario of a client, a primary with a helper thread and a forked shell,
// and a replica; one dropped message. Lanes 5, arrows 11 (4 deliveries, 1
// lost, 2 connect, 2 spawn, 1 exit, 1 eof).
import fixture from "../../fixtures/small-graph.json";
import { type Graph, parseGraph } from "./api.ts";

export function smallGraph(): Graph {
  return parseGraph(structuredClone(fixture));
}

export function eventId(g: Graph, name: string): number {
  const e = g.events.find((x) => x.name === name);
  if (!e) throw new Error(`no event ${name}`);
  return e.id;
}
