//! What differs between two aligned events, decided here and worded in
//! [`super::prose`]: an aligned pair differs when its outcome, its captured
//! payload, the drop status of the messages it sent, or its incoming cross
//! edges (which message fed a read, which close caused an end of file)
//! differ. Cross edges are compared through the alignment, so an edge from
//! the counterpart of the same event matches.

use std::collections::BTreeSet;

use super::align::Alignment;
use super::side::Side;
use crate::EdgeKind;

/// One way an aligned pair of events differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Difference {
    /// Bytes moved, errno, unfinished, exit status or signal.
    Outcome,
    /// The captured payloads.
    Payload,
    /// A message the pair sent (A's, B's at the same part index) was
    /// dropped in one run only.
    Dropped(usize, usize),
    /// A receive was fed by other messages.
    Fed,
    /// The incoming edges of one kind (not message) come from other
    /// events.
    Edge(EdgeKind),
}

/// Per A event: how it differs from its B counterpart (empty when it is
/// not aligned or matches).
pub(super) fn differences(a: &Side<'_>, b: &Side<'_>, al: &Alignment) -> Vec<Vec<Difference>> {
    (0..a.ev.len())
        .map(|i| al.ab[i].map_or_else(Vec::new, |j| between(a, b, al, i, j)))
        .collect()
}

/// What differs between the aligned events `i` (A) and `j` (B).
fn between(a: &Side<'_>, b: &Side<'_>, al: &Alignment, i: usize, j: usize) -> Vec<Difference> {
    let mut out = Vec::new();
    if a.outcome(i) != b.outcome(j) {
        out.push(Difference::Outcome);
    }
    if let (Some(da), Some(db)) = (&a.ev[i].data, &b.ev[j].data) {
        if da != db {
            out.push(Difference::Payload);
        }
    }
    for (k, &ma) in a.sent[i].iter().enumerate() {
        let Some(&mb) = b.sent[j].get(k) else {
            continue;
        };
        if a.g.messages()[ma].dropped != b.g.messages()[mb].dropped {
            out.push(Difference::Dropped(ma, mb));
        }
    }
    out.extend(incoming(a, b, al, i, j));
    out
}

/// Incoming cross edges of event `x` as (source, kind), by source.
pub(super) fn incoming_edges(s: &Side<'_>, x: usize) -> Vec<(usize, EdgeKind)> {
    s.g.incoming(x)
        .into_iter()
        .map(|(src, e)| (src, e.kind))
        .collect()
}

/// How the incoming cross edges of the pair differ, through the
/// alignment.
fn incoming(a: &Side<'_>, b: &Side<'_>, al: &Alignment, i: usize, j: usize) -> Vec<Difference> {
    let (ia, ib) = (incoming_edges(a, i), incoming_edges(b, j));
    let mapped: BTreeSet<(Option<usize>, EdgeKind)> =
        ia.iter().map(|&(s, k)| (al.ab[s], k)).collect();
    let own: BTreeSet<(Option<usize>, EdgeKind)> = ib.iter().map(|&(s, k)| (Some(s), k)).collect();
    if mapped == own {
        return Vec::new();
    }
    let mut out = Vec::new();
    let (ra, rb) = (&a.recvd[i], &b.recvd[j]);
    let same_msgs = ra.len() == rb.len()
        && ra
            .iter()
            .zip(rb)
            .all(|(&x, &y)| al.ab[a.g.messages()[x].send] == Some(b.g.messages()[y].send));
    if !same_msgs {
        out.push(Difference::Fed);
    }
    let others = EdgeKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, EdgeKind::Program | EdgeKind::Message));
    for kind in others {
        let xa: BTreeSet<Option<usize>> = ia
            .iter()
            .filter(|e| e.1 == kind)
            .map(|e| al.ab[e.0])
            .collect();
        let xb: BTreeSet<Option<usize>> = ib
            .iter()
            .filter(|e| e.1 == kind)
            .map(|e| Some(e.0))
            .collect();
        if xa != xb {
            out.push(Difference::Edge(kind));
        }
    }
    out
}
