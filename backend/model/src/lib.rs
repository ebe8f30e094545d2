//! bop's vocabulary (DESIGN.md "Vocabulary"), typed once and shared by every
//! layer: recorded [`Event`]s and channel [`Endpoint`]s, run [`Manifest`]s,
//! [`Fault`]s, [`FaultPlan`]s and the [`FaultRecord`] of what each did, the
//! role of each recorded call ([`CallKind`]), errno names and verdicts.
//!
//! Serde only, no I/O, so the tracer, the tracker, the injector, the store,
//! the server and external scripts agree on one shape. Bump
//! [`EVENT_SCHEMA`] when a field changes meaning.

mod call;
mod errno;
mod event;
mod exploration;
mod fault;
mod name;
mod run;
mod search;

pub use call::{
    CALLS, CallKind, is_blocking, is_fork, is_recorded_call, is_recv, is_send, is_thread_end,
    is_transfer, is_unseen, receives, sends,
};
pub use errno::{errno_name, errno_number};
pub use event::{CallPath, ChannelKind, Detail, DetailBox, Endpoint, Event};
pub use exploration::{Class, Exploration, Params, Probe, Sweep};
pub use fault::{
    ConnectMode, ErrorCall, Fault, FaultPlan, FaultRecord, Fired, Ms, PlanError, planned_errno,
};
pub use name::Name;
pub use run::{
    Counts, EndReason, FastPathUse, Manifest, Recorder, RunStatus, Target, Unseen, Verdict,
};
pub use search::{Bug, Confirmed, FaultKind, Search, SearchParams};

/// Version of the event-log and manifest schema written by this build.
pub const EVENT_SCHEMA: u32 = 1;
