//! Property tests: a small simulator plays random scripts of plausible
//! distributed behaviour (roots connecting over TCP, sending, reading with
//! random split points, closing, reading EOF, forking children that write
//! to pipes) and records both the event log and the ground truth of which
//! sends fed each read. The tracker must recover that truth exactly, build
//! an acyclic graph that keeps program order, give vector clocks that agree
//! with reachability, and give the same trace class to relabelled,
//! reinterleaved recordings of the same run.

use std::collections::{BTreeSet, HashMap, VecDeque};

use petgraph::algo::{DfsSpace, has_path_connecting, is_cyclic_directed};
use petgraph::graph::NodeIndex;
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use proptest::prelude::*;

use super::testlog::{Ev, Log, ev, pipe, tcp};
use super::{CausalGraph, EdgeKind, trace_class};
use bop_model::{Endpoint, Event};

struct Conn {
    procs: [usize; 2],
    fds: [i32; 2],
    eps: [Endpoint; 2],
    /// Per direction (sending side): unread (send event, bytes) in order.
    queue: [VecDeque<(usize, u64)>; 2],
    closed: [bool; 2],
    eof_read: [bool; 2],
}

/// The simulator's state.
struct Sim {
    log: Log,
    pids: Vec<i32>,
    next_fd: Vec<i32>,
    conns: Vec<Conn>,
    next_pid: i32,
    next_inode: u64,
    port0: u16,
    /// Ground truth: read event → the send events whose bytes it consumed.
    truth: HashMap<usize, BTreeSet<usize>>,
}

impl Sim {
    fn fd(&mut self, p: usize) -> i32 {
        self.next_fd[p] += 1;
        self.next_fd[p]
    }

    /// Plays `script` with `roots` root processes; `pid0`/`port0` relabel
    /// the kernel identities without changing behaviour.
    fn play(roots: usize, script: &[(u8, u32, u32)], pid0: i32, port0: u16) -> Sim {
        let mut s = Sim {
            log: Log::default(),
            pids: (0..roots).map(|k| pid0 + 10 * k as i32).collect(),
            next_fd: vec![2; roots],
            conns: Vec::new(),
            next_pid: pid0 + 1000,
            next_inode: u64::from(port0) * 100,
            port0,
            truth: HashMap::new(),
        };
        for k in 0..roots {
            let pid = s.pids[k];
            s.log
                .push(ev(pid, pid, "start").ret(None).node(&format!("n{k}")));
        }
        for &(op, x, y) in script {
            s.step(op % 8, x as usize, y as usize);
        }
        for k in 0..roots {
            let pid = s.pids[k];
            s.log.push(ev(pid, pid, "exit_group").status(0));
        }
        s
    }

    fn step(&mut self, op: u8, x: usize, y: usize) {
        let np = self.pids.len();
        let nc = self.conns.len();
        match op {
            0 if np >= 2 => {
                let a = x % np;
                let b = (a + 1 + y % (np - 1)) % np;
                let port = self.port0 + self.conns.len() as u16 + 1;
                let (la, lb) = (
                    format!("127.0.0.1:{port}"),
                    format!("127.0.0.1:{}", 7000 + b),
                );
                let (ea, eb) = (tcp(&la, &lb), tcp(&lb, &la));
                let (fa, fb) = (self.fd(a), self.fd(b));
                self.log.push(
                    ev(self.pids[a], self.pids[a], "connect")
                        .fd(fa)
                        .ep(ea.clone())
                        .addr(&lb),
                );
                self.log.push(
                    ev(self.pids[b], self.pids[b], "accept")
                        .fd(3)
                        .ret(Some(fb.into()))
                        .fds(&[fb], [eb.clone()]),
                );
                self.conns.push(Conn {
                    procs: [a, b],
                    fds: [fa, fb],
                    eps: [ea, eb],
                    queue: [VecDeque::new(), VecDeque::new()],
                    closed: [false, false],
                    eof_read: [false, false],
                });
            }
            1 | 2 if nc > 0 => {
                let (c, side) = (x % nc, y % 2);
                let n = 1 + (y / 2 % 16) as u64;
                let conn = &self.conns[c];
                if conn.closed[side] {
                    return;
                }
                let pid = self.pids[conn.procs[side]];
                let e = ev(pid, pid, "write")
                    .fd(conn.fds[side])
                    .ep(conn.eps[side].clone())
                    .bytes(n);
                let i = self.log.push(e);
                self.conns[c].queue[side].push_back((i, n));
            }
            3 | 4 if nc > 0 => {
                let (c, side) = (x % nc, y % 2);
                let conn = &self.conns[c];
                let total: u64 = conn.queue[1 - side].iter().map(|q| q.1).sum();
                if conn.closed[side] || total == 0 {
                    return;
                }
                let k = 1 + (y as u64 / 2) % total;
                let pid = self.pids[conn.procs[side]];
                let e = ev(pid, pid, "read")
                    .fd(conn.fds[side])
                    .ep(conn.eps[side].clone())
                    .bytes(k);
                let r = self.log.push(e);
                let mut left = k;
                let q = &mut self.conns[c].queue[1 - side];
                let mut fed = BTreeSet::new();
                while left > 0 {
                    let front = q.front_mut().expect("bytes queued");
                    fed.insert(front.0);
                    let take = left.min(front.1);
                    front.1 -= take;
                    left -= take;
                    if front.1 == 0 {
                        q.pop_front();
                    }
                }
                self.truth.insert(r, fed);
            }
            5 if nc > 0 => {
                let (c, side) = (x % nc, y % 2);
                let conn = &self.conns[c];
                if conn.closed[side] {
                    return;
                }
                let pid = self.pids[conn.procs[side]];
                self.log.push(
                    ev(pid, pid, "close")
                        .fd(conn.fds[side])
                        .ep(conn.eps[side].clone()),
                );
                self.conns[c].closed[side] = true;
            }
            6 if nc > 0 => {
                let (c, side) = (x % nc, y % 2);
                let conn = &self.conns[c];
                if !conn.closed[1 - side]
                    || !conn.queue[1 - side].is_empty()
                    || conn.closed[side]
                    || conn.eof_read[side]
                {
                    return;
                }
                let pid = self.pids[conn.procs[side]];
                self.log.push(
                    ev(pid, pid, "read")
                        .fd(conn.fds[side])
                        .ep(conn.eps[side].clone())
                        .bytes(0),
                );
                self.conns[c].eof_read[side] = true;
            }
            7 => self.pipe_child(x % np, y),
            _ => {}
        }
    }

