import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { api, MAX_RUNS_PAGE, pages } from "./routes.ts";

test("ids and query values are encoded", () => {
  assert.equal(pages.run("a b/c"), "/runs/a%20b%2Fc");
  assert.equal(pages.compare("a b", "c&d"), "/compare?a=a%20b&b=c%26d");
  assert.equal(pages.exploration("x?y"), "/explorations/x%3Fy");
  assert.equal(api.graph("../etc"), "/api/runs/..%2Fetc/graph");
  assert.equal(api.compare("a=1", "#b"), "/api/compare?a=a%3D1&b=%23b");
  assert.equal(api.rerun("r 1"), "/api/reruns/r%201");
});

test("unset query values are left out, set ones keep their order", () => {
  assert.equal(pages.compare(), "/compare");
  assert.equal(pages.compare("a"), "/compare?a=a");
  assert.equal(api.runs(), "/api/runs");
  assert.equal(api.runs({ limit: MAX_RUNS_PAGE }), "/api/runs?limit=1000");
  assert.equal(api.runs({ limit: 5, offset: 10 }), "/api/runs?offset=10&limit=5");
  assert.equal(api.runs({ limit: 5, cursor: "" }), "/api/runs?limit=5&cursor=");
  assert.equal(api.runs({ cursor: "17.a b" }), "/api/runs?cursor=17.a%20b");
  assert.equal(api.events("r", { offset: 0 }), "/api/runs/r/events?offset=0");
  assert.equal(api.export("r", "shiviz"), "/api/runs/r/export?format=shiviz");
});

/** The `.route("…")` paths a server router file declares. */
function serverRoutes(file: string, prefix: string): Set<string> {
  const source = readFileSync(new URL(`../../../backend/server/src/${file}`, import.meta.url), "utf8");
  return new Set([...source.matchAll(/\.route\(\s*"([^"]+)"/g)].map((m) => `${prefix}${m[1]}`.replace(/(.)\/$/, "$1")));
}

/** A built URL as the server's route pattern: the sample id becomes `{id}`, the query goes. */
const pattern = (url: string) => url.split("?")[0].replaceAll("ID", "{id}");

test("every URL the frontend builds is a route the server has", () => {
  const pageRoutes = serverRoutes("pages.rs", "");
  const apiRoutes = serverRoutes("api.rs", "/api");
  assert.ok(pageRoutes.size >= 5 && apiRoutes.size >= 10, `read the routers: ${[...pageRoutes]} ${[...apiRoutes]}`);
  const built = [pages.runs(), pages.run("ID"), pages.compare("ID", "ID"), pages.explorations(), pages.exploration("ID")];
  for (const url of built) assert.ok(pageRoutes.has(pattern(url)), `${url} is not a page route: ${[...pageRoutes].join(" ")}`);
  const calls = [
    api.runs({ limit: 1 }),
    api.run("ID"),
    api.graph("ID"),
    api.events("ID"),
    api.export("ID", "json"),
    api.reruns("ID"),
    api.rerun("ID"),
    api.compare("ID", "ID"),
    api.explorations(),
    api.exploration("ID"),
  ];
  for (const url of calls) assert.ok(apiRoutes.has(pattern(url)), `${url} is not an API route: ${[...apiRoutes].join(" ")}`);
});

test("the page size matches the server's maximum", () => {
  const source = readFileSync(new URL("../../../backend/server/src/api.rs", import.meta.url), "utf8");
  const m = source.match(/MAX_RUNS_PAGE: usize = ([\d_]+);/);
  assert.ok(m, "api.rs declares MAX_RUNS_PAGE");
  assert.equal(Number(m[1].replaceAll("_", "")), MAX_RUNS_PAGE);
});
