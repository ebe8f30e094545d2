//! Unit tests of the tracker on small hand-written logs, one behaviour each.

use super::export::{self, Format, graph_json, render};
use super::testlog::{Ev, Log, connection, ev, pipe, tcp, two_clients, udp, unix};
use super::{CausalGraph, EdgeKind, trace_class};
use bop_model::{Endpoint, Event, Manifest};

/// Cross edges of a kind, as (from, to).
fn edges(g: &CausalGraph<'_>, kind: EdgeKind) -> Vec<(usize, usize)> {
    g.edges()
        .into_iter()
        .filter(|(_, _, e)| e.kind == kind)
        .map(|(a, b, _)| (a, b))
        .collect()
}

fn manifest() -> Manifest {
    super::testlog::manifest("r1")
}

/// Indices of the interesting events of [`client_server`].
struct Cs {
    connect: usize,
    accept: usize,
    req: usize,
    req_read: usize,
    resp: usize,
    resp_read: usize,
    close: usize,
    eof: usize,
}

/// client (pid 100) connects to primary (pid 200), sends 5 bytes, gets 3
/// back, closes; primary reads EOF. `cport`/`pid0` relabel the kernel ids.
fn client_server(log: &mut Log, pid0: i32, cport: u16) -> Cs {
    let (c, s) = (100 + pid0, 200 + pid0);
    let cl = format!("127.0.0.1:{cport}");
    let ce = tcp(&cl, "127.0.0.1:7000");
    let se = tcp("127.0.0.1:7000", &cl);
    log.push(ev(s, s, "start").ret(None).node("primary"));
    log.push(ev(c, c, "start").ret(None).node("client"));
    log.push(ev(s, s, "listen").fd(3));
    let (connect, accept) = connection(log, (c, s), (&ce, &se));
    let req = log.push(ev(c, c, "write").fd(3).ep(ce.clone()).bytes(5));
    let req_read = log.push(ev(s, s, "read").fd(4).ep(se.clone()).bytes(5));
    let resp = log.push(ev(s, s, "write").fd(4).ep(se.clone()).bytes(3));
    let resp_read = log.push(ev(c, c, "read").fd(3).ep(ce.clone()).bytes(3));
    let close = log.push(ev(c, c, "close").fd(3).ep(ce));
    let eof = log.push(ev(s, s, "read").fd(4).ep(se.clone()).bytes(0));
    log.push(ev(s, s, "close").fd(4).ep(se));
    log.push(ev(c, c, "exit_group").status(0));
    log.push(ev(s, s, "exit_group").status(0));
    Cs {
        connect,
        accept,
        req,
        req_read,
        resp,
        resp_read,
        close,
        eof,
    }
}

#[test]
fn client_server_edges_and_names() {
    let mut log = Log::default();
    let cs = client_server(&mut log, 0, 5000);
    let g = CausalGraph::build(&log.events);
    assert_eq!(edges(&g, EdgeKind::Connect), vec![(cs.connect, cs.accept)]);
    assert_eq!(
        edges(&g, EdgeKind::Message),
        vec![(cs.req, cs.req_read), (cs.resp, cs.resp_read)]
    );
    assert_eq!(edges(&g, EdgeKind::Eof), vec![(cs.close, cs.eof)]);
    assert_eq!(g.channels().len(), 1);
    assert_eq!(g.channels()[0].name, "client->primary#0");
    assert_eq!(
        g.channels()[0].ends,
        ["client".to_string(), "primary".to_string()]
    );
    let names: Vec<&str> = g.messages().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["client->primary#0/0", "client->primary#0/r0"]);
    assert_eq!(g.event_name(cs.req_read), "primary:t0/3:read");
    assert!(g.happens_before(cs.connect, cs.resp_read));
    assert!(g.happens_before(cs.req, cs.eof));
    assert!(!g.happens_before(cs.eof, cs.req));
    assert!(g.broken_edges().is_empty());
}

