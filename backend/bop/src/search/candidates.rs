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

use std::collections::{BTreeSet, HashMap};

use bop_model::{ChannelKind, ConnectMode, ErrorCall, Fault, FaultKind, Ms};
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
    /// A message of this channel.
    Channel(String),
}

impl Candidate {
    /// True when `other` is this fault again, as another run's graph would
    /// give it: a race-directed delay of the same message is the same
    /// candidate whatever gap that run measured.
    pub(crate) fn same_fault(&self, other: &Candidate) -> bool {
        match (&self.fault, &other.fault) {
            (Fault::Delay { ms: Ms::N(_), .. }, Fault::Delay { ms: Ms::N(_), .. }) => {
                self.key == other.key
            }
            (a, b) => a.to_string() == b.to_string(),
        }
    }

    /// True when the fault acts on something in the lineage, so it could cut
    /// the way that run reached its outcome.
    pub(crate) fn cuts(&self, l: &Lineage) -> bool {
        match &self.needs {
            Needs::Message(m) => l.messages.contains(m),
            Needs::Event(e) => l.events.contains(e),
            Needs::Channel(c) => l
                .messages
                .iter()
                .any(|m| m.rsplit_once('/').is_some_and(|(ch, _)| ch == c)),
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
    // Races the scenario's readiness waits settle go last (see `settled`).
    let mut settled_races = Vec::new();
    if kinds.contains(&FaultKind::Delay) {
        let starts = node_starts(g);
        for r in lineage::races(g, 2) {
            let name = g.messages()[r.earlier].name.clone();
            let ms = r.gap_ms + race_margin_ms(r.gap_ms);
            let c = Candidate {
                fault: Fault::Delay {
                    message: name.clone(),
                    ms: Ms::N(ms),
                },
                kind: FaultKind::Delay,
                key: message(&name),
                needs: Needs::Message(name),
            };
            if settled(g, &starts, &r) {
                settled_races.push(c);
            } else {
                out.push(c);
            }
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
    out.extend(settled_races);
    let mut seen = BTreeSet::new();
    out.retain(|c| seen.insert(c.fault.to_string()));
    out
}

/// Per process: when bop started the scenario node it belongs to (the
/// run-relative ns of the node root's first event), for processes of a
/// node; `None` for the others (a command run, children of no node).
fn node_starts(g: &CausalGraph<'_>) -> Vec<Option<u64>> {
    let ps = g.processes();
    let mut out: Vec<Option<u64>> = vec![None; ps.len()];
    // Parents come before children.
    for (i, p) in ps.iter().enumerate() {
        out[i] = match p.parent {
            Some(q) => out[q],
            None if p.node.is_some() => p
                .threads
                .first()
                .and_then(|&t| g.threads()[t].events.first())
                .map(|&e| g.events()[e].start_ns),
            None => None,
        };
    }
    out
}

/// True when the later message's sender belongs to a scenario node bop
/// started only after the earlier message was delivered. bop starts each
/// node (and the client) once the ones before it are ready, and readiness
/// (a port, a line of output) is an order the tracer does not see as an
/// edge: such a pair looks like a race, but holding the earlier message
/// mostly holds back the readiness too, so the swap seldom happens (on
/// redis, a replica's handshake against the client's first request: 6.4 s
/// delays that never swapped). Tried after every other candidate, not
/// dropped: readiness that does not depend on the earlier delivery leaves
/// a real race.
fn settled(g: &CausalGraph<'_>, starts: &[Option<u64>], r: &lineage::Race) -> bool {
    let (first, second) = (&g.messages()[r.earlier], &g.messages()[r.later]);
    let Some(&delivered) = first.recvs.first() else {
        return false;
    };
    let e = &g.events()[delivered];
    let delivered_ns = e.end_ns.unwrap_or(e.start_ns);
    starts[g.process_of(second.send)].is_some_and(|started| delivered_ns < started)
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

/// Where an error candidate acts, named so that the candidate is the same
/// whichever thread makes the call (a Go program's goroutines move between
/// OS threads from run to run): the connect that opened a channel, a
/// message's send or first receive; else (a connect that opened nothing, a
/// receive the injector cannot count) the call's event.
enum Point {
    Event,
    Connect(usize),
    Send(usize),
    Receive(usize),
}

/// One errno per call of the lineage that touches the network: a refused
/// connect, a broken pipe on a send, a reset on the first receive (not on
/// a channel within one process). A
/// receive is named by its message where the injector can find it again:
/// on a stream between two traced processes (a pipe is named by its
/// sender alone; an outside sender's bytes are not counted).
fn errors(g: &CausalGraph<'_>, past: &[bool], lineage_msgs: &[usize]) -> Vec<Candidate> {
    let opened: HashMap<usize, usize> = (0..g.channels().len())
        .filter_map(|c| Some((g.channels()[c].created_by?, c)))
        .collect();
    let mut points: Vec<(usize, Point)> = (0..g.events().len())
        .filter(|&i| past[i] && g.events()[i].call == "connect")
        .map(|i| {
            (
                i,
                opened.get(&i).map_or(Point::Event, |&c| Point::Connect(c)),
            )
        })
        .collect();
    // A receive that took several messages' first bytes at once is one
    // call: named by the first of them, the one whose bytes it begins with.
    let mut first_receives: HashMap<usize, usize> = HashMap::new();
    for &m in lineage_msgs {
        let msg = &g.messages()[m];
        if within_one_process(g, msg.channel) {
            continue;
        }
        points.push((msg.send, Point::Send(m)));
        if let Some(&r) = msg.recvs.first() {
            let earlier = first_receives.entry(r).or_insert(m);
            if g.messages()[*earlier].ordinal > msg.ordinal {
                *earlier = m;
            }
        }
    }
    for (r, m) in first_receives {
        let c = &g.channels()[g.messages()[m].channel];
        let counted =
            c.stream && c.kind != ChannelKind::Pipe && c.processes.iter().all(Option::is_some);
        let point = if counted {
            Point::Receive(m)
        } else {
            Point::Event
        };
        points.push((r, point));
    }
    points.sort_by_key(|&(i, _)| g.events()[i].seq);
    points
        .into_iter()
        .map(|(i, point)| error_at(g, i, point))
        .collect()
}

/// True when both ends of channel `c` are one process: a self-pipe (Go's
/// runtime wakes its netpoller through one), which is no communication
/// between processes, and which a timing-dependent wake-up writes to or
/// not: an error there mostly does not fire, and is no network fault.
fn within_one_process(g: &CausalGraph<'_>, c: usize) -> bool {
    matches!(g.channels()[c].processes, [Some(a), Some(b)] if a == b)
}

/// The error candidate at event `i`, named as `point` says.
fn error_at(g: &CausalGraph<'_>, i: usize, point: Point) -> Candidate {
    let errno = match (&point, g.events()[i].call.as_str()) {
        (Point::Send(_), _) => "EPIPE",
        (_, "connect") => "ECONNREFUSED",
        _ => "ECONNRESET",
    };
    let message = |m: usize| g.messages()[m].name.clone();
    let (key, needs, on) = match point {
        Point::Event => {
            let e = g.event_name(i);
            (
                format!("event {e}"),
                Needs::Event(e.clone()),
                ErrorCall::Event(e),
            )
        }
        Point::Connect(c) => {
            let c = g.channels()[c].name.clone();
            (
                format!("connect {c}"),
                Needs::Channel(c.clone()),
                ErrorCall::Connect(c),
            )
        }
        Point::Send(m) => (
            format!("send {}", message(m)),
            Needs::Message(message(m)),
            ErrorCall::Send(message(m)),
        ),
        Point::Receive(m) => (
            format!("receive {}", message(m)),
            Needs::Message(message(m)),
            ErrorCall::Receive(message(m)),
        ),
    };
    Candidate {
        fault: Fault::error_on(on, errno),
        kind: FaultKind::Error,
        key,
        needs,
    }
}

/// A crash of each non-client process right after each of its sends in
/// the lineage (a message boundary: what it sent got out, nothing after),
/// named by the message sent; not after a send to itself (no boundary
/// anyone outside sees).
fn crashes(g: &CausalGraph<'_>, lineage_msgs: &[usize], client_side: &[bool]) -> Vec<Candidate> {
    let mut sends: Vec<usize> = lineage_msgs
        .iter()
        .copied()
        .filter(|&m| !client_side[g.process_of(g.messages()[m].send)])
        .filter(|&m| !within_one_process(g, g.messages()[m].channel))
        .collect();
    sends.sort_by_key(|&m| g.events()[g.messages()[m].send].seq);
    sends
        .into_iter()
        .map(|m| {
            let msg = &g.messages()[m];
            let process = g.processes()[g.process_of(msg.send)].name.clone();
            Candidate {
                fault: Fault::Crash {
                    process: process.clone(),
                    after: None,
                    after_send: Some(msg.name.clone()),
                    kill: false,
                },
                kind: FaultKind::Crash,
                key: format!("process {process}"),
                needs: Needs::Message(msg.name.clone()),
            }
        })
        .collect()
}

/// The two ends of each lineage channel cut apart right after one of its
/// messages is sent (new connections between them are refused), named by
/// the message.
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
            Some(Candidate {
                fault: Fault::Partition {
                    groups: [vec![a.clone()], vec![b.clone()]],
                    after: None,
                    after_send: Some(msg.name.clone()),
                    after_ms: None,
                    heal_ms: None,
                    connect: ConnectMode::Refuse,
                },
                kind: FaultKind::Partition,
                key: format!("partition {a} | {b}"),
                needs: Needs::Message(msg.name.clone()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(jsonl: &str) -> Vec<bop_model::Event> {
        jsonl
            .lines()
            .map(|l| serde_json::from_str(l).expect("fixture line parses"))
            .collect()
    }

    /// A baseline of the bundled demo recorded by `bop demo`.
    fn demo() -> Vec<bop_model::Event> {
        log(include_str!("fixtures/demo.events.jsonl"))
    }

    #[test]
    fn races_a_readiness_wait_settles_come_after_every_other_candidate() {
        // backend/bop/demo/redis.toml recorded: the replica's handshake
        // reaches the primary seconds before bop, once the replica is
        // synced, starts the client whose first request looks concurrent.
        let events = log(include_str!("fixtures/redis.events.jsonl"));
        let g = CausalGraph::build(&events);
        let all = candidates(&g, &FaultKind::ALL);
        let handshake = all
            .iter()
            .position(|c| {
                matches!(&c.fault, Fault::Delay { message, ms: Ms::N(_) }
                    if message == "replica->primary#0/0")
            })
            .expect("the handshake's race is still a candidate");
        let first_drop = all.iter().position(|c| c.kind == FaultKind::Drop).unwrap();
        assert!(
            handshake > first_drop,
            "tried after the drops: {handshake} vs {first_drop}"
        );
        assert!(
            all[..first_drop]
                .iter()
                .all(|c| matches!(c.fault, Fault::Delay { ms: Ms::N(_), .. })),
            "races the readiness does not settle still come first"
        );
    }

    #[test]
    fn the_demo_lineage_reaches_replication_through_the_replicas_memory() {
        let events = demo();
        let g = CausalGraph::build(&events);
        let l = lineage::lineage(&g);
        // The replica's reply to the client's GET comes from another thread
        // than the one that read the SET: only the process rule links them.
        assert!(
            l.messages.contains("primary->replica#0/0"),
            "{:?}",
            l.messages
        );
        assert!(l.messages.contains("client->primary#0/r1"));
        assert_eq!(lineage::client_deliveries(&g), Some(4));
    }

    #[test]
    fn demo_candidates_aim_at_the_lineage_and_spare_the_client() {
        let events = demo();
        let g = CausalGraph::build(&events);
        let all = candidates(&g, &FaultKind::ALL);
        // The replication SET races the client's GET at the replica: held
        // past it by the measured gap (the recorded client thought 50 ms) plus margin.
        match &all[0].fault {
            Fault::Delay {
                message,
                ms: Ms::N(ms),
            } => {
                assert_eq!(message, "primary->replica#0/0");
                assert!((50..200).contains(ms), "{ms}");
            }
            other => panic!("first candidate: {other}"),
        }
        let drops = all.iter().filter(|c| c.kind == FaultKind::Drop).count();
        assert_eq!(drops, 12, "every message of the demo is in its lineage");
        for c in &all {
            match &c.fault {
                Fault::Crash { process, .. } => assert_ne!(process, "client"),
                Fault::Delay {
                    message,
                    ms: Ms::Word(_),
                } => {
                    // `client->X#0/k` is the client's own send (`/rk` replies).
                    let own = message.starts_with("client->") && !message.contains("/r");
                    assert!(!own, "holding the client forever: {message}");
                }
                _ => {}
            }
        }
        let only_drops = candidates(&g, &[FaultKind::Drop]);
        assert!(only_drops.iter().all(|c| c.kind == FaultKind::Drop));
        assert_eq!(only_drops.len(), 12);
    }

    /// The demo's replica with the work of its two helper threads swapped
    /// from where the second one starts on: the same program, the OS (or
    /// Go's scheduler) having put the calls on the other thread.
    fn demo_on_other_threads() -> Vec<bop_model::Event> {
        let mut events = demo();
        let start = |tid: i32| {
            events
                .iter()
                .find(|e| e.call == "start" && e.tid == tid)
                .map(|e| e.seq)
                .unwrap()
        };
        let (a, b) = (3634, 3641);
        let from = start(a).max(start(b));
        for e in events.iter_mut().filter(|e| e.seq > from) {
            if e.tid == a {
                e.tid = b;
            } else if e.tid == b {
                e.tid = a;
            }
        }
        events
    }

    #[test]
    fn error_and_crash_candidates_are_named_by_messages_whatever_the_threads() {
        let (events, other) = (demo(), demo_on_other_threads());
        let (g, h) = (CausalGraph::build(&events), CausalGraph::build(&other));
        let names = |g: &CausalGraph<'_>| -> BTreeSet<String> {
            (0..g.events().len()).map(|i| g.event_name(i)).collect()
        };
        assert_ne!(names(&g), names(&h), "the swap renames events");
        let renamed = g.messages().iter().zip(h.messages()).any(|(a, b)| {
            let first = |g: &CausalGraph<'_>, r: &[usize]| r.first().map(|&r| g.event_name(r));
            assert_eq!(a.name, b.name);
            g.event_name(a.send) != h.event_name(b.send)
                || first(&g, &a.recvs) != first(&h, &b.recvs)
        });
        assert!(renamed, "an event an error or crash used to be named by");
        // Races depend on each thread's program order, which the swap
        // changes; the other kinds must not.
        let kinds = [
            FaultKind::Drop,
            FaultKind::Error,
            FaultKind::Crash,
            FaultKind::Partition,
        ];
        let faults = |g: &CausalGraph<'_>| -> Vec<String> {
            candidates(g, &kinds)
                .iter()
                .map(|c| c.fault.to_string())
                .collect()
        };
        assert_eq!(faults(&g), faults(&h));
        let all = candidates(&g, &FaultKind::ALL);
        for c in &all {
            match &c.fault {
                Fault::Error { event: Some(_), .. } => panic!("named by an event: {}", c.fault),
                Fault::Crash {
                    after, after_send, ..
                } => {
                    assert!(after.is_none() && after_send.is_some(), "{}", c.fault)
                }
                Fault::Partition {
                    after, after_send, ..
                } => {
                    assert!(after.is_none() && after_send.is_some(), "{}", c.fault)
                }
                _ => {}
            }
        }
        let receives = all
            .iter()
            .filter(|c| {
                matches!(
                    &c.fault,
                    Fault::Error {
                        receive: Some(_),
                        ..
                    }
                )
            })
            .count();
        let sends = all
            .iter()
            .filter(|c| matches!(&c.fault, Fault::Error { send: Some(_), .. }))
            .count();
        assert_eq!((sends, receives), (12, 12), "one of each per message");
        let connects = all
            .iter()
            .filter(|c| {
                matches!(
                    &c.fault,
                    Fault::Error {
                        connect: Some(_),
                        ..
                    }
                )
            })
            .count();
        assert_eq!(
            connects, 3,
            "the primary's to the replica, the client's two"
        );
    }

    #[test]
    fn an_etcd_cluster_gets_errors_named_by_messages_and_none_on_its_self_pipes_nor_crashes() {
        // A 3-node etcd 3.4 cluster and an etcdctl put/get (docs/SEARCH.md
        // "Faults named by messages on etcd"), recorded by bop run.
        let events = log(include_str!("fixtures/etcd.events.jsonl"));
        let g = CausalGraph::build(&events);
        let all = candidates(&g, &FaultKind::ALL);
        let self_pipe = |m: &str| m.starts_with("pipe:etcd");
        assert!(
            all.iter()
                .any(|c| matches!(&c.fault, Fault::Drop { message } if self_pipe(message))),
            "the runtime's wake-up pipes are in the lineage"
        );
        let errors: Vec<&Candidate> = all.iter().filter(|c| c.kind == FaultKind::Error).collect();
        let mut by_event = Vec::new();
        for c in &errors {
            let Fault::Error {
                event,
                connect,
                send,
                receive,
                ..
            } = &c.fault
            else {
                unreachable!()
            };
            assert!(
                !send.iter().chain(receive).any(|m| self_pipe(m)),
                "{}",
                c.fault
            );
            assert!(!connect.as_ref().is_some_and(|c| c.starts_with("pipe:")));
            by_event.extend(event.clone());
        }
        for c in &all {
            if let Fault::Crash { after_send, .. } = &c.fault {
                assert!(!after_send.as_deref().is_some_and(self_pipe), "{}", c.fault);
            }
        }
        assert!(errors.len() > 100, "{}", errors.len());
        assert!(by_event.is_empty(), "named by events: {by_event:?}");
    }
}
