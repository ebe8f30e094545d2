import assert from "node:assert/strict";
import { test } from "node:test";
import { unseenText } from "./unseen.ts";

test("unseen I/O is named per process, and nothing is said without it", () => {
  assert.equal(unseenText(undefined), null);
  assert.equal(unseenText([]), null);
  assert.equal(
    unseenText([{ process: "db/worker#0", calls: ["io_uring_setup", "io_uring_enter"], count: 12 }]),
    "Partial graph: I/O bop cannot see (io_uring) by db/worker#0 (12 × io_uring_setup, io_uring_enter). Their messages are missing from this diagram.",
  );
});