#[test]
fn read_spanning_two_messages() {
    let mut l = Log::default();
    let (a, b) = (
        tcp("10.0.0.1:1", "10.0.0.2:2"),
        tcp("10.0.0.2:2", "10.0.0.1:1"),
    );
    l.push(ev(1, 1, "start").node("a"));
    l.push(ev(2, 2, "start").node("b"));
    l.push(ev(1, 1, "connect").fd(3).ep(a.clone()));
    l.push(ev(2, 2, "accept").fd(3).ret(Some(4)).fds(&[4], [b.clone()]));
    let w1 = l.push(ev(1, 1, "write").fd(3).ep(a.clone()).bytes(4));
    let w2 = l.push(ev(1, 1, "sendto").fd(3).ep(a.clone()).bytes(6));
    let r = l.push(ev(2, 2, "recvfrom").fd(4).ep(b.clone()).bytes(10));
    let g = CausalGraph::build(&l.events);
    assert_eq!(edges(&g, EdgeKind::Message), vec![(w1, r), (w2, r)]);
    assert_eq!(g.messages()[0].recvs, vec![r]);
    assert_eq!(g.messages()[1].recvs, vec![r]);
    assert!(g.messages().iter().all(|m| !m.lost));
}

#[test]
fn peeks_leave_their_bytes_for_the_next_read() {
    let mut l = Log::default();
    let (a, b) = (
        tcp("10.0.0.1:1", "10.0.0.2:2"),
        tcp("10.0.0.2:2", "10.0.0.1:1"),
    );
    l.push(ev(1, 1, "start").node("a"));
    l.push(ev(2, 2, "start").node("b"));
    l.push(ev(1, 1, "connect").fd(3).ep(a.clone()));
    l.push(ev(2, 2, "accept").fd(3).ret(Some(4)).fds(&[4], [b.clone()]));
    let sends: Vec<usize> = [10, 20, 30]
        .map(|n| l.push(ev(1, 1, "write").fd(3).ep(a.clone()).bytes(n)))
        .into();
    let mut reads = Vec::new();
    for n in [10, 20, 30] {
        let peek = ev(2, 2, "recvfrom").fd(4).ep(b.clone()).bytes(1).peek();
        let peek = l.push(peek);
        let read = l.push(ev(2, 2, "read").fd(4).ep(b.clone()).bytes(n));
        reads.push((peek, read));
    }
    let g = CausalGraph::build(&l.events);
    for (k, &(peek, read)) in reads.iter().enumerate() {
        assert_eq!(g.messages()[k].recvs, vec![peek, read], "message {k}");
    }
    let edges = edges(&g, EdgeKind::Message);
    assert!(edges.contains(&(sends[1], reads[1].1)), "{edges:?}");
    assert!(!edges.contains(&(sends[0], reads[1].1)), "{edges:?}");
}

#[test]
fn message_split_over_reads_and_partial_overlap() {
    let mut l = Log::default();
    let (a, b) = (unix(11, 12), unix(12, 11));
    l.push(ev(1, 1, "start").node("a"));
    l.push(ev(2, 2, "start").node("b"));
    let c = l.push(ev(1, 1, "connect").fd(3).ep(a.clone()));
    let acc = l.push(ev(2, 2, "accept").fd(3).ret(Some(4)).fds(&[4], [b.clone()]));
    let w1 = l.push(ev(1, 1, "write").fd(3).ep(a.clone()).bytes(10));
    let w2 = l.push(ev(1, 1, "write").fd(3).ep(a.clone()).bytes(10));
    let r1 = l.push(ev(2, 2, "read").fd(4).ep(b.clone()).bytes(4)); // [0,4)
    let r2 = l.push(ev(2, 2, "read").fd(4).ep(b.clone()).bytes(12)); // [4,16)
    let r3 = l.push(ev(2, 2, "read").fd(4).ep(b.clone()).bytes(4)); // [16,20)
    let g = CausalGraph::build(&l.events);
    assert_eq!(g.messages()[0].recvs, vec![r1, r2]);
    assert_eq!(g.messages()[1].recvs, vec![r2, r3]);
    assert_eq!(
        edges(&g, EdgeKind::Message),
        vec![(w1, r1), (w1, r2), (w2, r2), (w2, r3)]
    );
    // Unix streams pair connect and accept by peer inode.
    assert_eq!(edges(&g, EdgeKind::Connect), vec![(c, acc)]);
    assert_eq!(g.channels()[0].name, "a->b#0");
}

