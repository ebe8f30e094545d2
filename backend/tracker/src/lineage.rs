//! Lineage (DESIGN.md "Search"): the causal past of what a run's verdict
//! depends on, and the races in it, in logical names so that lineages of
//! different runs of one target can be compared and cut by fault plans.
//!
//! The verdict depends on what the client saw, and everything the client
//! saw (every read, every reply) happens before its last event, so the
//! lineage is the causal past of the workload's end. A run without a
//! `client` node has no such point; then every event counts.

use std::collections::{BTreeSet, VecDeque};

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;

use crate::CausalGraph;

/// A run's lineage in logical names: what a fault must cut to change the
/// outcome the way the run reached it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lineage {
    /// Messages with a delivery (a read of their bytes) in the causal past.
    pub messages: BTreeSet<String>,
    /// Events in the causal past (`replica:t0/17:read`).
    pub events: BTreeSet<String>,
    /// Processes with an event in the causal past.
    pub processes: BTreeSet<String>,
}

/// Two deliveries to one process whose order happens-before does not
/// force: the earlier message could arrive after the later one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Race {
    /// The message delivered first (index into [`CausalGraph::messages`]).
    pub earlier: usize,
    /// The message delivered next.
    pub later: usize,
    /// Milliseconds from the earlier message's send to the end of the later
    /// one's delivery: holding the earlier send longer than this swaps them.
    pub gap_ms: u64,
}

/// Per event: whether it is in the causal past of the workload's end
/// (inclusive), or every event when the run has no client.
///
/// Besides happens-before, an event depends on every earlier event of its
/// own process: threads share memory the tracer does not see (a replica's
/// connection thread answers a read from the store another thread filled
/// from a replication message), so the lineage follows the process, not
/// only the thread.
pub fn causal_past(g: &CausalGraph<'_>) -> Vec<bool> {
    let n = g.events().len();
    let Some(end) = g.workload_end() else {
        return vec![true; n];
    };
    let events = g.events();
    // Per process: its events by start time, and how far back it is taken.
    let mut by_process: Vec<Vec<usize>> = vec![Vec::new(); g.processes().len()];
    for i in 0..n {
        by_process[g.process_of(i)].push(i);
    }
    // An event can have used what completed before it started.
    let done = |i: usize| events[i].end_ns.unwrap_or(u64::MAX);
    for list in &mut by_process {
        list.sort_by_key(|&i| (done(i), events[i].seq));
    }
    let mut taken = vec![0usize; by_process.len()];
    let mut seen = vec![false; n];
    seen[end] = true;
    let mut queue = VecDeque::from([end]);
    while let Some(v) = queue.pop_front() {
        let p = g.process_of(v);
        let list = &by_process[p];
        let upto = list.partition_point(|&i| done(i) <= events[v].start_ns);
        for &u in &list[taken[p].min(upto)..upto] {
            if !seen[u] {
                seen[u] = true;
                queue.push_back(u);
            }
        }
        taken[p] = taken[p].max(upto);
        for e in g
            .graph()
            .edges_directed(NodeIndex::new(v), Direction::Incoming)
        {
            let u = e.source().index();
            if !seen[u] {
                seen[u] = true;
                queue.push_back(u);
            }
        }
    }
    seen
}

/// How many messages the client (the scenario's `client` node and its
/// children) received: a run whose client got fewer answers than the
/// baseline's reached a lesser outcome (it gave up on something), and its
/// lineage is no way of reaching the baseline's.
pub fn client_deliveries(g: &CausalGraph<'_>) -> Option<usize> {
    let ps = g.processes();
    let mut client = vec![false; ps.len()];
    for (i, p) in ps.iter().enumerate() {
        client[i] = p.node.as_deref() == Some("client") || p.parent.is_some_and(|q| client[q]);
    }
    client.contains(&true).then(|| {
        g.messages()
            .iter()
            .filter(|m| m.recvs.first().is_some_and(|&r| client[g.process_of(r)]))
            .count()
    })
}

