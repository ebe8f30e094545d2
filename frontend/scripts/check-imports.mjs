// Enforces the layering of src/: model → layout → render → ui. A module may
// import only from its own layer or layers to its left:
//   model   pure data: API types, validation, graph indexes. Imports nothing
//           else, so it can be tested and reused without a browser.
//   layout  pure geometry (lanes, scales, hit tests) over the model; no
//           drawing, so hit tests and drawing can never disagree on positions.
//   render  canvas drawing only, from layouts; no DOM beyond the 2D context,
//           no state, so a frame is a function of (layout, viewport, highlight).
//   ui      DOM, events, network; may use everything.
// Test files (*.test.ts) follow the same rule as the module they test.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), "src");
const layers = ["model", "layout", "render", "ui"];
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
const problems = [];
for (const file of walk(root)) {
  const rel = path.relative(root, file);
  const layer = rel.split(path.sep)[0];
  const rank = layers.indexOf(layer);
  if (rank < 0) {
    problems.push(`${rel}: not inside one of ${layers.join(", ")}`);
    continue;
  }
  const source = readFileSync(file, "utf8");
  for (const m of source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/gms)) {
    const spec = m[1];
    if (!spec.startsWith(".")) {
      // Only node's test modules, in tests; the bundle uses no packages.
      if (!(rel.endsWith(".test.ts") && spec.startsWith("node:"))) problems.push(`${rel}: imports package '${spec}'`);
      continue;
    }
    const target = path.relative(root, path.resolve(path.dirname(file), spec));
    const targetLayer = target.split(path.sep)[0];
    const targetRank = layers.indexOf(targetLayer);
    if (targetRank < 0 && !target.startsWith(`..${path.sep}fixtures`)) problems.push(`${rel}: imports '${spec}' outside src/`);
    else if (targetRank > rank) problems.push(`${rel}: ${layer} must not import ${targetLayer} ('${spec}')`);
  }
}
if (problems.length > 0) {
  console.error(`check-imports: ${problems.length} layering violation(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("check-imports: model → layout → render → ui respected");
