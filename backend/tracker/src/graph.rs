//! The causal graph: one node per event, program-order edges within each
//! thread, and the cross edges DESIGN.md lists (message, connect, spawn,
//! exit, EOF). Vector clocks and Lamport times are computed once here so
//! queries are O(1).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use petgraph::Direction;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::stable_graph::StableDiGraph;
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use serde::Serialize;

use super::channels::{self, Analysis, Channel, Message};
use super::names::{Names, Process, Thread};
use bop_model::Event;

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

/// The happens-before graph of one run, with logical names.
///
/// Events are identified by their index in the log slice handed to
/// [`CausalGraph::build`] (the event log's line number, 0-based); graph
/// node `i` is event `i`.
#[derive(Clone, Debug)]
pub struct CausalGraph<'e> {
    events: &'e [Event],
    graph: StableDiGraph<usize, Edge>,
    names: Names,
    analysis: Analysis,
    /// Per event: its vector clock, sparse (see [`Sparse`]).
    clocks: Vec<Sparse>,
    lamport: Vec<u64>,
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
        let mut graph = program_order(events.len(), &names);
        add_cross_edges(&mut graph, cross_edges(events, &names, &analysis));
        let (topo, broken) = break_cycles(&mut graph);
        let (clocks, lamport) = clocks(&graph, &names, &topo);
        CausalGraph {
            events,
            graph,
            names,
            analysis,
            clocks,
            lamport,
            topo,
            broken,
        }
    }

    /// The event log the graph was built from.
    pub fn events(&self) -> &'e [Event] {
        self.events
    }

    /// The petgraph graph (node weight = event index; program edges too).
    pub fn graph(&self) -> &StableDiGraph<usize, Edge> {
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
        self.names.thread_of[i]
    }

    /// Index of the process of event `i`.
    pub fn process_of(&self, i: usize) -> usize {
        self.names.threads[self.names.thread_of[i]].process
    }

    /// Position of event `i` in its thread's program order.
    pub fn position(&self, i: usize) -> usize {
        self.names.position[i]
    }

    /// Logical name of event `i`: `thread/ordinal:call`
    /// (`replica:t0/17:read`).
    pub fn event_name(&self, i: usize) -> String {
        let t = &self.names.threads[self.names.thread_of[i]];
        format!(
            "{}/{}:{}",
            t.name, self.names.position[i], self.events[i].call
        )
    }

    /// The channel event `i` acted on (for `accept`: the new connection).
    pub fn channel_of(&self, i: usize) -> Option<usize> {
        self.analysis.event_channel[i]
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
        let own = self.names.thread_of[i] as u32;
        let mut out: Vec<(usize, u32)> = self.clocks[i]
            .iter()
            .filter(|(t, _)| *t != own)
            .map(|&(t, k)| (t as usize, k))
            .collect();
        let at = out.partition_point(|&(t, _)| t < own as usize);
        out.insert(at, (own as usize, self.names.position[i] as u32 + 1));
        out
    }

    /// Component `t` of event `i`'s vector clock.
    pub fn clock_component(&self, i: usize, t: usize) -> u32 {
        if t == self.names.thread_of[i] {
            return self.names.position[i] as u32 + 1;
        }
        let c = &self.clocks[i];
        match c.binary_search_by_key(&(t as u32), |&(x, _)| x) {
            Ok(k) => c[k].1,
            Err(_) => 0,
        }
    }

    /// Lamport time of event `i`: 1 + the longest chain of events before it.
    pub fn lamport(&self, i: usize) -> u64 {
        self.lamport[i]
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
        a != b && self.clock_component(b, self.names.thread_of[a]) > self.names.position[a] as u32
    }

    /// True when neither of two distinct events happens before the other.
    pub fn concurrent(&self, a: usize, b: usize) -> bool {
        a != b && !self.happens_before(a, b) && !self.happens_before(b, a)
    }

    /// Cross edges (everything but program order) as (from, to, edge),
    /// ordered by source then target recording order.
    pub fn edges(&self) -> Vec<(usize, usize, Edge)> {
        let seq = |i: usize| self.events[i].seq;
        let mut out: Vec<(usize, usize, Edge)> = (&self.graph)
            .edge_references()
            .filter(|e| e.weight().kind != EdgeKind::Program)
            .map(|e| (e.source().index(), e.target().index(), *e.weight()))
            .collect();
        out.sort_by_key(|&(a, b, e)| (seq(a), seq(b), e.kind, e.message));
        out
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
                (other.index(), *e.weight())
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
}

