//! Faults named by a message instead of an event (an error on a message's
//! send or first receive, a crash or a partition after a send), replayed
//! on runs shaped like a Go program's: which OS thread makes a call, and
//! how many reads find nothing yet (`EAGAIN`, then the netpoller), change
//! from run to run, so event names do, while message names do not.

use bop_model::{ErrorCall, Event, Fault};

use super::testrun::{Conn, End, Run, replay};
use super::tests::{CLIENT, SERVER, acted, decision, injector, summary};
use super::{Action, Decision};

/// The server's two worker threads.
const WORKERS: [i32; 2] = [20, 21];

/// What [`go_like`] recorded, by event index.
struct GoRun {
    run: Run,
    /// The server's first read of each request that took its bytes.
    reads: Vec<usize>,
    /// The server's reads of each request that found nothing (`EAGAIN`).
    empty: Vec<Vec<usize>>,
    /// The server's reply sends.
    replies: Vec<usize>,
}

fn data(end: &End, n: u64) -> impl FnOnce(&mut Event) + use<> {
    let end = end.clone();
    move |e| {
        e.fd = Some(end.fd);
        e.endpoint = Some(end.ep.into());
        e.ret = Some(n as i64);
        e.bytes = Some(n);
    }
}

fn nothing(end: &End) -> impl FnOnce(&mut Event) + use<> {
    let end = end.clone();
    move |e| {
        e.fd = Some(end.fd);
        e.endpoint = Some(end.ep.into());
        e.ret = Some(-11);
        e.errno = Some("EAGAIN".into());
    }
}

/// The client sends `n` requests of 10 bytes on one connection; the
/// server reads request k on worker `thread(k)`, first `empty(k)` times
/// before the request is sent (finding nothing), and replies with 5 bytes
/// from the same worker.
fn go_like(n: usize, thread: impl Fn(usize) -> i32, empty: impl Fn(usize) -> usize) -> GoRun {
    let mut run = Run::default();
    run.node(CLIENT, "client").node(SERVER, "server");
    for w in WORKERS {
        run.thread(SERVER, SERVER, w);
    }
    let c: Conn = run.connect(CLIENT, SERVER);
    let mut out = GoRun {
        run: Run::default(),
        reads: vec![],
        empty: vec![],
        replies: vec![],
    };
    for k in 0..n {
        let t = thread(k);
        let e: Vec<usize> = (0..empty(k))
            .map(|_| run.push(SERVER, "read", nothing(&c.b)))
            .collect();
        for &i in &e {
            run.retid(i, t);
        }
        out.empty.push(e);
        run.push(CLIENT, "write", data(&c.a, 10));
        let read = run.push(SERVER, "read", data(&c.b, 10));
        run.retid(read, t);
        out.reads.push(read);
        let reply = run.push(SERVER, "write", data(&c.b, 5));
        run.retid(reply, t);
        out.replies.push(reply);
        run.push(CLIENT, "read", data(&c.a, 5));
    }
    out.run = run;
    out
}

/// The parent: requests read on alternating workers, never too early.
fn parent() -> GoRun {
    go_like(3, |k| WORKERS[k % 2], |_| 0)
}

/// A rerun: the other worker each time, and request k read k times too
/// early first.
fn rerun() -> GoRun {
    go_like(3, |k| WORKERS[(k + 1) % 2], |k| k)
}

/// A reset on the first receive of `message`.
fn reset_on(message: &str) -> Fault {
    Fault::error_on(ErrorCall::Receive(message.into()), "ECONNRESET")
}

fn reset(i: usize) -> (usize, Decision) {
    (
        i,
        decision(Action::Fail(libc::ECONNRESET), "error ECONNRESET", 0),
    )
}

