//! The tracker: pure code from recorded events to the causal graph
//! (happens-before), logical names, vector clocks, trace classes and the
//! export formats. No ptrace, no I/O beyond what callers hand in.
//!
//! Layout:
//! * `names`: logical names of processes and threads (DESIGN.md "Logical
//!   names"); computed first because channel names are built from them.
//! * `channels`: channel ends, byte-range matching of sends to reads,
//!   datagram matching, connect/accept and close→EOF pairing.
//! * `graph`: the [`CausalGraph`] itself (petgraph), cycle guard, Lamport
//!   times and vector clocks.
//! * [`clock`]: the [`trace_class`] hash.
//! * [`export`]: JSON contract (docs/EXPORT.md), dot, ShiViz, Perfetto.
//! * [`show`]: the strace-like timeline of `bop show`.

mod channels;
pub mod clock;
pub mod export;
mod graph;
mod names;
pub mod show;

#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) mod testlog;
#[cfg(test)]
mod tests;

pub use channels::{Channel, Message};
pub use clock::{class_structure, trace_class};
pub use graph::{CausalGraph, Edge, EdgeKind};
pub use names::{Process, Thread};

/// Errors of the tracker layer.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// The export format is not one of json, dot, shiviz, perfetto.
    #[error("unknown export format '{0}' (use json, dot, shiviz or perfetto)")]
    UnknownFormat(String),
}

/// Calls that put bytes into a channel (EVENTS.md "Data").
pub(crate) fn is_send(call: &str) -> bool {
    matches!(
        call,
        "write" | "writev" | "pwrite64" | "send" | "sendto" | "sendmsg" | "sendmmsg"
    )
}

/// Calls that take bytes out of a channel.
pub(crate) fn is_recv(call: &str) -> bool {
    matches!(
        call,
        "read" | "readv" | "pread64" | "recv" | "recvfrom" | "recvmsg" | "recvmmsg"
    )
}

/// Calls that create a process or a thread (`detail.child` = new tid).
pub(crate) fn is_fork(call: &str) -> bool {
    matches!(call, "fork" | "vfork" | "clone" | "clone3")
}

/// Events that end a thread: the `exit`/`killed` lifecycle points, or the
/// `exit`/`exit_group` syscalls that replace the `exit` point.
pub(crate) fn is_thread_end(call: &str) -> bool {
    matches!(call, "exit" | "exit_group" | "killed")
}

/// Blocking points: they wait for readiness and move no data.
pub(crate) fn is_blocking(call: &str) -> bool {
    matches!(
        call,
        "poll" | "ppoll" | "select" | "pselect6" | "epoll_wait" | "epoll_pwait" | "epoll_pwait2"
    )
}

/// Base name of an executable path (`/usr/bin/kvd` → `kvd`).
pub(crate) fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// True when the fault injector dropped this send: it returned success but
/// its bytes never entered the channel (DESIGN.md "Fault semantics"). The
/// injector's `injected` text starts with `drop` for those.
pub(crate) fn is_dropped(e: &crate::model::Event) -> bool {
    e.injected.as_deref().is_some_and(|s| s.starts_with("drop"))
}