#[test]
fn channel_ordinals_and_outside_ends() {
    let mut l = Log::default();
    l.push(ev(1, 1, "start").node("client"));
    l.push(ev(2, 2, "start").node("primary"));
    // Two connections client->primary, and one to a server outside the trace.
    for (k, port) in [(0, 5001), (1, 5002)] {
        let (a, b) = (
            tcp(&format!("127.0.0.1:{port}"), "127.0.0.1:7000"),
            tcp("127.0.0.1:7000", &format!("127.0.0.1:{port}")),
        );
        l.push(ev(1, 1, "connect").fd(3 + k).ep(a));
        l.push(
            ev(2, 2, "accept")
                .fd(3)
                .ret(Some(10 + k as i64))
                .fds(&[10 + k], [b]),
        );
    }
    let out = tcp("127.0.0.1:5003", "127.0.0.1:6379");
    l.push(ev(1, 1, "connect").fd(5).ep(out.clone()));
    let w = l.push(ev(1, 1, "write").fd(5).ep(out).bytes(7));
    // A connection from an outside client (ephemeral port): named by IP.
    let inc = tcp("127.0.0.1:7000", "127.0.0.2:40000");
    l.push(ev(2, 2, "accept").fd(3).ret(Some(12)).fds(&[12], [inc]));
    let g = CausalGraph::build(&l.events);
    let names: Vec<&str> = g.channels().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "client->primary#0",
            "client->primary#1",
            "client->127.0.0.1:6379#0",
            "127.0.0.2->primary#0"
        ]
    );
    // A message to the outside is not lost: its receiver is just not traced.
    let m = &g.messages()[0];
    assert_eq!(
        (m.send, m.lost, m.name.as_str()),
        (w, false, "client->127.0.0.1:6379#0/0")
    );
}

/// sh (root, no node) forks: A (pid 300) execs kvd, B (pid 250, forked
/// later) execs kvd, C never execs; A forks a grandchild; sh starts a
/// thread. Ordinals follow fork order in the parent, not pids.
fn family(l: &mut Log) -> [usize; 8] {
    l.push(ev(10, 10, "start"));
    l.push(ev(10, 10, "execve").exe("/bin/sh"));
    l.push(ev(10, 10, "exec").exe("/bin/sh").ret(None));
    let fa = l.push(ev(10, 10, "fork").child(300));
    let sa = l.push(ev(300, 300, "start").child(10).ret(None));
    l.push(ev(300, 300, "exec").exe("/usr/bin/kvd").ret(None));
    let fb = l.push(ev(10, 10, "clone").child(250));
    l.push(ev(250, 250, "start").child(10).ret(None));
    l.push(ev(250, 250, "exec").exe("/usr/bin/kvd").ret(None));
    l.push(ev(10, 10, "vfork").child(260));
    l.push(ev(260, 260, "start").child(10).ret(None));
    l.push(ev(300, 300, "fork").child(301));
    l.push(ev(301, 301, "start").child(300).ret(None));
    l.push(ev(10, 10, "clone").child(11));
    let st = l.push(ev(10, 11, "start").child(10).thread().ret(None));
    let ea = l.push(ev(300, 300, "exit_group").status(3));
    let wa = l.push(ev(10, 10, "wait4").child(300));
    let mut killed = ev(250, 250, "killed").ret(None);
    killed.detail.signal = Some("SIGKILL".into());
    l.push(killed);
    [fa, sa, fb, st, ea, wa, 0, 0]
}

#[test]
fn names_of_children_and_threads() {
    let mut l = Log::default();
    let [fa, sa, _fb, st, ea, wa, ..] = family(&mut l);
    let g = CausalGraph::build(&l.events);
    let names: Vec<(i32, &str)> = g
        .processes()
        .iter()
        .map(|p| (p.pid, p.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (10, "sh#0"),
            (300, "sh#0/kvd#0"),
            (250, "sh#0/kvd#1"),
            (260, "sh#0/sh#0"),
            (301, "sh#0/kvd#0/kvd#0")
        ]
    );
    let threads: Vec<&str> = g.threads().iter().map(|t| t.name.as_str()).collect();
    assert!(threads.contains(&"sh#0:t1"), "{threads:?}");
    assert_eq!(g.processes()[1].exit, Some(3));
    assert_eq!(g.processes()[2].signal.as_deref(), Some("SIGKILL"));
    assert_eq!(g.processes()[2].exit, None);
    assert!(edges(&g, EdgeKind::Spawn).contains(&(fa, sa)));
    assert!(edges(&g, EdgeKind::Spawn).iter().any(|&(_, b)| b == st));
    assert_eq!(edges(&g, EdgeKind::Exit), vec![(ea, wa)]);
    assert!(g.happens_before(fa, wa));
}