#[test]
fn event_names_of_a_go_like_run_change_and_message_names_do_not() {
    let (p, r) = (parent(), rerun());
    let name = |g: &GoRun, i: usize| g.run.event_name(i);
    assert_ne!(name(&p, p.reads[1]), name(&r, r.reads[1]));
    assert_ne!(name(&p, p.replies[1]), name(&r, r.replies[1]));
    assert_eq!(
        p.run.message_name(p.replies[1]),
        r.run.message_name(r.replies[1])
    );
    // So a reset named by the parent's event misses the rerun's read.
    let by_event = Fault::error_on(ErrorCall::Event(name(&p, p.reads[1])), "ECONNRESET");
    let mut inj = injector(vec![by_event], &p.run);
    let (decisions, _) = replay(&mut inj, r.run.events());
    assert!(
        !acted(decisions).iter().any(|(i, _)| *i == r.reads[1]),
        "the parent's event name is another call here"
    );
}

#[test]
fn a_reset_on_a_messages_first_receive_fires_at_that_stream_position() {
    let (p, r) = (parent(), rerun());
    let request = "client->server#0/1";
    let mut inj = injector(vec![reset_on(request)], &p.run);
    let (decisions, _) = replay(&mut inj, r.run.events());
    // Request 1 is read once too early in the rerun, after request 0 was
    // taken whole: that read is the one that goes for request 1's bytes
    // (in Go, the same Read call, retried inside the runtime).
    assert_eq!(r.empty[1].len(), 1);
    assert_eq!(acted(decisions), vec![reset(r.empty[1][0])]);
    let seq = Some(r.run.events()[r.empty[1][0]].seq);
    assert_eq!(
        summary(&inj.records()[0]),
        (true, "error ECONNRESET", 1, Some(("read", seq)))
    );
    // Replayed on the parent itself: the read that took its bytes.
    let mut inj = injector(vec![reset_on(request)], &p.run);
    let (decisions, _) = replay(&mut inj, p.run.events());
    assert_eq!(acted(decisions), vec![reset(p.reads[1])]);
}

#[test]
fn a_first_message_is_found_before_its_sender_has_sent_anything() {
    // The server reads before the client's first send is seen: the
    // direction is the one that send will get.
    let p = parent();
    let r = go_like(2, |_| WORKERS[1], |k| if k == 0 { 2 } else { 0 });
    let first = "client->server#0/0";
    let mut inj = injector(vec![reset_on(first)], &p.run);
    let (decisions, _) = replay(&mut inj, r.run.events());
    assert_eq!(acted(decisions), vec![reset(r.empty[0][0])]);
}

#[test]
fn a_receive_that_took_the_message_before_its_send_was_seen_is_not_faked() {
    // The rerun's server read request 1 and request 2 in one read: no
    // receive begins at request 2's first byte, so the fault never fires.
    let p = parent();
    let mut r = Run::default();
    r.node(CLIENT, "client").node(SERVER, "server");
    let c = r.connect(CLIENT, SERVER);
    for _ in 0..3 {
        r.push(CLIENT, "write", data(&c.a, 10));
    }
    r.push(SERVER, "read", data(&c.b, 10));
    r.push(SERVER, "read", data(&c.b, 20));
    let mut inj = injector(vec![reset_on("client->server#0/2")], &p.run);
    let (decisions, _) = replay(&mut inj, r.events());
    assert!(acted(decisions).is_empty());
    let record = &inj.records()[0];
    assert!(!record.fired);
    assert_eq!(
        record.effect,
        "not fired: no receive began at its message's first byte"
    );
}

#[test]
fn a_broken_pipe_on_a_messages_send_fires_whichever_thread_sends_it() {
    let (p, r) = (parent(), rerun());
    let reply = p.run.message_name(p.replies[1]);
    assert_eq!(reply, "client->server#0/r1");
    let mut inj = injector(
        vec![Fault::error_on(ErrorCall::Send(reply.clone()), "EPIPE")],
        &p.run,
    );
    let (decisions, _) = replay(&mut inj, r.run.events());
    assert_eq!(
        acted(decisions),
        vec![(
            r.replies[1],
            decision(Action::Fail(libc::EPIPE), "error EPIPE", 0)
        )]
    );
    assert_eq!(inj.records()[0].at.as_ref().unwrap().tid, WORKERS[0]);
}

