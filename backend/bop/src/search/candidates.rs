//! Candidate faults from the base run's causal graph, not blind (issue 14
//! item 3): omissions on the lineage (drop or hold forever a message, crash
//! a process right after one of its sends, partition the two ends of a
//! channel after a message, an errno on a connect, send or receive) and
//! race-directed delays (hold the earlier of two unforced deliveries just
//! past the later, by the gap the baseline measured plus a margin).
//!
//! The client is the observer, not the system under test: holding one of
//! its sends forever only hangs the workload, and crashing it silences the
//! one who judges, so neither is a candidate. Errors on its calls stay:
//! they are what the network does to a client.

use std::collections::BTreeSet;

use bop_model::{ConnectMode, Fault, FaultKind, Ms};
use bop_tracker::CausalGraph;
use bop_tracker::lineage::{self, Lineage};

/// One candidate fault and what must be in a run's lineage for it to cut it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Candidate {
    /// The fault, in the base run's logical names.
    pub(crate) fault: Fault,
    /// Its kind, as `--faults` names it.
    pub(crate) kind: FaultKind,
    /// What it acts on: two faults with one key are one fault twice.
    pub(crate) key: String,
    /// The message or event whose presence in a lineage it needs.
    needs: Needs,
}

#[derive(Clone, Debug, PartialEq)]
enum Needs {
    Message(String),
    Event(String),
}

impl Candidate {
    /// True when the fault acts on something in the lineage, so it could cut
    /// the way that run reached its outcome.
    pub(crate) fn cuts(&self, l: &Lineage) -> bool {
        match &self.needs {
            Needs::Message(m) => l.messages.contains(m),
            Needs::Event(e) => l.events.contains(e),
        }
    }
}

/// The margin added to a measured race gap: reruns under the tracer are
/// not exactly as fast as the baseline, and a delay that only ties does not
/// swap. Shrinking finds the real edge afterwards.
pub(crate) fn race_margin_ms(gap_ms: u64) -> u64 {
    (gap_ms / 4).max(20)
}

