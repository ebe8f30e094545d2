//! Tests of run comparison: hand-written logs for one behaviour each, and
//! three recorded runs of the bop-kv demo (`fixtures/`: `base`, `dropped`
//! = rerun with `--drop 'client->primary#0/r1'`, `delayed` = rerun with
//! `--delay 'primary->replica#0/0=500'`).

use super::{Comparison, DivergenceKind, compare, render_text};
use crate::testlog::{Ev, Log, connection, ev, manifest, pipe, tcp, two_clients};
use bop_model::{Event, Manifest, Verdict};

fn cmp(a: &[Event], b: &[Event]) -> Comparison {
    compare((&manifest("a"), a), (&manifest("b"), b))
}

fn killed(pid: i32, sig: &str) -> Event {
    let mut e = ev(pid, pid, "killed");
    e.detail.signal = Some(sig.into());
    e
}

/// client (pid 100) sends two requests to primary (pid 200) on one
/// connection, each answered. With `drop`, the injector dropped the second
/// reply: the client's read of it blocks until the run ends (ret null), so
/// the client never closes, the primary's next read blocks too, and the
/// runner kills both.
fn req_reply(drop: bool) -> Vec<Event> {
    let mut l = Log::default();
    let (c, s) = (100, 200);
    let ce = tcp("127.0.0.1:5000", "127.0.0.1:7000");
    let se = tcp("127.0.0.1:7000", "127.0.0.1:5000");
    l.push(ev(s, s, "start").ret(None).node("primary"));
    l.push(ev(c, c, "start").ret(None).node("client"));
    l.push(ev(s, s, "listen").fd(3));
    connection(&mut l, (c, s), (&ce, &se));
    for (req, reply) in [(5, 3), (4, 2)] {
        l.push(ev(c, c, "write").fd(3).ep(ce.clone()).bytes(req));
        l.push(ev(s, s, "read").fd(4).ep(se.clone()).bytes(req));
        let w = ev(s, s, "write").fd(4).ep(se.clone()).bytes(reply);
        if drop && reply == 2 {
            l.push(w.injected("drop"));
            l.push(ev(c, c, "read").fd(3).ep(ce.clone()).ret(None));
        } else {
            l.push(w);
            l.push(ev(c, c, "read").fd(3).ep(ce.clone()).bytes(reply));
        }
    }
    if drop {
        l.push(ev(s, s, "read").fd(4).ep(se.clone()).ret(None));
        l.push(killed(c, "SIGTERM"));
        l.push(killed(s, "SIGTERM"));
    } else {
        l.push(ev(c, c, "close").fd(3).ep(ce));
        l.push(ev(s, s, "read").fd(4).ep(se.clone()).bytes(0));
        l.push(ev(s, s, "close").fd(4).ep(se));
        l.push(ev(c, c, "exit_group").status(0));
        l.push(ev(s, s, "exit_group").status(0));
    }
    l.events
}

/// A racy guest: `p` makes a pipe and forks two children that each write
/// one message into it (5 and 7 bytes); `p` reads twice. `swapped` = the
/// second child's message arrives first.
fn pipe_race(swapped: bool) -> Vec<Event> {
    let mut l = Log::default();
    let p = pipe(77);
    l.push(ev(1, 1, "start").node("p"));
    l.push(ev(1, 1, "pipe2").fds(&[3, 4], [p.clone(), p.clone()]));
    l.push(ev(1, 1, "fork").child(2));
    l.push(ev(2, 2, "start").child(1).ret(None));
    l.push(ev(1, 1, "fork").child(3));
    l.push(ev(3, 3, "start").child(1).ret(None));
    l.push(ev(1, 1, "close").fd(4).ep(p.clone()));
    let order = if swapped {
        [(3, 7), (2, 5)]
    } else {
        [(2, 5), (3, 7)]
    };
    for (pid, n) in order {
        l.push(ev(pid, pid, "write").fd(4).ep(p.clone()).bytes(n));
    }
    for (_, n) in order {
        l.push(ev(1, 1, "read").fd(3).ep(p.clone()).bytes(n));
    }
    for pid in [2, 3] {
        l.push(ev(pid, pid, "exit_group").status(0));
    }
    l.events
}