/// One node per event and the program-order edges of each thread.
fn program_order(n: usize, names: &Names) -> StableDiGraph<usize, Edge> {
    let mut graph: StableDiGraph<usize, Edge> = StableDiGraph::with_capacity(n, 2 * n);
    for i in 0..n {
        graph.add_node(i);
    }
    for t in &names.threads {
        for w in t.events.windows(2) {
            graph.add_edge(node(w[0]), node(w[1]), plain(EdgeKind::Program));
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
fn add_cross_edges(graph: &mut StableDiGraph<usize, Edge>, cross: Vec<(usize, usize, Edge)>) {
    let mut seen: HashSet<(usize, usize, EdgeKind)> = HashSet::new();
    for (a, b, edge) in cross {
        if a != b && seen.insert((a, b, edge.kind)) {
            graph.add_edge(node(a), node(b), edge);
        }
    }
}

/// A sparse vector clock: (thread index, count) sorted by thread. Events
/// of a thread share their predecessor's clock (an `Arc`) until a cross edge
/// comes in, and the event's own component is implied by its position, so
/// a run with thousands of short-lived children does not cost
/// events × threads memory.
type Sparse = Arc<[(u32, u32)]>;

/// Vector clocks and Lamport times, in topological order.
fn clocks(
    graph: &StableDiGraph<usize, Edge>,
    names: &Names,
    topo: &[usize],
) -> (Vec<Sparse>, Vec<u64>) {
    let empty: Sparse = Arc::from(Vec::new());
    let mut clocks: Vec<Sparse> = vec![empty.clone(); names.thread_of.len()];
    let mut lamport = vec![0u64; names.thread_of.len()];
    for &v in topo {
        let mut l = 0;
        let mut pred: Option<usize> = None;
        let mut cross: Vec<usize> = Vec::new();
        for e in graph.edges_directed(node(v), Direction::Incoming) {
            let u = e.source().index();
            l = l.max(lamport[u]);
            if e.weight().kind == EdgeKind::Program {
                pred = Some(u);
            } else {
                cross.push(u);
            }
        }
        lamport[v] = l + 1;
        let base = pred.map_or_else(|| empty.clone(), |p| clocks[p].clone());
        if cross.is_empty() {
            clocks[v] = base;
            continue;
        }
        let mut acc: Vec<(u32, u32)> = base.to_vec();
        for u in cross {
            let own = (names.thread_of[u] as u32, names.position[u] as u32 + 1);
            acc = merge(&acc, &clocks[u], own);
        }
        clocks[v] = Arc::from(acc);
    }
    (clocks, lamport)
}

/// Component-wise max of two sparse clocks, plus one extra component.
fn merge(a: &[(u32, u32)], b: &[(u32, u32)], extra: (u32, u32)) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let (mut i, mut j) = (0, 0);
    loop {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x.0 == y.0 => {
                i += 1;
                j += 1;
                (x.0, x.1.max(y.1))
            }
            (Some(&x), Some(&y)) if x.0 < y.0 => {
                i += 1;
                x
            }
            (_, Some(&y)) => {
                j += 1;
                y
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, None) => break,
        };
        out.push(next);
    }
    let (t, k) = extra;
    match out.binary_search_by_key(&t, |&(x, _)| x) {
        Ok(p) => out[p].1 = out[p].1.max(k),
        Err(p) => out.insert(p, (t, k)),
    }
    out
}

/// Returns a topological order, removing the most doubtful cross edge of
/// each cycle first: happens-before is a partial order, so a cycle can only
/// come from an inferred edge that a damaged log made wrong.
fn break_cycles(graph: &mut StableDiGraph<usize, Edge>) -> (Vec<usize>, Vec<(usize, usize, Edge)>) {
    let mut broken = Vec::new();
    loop {
        if let Ok(order) = toposort(&*graph, None) {
            return (order.into_iter().map(NodeIndex::index).collect(), broken);
        }
        let scc = tarjan_scc(&*graph).into_iter().find(|c| c.len() > 1);
        let Some(start) = scc.and_then(|c| c.first().copied()) else {
            return (Vec::new(), broken);
        };
        // BFS from `start` back to itself gives the edges of one cycle.
        let mut via: HashMap<NodeIndex, EdgeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        let mut closing = None;
        'bfs: while let Some(v) = queue.pop_front() {
            for e in graph.edges_directed(v, Direction::Outgoing) {
                let w = e.target();
                if w == start {
                    closing = Some(e.id());
                    break 'bfs;
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = via.entry(w) {
                    slot.insert(e.id());
                    queue.push_back(w);
                }
            }
        }
        let mut cycle = Vec::new();
        let mut e = closing.expect("a strongly connected node lies on a cycle");
        loop {
            cycle.push(e);
            let (src, _) = graph.edge_endpoints(e).expect("edge exists");
            if src == start {
                break;
            }
            e = via[&src];
        }
        let worst = cycle
            .into_iter()
            .max_by_key(|&e| graph[e].kind.doubt())
            .expect("a cycle has edges");
        let (a, b) = graph.edge_endpoints(worst).expect("edge exists");
        let w = graph.remove_edge(worst).expect("edge exists");
        broken.push((a.index(), b.index(), w));
    }
}