/// The candidates of the base run, highest priority first: race-directed
/// delays (few and aimed), drops, errors, crashes, partitions, then
/// delays forever (they mostly repeat drops).
pub(crate) fn candidates(g: &CausalGraph<'_>, kinds: &[FaultKind]) -> Vec<Candidate> {
    let past = lineage::causal_past(g);
    let client_side = client_side(g);
    let lineage_msgs: Vec<usize> = (0..g.messages().len())
        .filter(|&m| g.messages()[m].recvs.iter().any(|&r| past[r]))
        .collect();
    let mut out = Vec::new();
    let message = |name: &str| format!("message {name}");
    if kinds.contains(&FaultKind::Delay) {
        for r in lineage::races(g, 2) {
            let name = g.messages()[r.earlier].name.clone();
            let ms = r.gap_ms + race_margin_ms(r.gap_ms);
            out.push(Candidate {
                fault: Fault::Delay {
                    message: name.clone(),
                    ms: Ms::N(ms),
                },
                kind: FaultKind::Delay,
                key: message(&name),
                needs: Needs::Message(name),
            });
        }
    }
    if kinds.contains(&FaultKind::Drop) {
        for &m in &lineage_msgs {
            let name = g.messages()[m].name.clone();
            out.push(Candidate {
                fault: Fault::Drop {
                    message: name.clone(),
                },
                kind: FaultKind::Drop,
                key: message(&name),
                needs: Needs::Message(name),
            });
        }
    }
    if kinds.contains(&FaultKind::Error) {
        out.extend(errors(g, &past, &lineage_msgs));
    }
    if kinds.contains(&FaultKind::Crash) {
        out.extend(crashes(g, &lineage_msgs, &client_side));
    }
    if kinds.contains(&FaultKind::Partition) {
        out.extend(partitions(g, &lineage_msgs));
    }
    if kinds.contains(&FaultKind::Delay) {
        for &m in &lineage_msgs {
            let msg = &g.messages()[m];
            if client_side[g.process_of(msg.send)] {
                continue;
            }
            out.push(Candidate {
                fault: Fault::Delay {
                    message: msg.name.clone(),
                    ms: Ms::Word("inf".into()),
                },
                kind: FaultKind::Delay,
                key: message(&msg.name),
                needs: Needs::Message(msg.name.clone()),
            });
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|c| seen.insert(c.fault.to_string()));
    out
}

/// Per process: whether it is the scenario's client or one of its children.
fn client_side(g: &CausalGraph<'_>) -> Vec<bool> {
    let ps = g.processes();
    let mut out = vec![false; ps.len()];
    // Parents come before children.
    for (i, p) in ps.iter().enumerate() {
        out[i] = p.node.as_deref() == Some("client") || p.parent.is_some_and(|q| out[q]);
    }
    out
}

/// One errno per call of the lineage that touches the network: a refused
/// connect, a broken pipe on a send, a reset on the first receive.
fn errors(g: &CausalGraph<'_>, past: &[bool], lineage_msgs: &[usize]) -> Vec<Candidate> {
    let mut points: Vec<(usize, &str)> = (0..g.events().len())
        .filter(|&i| past[i] && g.events()[i].call == "connect")
        .map(|i| (i, "ECONNREFUSED"))
        .collect();
    for &m in lineage_msgs {
        let msg = &g.messages()[m];
        points.push((msg.send, "EPIPE"));
        points.extend(msg.recvs.first().map(|&r| (r, "ECONNRESET")));
    }
    points.sort_by_key(|&(i, _)| g.events()[i].seq);
    points
        .into_iter()
        .map(|(i, errno)| {
            let event = g.event_name(i);
            Candidate {
                fault: Fault::Error {
                    event: Some(event.clone()),
                    process: None,
                    call: None,
                    channel: None,
                    nth: None,
                    errno: errno.into(),
                },
                kind: FaultKind::Error,
                key: format!("event {event}"),
                needs: Needs::Event(event),
            }
        })
        .collect()
}

/// A crash of each non-client process right after each of its sends in
/// the lineage (a message boundary: what it sent got out, nothing after).
fn crashes(g: &CausalGraph<'_>, lineage_msgs: &[usize], client_side: &[bool]) -> Vec<Candidate> {
    let mut sends: Vec<usize> = lineage_msgs
        .iter()
        .map(|&m| g.messages()[m].send)
        .filter(|&s| !client_side[g.process_of(s)])
        .collect();
    sends.sort_by_key(|&s| g.events()[s].seq);
    sends
        .into_iter()
        .map(|s| {
            let process = g.processes()[g.process_of(s)].name.clone();
            let event = g.event_name(s);
            Candidate {
                fault: Fault::Crash {
                    process: process.clone(),
                    after: Some(event.clone()),
                    kill: false,
                },
                kind: FaultKind::Crash,
                key: format!("process {process}"),
                needs: Needs::Event(event),
            }
        })
        .collect()
}

/// The two ends of each lineage channel cut apart right after one of its
/// messages is sent (new connections between them are refused).
fn partitions(g: &CausalGraph<'_>, lineage_msgs: &[usize]) -> Vec<Candidate> {
    lineage_msgs
        .iter()
        .filter_map(|&m| {
            let msg = &g.messages()[m];
            let [Some(a), Some(b)] = g.channels()[msg.channel].processes else {
                return None;
            };
            let (a, b) = (&g.processes()[a].name, &g.processes()[b].name);
            if a == b {
                return None;
            }
            let event = g.event_name(msg.send);
            Some(Candidate {
                fault: Fault::Partition {
                    groups: [vec![a.clone()], vec![b.clone()]],
                    after: Some(event.clone()),
                    after_ms: None,
                    heal_ms: None,
                    connect: ConnectMode::Refuse,
                },
                kind: FaultKind::Partition,
                key: format!("partition {a} | {b}"),
                needs: Needs::Event(event),
            })
        })
        .collect()
}
