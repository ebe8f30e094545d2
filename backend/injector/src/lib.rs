//! The fault injector: fault plans written in logical names (DESIGN.md
//! "Fault semantics"), translated through the parent run into
//! run-independent locators ([`Locator`]), and matched by the tracer at
//! syscall entry. Pure code over events: no ptrace, tested without it.
//!
//! Modules (private; the API is re-exported here): `plan` translates names
//! through the parent run, `locator` computes locators online, `armed` is
//! each fault's state during a run, `matching` decides at a call's entry
//! ([`Injector::on_entry`]), `reach` says which processes the plan could
//! act on ([`Injector::may_act_on`]), `runtime` holds the [`Injector`], what it
//! observes and the records. Tests: `testrun` builds and replays runs.
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
//! kind = "error"                      # named by a message, whichever thread
//! receive = "primary->replica#0/2"    # makes the call (or send = MESSAGE,
//! errno = "ECONNRESET"                # connect = CHANNEL)
//!
//! [[fault]]
//! kind = "crash"                      # fail-silent: its messages stop arriving
//! process = "primary"
//! after = "primary:t1/3:sendto"       # optional (or after_send = MESSAGE);
//!                                     # kill = true sends SIGKILL instead
//!
//! [[fault]]
//! kind = "partition"
//! groups = [["primary"], ["replica"]]
//! after_ms = 100                      # or after = EVENT, after_send = MESSAGE;
//!                                     # heal_ms optional
//! connect = "refuse"                  # or "timeout" or "hang"
//! ```
//!
//! Never pretend a fault fired: each fault's record says whether it fired,
//! at which event, and what it did.

mod armed;
mod locator;
mod matching;
mod names;
mod plan;
mod reach;
mod runtime;

#[cfg(test)]
mod message_tests;
#[cfg(test)]
mod testrun;
#[cfg(test)]
mod tests;

pub use bop_model::{ConnectMode, ErrorCall, Fault, FaultPlan, FaultRecord, Fired, Ms, PlanError};
pub use locator::Locator;
pub use matching::{Action, Decision, Entry};
pub use runtime::Injector;