/// Reads a recorded run from `fixtures/`.
fn fixture(id: &str) -> (Manifest, Vec<Event>) {
    let (m, e) = match id {
        "base" => (
            include_str!("fixtures/base.manifest.json"),
            include_str!("fixtures/base.events.jsonl"),
        ),
        "dropped" => (
            include_str!("fixtures/dropped.manifest.json"),
            include_str!("fixtures/dropped.events.jsonl"),
        ),
        "delayed" => (
            include_str!("fixtures/delayed.manifest.json"),
            include_str!("fixtures/delayed.events.jsonl"),
        ),
        _ => unreachable!("no fixture {id}"),
    };
    let events = e
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (serde_json::from_str(m).unwrap(), events)
}

fn compare_fixtures(a: &str, b: &str) -> Comparison {
    let (ma, ea) = fixture(a);
    let (mb, eb) = fixture(b);
    compare((&ma, &ea), (&mb, &eb))
}

/// A comparison asks only whether events are in the workload's causal
/// past: one backward walk, not vector clocks (most of the memory of a
/// 10^6-event comparison), and the same answer as `happens_before`.
#[test]
fn a_side_finds_the_workload_without_vector_clocks() {
    let (_, events) = fixture("base");
    let side = super::side::Side::new(&events);
    let h = side.g.workload_end().expect("the demo has a client");
    let inside: Vec<bool> = (0..events.len()).map(|i| side.in_workload(i)).collect();
    assert!(!side.g.clocks_computed(), "the side computed clocks");
    for (i, &inside) in inside.iter().enumerate() {
        assert_eq!(inside, i == h || side.g.happens_before(i, h), "event {i}");
    }
    assert!(inside.iter().any(|&x| !x), "teardown events are outside");
}

#[test]
fn a_run_compared_with_itself_has_no_differences() {
    for log in [
        req_reply(false),
        req_reply(true),
        pipe_race(false),
        two_clients(0, false),
    ] {
        let c = cmp(&log, &log);
        assert!(c.is_empty(), "{c:#?}");
        assert!(c.first_divergence.is_none());
        assert!(c.same_class);
        assert!(c.summary.contains("No differences"), "{}", c.summary);
    }
    for id in ["base", "dropped", "delayed"] {
        let c = compare_fixtures(id, id);
        assert!(c.is_empty(), "{id}: {c:#?}");
        assert!(render_text(&c).contains("none: the runs match event for event"));
    }
}

#[test]
fn kernel_ids_and_times_do_not_matter() {
    // Same run with other pids, ports and timestamps.
    let a = req_reply(false);
    let mut b = a.clone();
    for e in &mut b {
        e.pid += 1000;
        e.tid += 1000;
        e.start_ns = e.start_ns * 3 + 17;
        e.end_ns = e.end_ns.map(|t| t * 3 + 20);
        e.fd = e.fd.map(|fd| fd + 10);
        for ep in e
            .endpoint
            .iter_mut()
            .map(std::sync::Arc::make_mut)
            .chain(&mut e.detail.new_endpoints)
        {
            ep.local = ep.local.replace("5000", "6000");
            ep.peer = ep.peer.as_ref().map(|p| p.replace("5000", "6000"));
        }
    }
    assert!(cmp(&a, &b).is_empty());
}