#[test]
fn pipe_between_parent_and_child_with_eof() {
    let mut l = Log::default();
    let p = pipe(77);
    l.push(ev(1, 1, "start").node("primary"));
    let mk = l.push(ev(1, 1, "pipe2").fds(&[3, 4], [p.clone(), p.clone()]));
    l.push(ev(1, 1, "fork").child(2));
    l.push(ev(2, 2, "start").child(1).ret(None));
    l.push(ev(1, 1, "close").fd(4).ep(p.clone())); // parent closes its write end
    l.push(ev(2, 2, "close").fd(3).ep(p.clone())); // child closes its read end
    let w = l.push(ev(2, 2, "write").fd(4).ep(p.clone()).bytes(8));
    let r = l.push(ev(1, 1, "read").fd(3).ep(p.clone()).bytes(8));
    let last = l.push(ev(2, 2, "close").fd(4).ep(p.clone()));
    let eof = l.push(ev(1, 1, "read").fd(3).ep(p.clone()).bytes(0));
    let g = CausalGraph::build(&l.events);
    let c = &g.channels()[0];
    assert_eq!(c.name, "pipe:primary#0");
    assert_eq!(
        c.ends,
        ["primary/proc#0".to_string(), "primary".to_string()]
    );
    assert_eq!(c.created_by, Some(mk));
    assert_eq!(edges(&g, EdgeKind::Message), vec![(w, r)]);
    assert_eq!(edges(&g, EdgeKind::Eof), vec![(last, eof)]);
}

#[test]
fn eof_after_writer_exits_without_close() {
    let mut l = Log::default();
    let p = pipe(5);
    l.push(ev(1, 1, "start").node("a"));
    l.push(ev(1, 1, "pipe").fds(&[3, 4], [p.clone(), p.clone()]));
    l.push(ev(1, 1, "fork").child(2));
    l.push(ev(2, 2, "start").child(1).ret(None));
    l.push(ev(1, 1, "close").fd(4).ep(p.clone()));
    let x = l.push(ev(2, 2, "exit_group").status(0));
    let eof = l.push(ev(1, 1, "read").fd(3).ep(p.clone()).bytes(0));
    let g = CausalGraph::build(&l.events);
    assert_eq!(edges(&g, EdgeKind::Eof), vec![(x, eof)]);
}

#[test]
fn shutdown_wr_causes_eof() {
    let mut l = Log::default();
    let (a, b) = (tcp("1.1.1.1:1", "2.2.2.2:2"), tcp("2.2.2.2:2", "1.1.1.1:1"));
    l.push(ev(1, 1, "start").node("a"));
    l.push(ev(2, 2, "start").node("b"));
    l.push(ev(1, 1, "connect").fd(3).ep(a.clone()));
    l.push(ev(2, 2, "accept").fd(3).ret(Some(4)).fds(&[4], [b.clone()]));
    let sh = l.push(ev(1, 1, "shutdown").fd(3).ep(a.clone()).how("wr"));
    let eof = l.push(ev(2, 2, "recv").fd(4).ep(b.clone()).bytes(0));
    // The reverse direction is still open: a's read of 0 would need b's close.
    let g = CausalGraph::build(&l.events);
    assert_eq!(edges(&g, EdgeKind::Eof), vec![(sh, eof)]);
}

#[test]
fn udp_datagrams_in_order_per_flow() {
    let mut l = Log::default();
    // Unconnected sockets bound to the wildcard address: matched by port.
    let c = udp("0.0.0.0:4000", None);
    let s = udp("0.0.0.0:53", None);
    l.push(ev(1, 1, "start").node("client"));
    l.push(ev(2, 2, "start").node("dns"));
    let s1 = l.push(
        ev(1, 1, "sendto")
            .fd(3)
            .ep(c.clone())
            .addr("127.0.0.1:53")
            .bytes(10),
    );
    let s2 = l.push(
        ev(1, 1, "sendmmsg")
            .fd(3)
            .ep(c.clone())
            .addr("127.0.0.1:53")
            .bytes(2)
            .parts(&[20, 30]),
    );
    let r1 = l.push(
        ev(2, 2, "recvfrom")
            .fd(5)
            .ep(s.clone())
            .addr("127.0.0.1:4000")
            .bytes(10),
    );
    let r2 = l.push(
        ev(2, 2, "recvmmsg")
            .fd(5)
            .ep(s.clone())
            .addr("127.0.0.1:4000")
            .bytes(2)
            .parts(&[20, 30]),
    );
    let a1 = l.push(
        ev(2, 2, "sendto")
            .fd(5)
            .ep(s.clone())
            .addr("127.0.0.1:4000")
            .bytes(7),
    );
    let b1 = l.push(
        ev(1, 1, "recvfrom")
            .fd(3)
            .ep(c.clone())
            .addr("127.0.0.1:53")
            .bytes(7),
    );
    // One datagram that nobody reads: lost.
    l.push(
        ev(1, 1, "sendto")
            .fd(3)
            .ep(c.clone())
            .addr("127.0.0.1:53")
            .bytes(5),
    );
    let g = CausalGraph::build(&l.events);
    let names: Vec<&str> = g.channels().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["client->dns#0", "dns->client#0"]);
    let ms: Vec<(&str, usize, Vec<usize>, bool)> = g
        .messages()
        .iter()
        .map(|m| (m.name.as_str(), m.send, m.recvs.to_vec(), m.lost))
        .collect();
    assert_eq!(
        ms,
        [
            ("client->dns#0/0", s1, vec![r1], false),
            ("client->dns#0/1", s2, vec![r2], false),
            ("client->dns#0/2", s2, vec![r2], false),
            ("client->dns#0/3", s1 + 6, vec![], true),
            ("dns->client#0/0", a1, vec![b1], false),
        ]
    );
    assert_eq!(
        edges(&g, EdgeKind::Message),
        vec![(s1, r1), (s2, r2), (a1, b1)]
    );
}

