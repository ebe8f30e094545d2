//! The causal graph: one node per event, program-order edges within each
//! thread, and the cross edges DESIGN.md lists (message, connect, spawn,
//! exit, EOF). Building it is a chain of passes: logical names, the
//! channel analysis, program order, cross edges, the cycle guard
//! (`graph/cycles.rs`) and Lamport times. Vector clocks (`graph/clocks.rs`)
//! are computed on the first happens-before query, not by the build: the
//! recording path (trace class, window index) needs only Lamport times and
//! one causal past, and at 10^6 events with hundreds of threads the clocks
//! would be most of the memory (docs/PERFORMANCE.md).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use petgraph::stable_graph::StableDiGraph;
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use serde::Serialize;

mod clocks;
mod cycles;

use super::channels::{self, Analysis, Channel, Message};
use super::names::{Names, Process, Thread};
use bop_model::Event;
use clocks::Clocks;

/// Why one event happens before another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// Consecutive events of one thread.
    Program,
    /// A send to a receive that consumed some of its bytes.
    Message,
    /// A `connect` to the `accept` that returned the connection.
    Connect,
    /// A `fork`/`clone` to the new thread's first event.
    Spawn,
    /// A reaped process's last events to the `wait4`/`waitid` that reaped it.
    Exit,
    /// The last close (or `shutdown(wr)`) of a write side to the peer's
    /// end-of-file read.
    Eof,
}

impl EdgeKind {
    /// Every kind, in declaration order (the order reports list them in).
    pub const ALL: [EdgeKind; 6] = [
        EdgeKind::Program,
        EdgeKind::Message,
        EdgeKind::Connect,
        EdgeKind::Spawn,
        EdgeKind::Exit,
        EdgeKind::Eof,
    ];

    /// Lower-case name used in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Program => "program",
            EdgeKind::Message => "message",
            EdgeKind::Connect => "connect",
            EdgeKind::Spawn => "spawn",
            EdgeKind::Exit => "exit",
            EdgeKind::Eof => "eof",
        }
    }

    /// How much the edge is inferred rather than observed: when a damaged log
    /// yields a cycle, the most inferred edge of the cycle is dropped.
    fn doubt(self) -> u8 {
        match self {
            EdgeKind::Program => 0,
            EdgeKind::Spawn => 1,
            EdgeKind::Message => 2,
            EdgeKind::Connect => 3,
            EdgeKind::Exit => 4,
            EdgeKind::Eof => 5,
        }
    }
}

/// The weight of a graph edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Edge {
    /// What kind of causality it records.
    pub kind: EdgeKind,
    /// For message edges: the index of the message.
    pub message: Option<usize>,
}

/// An edge as the graph holds it: [`Edge`] in 8 bytes instead of 24 (a
/// message index fits in a `u32`; `u32::MAX` is none). With no node
/// weight (node `i` is event `i`) the graph is ~36 B per event instead of
/// ~84, at 10^6 events a sixth of what recording may use (issue 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Link {
    kind: EdgeKind,
    message: u32,
}

impl Link {
    pub(crate) fn kind(self) -> EdgeKind {
        self.kind
    }

    /// The edge it stands for.
    pub(crate) fn edge(self) -> Edge {
        Edge {
            kind: self.kind,
            message: (self.message != u32::MAX).then_some(self.message as usize),
        }
    }
}

impl From<Edge> for Link {
    fn from(e: Edge) -> Link {
        let message = e.message.map_or(u32::MAX, |m| {
            u32::try_from(m).expect("fewer than 2^32 messages")
        });
        Link {
            kind: e.kind,
            message,
        }
    }
}

/// The graph as the tracker holds it: node `i` is event `i`.
pub(crate) type Dag = StableDiGraph<(), Link>;

/// The happens-before graph of one run, with logical names.
///
/// Events are identified by their index in the log slice handed to
/// [`CausalGraph::build`] (the event log's line number, 0-based); graph
/// node `i` is event `i`.
#[derive(Clone, Debug)]
pub struct CausalGraph<'e> {
    events: &'e [Event],
    graph: Dag,
    names: Names,
    analysis: Analysis,
    /// Computed on first use (see the module docs).
    clocks: OnceLock<Clocks>,
    /// Lamport times (at most the number of events, so `u32`).
    lamport: Vec<u32>,
    topo: Vec<usize>,
    broken: Vec<(usize, usize, Edge)>,
}

