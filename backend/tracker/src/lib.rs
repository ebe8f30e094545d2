//! The tracker: pure code from recorded events to the causal graph
//! (happens-before), logical names, vector clocks, trace classes and the
//! export formats. No ptrace, no I/O beyond what callers hand in.
//!
//! Layout:
//! * `names`: logical names of processes and threads (DESIGN.md "Logical
//!   names"); computed first because channel names are built from them.
//! * `channels`: channel ends, byte-range matching of sends to reads,
//!   datagram matching, connect/accept and close→EOF pairing, as one pass
//!   per module (discover, ends, naming, matching).
//! * `graph`: the [`CausalGraph`] itself (petgraph), cycle guard, Lamport
//!   times and vector clocks.
//! * [`classes`]: trace classes, the [`trace_class`] hash of a run's causal
//!   structure, and the timing-noise rule the comparison shares.
//! * [`compare`]: two runs of one target in logical names, and their first
//!   divergence (`bop diff`); its module docs give the method step by step.
//! * [`export`]: JSON contract (docs/EXPORT.md), dot, ShiViz, Perfetto.
//! * [`find`]: the events whose name, call, channel or payload contain a text.
//! * [`show`]: the strace-like timeline of `bop show`.
//! * [`lineage`]: the causal past of the verdict and its races (`bop search`).
//! * [`window`]: windows of a graph and their level of detail (the
//!   contract of `GET /api/runs/{id}/window`; the index lives in bop-store).

mod channels;
pub mod classes;
pub mod compare;
pub mod export;
pub mod find;
mod graph;
pub mod lineage;
mod names;
mod recvs;
pub mod show;
pub mod window;

#[cfg(test)]
mod blindtests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) mod testlog;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod threadtests;

pub use channels::{Channel, Message};
pub use classes::{class_structure, trace_class};
pub use graph::{CausalGraph, Edge, EdgeKind};
pub use names::{Process, Thread};
pub use recvs::Recvs;

/// Errors of the tracker layer.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// The export format is not one of json, dot, shiviz, perfetto.
    #[error("unknown export format '{0}' (use json, dot, shiviz or perfetto)")]
    UnknownFormat(String),
}

pub(crate) use bop_model::{is_blocking, is_fork, is_thread_end, receives, sends};

/// Base name of an executable path (`/usr/bin/kvd` → `kvd`).
pub(crate) fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// True when the fault injector dropped this send: it returned success but
/// its bytes never entered the channel (DESIGN.md "Fault semantics"). The
/// injector's `injected` text starts with `drop` for those.
pub(crate) fn is_dropped(e: &bop_model::Event) -> bool {
    e.injected.as_deref().is_some_and(|s| s.starts_with("drop"))
}
