// Bundles src/ui/main.ts into ../static/app.js (an ES module, no external
// resources). `--watch` rebuilds on change.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const options = {
  entryPoints: [path.join(root, "src/ui/main.ts")],
  outfile: path.join(root, "../static/app.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  sourcemap: true,
  minify: !process.argv.includes("--dev"),
  logLevel: "info",
};
if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
