//! The tracker on hand-written logs of issue 13's blind spots: eventfd
//! counters (a read consumes every write before it), transfer halves (a
//! splice receives on its input and sends on its output), and sides no
//! traced process held, named by their listener or `{port.NAME}`.

use super::testlog::{Ev, Log, ev, tcp, udp, unix};
use super::{CausalGraph, EdgeKind};
use bop_model::{ChannelKind, Endpoint};

fn eventfd(id: u64) -> Endpoint {
    let id = format!("eventfd:{id}");
    Endpoint {
        kind: Some(ChannelKind::Eventfd),
        stream: false,
        local: id.clone(),
        peer: Some(id),
        path: None,
    }
}

#[test]
fn an_eventfd_read_consumes_every_write_before_it() {
    let mut l = Log::default();
    l.push(ev(1, 1, "start").node("mc"));
    l.push(ev(1, 1, "eventfd2").ret(Some(3)).fds(&[3], [eventfd(7)]));
    l.push(ev(1, 2, "start").thread().child(1));
    let w0 = l.push(ev(1, 1, "write").fd(3).ep(eventfd(7)).bytes(8));
    let w1 = l.push(ev(1, 1, "write").fd(3).ep(eventfd(7)).bytes(8));
    let r0 = l.push(ev(1, 2, "read").fd(3).ep(eventfd(7)).bytes(8));
    let w2 = l.push(ev(1, 1, "write").fd(3).ep(eventfd(7)).bytes(8));
    let r1 = l.push(ev(1, 2, "read").fd(3).ep(eventfd(7)).bytes(8));
    let g = CausalGraph::build(&l.events);
    let ch = &g.channels()[0];
    assert_eq!(
        (ch.kind, ch.name.as_str()),
        (ChannelKind::Eventfd, "eventfd:mc#0")
    );
    let got: Vec<(usize, Vec<usize>)> = g
        .messages()
        .iter()
        .map(|m| (m.send, m.recvs.to_vec()))
        .collect();
    assert_eq!(got, [(w0, vec![r0]), (w1, vec![r0]), (w2, vec![r1])]);
    assert!(
        g.incoming(r0)
            .iter()
            .any(|&(j, e)| j == w1 && e.kind == EdgeKind::Message)
    );
}

#[test]
fn a_splice_receives_on_its_input_and_sends_on_its_output() {
    let mut l = Log::default();
    l.push(ev(1, 1, "start").node("proxy"));
    let (a, b) = (unix(10, 11), unix(11, 10));
    l.push(ev(1, 1, "socketpair").fds(&[3, 4], [a.clone(), b.clone()]));
    l.push(ev(1, 1, "pipe2").fds(&[5, 6], [super::testlog::pipe(20)]));
    let w = l.push(ev(1, 1, "write").fd(3).ep(a).bytes(9));
    let mut input = ev(1, 1, "splice").fd(4).ep(b).bytes(9);
    input.detail.input = true;
    let half_in = l.push(input);
    let half_out = l.push(
        ev(1, 1, "splice")
            .fd(6)
            .ep(super::testlog::pipe(20))
            .bytes(9),
    );
    let r = l.push(ev(1, 1, "read").fd(5).ep(super::testlog::pipe(20)).bytes(9));
    let g = CausalGraph::build(&l.events);
    let by_send: Vec<(usize, Vec<usize>)> = g
        .messages()
        .iter()
        .map(|m| (m.send, m.recvs.to_vec()))
        .collect();
    assert!(by_send.contains(&(w, vec![half_in])), "{by_send:?}");
    assert!(by_send.contains(&(half_out, vec![r])), "{by_send:?}");
    assert!(g.happens_before(w, r));
}

#[test]
fn unlinked_sides_are_named_by_their_listener_or_their_port_name() {
    let mut l = Log::default();
    let mut start = ev(1, 1, "start").node("srv");
    start.detail.ports = [("srv".to_string(), 41000), ("cache".to_string(), 42000)].into();
    l.push(start);
    l.push(ev(2, 2, "start").node("client"));
    l.push(ev(1, 1, "listen").fd(3).ep(Endpoint {
        peer: None,
        ..tcp("127.0.0.1:41000", "")
    }));
    // srv never accepts; nobody listens on the cache port.
    let c = tcp("127.0.0.1:50000", "127.0.0.1:41000");
    l.push(
        ev(2, 2, "connect")
            .fd(3)
            .ep(c.clone())
            .addr("127.0.0.1:41000"),
    );
    l.push(ev(2, 2, "write").fd(3).ep(c).bytes(5));
    l.push(
        ev(2, 2, "sendto")
            .fd(4)
            .ep(udp("127.0.0.1:50001", None))
            .addr("127.0.0.1:42000")
            .bytes(3),
    );
    let g = CausalGraph::build(&l.events);
    let mut names: Vec<&str> = g.channels().iter().map(|c| c.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["client->127.0.0.1:{port.cache}#0", "client->srv#0"]);
    assert!(g.channels().iter().all(|c| c.processes[1].is_none()));
}