#[test]
fn dropped_send_takes_no_bytes_and_is_lost() {
    let mut l = Log::default();
    let (a, b) = (tcp("1.1.1.1:1", "2.2.2.2:2"), tcp("2.2.2.2:2", "1.1.1.1:1"));
    l.push(ev(1, 1, "start").node("a"));
    l.push(ev(2, 2, "start").node("b"));
    l.push(ev(1, 1, "connect").fd(3).ep(a.clone()));
    l.push(ev(2, 2, "accept").fd(3).ret(Some(4)).fds(&[4], [b.clone()]));
    let w1 = l.push(ev(1, 1, "write").fd(3).ep(a.clone()).bytes(4));
    l.push(
        ev(1, 1, "write")
            .fd(3)
            .ep(a.clone())
            .bytes(4)
            .injected("drop"),
    );
    let r = l.push(ev(2, 2, "read").fd(4).ep(b.clone()).bytes(4));
    l.push(ev(2, 2, "read").fd(4).ep(b).ret(None)); // still blocked at the end
    let g = CausalGraph::build(&l.events);
    assert_eq!(edges(&g, EdgeKind::Message), vec![(w1, r)]);
    assert!(g.messages()[1].lost && g.messages()[1].dropped);
}

#[test]
fn concurrency_and_clocks() {
    let mut l = Log::default();
    let cs = client_server(&mut l, 0, 5000);
    let g = CausalGraph::build(&l.events);
    // primary's listen and client's connect are concurrent.
    assert!(g.concurrent(2, cs.connect));
    assert!(!g.concurrent(cs.req, cs.req_read));
    let t_client = g.thread_of(cs.req);
    assert_eq!(
        g.clock(cs.req_read)[t_client],
        g.position(cs.req) as u32 + 1
    );
    assert!(g.lamport(cs.req) < g.lamport(cs.req_read));
}

/// Recording a run computes its trace class and window index from the
/// graph: that must not make the vector clocks exist, which at 10^6 events
/// with hundreds of threads were most of `bop run`'s memory
/// (docs/PERFORMANCE.md, issue 16). A happens-before query still does.
#[test]
fn recording_path_does_not_compute_clocks() {
    let events = kv_set();
    let g = CausalGraph::build(&events);
    assert!(
        g.workload_end().is_some(),
        "the fixture has a scenario client"
    );
    let class = trace_class(&g);
    let _ = super::class_structure(&g);
    for i in 0..events.len() {
        let _ = (export::event_out(&g, i), g.lamport(i));
    }
    let _ = (
        g.edges(),
        g.unseen(),
        export::Export::from_graph(&manifest(), &g),
    );
    let _ = (
        export::processes_out(&g),
        export::threads_out(&g),
        export::channels_out(&g),
    );
    assert!(!g.clocks_computed(), "the recording path computed clocks");
    assert_eq!(class, trace_class(&CausalGraph::build(&events)));
    let (a, b) = (0, events.len() - 1);
    assert_eq!(g.happens_before(a, b), g.causal_past(b)[a]);
    assert!(g.clocks_computed());
}

