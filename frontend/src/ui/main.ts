/** Entry point of the bundle: starts the page named by `<body data-page>`. */

import { comparePage } from "./compare.ts";
import { explorationListPage, explorationPage } from "./explorations.ts";
import { runListPage } from "./runlist.ts";
import { runPage } from "./runview.ts";
import { searchControl, searchListPage, searchPage } from "./searches.ts";
import { treePage } from "./tree.ts";

const pages: Record<string, () => Promise<void>> = {
  runs: runListPage,
  run: () => {
    searchControl(document.body.dataset.runId ?? "");
    return runPage();
  },
  compare: comparePage,
  tree: treePage,
  explorations: explorationListPage,
  exploration: explorationPage,
  searches: searchListPage,
  search: searchPage,
};

const start = pages[document.body.dataset.page ?? ""];
if (start) {
  start().catch((e: unknown) => {
    const status = document.getElementById("status");
    if (status) {
      status.textContent = `The page failed: ${e instanceof Error ? e.message : String(e)}`;
      status.className = "status error";
    }
    document.body.dataset.rendered = "error";
    console.error(e);
  });
} else {
  document.body.dataset.rendered = "true";
}