#[test]
fn dropped_reply_shows_the_message_its_consequences_and_the_divergence() {
    let c = cmp(&req_reply(false), &req_reply(true));
    assert!(!c.same_class);

    // Exactly one message changed: the dropped reply.
    assert!(c.messages.only_a.is_empty(), "{:#?}", c.messages);
    assert!(c.messages.only_b.is_empty(), "{:#?}", c.messages);
    assert_eq!(c.messages.changed.len(), 1, "{:#?}", c.messages);
    let m = &c.messages.changed[0];
    assert_eq!(m.a.name, "client->primary#0/r1");
    assert_eq!(m.b.name, "client->primary#0/r1");
    assert!(m.b.dropped && m.b.lost && !m.a.dropped && !m.a.lost);
    assert_eq!(m.a.recvs, ["client:t0/5:read"]);
    assert!(m.b.recvs.is_empty());
    assert_eq!(
        m.what,
        [
            "dropped in B",
            "received by client:t0/5:read in A, by nothing in B"
        ]
    );

    // The first divergence is the dropped send, and nothing else is
    // independent of it.
    let d = c.first_divergence.as_ref().unwrap();
    assert_eq!(d.kind, DivergenceKind::Changed);
    assert_eq!(d.thread, "primary:t0");
    assert_eq!(d.a.as_deref(), Some("primary:t0/6:write"));
    assert_eq!(d.b.as_deref(), Some("primary:t0/6:write"));
    assert_eq!(d.after.as_deref(), Some("primary:t0/5:read"));
    assert!(
        d.reason
            .contains("message client->primary#0/r1 was dropped in B"),
        "{}",
        d.reason
    );
    assert!(c.other_divergences.is_empty(), "{:#?}", c.other_divergences);

    // Its consequences, thread by thread.
    assert!(c.processes.is_empty() && c.threads.is_empty() && c.channels.is_empty());
    let threads: Vec<&str> = c.events.iter().map(|t| t.thread.as_str()).collect();
    assert_eq!(threads, ["client:t0", "primary:t0"]);
    let client = &c.events[0];
    let changed: Vec<(&str, &str, &str)> = client
        .changed
        .iter()
        .map(|ch| {
            (
                ch.a.name.as_str(),
                ch.a.outcome.as_str(),
                ch.b.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("client:t0/5:read", "2 bytes", "unfinished"),
            ("client:t0/7:exit_group", "status 0", "SIGTERM"),
        ]
    );
    assert_eq!(
        client.changed[0].what,
        [
            "read 2 bytes in A, never returned in B",
            "received client->primary#0/r1 (sent by primary:t0/6:write) in A, no message in B \
             (client->primary#0/r1 was dropped in B)"
        ]
    );
    let removed: Vec<&str> = client.removed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(removed, ["client:t0/6:close"]);
    assert!(client.inserted.is_empty() && client.moved.is_empty());
    let primary = &c.events[1];
    let changed: Vec<(&str, &str, &str)> = primary
        .changed
        .iter()
        .map(|ch| {
            (
                ch.a.name.as_str(),
                ch.a.outcome.as_str(),
                ch.b.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("primary:t0/6:write", "2 bytes", "2 bytes"),
            ("primary:t0/7:read", "eof", "unfinished"),
            ("primary:t0/9:exit_group", "status 0", "SIGTERM"),
        ]
    );
    assert_eq!(primary.changed[0].b.injected.as_deref(), Some("drop"));
    let removed: Vec<&str> = primary.removed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(removed, ["primary:t0/8:close"]);
}

#[test]
fn comparison_json_snapshot() {
    let mut ma = manifest("base");
    ma.trace_class = Some("ignored: recomputed".into());
    let mut mb = manifest("dropped");
    mb.parent = Some("base".into());
    mb.verdict = Verdict::Fail;
    mb.faults = vec![
        serde_json::from_value(serde_json::json!({
            "fault": { "kind": "drop", "message": "client->primary#0/r1" },
            "fired": true,
            "at": { "event": "primary:t0/6:write", "seq": 12, "pid": 200, "tid": 200,
                    "call": "write", "at_ms": 3 },
            "effect": "drop",
            "count": 1
        }))
        .unwrap(),
    ];
    let (a, b) = (req_reply(false), req_reply(true));
    let c = compare((&ma, &a), (&mb, &b));
    insta::assert_json_snapshot!("req_reply_drop", c);
    // The JSON reads back into the same comparison.
    let back: Comparison = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    insta::assert_snapshot!("req_reply_drop_text", render_text(&c));
}

#[test]
fn messages_arriving_in_swapped_order() {
    let c = cmp(&pipe_race(false), &pipe_race(true));
    assert!(!c.same_class);
    // The children sent the same messages; the reader got them the other
    // way round, so the per-direction ordinals swap too.
    assert!(c.messages.only_a.is_empty() && c.messages.only_b.is_empty());
    let changed: Vec<(&str, &str, &[String], &[String])> = c
        .messages
        .changed
        .iter()
        .map(|m| {
            (
                m.a.name.as_str(),
                m.b.name.as_str(),
                &m.a.recvs[..],
                &m.b.recvs[..],
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            (
                "pipe:p#0/0",
                "pipe:p#0/1",
                &["p:t0/5:read".to_string()][..],
                &["p:t0/6:read".to_string()][..]
            ),
            (
                "pipe:p#0/1",
                "pipe:p#0/0",
                &["p:t0/6:read".to_string()][..],
                &["p:t0/5:read".to_string()][..]
            ),
        ]
    );
    assert_eq!(c.messages.changed[0].a.send, "p/proc#0:t0/1:write");
    assert_eq!(c.messages.changed[0].b.send, "p/proc#0:t0/1:write");
    // The senders did the same; the reader is where the runs diverge.
    let threads: Vec<&str> = c.events.iter().map(|t| t.thread.as_str()).collect();
    assert_eq!(threads, ["p:t0"]);
    let d = c.first_divergence.as_ref().unwrap();
    assert_eq!(d.a.as_deref(), Some("p:t0/5:read"));
    assert!(
        d.reason.contains("read 5 bytes in A, read 7 bytes in B"),
        "{}",
        d.reason
    );
    assert!(
        d.reason.contains("sent by p/proc#0:t0/1:write) in A")
            && d.reason.contains("sent by p/proc#1:t0/1:write) in B"),
        "{}",
        d.reason
    );
    assert!(
        d.reason.contains("arrived at p:t0/6:read in B"),
        "{}",
        d.reason
    );
    assert!(c.other_divergences.is_empty());
}

#[test]
fn reads_of_two_connections_in_swapped_order_are_moved() {
    let c = cmp(&two_clients(0, false), &two_clients(1, false));
    assert!(!c.same_class);
    assert!(c.messages.only_a.is_empty() && c.messages.only_b.is_empty());
    assert_eq!(c.events.len(), 1, "{:#?}", c.events);
    let t = &c.events[0];
    assert_eq!(t.thread, "primary:t0");
    assert!(t.removed.is_empty() && t.inserted.is_empty() && t.changed.is_empty());
    assert_eq!(t.moved.len(), 1);
    assert_eq!(t.moved[0].a.channel.as_deref(), Some("c0->primary#0"));
    // One message is read at another place of primary's order.
    let recv: Vec<&str> = c
        .messages
        .changed
        .iter()
        .map(|m| m.a.name.as_str())
        .collect();
    assert_eq!(recv, ["c0->primary#0/0"]);
    let d = c.first_divergence.as_ref().unwrap();
    assert_eq!(d.kind, DivergenceKind::OnlyA);
    assert_eq!(
        d.reason,
        "primary:t0/4:read (read 4 bytes on c0->primary#0) is reordered in B: it comes after \
         primary:t0/4:read (read 4 bytes on c1->primary#0), as primary:t0/6:read"
    );
}

#[test]
fn extra_events_in_b_shift_no_names() {
    // B's client sends one more request (and gets its reply) before
    // closing: every later ordinal of both threads shifts by two, yet only
    // the new events are reported.
    let a = req_reply(false);
    let mut l = Log::default();
    // Re-stamped by `push`: times are part of EOF matching.
    let copy = |e: &Event| Event {
        end_ns: None,
        ..e.clone()
    };
    for e in &a[..13] {
        l.push(copy(e));
    }
    let (c, s) = (100, 200);
    let ce = tcp("127.0.0.1:5000", "127.0.0.1:7000");
    let se = tcp("127.0.0.1:7000", "127.0.0.1:5000");
    l.push(ev(c, c, "write").fd(3).ep(ce.clone()).bytes(6));
    l.push(ev(s, s, "read").fd(4).ep(se.clone()).bytes(6));
    l.push(ev(s, s, "write").fd(4).ep(se.clone()).bytes(1));
    l.push(ev(c, c, "read").fd(3).ep(ce.clone()).bytes(1));
    for e in &a[13..] {
        l.push(copy(e));
    }
    let cmp = cmp(&a, &l.events);
    let ins: Vec<(&str, Vec<&str>)> = cmp
        .events
        .iter()
        .map(|t| {
            (
                t.thread.as_str(),
                t.inserted.iter().map(|e| e.name.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        ins,
        [
            ("client:t0", vec!["client:t0/6:write", "client:t0/7:read"]),
            (
                "primary:t0",
                vec!["primary:t0/7:read", "primary:t0/8:write"]
            ),
        ]
    );
    assert!(
        cmp.events
            .iter()
            .all(|t| t.removed.is_empty() && t.changed.is_empty()),
        "{:#?}",
        cmp.events
    );
    let only_b: Vec<&str> = cmp
        .messages
        .only_b
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(only_b, ["client->primary#0/2", "client->primary#0/r2"]);
    assert!(cmp.messages.only_a.is_empty() && cmp.messages.changed.is_empty());
    let d = cmp.first_divergence.as_ref().unwrap();
    assert_eq!(d.kind, DivergenceKind::OnlyB);
    assert_eq!(d.b.as_deref(), Some("client:t0/6:write"));
    assert_eq!(d.after.as_deref(), Some("client:t0/5:read"));
}

#[test]
fn recorded_drop_rerun_against_its_parent() {
    let c = compare_fixtures("base", "dropped");
    assert_eq!(c.a.verdict, Verdict::Pass);
    assert_eq!(c.b.verdict, Verdict::Fail);
    assert_eq!(c.b.faults.len(), 1);
    assert_eq!(c.b.faults[0].fault, "drop client->primary#0/r1");
    assert!(c.b.faults[0].fired);
    assert_eq!(c.b.faults[0].at.as_deref(), Some("primary:t3/5:sendto"));

    let d = c.first_divergence.as_ref().unwrap();
    assert_eq!(d.a.as_deref(), Some("primary:t3/5:sendto"), "{d:#?}");
    assert!(
        d.reason
            .contains("message client->primary#0/r1 was dropped in B"),
        "{}",
        d.reason
    );
    // The client's read of the INCR reply timed out, and it retried on a
    // new connection.
    let client = c.events.iter().find(|t| t.thread == "client:t0").unwrap();
    let timeout = client
        .changed
        .iter()
        .find(|ch| ch.a.name == "client:t0/15:recvfrom")
        .unwrap();
    assert_eq!(
        (timeout.a.outcome.as_str(), timeout.b.outcome.as_str()),
        ("2 bytes", "EAGAIN")
    );
    assert_eq!(c.channels.only_b, ["client->primary#1"]);
    assert!(c.threads.only_b.contains(&"primary:t4".to_string()));
    let dropped = c
        .messages
        .changed
        .iter()
        .find(|m| m.a.name == "client->primary#0/r1")
        .unwrap();
    assert!(dropped.b.dropped);
    let retry: Vec<&str> = c.messages.only_b.iter().map(|m| m.name.as_str()).collect();
    assert!(retry.contains(&"client->primary#1/0"), "{retry:?}");
    // The other way round, the same point diverges.
    let back = compare_fixtures("dropped", "base");
    let d = back.first_divergence.as_ref().unwrap();
    assert_eq!(d.a.as_deref(), Some("primary:t3/5:sendto"));
    assert!(
        d.reason.contains("was dropped in A, not in B"),
        "{}",
        d.reason
    );
    let text = render_text(&c);
    assert!(text.contains("== First divergence ==\n  primary:t3/5:sendto: message client->primary#0/r1 was dropped in B"), "{text}");
}

#[test]
fn recorded_delay_rerun_against_its_parent() {
    let c = compare_fixtures("base", "delayed");
    assert_eq!(c.b.faults[0].fault, "delay primary->replica#0/0 by 500 ms");
    // The client-visible effect comes first: the replica served the
    // client's GET before the SET arrived and answered NIL.
    let d = c.first_divergence.as_ref().unwrap();
    assert_eq!(d.a.as_deref(), Some("replica:t2/3:sendto"), "{d:#?}");
    assert!(d.in_workload);
    assert!(
        d.reason.contains(r#"payload "1\n" in A, "NIL\n" in B"#),
        "{}",
        d.reason
    );
    // The held send itself never returned (the run ended first). Nothing
    // traced links it to the stale read (the replica's store is shared
    // memory), so it is another divergence, outside the client's past.
    let held = c
        .other_divergences
        .iter()
        .find(|d| d.a.as_deref() == Some("primary:t2/1:sendto"))
        .unwrap_or_else(|| panic!("{:#?}", c.other_divergences));
    assert!(!held.in_workload);
    assert!(
        held.reason.contains("sent 8 bytes in A, never returned in B; message primary->replica#0/0 does not exist in B"),
        "{}",
        held.reason
    );
    // The replica never got the SET: its read of it is gone, and its
    // next read saw the end of file (when the run ended) right away.
    let replica = c.events.iter().find(|t| t.thread == "replica:t1").unwrap();
    let read = &replica.removed[0];
    assert_eq!(read.name, "replica:t1/2:recvfrom");
    assert_eq!(read.messages, ["primary->replica#0/0"]);
    let eof = &replica.changed[0];
    assert_eq!(
        (eof.a.name.as_str(), eof.b.name.as_str()),
        ("replica:t1/6:recvfrom", "replica:t1/2:recvfrom")
    );
    let lost: Vec<&str> = c.messages.only_a.iter().map(|m| m.name.as_str()).collect();
    assert!(lost.contains(&"primary->replica#0/0"), "{lost:?}");
}

#[test]
fn runs_with_nothing_in_common() {
    let log = req_reply(false);
    let c = cmp(&[], &log);
    assert_eq!(c.processes.only_b, ["client", "primary"]);
    assert_eq!(c.threads.only_b, ["client:t0", "primary:t0"]);
    assert_eq!(c.channels.only_b, ["client->primary#0"]);
    assert_eq!(c.messages.only_b.len(), 4);
    let d = c.first_divergence.as_ref().unwrap();
    assert_eq!(d.kind, DivergenceKind::OnlyB);
    assert!(d.reason.contains("exists only in B"), "{}", d.reason);
    // Both roots start independently: two frontier points.
    assert_eq!(c.other_divergences.len(), 1);
    let back = cmp(&log, &[]);
    assert_eq!(back.first_divergence.unwrap().kind, DivergenceKind::OnlyA);
    assert!(cmp(&[], &[]).is_empty());
}

/// The big-run page's answer is the same comparison: one mark per listed
/// difference, each placed where the event is (its thread, `end_ns` or
/// `start_ns`, Lamport clock), and the divergences placed.
#[test]
fn marks_place_every_difference_of_the_comparison() {
    use super::{MarkKind, compare_marked};
    let (ma, ea) = fixture("base");
    let (mb, eb) = fixture("dropped");
    let full = compare((&ma, &ea), (&mb, &eb));
    let m = compare_marked((&ma, &ea), (&mb, &eb));
    let listed: usize = full.messages.changed.len()
        + full.messages.only_a.len()
        + full.messages.only_b.len()
        + full
            .events
            .iter()
            .map(|t| t.changed.len() + t.moved.len() + t.removed.len() + t.inserted.len())
            .sum::<usize>();
    assert!(listed > 0, "the drop rerun differs");
    assert_eq!(m.marks.len(), listed);
    assert_eq!(m.summary.differences.marks, listed);
    assert_eq!(m.summary.summary, full.summary);
    let (ga, gb) = (
        crate::CausalGraph::build(&ea),
        crate::CausalGraph::build(&eb),
    );
    let check = |g: &crate::CausalGraph<'_>, ev: &[Event], p: &super::Place| {
        let i = (0..ev.len())
            .find(|&i| g.event_name(i) == p.name)
            .unwrap_or_else(|| panic!("{} is not an event", p.name));
        assert_eq!(p.thread, g.threads()[g.thread_of(i)].name);
        assert_eq!(p.time, ev[i].end_ns.unwrap_or(ev[i].start_ns));
        assert_eq!(p.logical, g.lamport(i));
    };
    for mark in &m.marks {
        let (in_a, in_b) = match mark.kind {
            MarkKind::MessageOnlyA | MarkKind::EventOnlyA => (true, false),
            MarkKind::MessageOnlyB | MarkKind::EventOnlyB => (false, true),
            _ => (true, true),
        };
        assert_eq!(mark.a.is_some(), in_a, "{mark:?}");
        assert_eq!(mark.b.is_some(), in_b, "{mark:?}");
        mark.a.iter().for_each(|p| check(&ga, &ea, p));
        mark.b.iter().for_each(|p| check(&gb, &eb, p));
    }
    let d = m.summary.first_divergence.expect("the drop diverges");
    let fd = full.first_divergence.expect("the drop diverges");
    assert_eq!(d.divergence, fd);
    let at = d.at_a.or(d.at_b).expect("the divergence is placed");
    assert_eq!(at.thread, fd.thread);
    assert_eq!(Some(&at.name), fd.a.as_ref().or(fd.b.as_ref()));
}
