// Compiles every src/**/*.test.ts (and bench/*.ts) into build-tests/ as
// self-contained ES modules for `node --test`, plus what the browser tests
// take their expectations from: the synthetic-graph generator, the key map
// and the viewport gestures.
import * as esbuild from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
const tests = walk(path.join(root, "src")).filter((f) => f.endsWith(".test.ts"));
const out = path.join(root, "build-tests");
rmSync(out, { recursive: true, force: true });
const common = { bundle: true, format: "esm", platform: "node", target: "node20", logLevel: "warning", sourcemap: "inline" };
await esbuild.build({
  ...common,
  entryPoints: Object.fromEntries(tests.map((f) => [path.relative(path.join(root, "src"), f).replace(/\.ts$/, ""), f])),
  outdir: out,
  outExtension: { ".js": ".mjs" },
});
await esbuild.build({
  ...common,
  entryPoints: {
    "bench/render.bench": path.join(root, "bench/render.bench.ts"),
    "lib/synthetic": path.join(root, "src/model/synthetic.ts"),
    "lib/keymap": path.join(root, "src/layout/keymap.ts"),
    "lib/navigate": path.join(root, "src/layout/navigate.ts"),
    "lib/minimap": path.join(root, "src/layout/minimap.ts"),
    "lib/graph": path.join(root, "src/model/graph.ts"),
    "lib/api": path.join(root, "src/model/api.ts"),
  },
  outdir: out,
  outExtension: { ".js": ".mjs" },
});
