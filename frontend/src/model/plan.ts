/** Fault plans built from the rerun panel's choices; pure and validated. */

import type { FaultPlan } from "./api.ts";
import { describeFault } from "./faults.ts";

export type FaultChoice = { kind: "delay"; ms: number } | { kind: "delay-forever" } | { kind: "drop" };

/** The plan for one fault on one message, or an error sentence. */
export function planFor(message: string, choice: FaultChoice): FaultPlan | string {
  switch (choice.kind) {
    case "delay":
      if (!Number.isInteger(choice.ms) || choice.ms < 1 || choice.ms > 86_400_000) {
        return "the delay must be a whole number of milliseconds between 1 and 86400000";
      }
      return { faults: [{ kind: "delay", message, ms: choice.ms }] };
    case "delay-forever":
      return { faults: [{ kind: "delay", message, ms: "inf" }] };
    case "drop":
      return { faults: [{ kind: "drop", message }] };
  }
}

/** One line describing a plan, for the panel. */
export function describePlan(plan: FaultPlan): string {
  return plan.faults.map(describeFault).join("; ");
}
