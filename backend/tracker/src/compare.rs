//! Run comparison (`bop diff A B`): what differs between two runs of one
//! target, in logical names only (DESIGN.md "Logical names"), and where
//! the two runs stop matching. Pure code over two manifests and event logs;
//! the JSON shape of [`Comparison`] is documented in docs/COMPARE.md.
//!
//! How it works (one module per step, under `compare/`):
//!
//! 1. Both logs become causal graphs ([`CausalGraph::build`]) with the
//!    per-event facts the passes ask for (`side.rs`). Processes, threads
//!    and channels are matched by name.
//! 2. Each thread present in both runs has its event sequence aligned by a
//!    longest common subsequence over (call, channel) keys (`align.rs`,
//!    `lcs.rs`), never by raw event names: those carry per-thread ordinals
//!    (`client:t0/15:recvfrom`), so one extra event would rename every
//!    later one. Timing noise (blocking points such as `poll`, calls
//!    failing with `EAGAIN`/`EINTR`) is left out of the alignment, as it is
//!    left out of trace classes, except where it stands in for a real call
//!    of the other run (a read that timed out with `EAGAIN` in B where A
//!    read a reply).
//! 3. An aligned pair *differs* when its outcome (bytes moved, errno,
//!    unfinished, exit status, signal), its captured payload, the drop
//!    status of the messages it sent, or its incoming cross edges (which
//!    message fed a read, which close caused an end of file) differ
//!    (`difference.rs`). Events left unaligned differ too.
//! 4. "Bad" spreads along happens-before in both graphs and across the
//!    alignment. The **divergence frontier** is the set of differing events
//!    whose causal predecessors all still match: each is a point after which
//!    the runs stop matching. The first divergence is chosen among them:
//!    points in the workload (the causal past of the scenario client's last
//!    event, as trace classes count it) before teardown, then fault sites
//!    (events the injector changed) first, then the earliest by Lamport
//!    time. The other frontier points are concurrent with it and reported
//!    as other divergences. Wall-clock times are never used
//!    (`frontier.rs`).
//! 5. Messages are paired through their aligned send events (falling back
//!    to equal names), so a message whose ordinal shifted is still compared
//!    with its counterpart (`align.rs`).
//! 6. The report lists what differs per thread and per message
//!    (`report.rs`) in the JSON shape of `shape.rs`; every phrase and the
//!    summary are worded in `prose.rs`, the terminal text in
//!    [`render_text`].

mod align;
mod difference;
mod frontier;
mod lcs;
mod marks;
mod prose;
mod render;
mod report;
mod shape;
mod side;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

pub use marks::{Counts, Mark, MarkKind, Marked, Place, PlacedDivergence, Summary};
pub use render::render_text;
pub use shape::{
    COMPARE_SCHEMA, Comparison, Divergence, DivergenceKind, EventChange, EventInfo, FaultInfo,
    MessageChange, MessageDiff, MessageInfo, OnlyIn, RunInfo, ThreadDiff,
};

use crate::CausalGraph;
use align::Alignment;
use bop_model::{Event, FaultRecord, Manifest};
use difference::Difference;
use side::Side;

/// Compares run A with run B. See the module docs for the method.
pub fn compare(a: (&Manifest, &[Event]), b: (&Manifest, &[Event])) -> Comparison {
    let (sa, sb) = sides(a.1, b.1);
    compare_sides((a.0, &sa), (b.0, &sb))
}

/// [`compare`] as the page of two big runs needs it: a summary and one
/// placed mark per difference ([`Marked`]), from one pass over both graphs.
pub fn compare_marked(a: (&Manifest, &[Event]), b: (&Manifest, &[Event])) -> Marked {
    let (sa, sb) = sides(a.1, b.1);
    let c = compare_sides((a.0, &sa), (b.0, &sb));
    marks::marked(c, &sa, &sb)
}

/// Both sides, B's built on a second thread: the two builds (graph, facts
/// and trace class, about 2 s each at 10^6 events) share nothing, and
/// the callers (`bop diff`, the server under every build permit) have
/// the machine to themselves while they wait.
fn sides<'e>(a: &'e [Event], b: &'e [Event]) -> (Side<'e>, Side<'e>) {
    std::thread::scope(|s| {
        let other = s.spawn(|| Side::new(b));
        let sa = Side::new(a);
        let sb = other
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (sa, sb)
    })
}

fn compare_sides(a: (&Manifest, &Side<'_>), b: (&Manifest, &Side<'_>)) -> Comparison {
    let (sa, sb) = (a.1, b.1);
    let al = Alignment::new(sa, sb);
    let what = difference::differences(sa, sb, &al);
    let cmp = Cmp {
        a: sa,
        b: sb,
        al,
        what,
    };
    let mut divergences = cmp.frontier().into_iter().map(|p| cmp.divergence(p));
    let first_divergence = divergences.next();
    let (ra, rb) = (run_info(a.0, sa), run_info(b.0, sb));
    let mut c = Comparison {
        schema: COMPARE_SCHEMA,
        same_class: ra.trace_class == rb.trace_class,
        a: ra,
        b: rb,
        first_divergence,
        other_divergences: divergences.collect(),
        processes: only_in(&sa.g, &sb.g, |g| {
            g.processes().iter().map(|p| p.name.clone()).collect()
        }),
        threads: only_in(&sa.g, &sb.g, |g| {
            g.threads().iter().map(|t| t.name.clone()).collect()
        }),
        channels: only_in(&sa.g, &sb.g, |g| {
            g.channels().iter().map(|c| c.name.clone()).collect()
        }),
        events: cmp.thread_diffs(),
        messages: cmp.messages(),
        summary: String::new(),
    };
    c.summary = prose::summary(&c);
    c
}

/// Two runs, aligned, with what differs: what the frontier and the report
/// are made of.
struct Cmp<'s, 'e> {
    a: &'s Side<'e>,
    b: &'s Side<'e>,
    al: Alignment,
    /// Per A event: how it differs from its B counterpart (empty when it
    /// matches or is not aligned).
    what: Vec<Vec<Difference>>,
}

fn run_info(m: &Manifest, s: &Side<'_>) -> RunInfo {
    RunInfo {
        id: m.id.clone(),
        parent: m.parent.clone(),
        command: m.command.clone(),
        verdict: m.verdict,
        exit_status: m.exit_status,
        trace_class: s.class.clone(),
        events: s.ev.len(),
        faults: m.faults.iter().map(fault_info).collect(),
    }
}

fn fault_info(r: &FaultRecord) -> FaultInfo {
    FaultInfo {
        fault: r.fault.to_string(),
        fired: r.fired,
        at: r.at.as_ref().and_then(|a| a.event.clone()),
        effect: r.effect.clone(),
        count: r.count,
    }
}

/// The names `names` gives for each graph that the other lacks, sorted.
fn only_in(
    a: &CausalGraph<'_>,
    b: &CausalGraph<'_>,
    names: impl Fn(&CausalGraph<'_>) -> BTreeSet<String>,
) -> OnlyIn {
    let (x, y) = (names(a), names(b));
    OnlyIn {
        only_a: x.difference(&y).cloned().collect(),
        only_b: y.difference(&x).cloned().collect(),
    }
}