    /// Parent makes a pipe and forks a child that writes two chunks and
    /// exits; the parent reads them split at a random point, reads EOF and
    /// reaps the child.
    fn pipe_child(&mut self, p: usize, y: usize) {
        let (pid, child) = (self.pids[p], self.next_pid);
        self.next_pid += 1;
        self.next_inode += 1;
        let pe = pipe(self.next_inode);
        let (r, w) = (self.fd(p), self.fd(p));
        let (n, m) = (1 + (y % 7) as u64, 1 + (y / 7 % 5) as u64);
        let l = &mut self.log;
        l.push(ev(pid, pid, "pipe2").fds(&[r, w], [pe.clone(), pe.clone()]));
        l.push(ev(pid, pid, "fork").child(child));
        l.push(ev(child, child, "start").child(pid).ret(None));
        l.push(ev(pid, pid, "close").fd(w).ep(pe.clone()));
        l.push(ev(child, child, "close").fd(r).ep(pe.clone()));
        let w1 = l.push(ev(child, child, "write").fd(w).ep(pe.clone()).bytes(n));
        let w2 = l.push(ev(child, child, "write").fd(w).ep(pe.clone()).bytes(m));
        l.push(ev(child, child, "exit_group").status(0));
        let split = 1 + (y as u64 / 35) % (n + m - 1).max(1);
        let split = split.min(n + m - 1);
        if n + m > 1 {
            let r1 = l.push(ev(pid, pid, "read").fd(r).ep(pe.clone()).bytes(split));
            let r2 = l.push(
                ev(pid, pid, "read")
                    .fd(r)
                    .ep(pe.clone())
                    .bytes(n + m - split),
            );
            let set = |a: bool, b: bool| {
                [(a, w1), (b, w2)]
                    .into_iter()
                    .filter(|x| x.0)
                    .map(|x| x.1)
                    .collect()
            };
            self.truth.insert(r1, set(true, split > n));
            self.truth.insert(r2, set(split < n, true));
        }
        let l = &mut self.log;
        l.push(ev(pid, pid, "read").fd(r).ep(pe.clone()).bytes(0));
        l.push(ev(pid, pid, "wait4").child(child));
    }
}

