//! The JSON shape of a comparison (docs/COMPARE.md): what `bop diff --json`
//! prints and `/api/compare` serves. Plain data, built by the passes beside
//! this module; a change here is a change of [`COMPARE_SCHEMA`].

use serde::{Deserialize, Serialize};

use bop_model::Verdict;

/// Version of the [`Comparison`] JSON shape (docs/COMPARE.md).
pub const COMPARE_SCHEMA: u32 = 1;

/// The comparison of run A with run B. Everything that is the same in both
/// runs is left out: `compare(A, A)` has empty lists and no divergence
/// ([`Comparison::is_empty`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Comparison {
    /// [`COMPARE_SCHEMA`].
    pub schema: u32,
    /// Run A (usually the parent run).
    pub a: RunInfo,
    /// Run B (usually the rerun).
    pub b: RunInfo,
    /// True when both runs have the same trace class.
    pub same_class: bool,
    /// Where the runs stop matching, earliest in causal order; `None` when
    /// they never do.
    pub first_divergence: Option<Divergence>,
    /// Other points where the runs stop matching that are concurrent with
    /// the first (neither happens before the other); at most 10.
    pub other_divergences: Vec<Divergence>,
    /// Processes (logical names) only in A / only in B.
    pub processes: OnlyIn,
    /// Threads only in A / only in B.
    pub threads: OnlyIn,
    /// Channels only in A / only in B.
    pub channels: OnlyIn,
    /// Per thread with differences: events removed (only in A), inserted
    /// (only in B), moved, or changed; sorted by thread name.
    pub events: Vec<ThreadDiff>,
    /// Messages only in A, only in B, and changed.
    pub messages: MessageDiff,
    /// A few lines for humans.
    pub summary: String,
}

impl Comparison {
    /// True when nothing differs (run ids, verdicts, classes and faults
    /// are not differences by themselves).
    pub fn is_empty(&self) -> bool {
        self.first_divergence.is_none()
            && self.other_divergences.is_empty()
            && self.processes.is_empty()
            && self.threads.is_empty()
            && self.channels.is_empty()
            && self.events.is_empty()
            && self.messages.only_a.is_empty()
            && self.messages.only_b.is_empty()
            && self.messages.changed.is_empty()
    }
}

/// One side of the comparison.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// Run id.
    pub id: String,
    /// The run this one reruns, if any.
    pub parent: Option<String>,
    /// One-line description of the target.
    pub command: String,
    /// pass / fail / unknown.
    pub verdict: Verdict,
    /// Exit status of the target.
    pub exit_status: Option<i32>,
    /// Trace class computed from the events by this build.
    pub trace_class: String,
    /// Number of recorded events.
    pub events: usize,
    /// The run's faults as planned, and whether and where each fired.
    pub faults: Vec<FaultInfo>,
}

/// One fault of a run's plan (from `Manifest::faults`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FaultInfo {
    /// The fault in one line: `drop client->primary#0/r1`.
    pub fault: String,
    /// Whether it fired.
    pub fired: bool,
    /// Logical name of the event where it first fired.
    pub at: Option<String>,
    /// What it did, or why it did not fire.
    pub effect: String,
    /// How many calls it affected.
    pub count: u64,
}

/// Names present in only one of the runs, sorted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct OnlyIn {
    /// Only in A.
    pub only_a: Vec<String>,
    /// Only in B.
    pub only_b: Vec<String>,
}

impl OnlyIn {
    /// True when both lists are empty.
    pub fn is_empty(&self) -> bool {
        self.only_a.is_empty() && self.only_b.is_empty()
    }
}

/// How a divergence point differs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DivergenceKind {
    /// The event happened in both runs, differently.
    Changed,
    /// The event happened only in A.
    OnlyA,
    /// The event happened only in B.
    OnlyB,
}

/// A point where the runs stop matching: everything that happens before it
/// (in either run) matches.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Divergence {
    /// Thread of the event (a thread name in A, or in B for `only_b`).
    pub thread: String,
    /// The diverging event in A (`None` for `only_b`).
    pub a: Option<String>,
    /// Its counterpart in B (`None` for `only_a`).
    pub b: Option<String>,
    /// Changed, only in A, or only in B.
    pub kind: DivergenceKind,
    /// The last event of the same thread before it that matches in both
    /// runs (named as in A).
    pub after: Option<String>,
    /// True when the point is in the causal past of the workload's end
    /// (the scenario client's last event) in either run, or the run has no
    /// scenario client. What happens after the workload ended is mostly
    /// teardown, whose timing is bop's, not the system's.
    pub in_workload: bool,
    /// One line: what is different here.
    pub reason: String,
}

/// The differences of one thread's events.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ThreadDiff {
    /// Thread name.
    pub thread: String,
    /// Events only in A (named as in A).
    pub removed: Vec<EventInfo>,
    /// Events only in B (named as in B).
    pub inserted: Vec<EventInfo>,
    /// The same call on the same channel at another place in the thread's
    /// order (a reordering).
    pub moved: Vec<EventChange>,
    /// Events of both runs, aligned, that differ.
    pub changed: Vec<EventChange>,
}

impl ThreadDiff {
    /// True when nothing of the thread differs (it is left out).
    pub(super) fn is_empty(&self) -> bool {
        self.removed.is_empty()
            && self.inserted.is_empty()
            && self.moved.is_empty()
            && self.changed.is_empty()
    }
}

/// One event as the comparison shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EventInfo {
    /// Logical name in its run.
    pub name: String,
    /// Channel it acted on.
    pub channel: Option<String>,
    /// `8 bytes`, `eof`, `EAGAIN`, `unfinished`, `status 0`, `SIGKILL`, `ok`.
    pub outcome: String,
    /// Messages it sent (send calls) or received from (receive calls).
    pub messages: Vec<String>,
    /// Preview of the captured payload (`"GET x\n"`), if captured.
    pub payload: Option<String>,
    /// What the fault injector did to it.
    pub injected: Option<String>,
}

/// An event of A and its counterpart in B.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EventChange {
    /// The event in A.
    pub a: EventInfo,
    /// The event in B.
    pub b: EventInfo,
    /// What differs, one phrase each.
    pub what: Vec<String>,
}

/// Message differences.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct MessageDiff {
    /// Messages whose send has no counterpart in B.
    pub only_a: Vec<MessageInfo>,
    /// Messages whose send has no counterpart in A.
    pub only_b: Vec<MessageInfo>,
    /// Messages of both runs that differ.
    pub changed: Vec<MessageChange>,
}

/// One message as the comparison shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MessageInfo {
    /// Logical name.
    pub name: String,
    /// Bytes sent.
    pub bytes: u64,
    /// The send event.
    pub send: String,
    /// The receive events that consumed its bytes.
    pub recvs: Vec<String>,
    /// Never received (or dropped).
    pub lost: bool,
    /// Dropped by the fault injector.
    pub dropped: bool,
    /// Preview of the captured payload.
    pub payload: Option<String>,
}

/// A message of A and its counterpart in B.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MessageChange {
    /// In A.
    pub a: MessageInfo,
    /// In B (its name differs from A's when its ordinal shifted).
    pub b: MessageInfo,
    /// What differs, one phrase each.
    pub what: Vec<String>,
}