/// Moves event `i` of `log` to position `to` and renumbers seq: a different
/// recording order of the same run.
fn reorder(events: &[Event], order: &[usize]) -> Vec<Event> {
    order
        .iter()
        .enumerate()
        .map(|(k, &i)| Event {
            seq: k as u64,
            ..events[i].clone()
        })
        .collect()
}

#[test]
fn trace_class_ignores_interleaving_pids_and_ports() {
    let mut a = Log::default();
    client_server(&mut a, 0, 5000);
    let mut b = Log::default();
    client_server(&mut b, 1000, 6123);
    // Swap two concurrent events: primary's listen (2) and client's connect (3).
    let mut order: Vec<usize> = (0..b.events.len()).collect();
    order.swap(2, 3);
    let b2 = reorder(&b.events, &order);
    let (ga, gb) = (CausalGraph::build(&a.events), CausalGraph::build(&b2));
    assert_eq!(trace_class(&ga), trace_class(&gb));
    assert_eq!(trace_class(&ga).len(), 16);
}

#[test]
fn trace_class_separates_message_orders() {
    let a = CausalGraph::build(&two_clients(0, false)).pipe(|g| trace_class(&g));
    let a2 = CausalGraph::build(&two_clients(0, true)).pipe(|g| trace_class(&g));
    let b = CausalGraph::build(&two_clients(1, false)).pipe(|g| trace_class(&g));
    assert_eq!(
        a, a2,
        "the clients' writes are concurrent: their order is not structure"
    );
    assert_ne!(a, b, "primary read the clients in a different order");
}

#[test]
fn trace_class_ignores_poll_counts() {
    let mut events = two_clients(0, false);
    let base = trace_class(&CausalGraph::build(&events));
    let extra = Event {
        seq: 1000,
        ..events
            .iter()
            .find(|e| e.call == "epoll_wait")
            .unwrap()
            .clone()
    };
    events.push(extra.clone());
    events.push(Event {
        seq: 1001,
        call: "read".into(),
        errno: Some("EAGAIN".into()),
        ret: Some(-11),
        fd: Some(4),
        ..extra
    });
    assert_eq!(trace_class(&CausalGraph::build(&events)), base);
}

/// Tiny pipe-through helper so tests read left to right.
trait Pipe: Sized {
    fn pipe<R>(self, f: impl FnOnce(Self) -> R) -> R {
        f(self)
    }
}
impl<T> Pipe for T {}

#[test]
fn damaged_log_cycle_is_broken() {
    let mut l = Log::default();
    let p = pipe(1);
    l.push(ev(1, 1, "start").node("a"));
    // A read recorded before the write in the same thread: impossible, so
    // the message edge goes backwards in program order and is dropped.
    l.push(ev(1, 1, "read").fd(3).ep(p.clone()).bytes(2));
    l.push(ev(1, 1, "write").fd(4).ep(p).bytes(2));
    let g = CausalGraph::build(&l.events);
    assert_eq!(g.broken_edges().len(), 1);
    assert_eq!(g.topo_order().len(), 3);
}

#[test]
fn unfinished_events_and_empty_log() {
    let g = CausalGraph::build(&[]);
    assert!(g.processes().is_empty());
    assert_eq!(trace_class(&g).len(), 16);
    let mut l = Log::default();
    l.push(ev(1, 1, "start").node("a"));
    l.push(ev(1, 1, "accept").fd(3).ret(None));
    // A refused connect makes no channel and no edge.
    l.push(
        ev(1, 1, "connect")
            .fd(4)
            .ep(tcp("1.1.1.1:1", "2.2.2.2:2"))
            .errno("ECONNREFUSED"),
    );
    let g = CausalGraph::build(&l.events);
    assert_eq!(g.event_name(1), "a:t0/1:accept");
    assert!(g.channels().is_empty() && g.edges().is_empty());
}

#[test]
fn export_json_snapshot() {
    let mut l = Log::default();
    client_server(&mut l, 0, 5000);
    insta::assert_json_snapshot!("client_server_export", graph_json(&manifest(), &l.events));
}

