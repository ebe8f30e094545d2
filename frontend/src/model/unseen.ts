/**
 * What the run page says about I/O bop could not see (io_uring): one
 * sentence naming each process, or nothing when every call was seen.
 */

import type { UnseenIo } from "./api.ts";

/** The banner's sentence, `null` when there is nothing to say. */
export function unseenText(unseen: readonly UnseenIo[] | undefined): string | null {
  if (!unseen || unseen.length === 0) return null;
  const who = unseen.map((u) => `${u.process} (${u.count} × ${u.calls.join(", ")})`).join("; ");
  return `Partial graph: I/O bop cannot see (io_uring) by ${who}. Their messages are missing from this diagram.`;
}