/// The lineage of a run, in logical names.
pub fn lineage(g: &CausalGraph<'_>) -> Lineage {
    let past = causal_past(g);
    let mut out = Lineage::default();
    for (i, &inside) in past.iter().enumerate() {
        if inside {
            out.events.insert(g.event_name(i));
            out.processes
                .insert(g.processes()[g.process_of(i)].name.clone());
        }
    }
    out.messages = g
        .messages()
        .iter()
        .filter(|m| m.recvs.iter().any(|&r| past[r]))
        .map(|m| m.name.clone())
        .collect();
    out
}

/// Races among the deliveries in the lineage: for each delivery to a
/// process, the next (at most `per_message`) deliveries to the same process
/// on another channel whose send does not happen after the first delivery.
/// Delaying the earlier send past the later delivery swaps them, a schedule
/// the baseline never showed but the system must survive.
pub fn races(g: &CausalGraph<'_>, per_message: usize) -> Vec<Race> {
    let past = causal_past(g);
    let events = g.events();
    // (receiving process, first delivery, message), by delivery time.
    let mut deliveries: Vec<(usize, usize, usize)> = g
        .messages()
        .iter()
        .enumerate()
        .filter_map(|(m, msg)| {
            let &r = msg.recvs.first()?;
            past[r].then(|| (g.process_of(r), r, m))
        })
        .collect();
    // A receive blocks before its bytes come: it is delivered when it returns.
    let delivered = |r: usize| events[r].end_ns.unwrap_or(events[r].start_ns);
    deliveries.sort_by_key(|&(p, r, _)| (p, delivered(r), events[r].seq));
    let mut out = Vec::new();
    for (k, &(p, r1, m1)) in deliveries.iter().enumerate() {
        let first = &g.messages()[m1];
        let send1 = &events[first.send];
        out.extend(
            deliveries[k + 1..]
                .iter()
                .take_while(|&&(q, _, _)| q == p)
                .filter(|&&(_, _, m2)| {
                    let second = &g.messages()[m2];
                    second.channel != first.channel && !g.happens_before(r1, second.send)
                })
                .take(per_message)
                .map(|&(_, r2, m2)| Race {
                    earlier: m1,
                    later: m2,
                    gap_ms: delivered(r2)
                        .saturating_sub(send1.start_ns)
                        .div_ceil(1_000_000),
                }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testlog::{Ev, Log, ev, tcp, two_clients};

    /// A client asks a server and gets its answer; an unrelated process
    /// talks to the server after the client has finished.
    fn request_reply() -> Vec<bop_model::Event> {
        let mut l = Log::default();
        let (c, s) = (
            tcp("127.0.0.1:100", "127.0.0.1:7"),
            tcp("127.0.0.1:7", "127.0.0.1:100"),
        );
        let (o, os) = (
            tcp("127.0.0.1:200", "127.0.0.1:7"),
            tcp("127.0.0.1:7", "127.0.0.1:200"),
        );
        l.push(ev(9, 9, "start").node("server"));
        l.push(ev(1, 1, "start").node("client"));
        l.push(ev(2, 2, "start").node("other"));
        l.push(ev(1, 1, "connect").fd(3).ep(c.clone()));
        l.push(ev(9, 9, "accept").fd(3).ret(Some(4)).fds(&[4], [s.clone()]));
        l.push(ev(1, 1, "write").fd(3).ep(c.clone()).bytes(4));
        l.push(ev(9, 9, "read").fd(4).ep(s.clone()).bytes(4));
        l.push(ev(9, 9, "write").fd(4).ep(s).bytes(2));
        l.push(ev(1, 1, "read").fd(3).ep(c).bytes(2));
        l.push(ev(1, 1, "exit"));
        l.push(ev(2, 2, "connect").fd(3).ep(o.clone()));
        l.push(
            ev(9, 9, "accept")
                .fd(3)
                .ret(Some(5))
                .fds(&[5], [os.clone()]),
        );
        l.push(ev(2, 2, "write").fd(3).ep(o).bytes(4));
        l.push(ev(9, 9, "read").fd(5).ep(os).bytes(4));
        l.events
    }

    #[test]
    fn the_lineage_is_what_the_client_depends_on() {
        let events = request_reply();
        let g = CausalGraph::build(&events);
        let l = lineage(&g);
        assert_eq!(
            l.messages.iter().map(String::as_str).collect::<Vec<_>>(),
            ["client->server#0/0", "client->server#0/r0"]
        );
        assert!(l.processes.contains("server") && l.processes.contains("client"));
        assert!(
            !l.processes.contains("other"),
            "what happens after the client's end is not its lineage: {l:?}"
        );
        assert!(
            l.events
                .iter()
                .any(|e| e.starts_with("server") && e.ends_with(":read"))
        );
    }

    #[test]
    fn what_another_thread_of_the_process_received_earlier_is_lineage() {
        let mut l = Log::default();
        let (f, fs) = (
            tcp("127.0.0.1:300", "127.0.0.1:7"),
            tcp("127.0.0.1:7", "127.0.0.1:300"),
        );
        let (c, s) = (
            tcp("127.0.0.1:100", "127.0.0.1:7"),
            tcp("127.0.0.1:7", "127.0.0.1:100"),
        );
        l.push(ev(9, 9, "start").node("server"));
        l.push(ev(9, 9, "clone").child(10));
        l.push(ev(9, 10, "start").thread().child(9));
        l.push(ev(3, 3, "start").node("feeder"));
        l.push(ev(1, 1, "start").node("client"));
        // The feeder fills the server's memory through thread 10...
        l.push(ev(3, 3, "connect").fd(3).ep(f.clone()));
        l.push(
            ev(9, 10, "accept")
                .fd(3)
                .ret(Some(4))
                .fds(&[4], [fs.clone()]),
        );
        l.push(ev(3, 3, "write").fd(3).ep(f).bytes(4));
        l.push(ev(9, 10, "read").fd(4).ep(fs).bytes(4));
        // ...and thread 9 answers the client from it.
        l.push(ev(1, 1, "connect").fd(3).ep(c.clone()));
        l.push(ev(9, 9, "accept").fd(3).ret(Some(5)).fds(&[5], [s.clone()]));
        l.push(ev(1, 1, "write").fd(3).ep(c.clone()).bytes(4));
        l.push(ev(9, 9, "read").fd(5).ep(s.clone()).bytes(4));
        l.push(ev(9, 9, "write").fd(5).ep(s).bytes(2));
        l.push(ev(1, 1, "read").fd(3).ep(c).bytes(2));
        l.push(ev(1, 1, "exit"));
        let g = CausalGraph::build(&l.events);
        let lineage = lineage(&g);
        assert!(
            lineage.messages.contains("feeder->server#0/0"),
            "{:?}",
            lineage.messages
        );
        assert!(lineage.processes.contains("feeder"));
    }

    #[test]
    fn without_a_client_every_event_is_lineage() {
        let events = two_clients(0, false);
        let g = CausalGraph::build(&events);
        assert!(causal_past(&g).iter().all(|&b| b));
        assert_eq!(lineage(&g).messages.len(), 2);
    }

    #[test]
    fn concurrent_deliveries_race_and_a_reply_does_not() {
        let events = two_clients(0, false);
        let g = CausalGraph::build(&events);
        let races = races(&g, 3);
        assert_eq!(races.len(), 1, "{races:?}");
        let name = |m: usize| g.messages()[m].name.as_str();
        assert_eq!(name(races[0].earlier), "c0->primary#0/0");
        assert_eq!(name(races[0].later), "c1->primary#0/0");
        // The log's events are 1 µs apart: a gap under a millisecond rounds up.
        assert_eq!(races[0].gap_ms, 1);
        // The client's request and the reply it caused are ordered by
        // happens-before (the reply's send comes after the request's read).
        let events = request_reply();
        let g = CausalGraph::build(&events);
        assert!(super::races(&g, 3).is_empty());
    }
}