#[test]
fn other_formats_render() {
    let mut l = Log::default();
    let cs = client_server(&mut l, 0, 5000);
    let m = manifest();
    let dot = render(&m, &l.events, Format::Dot);
    assert!(dot.starts_with("digraph \"r1\" {"), "{dot}");
    assert!(
        dot.contains(&format!(
            "e{} -> e{} [color=blue, label=\"client->primary#0/0\"]",
            cs.req, cs.req_read
        )),
        "{dot}"
    );
    assert_eq!(dot.matches("subgraph").count(), 2);

    let shiviz = render(&m, &l.events, Format::Shiviz);
    let lines: Vec<&str> = shiviz.lines().collect();
    assert_eq!(lines.len(), 2 * l.events.len());
    for pair in lines.chunks(2) {
        let (host, clock) = pair[1].split_once(' ').unwrap();
        let clock: serde_json::Value = serde_json::from_str(clock).unwrap();
        assert!(clock.get(host).is_some(), "{pair:?}");
    }
    assert!(
        shiviz.contains("primary:t0 {\"client:t0\":3,\"primary:t0\":4}"),
        "{shiviz}"
    );

    let perfetto: serde_json::Value =
        serde_json::from_str(&render(&m, &l.events, Format::Perfetto)).unwrap();
    let evs = perfetto["traceEvents"].as_array().unwrap();
    assert_eq!(
        evs.iter().filter(|e| e["ph"] == "X").count(),
        l.events.len()
    );
    assert_eq!(evs.iter().filter(|e| e["ph"] == "s").count(), 4);
    assert_eq!(evs.iter().filter(|e| e["ph"] == "f").count(), 4);
    assert!(
        evs.iter()
            .any(|e| e["ph"] == "M" && e["args"]["name"] == "client:t0")
    );

    let json: serde_json::Value =
        serde_json::from_str(&render(&m, &l.events, Format::Json)).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!("perfetto".parse::<Format>().unwrap(), Format::Perfetto);
    assert!("svg".parse::<Format>().is_err());
}

#[test]
fn timeline_reads_like_strace() {
    let mut l = Log::default();
    client_server(&mut l, 0, 5000);
    let text = super::show::timeline(&manifest(), &l.events);
    assert!(
        text.contains("\nclient (pid 100, exe proc, exit 0)\n"),
        "{text}"
    );
    assert!(
        text.contains("client:t0/2:write(3, client->primary#0, 5) = 5  → msg client->primary#0/0 to primary:t0/3:read"),
        "{text}"
    );
    assert!(
        text.contains("← msg client->primary#0/0 from client:t0/2:write"),
        "{text}"
    );
    assert!(text.contains("← eof from client:t0/4:close"), "{text}");
}

/// A recorded-style log (the JSON lines of EVENTS.md): a client sets a key
/// on a primary that replicates it, then logs through a child over a pipe
/// and sends a metrics datagram to a collector outside the trace.
fn kv_set() -> Vec<Event> {
    include_str!("fixtures/kv_set.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("fixture line parses"))
        .collect()
}

#[test]
fn fixture_names_and_edges() {
    let events = kv_set();
    let g = CausalGraph::build(&events);
    let procs: Vec<&str> = g.processes().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(procs, ["primary", "replica", "client", "client/logger#0"]);
    let chans: Vec<&str> = g.channels().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        chans,
        [
            "replica->primary#0",
            "client->primary#0",
            "pipe:client#0",
            "client->127.0.0.1:8125#0"
        ]
    );
    let ms: Vec<(&str, usize)> = g
        .messages()
        .iter()
        .map(|m| (m.name.as_str(), m.recvs.len()))
        .collect();
    assert_eq!(
        ms,
        [
            ("replica->primary#0/0", 1),
            ("replica->primary#0/r0", 2),
            ("client->primary#0/0", 1),
            ("client->primary#0/1", 1),
            ("client->primary#0/r0", 1),
            ("pipe:client#0/0", 1),
            ("client->127.0.0.1:8125#0/0", 0),
        ]
    );
    assert!(g.messages().iter().all(|m| !m.lost));
    let eofs: Vec<(String, String)> = edges(&g, EdgeKind::Eof)
        .into_iter()
        .map(|(a, b)| (g.event_name(a), g.event_name(b)))
        .collect();
    assert_eq!(
        eofs,
        [
            (
                "client:t0/11:close".to_string(),
                "client/logger#0:t0/7:read".to_string()
            ),
            (
                "client:t0/14:close".to_string(),
                "primary:t0/17:read".to_string()
            ),
        ]
    );
    assert_eq!(edges(&g, EdgeKind::Exit).len(), 1);
    assert!(g.broken_edges().is_empty());
}

#[test]
fn fixture_export_and_timeline_snapshots() {
    let events = kv_set();
    let mut m = manifest();
    m.id = "kv_set".into();
    insta::assert_json_snapshot!("kv_set_export", graph_json(&m, &events));
    insta::assert_snapshot!("kv_set_timeline", super::show::timeline(&m, &events));
}