fn node(i: usize) -> NodeIndex {
    NodeIndex::new(i)
}

impl<'e> CausalGraph<'e> {
    /// Builds the graph of a run from its event log (any order; `seq`
    /// gives recording order, and program order within each thread).
    pub fn build(events: &'e [Event]) -> CausalGraph<'e> {
        let names = Names::build(events);
        let analysis = channels::analyze(events, &names);
        let cross = cross_edges(events, &names, &analysis);
        let mut graph = program_order(events.len(), &names, cross.len());
        add_cross_edges(&mut graph, cross);
        let (topo, broken) = cycles::break_cycles(&mut graph);
        let lamport = clocks::lamport(&graph, &topo);
        CausalGraph {
            events,
            graph,
            names,
            analysis,
            clocks: OnceLock::new(),
            lamport,
            topo,
            broken,
        }
    }

    /// The event log the graph was built from.
    pub fn events(&self) -> &'e [Event] {
        self.events
    }

    /// The petgraph graph (node `i` is event `i`; program edges too).
    pub(crate) fn graph(&self) -> &Dag {
        &self.graph
    }

    /// Processes, parents before children.
    pub fn processes(&self) -> &[Process] {
        &self.names.processes
    }

    /// Threads, in order of first appearance.
    pub fn threads(&self) -> &[Thread] {
        &self.names.threads
    }

    /// Channels.
    pub fn channels(&self) -> &[Channel] {
        &self.analysis.channels
    }

    /// Messages (sends that carried bytes), per channel and direction in
    /// ordinal order.
    pub fn messages(&self) -> &[Message] {
        &self.analysis.messages
    }

    /// Index of the thread of event `i`.
    pub fn thread_of(&self, i: usize) -> usize {
        self.names.thread_of(i)
    }

    /// Index of the process of event `i`.
    pub fn process_of(&self, i: usize) -> usize {
        self.names.threads[self.names.thread_of(i)].process
    }

    /// Position of event `i` in its thread's program order.
    pub fn position(&self, i: usize) -> usize {
        self.names.position(i)
    }

    /// Logical name of event `i`: `thread/ordinal:call`
    /// (`replica:t0/17:read`).
    pub fn event_name(&self, i: usize) -> String {
        let t = &self.names.threads[self.names.thread_of(i)];
        format!(
            "{}/{}:{}",
            t.name,
            self.names.position(i),
            self.events[i].call
        )
    }

    /// The channel event `i` acted on (for `accept`: the new connection).
    pub fn channel_of(&self, i: usize) -> Option<usize> {
        let c = self.analysis.event_channel[i];
        (c != u32::MAX).then_some(c as usize)
    }

    /// Event indices in recording (`seq`) order.
    pub fn seq_order(&self) -> &[usize] {
        &self.names.order
    }

    /// Event indices in a topological order of the graph.
    pub fn topo_order(&self) -> &[usize] {
        &self.topo
    }

    /// Vector clock of event `i`, one component per thread (index into
    /// [`Self::threads`]): how many events of that thread happen before or
    /// at `i`. Dense; see [`Self::clock_entries`] for the non-zero ones.
    pub fn clock(&self, i: usize) -> Vec<u32> {
        let mut c = vec![0; self.names.threads.len()];
        for (t, k) in self.clock_entries(i) {
            c[t] = k;
        }
        c
    }

    /// The non-zero components of event `i`'s vector clock as
    /// (thread index, count), by thread index.
    pub fn clock_entries(&self, i: usize) -> Vec<(usize, u32)> {
        self.clocks().entries(&self.names, i)
    }

    /// Component `t` of event `i`'s vector clock.
    pub fn clock_component(&self, i: usize, t: usize) -> u32 {
        self.clocks().component(&self.names, i, t)
    }

    fn clocks(&self) -> &Clocks {
        self.clocks
            .get_or_init(|| Clocks::compute(&self.graph, &self.names, &self.topo))
    }

    /// True once a happens-before query made the vector clocks exist (the
    /// recording path must not: see the module docs).
    #[cfg(test)]
    pub(crate) fn clocks_computed(&self) -> bool {
        self.clocks.get().is_some()
    }

