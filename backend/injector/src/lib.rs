//! The fault injector: fault plans written in logical names (DESIGN.md
//! "Fault semantics"), translated through the parent run into
//! run-independent [`locator`]s, and matched by the tracer at syscall entry.
//!
//! Plans are TOML (`[[fault]]` tables) or JSON (`{"faults": [...]}`), same
//! fields:
//!
//! ```toml
//! [[fault]]
//! kind = "delay"                      # hold the send at its entry
//! message = "primary->replica#0/0"
//! ms = 500                            # or "inf": until the run ends
//!
//! [[fault]]
//! kind = "drop"                       # send returns success, bytes never arrive
//! message = "client->primary#0/r1"    # (stream: every later message that way too)
//!
//! [[fault]]
//! kind = "error"                      # the call is skipped and fails
//! event = "client:t0/5:connect"       # or a pattern: process, call, channel, nth
//! errno = "ECONNREFUSED"
//!
//! [[fault]]
//! kind = "crash"                      # fail-silent: its messages stop arriving
//! process = "primary"
//! after = "primary:t1/3:sendto"       # optional; kill = true sends SIGKILL instead
//!
//! [[fault]]
//! kind = "partition"
//! groups = [["primary"], ["replica"]]
//! after_ms = 100                      # or after = EVENT; heal_ms optional
//! connect = "refuse"                  # or "timeout" or "hang"
//! ```
//!
//! Never pretend a fault fired: each fault's record says whether it fired,
//! at which event, and what it did.

mod armed;
pub mod locator;
mod matching;
mod plan;
mod runtime;

#[cfg(test)]
mod testrun;
#[cfg(test)]
mod tests;

pub use bop_model::{ConnectMode, Fault, FaultPlan, FaultRecord, Fired, Ms, PlanError};
pub use matching::{Action, Decision, Entry};
pub use runtime::Injector;