/// A random linear extension of the graph's order, as a new log whose seq
/// follows it: another recording of the same run.
fn reinterleave(g: &CausalGraph<'_>, seed: u64) -> Vec<Event> {
    let graph = g.graph();
    let n = g.events().len();
    let mut indeg = vec![0usize; n];
    for e in graph.edge_references() {
        indeg[e.target().index()] += 1;
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut rng = seed | 1;
    let mut out = Vec::with_capacity(n);
    while !ready.is_empty() {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let v = ready.swap_remove((rng % ready.len() as u64) as usize);
        out.push(Event {
            seq: out.len() as u64,
            ..g.events()[v].clone()
        });
        for e in graph.edges(NodeIndex::new(v)) {
            let t = e.target().index();
            indeg[t] -= 1;
            if indeg[t] == 0 {
                ready.push(t);
            }
        }
    }
    out
}

fn script() -> impl Strategy<Value = (usize, Vec<(u8, u32, u32)>)> {
    (
        2usize..=4,
        prop::collection::vec((any::<u8>(), any::<u32>(), any::<u32>()), 0..40),
    )
}

proptest! {
    #[test]
    fn graph_matches_ground_truth((roots, script) in script()) {
        let sim = Sim::play(roots, &script, 100, 5000);
        let events = &sim.log.events;
        let g = CausalGraph::build(events);
        prop_assert!(g.broken_edges().is_empty());
        prop_assert!(!is_cyclic_directed(g.graph()));
        // Per-thread order: consecutive events linked and ordered.
        for t in g.threads() {
            for w in t.events.windows(2) {
                prop_assert!(events[w[0]].seq < events[w[1]].seq);
                prop_assert!(g.happens_before(w[0], w[1]));
            }
        }
        // Every read is fed by exactly the sends the simulator says.
        let mut fed: HashMap<usize, BTreeSet<usize>> = HashMap::new();
        for m in g.messages() {
            for &r in &m.recvs {
                fed.entry(r).or_default().insert(m.send);
            }
        }
        prop_assert_eq!(&fed, &sim.truth);
        // Bytes received per message never exceed what was sent.
        for m in g.messages() {
            prop_assert!(m.bytes > 0);
        }
        // Each message edge corresponds to a message.
        let msg_edges = g.edges().into_iter().filter(|e| e.2.kind == EdgeKind::Message).count();
        prop_assert_eq!(msg_edges, sim.truth.values().map(BTreeSet::len).sum::<usize>());
    }

    #[test]
    fn clocks_agree_with_reachability((roots, script) in script()) {
        let sim = Sim::play(roots, &script, 100, 5000);
        let g = CausalGraph::build(&sim.log.events);
        let n = g.events().len();
        let mut space = DfsSpace::new(g.graph());
        for a in 0..n {
            for b in 0..n {
                let reach = a != b && has_path_connecting(g.graph(), NodeIndex::new(a), NodeIndex::new(b), Some(&mut space));
                prop_assert_eq!(g.happens_before(a, b), reach, "{} -> {}", g.event_name(a), g.event_name(b));
            }
        }
        for (a, b, _) in g.edges() {
            prop_assert!(g.lamport(a) < g.lamport(b));
        }
        // The trace class's causal past (no clocks) is the same relation.
        for b in 0..n {
            let past = g.causal_past(b);
            for (a, &before) in past.iter().enumerate() {
                prop_assert_eq!(before, g.happens_before(a, b), "{} -> {}", g.event_name(a), g.event_name(b));
            }
        }
    }

    #[test]
    fn class_ignores_relabelling_and_interleaving((roots, script) in script(), seed in any::<u64>()) {
        let a = Sim::play(roots, &script, 100, 5000);
        let b = Sim::play(roots, &script, 4321, 40000);
        let ga = CausalGraph::build(&a.log.events);
        let gb = CausalGraph::build(&b.log.events);
        let shuffled = reinterleave(&gb, seed);
        let gs = CausalGraph::build(&shuffled);
        prop_assert_eq!(gs.broken_edges().len(), 0);
        prop_assert_eq!(super::class_structure(&ga), super::class_structure(&gs));
        prop_assert_eq!(trace_class(&ga), trace_class(&gs));
        // Names do not depend on pids or the recording order either.
        let names = |g: &CausalGraph<'_>| -> BTreeSet<String> {
            g.processes().iter().map(|p| p.name.clone())
                .chain(g.channels().iter().map(|c| c.name.clone()))
                .chain(g.messages().iter().map(|m| m.name.clone()))
                .collect()
        };
        prop_assert_eq!(names(&ga), names(&gs));
    }
}

/// The generator is only as good as what it produces: one fixed script
/// must exercise every edge kind the properties rely on.
#[test]
fn simulator_exercises_every_edge_kind() {
    let script = [
        (0, 0, 0),
        (1, 0, 40),
        (1, 0, 6),
        (3, 0, 9),
        (4, 0, 1),
        (2, 0, 3),
        (3, 0, 30),
        (5, 0, 0),
        (6, 0, 1),
        (7, 1, 200),
    ];
    let sim = Sim::play(2, &script, 100, 5000);
    let g = CausalGraph::build(&sim.log.events);
    for kind in [
        EdgeKind::Message,
        EdgeKind::Connect,
        EdgeKind::Spawn,
        EdgeKind::Exit,
        EdgeKind::Eof,
    ] {
        let count = g.edges().iter().filter(|e| e.2.kind == kind).count();
        assert!(
            count > 0,
            "no {kind:?} edge in\n{}",
            super::show::timeline(&test_manifest(), &sim.log.events)
        );
    }
    assert!(
        sim.truth.values().any(|s| s.len() == 2),
        "a read spanning two sends"
    );
    let names: Vec<&str> = g.processes().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["n0", "n1", "n1/proc#0"]);
}

fn test_manifest() -> bop_model::Manifest {
    bop_model::Manifest {
        schema: 1,
        status: bop_model::RunStatus::Done,
        ..bop_model::Manifest::new(
            "p",
            bop_model::Target::Command {
                argv: vec!["x".into()],
                cwd: "/".into(),
            },
            "x",
            0,
        )
    }
}