    /// Lamport time of event `i`: 1 + the longest chain of events before it.
    pub fn lamport(&self, i: usize) -> u64 {
        u64::from(self.lamport[i])
    }

    /// The causal past of event `h`: entry `i` is true when `i` happens
    /// before `h` (strictly), as [`Self::happens_before`] says. One
    /// backward walk, without vector clocks: what a trace class needs of
    /// the workload's end.
    pub fn causal_past(&self, h: usize) -> Vec<bool> {
        let mut past = vec![false; self.events.len()];
        let mut stack = vec![node(h)];
        while let Some(v) = stack.pop() {
            for u in self.graph.neighbors_directed(v, Direction::Incoming) {
                if !past[u.index()] {
                    past[u.index()] = true;
                    stack.push(u);
                }
            }
        }
        past
    }

    /// The end of the workload: the scenario client's last event, if the run
    /// has a `client` node. What nodes do after it (being stopped by bop) is
    /// teardown, which trace classes and comparisons leave out.
    pub fn workload_end(&self) -> Option<usize> {
        self.processes()
            .iter()
            .find(|p| p.node.as_deref() == Some("client"))
            .and_then(|p| p.threads.first())
            .and_then(|&t| self.threads()[t].events.last().copied())
    }

    /// True when event `a` happens before event `b` (strictly).
    pub fn happens_before(&self, a: usize, b: usize) -> bool {
        a != b && self.clock_component(b, self.names.thread_of(a)) > self.names.position(a) as u32
    }

    /// True when neither of two distinct events happens before the other.
    pub fn concurrent(&self, a: usize, b: usize) -> bool {
        a != b && !self.happens_before(a, b) && !self.happens_before(b, a)
    }

    /// Cross edges (everything but program order) as (from, to, edge),
    /// ordered by source then target recording order.
    pub fn edges(&self) -> Vec<(usize, usize, Edge)> {
        let seq = |i: usize| self.events[i].seq;
        let mut out: Vec<(usize, usize, Edge)> = self.cross_edges().collect();
        out.sort_by_key(|&(a, b, e)| (seq(a), seq(b), e.kind, e.message));
        out
    }

    /// The cross edges of [`Self::edges`] in no particular order, without
    /// collecting them (a vector of them is 21 MB at 10^6 events).
    pub(crate) fn cross_edges(&self) -> impl Iterator<Item = (usize, usize, Edge)> + '_ {
        (&self.graph)
            .edge_references()
            .filter(|e| e.weight().kind != EdgeKind::Program)
            .map(|e| (e.source().index(), e.target().index(), e.weight().edge()))
    }

    /// True when a cross edge (anything but program order) enters or
    /// leaves event `i`.
    pub(crate) fn has_cross_edges(&self, i: usize) -> bool {
        [Direction::Incoming, Direction::Outgoing]
            .into_iter()
            .any(|d| {
                self.graph
                    .edges_directed(node(i), d)
                    .any(|e| e.weight().kind != EdgeKind::Program)
            })
    }

    /// Cross edges into event `i`.
    pub fn incoming(&self, i: usize) -> Vec<(usize, Edge)> {
        self.cross(i, Direction::Incoming)
    }

    /// Cross edges out of event `i`.
    pub fn outgoing(&self, i: usize) -> Vec<(usize, Edge)> {
        self.cross(i, Direction::Outgoing)
    }

    fn cross(&self, i: usize, dir: Direction) -> Vec<(usize, Edge)> {
        let mut out: Vec<(usize, Edge)> = self
            .graph
            .edges_directed(node(i), dir)
            .filter(|e| e.weight().kind != EdgeKind::Program)
            .map(|e| {
                let other = if dir == Direction::Incoming {
                    e.source()
                } else {
                    e.target()
                };
                (other.index(), e.weight().edge())
            })
            .collect();
        out.sort_by_key(|&(j, e)| (self.events[j].seq, e.kind, e.message));
        out
    }

    /// Edges removed because they closed a cycle (only in damaged or
    /// inconsistent logs; empty for a log the tracer recorded).
    pub fn broken_edges(&self) -> &[(usize, usize, Edge)] {
        &self.broken
    }

    /// The processes that did I/O bop could not see (io_uring calls that
    /// succeeded), in process order: their part of the graph is partial.
    pub fn unseen(&self) -> Vec<bop_model::Unseen> {
        let mut out: Vec<bop_model::Unseen> = Vec::new();
        let mut by_process: HashMap<usize, usize> = HashMap::new();
        for &i in &self.names.order {
            let e = &self.events[i];
            if !bop_model::is_unseen(&e.call) || e.ret.is_none_or(|r| r < 0) {
                continue;
            }
            let p = self.process_of(i);
            let k = *by_process.entry(p).or_insert_with(|| {
                out.push(bop_model::Unseen {
                    process: self.names.processes[p].name.clone(),
                    calls: Vec::new(),
                    count: 0,
                });
                out.len() - 1
            });
            if !out[k].calls.iter().any(|c| *c == e.call) {
                out[k].calls.push(e.call.to_string());
            }
            out[k].count += 1;
        }
        out
    }
}