/// Two threads write one pipe on the fast path, whose calls reach the log
/// when each thread's ring is drained: the later-drained write entered
/// first, and the bytes are matched in the order they entered the kernel.
#[test]
fn fast_path_writes_of_two_threads_on_one_pipe_match_in_entry_order() {
    let mut l = Log::default();
    let p = pipe(9);
    l.push(ev(1, 1, "start").node("w"));
    l.push(ev(1, 1, "pipe2").fds(&[3, 4], [p.clone(), p.clone()]));
    l.push(ev(1, 1, "clone").child(2));
    l.push(ev(1, 2, "start").child(1).thread());
    let fast = |mut e: Event, start_ns: u64| {
        e.path = bop_model::CallPath::Fast;
        e.start_ns = start_ns;
        e.end_ns = Some(start_ns + 100);
        e
    };
    // Thread 1's write (5 bytes) entered at 20 µs, thread 2's (3) at 10 µs.
    let a = l.push(ev(1, 1, "write").fd(4).ep(p.clone()).bytes(5));
    l.events[a] = fast(l.events[a].clone(), 20_000);
    let b = l.push(ev(1, 2, "write").fd(4).ep(p.clone()).bytes(3));
    l.events[b] = fast(l.events[b].clone(), 10_000);
    let r1 = l.push(ev(1, 1, "read").fd(3).ep(p.clone()).bytes(3));
    let r2 = l.push(ev(1, 1, "read").fd(3).ep(p.clone()).bytes(5));
    let g = CausalGraph::build(&l.events);
    assert_eq!(edges(&g, EdgeKind::Message), vec![(a, r2), (b, r1)]);
    // On the ptrace path the recording order is the kernel's: kept as is.
    let mut slow = l.events.clone();
    for e in &mut slow {
        e.path = bop_model::CallPath::Ptrace;
    }
    let g = CausalGraph::build(&slow);
    assert_eq!(
        edges(&g, EdgeKind::Message),
        vec![(a, r1), (a, r2), (b, r2)]
    );
}

#[test]
fn connections_never_accepted_count_after_those_that_were() {
    // A client retrying until its server is up: the attempts refused (here
    // one, non-blocking, never accepted) depend on timing, so they must
    // not shift the name of the connection that was accepted.
    let mut l = Log::default();
    let (c, s) = (1, 2);
    let listening = Endpoint {
        peer: None,
        ..tcp("127.0.0.1:7000", "")
    };
    l.push(ev(s, s, "start").ret(None).node("primary"));
    l.push(ev(c, c, "start").ret(None).node("client"));
    l.push(ev(s, s, "listen").fd(3).ep(listening));
    let refused = tcp("127.0.0.1:40001", "127.0.0.1:7000");
    l.push(
        ev(c, c, "connect")
            .fd(3)
            .ep(refused.clone())
            .addr("127.0.0.1:7000")
            .errno("EINPROGRESS"),
    );
    l.push(ev(c, c, "close").fd(3).ep(refused));
    let (ce, se) = (
        tcp("127.0.0.1:40002", "127.0.0.1:7000"),
        tcp("127.0.0.1:7000", "127.0.0.1:40002"),
    );
    let (connect, _) = connection(&mut l, (c, s), (&ce, &se));
    l.push(ev(c, c, "write").fd(3).ep(ce).bytes(5));
    l.push(ev(s, s, "read").fd(4).ep(se).bytes(5));
    let g = CausalGraph::build(&l.events);
    let mut names: Vec<(&str, bool)> = g
        .channels()
        .iter()
        .map(|ch| (ch.name.as_str(), ch.created_by == Some(connect)))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("client->primary#0", true), ("client->primary#1", false)]
    );
}

/// The class is hashed one kind of line at a time (channel, edge, event,
/// lost, message) so that only one kind is held: that is the same text as
/// sorting all lines only if the kinds' lines follow each other in that
/// order when sorted together.
#[test]
fn class_lines_sorted_by_kind_are_sorted_as_a_whole() {
    let events = kv_set();
    let g = CausalGraph::build(&events);
    let lines = super::class_structure(&g);
    let mut whole = lines.clone();
    whole.sort();
    assert_eq!(lines, whole);
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    let mut seen = kinds.clone();
    seen.dedup();
    assert_eq!(seen, ["channel", "edge", "event", "message"]);
}