#[test]
fn a_crash_after_a_send_starts_there_whichever_thread_sends_it() {
    let (p, r) = (parent(), rerun());
    let crash = Fault::Crash {
        process: "server".into(),
        after: None,
        after_send: Some(p.run.message_name(p.replies[0])),
        kill: false,
    };
    let mut inj = injector(vec![crash], &p.run);
    let (decisions, _) = replay(&mut inj, r.run.events());
    let silenced = "drop (crash of server)";
    assert_eq!(
        acted(decisions),
        vec![
            (r.replies[1], decision(Action::Drop, silenced, 0)),
            (r.replies[2], decision(Action::Drop, silenced, 0)),
        ]
    );
    let seq = Some(r.run.events()[r.replies[0]].seq);
    let effect = "server crashed: its messages are no longer delivered";
    assert_eq!(
        summary(&inj.records()[0]),
        (true, effect, 2, Some(("write", seq)))
    );
}

#[test]
fn a_partition_after_a_send_starts_there() {
    let (p, r) = (parent(), rerun());
    let cut = Fault::Partition {
        groups: [vec!["client".into()], vec!["server".into()]],
        after: None,
        after_send: Some(p.run.message_name(p.replies[1])),
        after_ms: None,
        heal_ms: None,
        connect: bop_model::ConnectMode::Refuse,
    };
    let mut inj = injector(vec![cut], &p.run);
    let (decisions, _) = replay(&mut inj, r.run.events());
    let acted = acted(decisions);
    assert_eq!(
        acted.first().map(|(i, d)| (*i, d.action.clone())),
        Some((r.reads[2] - 1, Action::Drop)),
        "the next request is the first message across: {acted:?}"
    );
    assert!(inj.records()[0].fired);
}

#[test]
fn a_channel_pattern_on_a_receive_call_counts_the_receives_on_it() {
    let p = parent();
    let second_read = Fault::Error {
        event: None,
        connect: None,
        send: None,
        receive: None,
        process: Some("server".into()),
        call: Some("read".into()),
        channel: Some("client->server#0".into()),
        nth: Some(1),
        errno: "ECONNRESET".into(),
    };
    let mut inj = injector(vec![second_read], &p.run);
    let (decisions, _) = replay(&mut inj, p.run.events());
    assert_eq!(acted(decisions), vec![reset(p.reads[1])]);
}

#[test]
fn a_receive_of_a_message_that_cannot_occur_is_refused() {
    let p = parent();
    let bad = reset_on("nosuch->server#0/1");
    let e = super::Injector::new(&bop_model::FaultPlan { faults: vec![bad] }, p.run.events())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("cannot occur"), "{e}");
}

/// The client connects to the server twice, the second time from thread
/// `second` (the first from its main thread).
fn two_connections(second: i32) -> (Run, usize) {
    let mut r = Run::default();
    r.node(CLIENT, "client").node(SERVER, "server");
    r.thread(CLIENT, CLIENT, 10).thread(CLIENT, CLIENT, 11);
    let first = r.connect(CLIENT, SERVER);
    r.push(CLIENT, "write", data(&first.a, 3));
    let c = r.connect(CLIENT, SERVER);
    r.retid(c.at, second);
    r.push(CLIENT, "write", data(&c.a, 3));
    (r, c.at)
}

fn refuse(channel: &str) -> Fault {
    Fault::error_on(ErrorCall::Connect(channel.into()), "ECONNREFUSED")
}

#[test]
fn a_refused_connect_is_named_by_the_channel_it_opened() {
    let (p, _) = two_connections(10);
    let mut inj = injector(vec![refuse("client->server#1")], &p);
    let (r, second) = two_connections(11);
    assert_ne!(p.event_name(second), r.event_name(second));
    let (decisions, _) = replay(&mut inj, r.events());
    assert_eq!(
        acted(decisions),
        vec![(
            second,
            decision(Action::Fail(libc::ECONNREFUSED), "error ECONNREFUSED", 0)
        )]
    );
    let bad = refuse("client->nosuch#0");
    let e = super::Injector::new(&bop_model::FaultPlan { faults: vec![bad] }, p.events())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("not a channel"), "{e}");
}