/// One node per event and the program-order edges of each thread, with
/// room for `cross` more edges (no growth by doubling: at 10^6 events the
/// slack alone was tens of MB).
fn program_order(n: usize, names: &Names, cross: usize) -> Dag {
    let mut graph: Dag = StableDiGraph::with_capacity(n, n + cross);
    for _ in 0..n {
        graph.add_node(());
    }
    for t in &names.threads {
        for w in t.events.windows(2) {
            graph.add_edge(node(w[0]), node(w[1]), plain(EdgeKind::Program).into());
        }
    }
    graph
}

fn plain(kind: EdgeKind) -> Edge {
    Edge {
        kind,
        message: None,
    }
}

/// Every cross edge DESIGN.md lists, as (from, to, edge), possibly with
/// duplicates: spawn, exit → wait, message, connect → accept, close → EOF.
fn cross_edges(events: &[Event], names: &Names, analysis: &Analysis) -> Vec<(usize, usize, Edge)> {
    let mut cross: Vec<(usize, usize, Edge)> = Vec::new();
    for t in &names.threads {
        if let (Some(f), Some(&first)) = (t.spawned_by, t.events.first()) {
            cross.push((f, first, plain(EdgeKind::Spawn)));
        }
    }
    cross.extend(exit_edges(events, names));
    for (m, msg) in analysis.messages.iter().enumerate() {
        for &r in &msg.recvs {
            let edge = Edge {
                kind: EdgeKind::Message,
                message: Some(m),
            };
            cross.push((msg.send, r, edge));
        }
    }
    cross.extend(
        analysis
            .connects
            .iter()
            .map(|&(a, b)| (a, b, plain(EdgeKind::Connect))),
    );
    cross.extend(
        analysis
            .eofs
            .iter()
            .map(|&(a, b)| (a, b, plain(EdgeKind::Eof))),
    );
    cross
}

/// exit → wait: from the last event of every thread of the reaped pid's
/// most recent process instance (started before the wait) to the wait.
fn exit_edges(events: &[Event], names: &Names) -> Vec<(usize, usize, Edge)> {
    let mut by_pid: HashMap<i32, Vec<usize>> = HashMap::new();
    for (p, pr) in names.processes.iter().enumerate() {
        by_pid.entry(pr.pid).or_default().push(p);
    }
    let first_seq = |p: usize| {
        let t = &names.threads[names.processes[p].threads[0]];
        events[t.events[0]].seq
    };
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let reaped = matches!(e.call.as_str(), "wait4" | "waitid")
            && e.errno.is_none()
            && e.ret.is_some_and(|r| r >= 0);
        let (true, Some(pid)) = (reaped, e.detail.child) else {
            continue;
        };
        let found = by_pid
            .get(&pid)
            .and_then(|ps| ps.iter().rev().copied().find(|&p| first_seq(p) < e.seq));
        if let Some(p) = found {
            for &t in &names.processes[p].threads {
                if let Some(&last) = names.threads[t].events.last() {
                    out.push((last, i, plain(EdgeKind::Exit)));
                }
            }
        }
    }
    out
}

/// Adds the cross edges, skipping self-loops and repeats of the same
/// (from, to, kind).
fn add_cross_edges(graph: &mut Dag, cross: Vec<(usize, usize, Edge)>) {
    let mut seen: HashSet<(usize, usize, EdgeKind)> = HashSet::new();
    for (a, b, edge) in cross {
        if a != b && seen.insert((a, b, edge.kind)) {
            graph.add_edge(node(a), node(b), edge.into());
        }
    }
}
