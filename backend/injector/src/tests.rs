//! The injector without ptrace: plans translated through hand-written
//! parent runs, then the same runs replayed as the tracer consults the
//! injector (`testrun`), checking what each fault kind does at which call
//! and what its record says.

use std::time::Duration;

use bop_model::{ConnectMode, ErrorCall, Fault, FaultPlan, FaultRecord, Ms};

use super::plan::{Target, Translation};
use super::testrun::{Run, replay};
use super::{Action, Decision, Injector};

pub(super) const CLIENT: i32 = 1;
pub(super) const SERVER: i32 = 2;
/// A third node's pid, for the tests that need one.
const OTHER: i32 = 3;

/// A run of the client, the server and a third node, `other`.
fn three_nodes() -> Run {
    let mut r = Run::default();
    r.node(CLIENT, "client")
        .node(SERVER, "server")
        .node(OTHER, "other");
    r
}

/// client sends `n` requests of 10 bytes to server on one TCP connection,
/// each answered with 5 bytes. Returns the run and the indices of the
/// requests' and the replies' sends.
fn rpc(n: usize) -> (Run, Vec<usize>, Vec<usize>) {
    let mut r = Run::default();
    r.node(CLIENT, "client").node(SERVER, "server");
    let c = r.connect(CLIENT, SERVER);
    let (mut requests, mut replies) = (Vec::new(), Vec::new());
    for _ in 0..n {
        requests.push(r.send(&c, CLIENT, 10));
        replies.push(r.send(&c, SERVER, 5));
    }
    (r, requests, replies)
}

pub(super) fn injector(faults: Vec<Fault>, parent: &Run) -> Injector {
    Injector::new(&FaultPlan { faults }, parent.events()).unwrap()
}

/// The calls something was done to: (event index, decision).
pub(super) fn acted(decisions: Vec<Option<Decision>>) -> Vec<(usize, Decision)> {
    decisions
        .into_iter()
        .enumerate()
        .filter_map(|(i, d)| Some((i, d?)))
        .collect()
}

pub(super) fn decision(action: Action, label: &str, fault: usize) -> Decision {
    Decision {
        action,
        label: label.into(),
        fault,
    }
}

fn drop_of(message: &str) -> Fault {
    Fault::Drop {
        message: message.into(),
    }
}

/// What an error fault names: an event, or a pattern.
#[derive(Default)]
struct On {
    event: Option<&'static str>,
    process: Option<&'static str>,
    call: Option<&'static str>,
    channel: Option<&'static str>,
    nth: Option<usize>,
}

impl On {
    fn errno(self, errno: &str) -> Fault {
        let own = |s: Option<&str>| s.map(String::from);
        Fault::Error {
            event: own(self.event),
            connect: None,
            send: None,
            receive: None,
            process: own(self.process),
            call: own(self.call),
            channel: own(self.channel),
            nth: self.nth,
            errno: errno.into(),
        }
    }
}

/// When a partition starts and ends, and what connects do.
#[derive(Default)]
struct Cut {
    after: Option<String>,
    after_ms: Option<u64>,
    heal_ms: Option<u64>,
    connect: ConnectMode,
}

impl Cut {
    fn between(self, a: &str, b: &str) -> Fault {
        Fault::Partition {
            groups: [vec![a.into()], vec![b.into()]],
            after: self.after,
            after_send: None,
            after_ms: self.after_ms,
            heal_ms: self.heal_ms,
            connect: self.connect,
        }
    }
}

/// Where a fault fired: the call and the event's seq.
pub(super) type At<'a> = Option<(&'a str, Option<u64>)>;

/// The record's (fired, effect, count, where it fired).
pub(super) fn summary(r: &FaultRecord) -> (bool, &str, u64, At<'_>) {
    let at = r.at.as_ref().map(|a| (a.call.as_str(), a.seq));
    (r.fired, r.effect.as_str(), r.count, at)
}

#[test]
fn plan_names_translate_to_the_parent_runs_locators() {
    let (r, requests, _) = rpc(2);
    assert_eq!(r.message_name(requests[1]), "client->server#0/1");
    let t = Translation::of(r.events());
    assert_eq!(
        t.message("client->server#0/1").unwrap(),
        Target::Message("tcp:client->server#0/1".into())
    );
    assert_eq!(
        t.message("client->server#0/r0").unwrap(),
        Target::Message("tcp:server->client#0/0".into()),
        "a reply is a message the other way"
    );
    assert_eq!(
        t.event("client:t0/1:connect").unwrap(),
        Target::Event("client:t0/connect/0".into())
    );
    assert_eq!(t.process("server").unwrap(), "server");
    assert_eq!(
        t.channel("client->server#0").unwrap(),
        vec!["tcp:client->server#0", "tcp:server->client#0"]
    );
    assert_eq!(
        t.message("client->server#0/9").unwrap(),
        Target::Never("message 'client->server#0/9' did not occur in the parent run".into())
    );
    assert_eq!(
        t.event("client:t0/1:accept").unwrap(),
        Target::Never("event 'client:t0/1:accept' did not occur in the parent run".into())
    );
}

/// Issue 17 item 3: a name that cannot occur in any rerun of the run
/// (malformed, or between processes it does not have) is refused; a
/// message or event that could occur but did not is legal.
#[test]
fn names_that_cannot_occur_in_the_run_are_refused() {
    let (r, _, _) = rpc(1);
    let drop = |m: &str| drop_of(m);
    let delay = |m: &str| Fault::Delay {
        message: m.into(),
        ms: Ms::N(10),
    };
    let error = |e: &str| Fault::error_on(ErrorCall::Event(e.into()), "EPIPE");
    let crash_after = |e: &str| Fault::Crash {
        process: "server".into(),
        after: Some(e.into()),
        after_send: None,
        kill: false,
    };
    let cut_after = |e: &str| {
        Cut {
            after: Some(e.into()),
            ..Cut::default()
        }
        .between("client", "server")
    };
    let processes = "(processes: client, server)";
    let refused: Vec<(Fault, String)> = vec![
        (
            drop("nosuch->other#0/0"),
            format!("no process 'nosuch' or 'other' in the run {processes}"),
        ),
        (delay("client->nosuch#0/0"), "no process 'nosuch'".into()),
        (
            drop("127.0.0.1:9->10.0.0.1#0/0"),
            "none of its processes".into(),
        ),
        (drop("pipe:nosuch#0/0"), "no process 'nosuch'".into()),
        (drop("socketpair:ghost#1/r2"), "no process 'ghost'".into()),
        (drop("pipe:ghost/fd3/0"), "no process 'ghost'".into()),
        (
            drop(""),
            "'' is not a message name (CHANNEL/N or CHANNEL/rN".into(),
        ),
        (drop("////"), "'////' is not a message name".into()),
        (drop("client->server#0"), "is not a message name".into()),
        (drop("client->server#0/x1"), "is not a message name".into()),
        (drop("client->server/0"), "is not a message name".into()),
        (delay("client->server#z/0"), "is not a message name".into()),
        (
            error("nosuch:t0/5:connect"),
            format!(
                "event 'nosuch:t0/5:connect' cannot occur in a rerun: no process 'nosuch' in the run {processes}"
            ),
        ),
        (error(""), "'' is not an event name".into()),
        (
            error("client/5:connect"),
            "is not an event name (THREAD/N:CALL".into(),
        ),
        (error("client:t0/5"), "is not an event name".into()),
        (error("client:tq/5:connect"), "is not an event name".into()),
        (crash_after("ghost:t1/2:write"), "no process 'ghost'".into()),
        (cut_after("////"), "is not an event name".into()),
    ];
    for (fault, want) in refused {
        let plan = FaultPlan {
            faults: vec![fault.clone()],
        };
        let e = Injector::new(&plan, r.events())
            .err()
            .map(|e| e.to_string());
        let e = e.unwrap_or_else(|| panic!("{fault:?} was accepted"));
        assert!(e.contains(&want), "{fault:?}: {e}");
    }
    let legal = [
        drop("client->server#0/7"),
        drop("server->client#3/r1"),
        drop("client->127.0.0.1:80#0/0"),
        drop("client->unix:/tmp/a->b.sock#0/0"),
        drop("pipe:client#2/0"),
        drop("pipe:server/fd4/1"),
        drop("socketpair:client#0~1/r0"),
        error("client:t3/9:sendto"),
        error("server:t1.2/0:read"),
        error("server:tx0/1:accept"),
        crash_after("client:t0/40:write"),
    ];
    for fault in legal {
        let plan = FaultPlan {
            faults: vec![fault.clone()],
        };
        let inj = Injector::new(&plan, r.events());
        let inj = inj.unwrap_or_else(|e| panic!("{fault:?} was refused: {e}"));
        let record = &inj.records()[0];
        assert!(!record.fired, "{fault:?}");
        assert!(
            record.effect.contains("did not occur"),
            "{fault:?}: {}",
            record.effect
        );
    }
}

#[test]
fn plans_naming_unknown_processes_or_channels_are_refused() {
    let (r, _, _) = rpc(1);
    let crash = Fault::Crash {
        process: "nope".into(),
        after: None,
        after_send: None,
        kill: false,
    };
    let channel = On {
        channel: Some("client->nobody#0"),
        ..On::default()
    }
    .errno("EPIPE");
    for (fault, want) in [
        (
            crash,
            "no process 'nope' in the run (processes: client, server)",
        ),
        (
            channel,
            "no channel 'client->nobody#0' carried messages in the run",
        ),
        (
            Cut::default().between("client", "ghost"),
            "no process 'ghost'",
        ),
    ] {
        let plan = FaultPlan {
            faults: vec![fault],
        };
        let e = Injector::new(&plan, r.events()).err().unwrap().to_string();
        assert!(e.contains(want), "{e}");
    }
}

#[test]
fn a_delay_holds_exactly_its_message_once() {
    let (r, requests, replies) = rpc(3);
    let mut inj = injector(
        vec![
            Fault::Delay {
                message: "client->server#0/1".into(),
                ms: Ms::N(500),
            },
            Fault::Delay {
                message: "client->server#0/r0".into(),
                ms: Ms::Word("inf".into()),
            },
        ],
        &r,
    );
    let (decisions, _) = replay(&mut inj, r.events());
    let half_a_second = Action::Hold(Some(Duration::from_millis(500)));
    assert_eq!(
        acted(decisions),
        vec![
            (replies[0], decision(Action::Hold(None), "delay inf", 1)),
            (requests[1], decision(half_a_second, "delay 500 ms", 0)),
        ]
    );
    let records = inj.records();
    let seq = |i: usize| Some(r.events()[i].seq);
    assert_eq!(
        summary(&records[0]),
        (true, "delay 500 ms", 1, Some(("write", seq(requests[1]))))
    );
    assert_eq!(
        summary(&records[1]),
        (true, "delay inf", 1, Some(("write", seq(replies[0]))))
    );
}

#[test]
fn a_dropped_stream_message_drops_every_later_one_that_way() {
    let (r, requests, _) = rpc(4);
    let mut inj = injector(vec![drop_of("client->server#0/1")], &r);
    let (decisions, _) = replay(&mut inj, r.events());
    let cut = "drop (stream cut by an earlier drop)";
    assert_eq!(
        acted(decisions),
        vec![
            (requests[1], decision(Action::Drop, "drop", 0)),
            (requests[2], decision(Action::Drop, cut, 0)),
            (requests[3], decision(Action::Drop, cut, 0)),
        ],
        "the replies (the other direction) are untouched"
    );
    let seq = Some(r.events()[requests[1]].seq);
    assert_eq!(
        summary(&inj.records()[0]),
        (true, "drop", 3, Some(("write", seq)))
    );
}

#[test]
fn a_dropped_datagram_drops_only_itself() {
    let mut r = Run::default();
    r.node(CLIENT, "client").node(SERVER, "server");
    let flow = r.datagrams(CLIENT, SERVER);
    let sends: Vec<usize> = (0..3).map(|_| r.send(&flow, CLIENT, 8)).collect();
    assert_eq!(r.message_name(sends[1]), "client->server#0/1");
    let mut inj = injector(vec![drop_of("client->server#0/1")], &r);
    let (decisions, _) = replay(&mut inj, r.events());
    assert_eq!(
        acted(decisions),
        vec![(sends[1], decision(Action::Drop, "drop", 0))]
    );
    assert_eq!(inj.records()[0].count, 1);
}

#[test]
fn an_error_on_an_event_fails_that_call() {
    let (r, _, _) = rpc(1);
    let connect = On {
        event: Some("client:t0/1:connect"),
        ..On::default()
    }
    .errno("ECONNREFUSED");
    let mut inj = injector(vec![connect], &r);
    let (decisions, _) = replay(&mut inj, r.events());
    assert_eq!(
        acted(decisions),
        vec![(
            3,
            decision(Action::Fail(libc::ECONNREFUSED), "error ECONNREFUSED", 0)
        )]
    );
    assert_eq!(
        summary(&inj.records()[0]),
        (true, "error ECONNREFUSED", 1, Some(("connect", Some(4))))
    );
}

#[test]
fn an_error_pattern_fails_the_nth_matching_call_only() {
    let (r, requests, replies) = rpc(4);
    let third_write = On {
        process: Some("client"),
        call: Some("write"),
        nth: Some(2),
        ..On::default()
    }
    .errno("EPIPE");
    // A channel pattern matches sends in either direction of the channel.
    let second_reply = On {
        process: Some("server"),
        channel: Some("client->server#0"),
        nth: Some(1),
        ..On::default()
    }
    .errno("ECONNRESET");
    let mut inj = injector(vec![third_write, second_reply], &r);
    let (decisions, _) = replay(&mut inj, r.events());
    assert_eq!(
        acted(decisions),
        vec![
            (
                replies[1],
                decision(Action::Fail(libc::ECONNRESET), "error ECONNRESET", 1)
            ),
            (
                requests[2],
                decision(Action::Fail(libc::EPIPE), "error EPIPE", 0)
            ),
        ]
    );
    assert!(inj.records().iter().all(|r| r.fired && r.count == 1));
}

#[test]
fn a_crash_silences_the_process_from_its_event_on() {
    let (r, requests, replies) = rpc(3);
    // The server crashes once it has read the second request.
    let after = r.event_name(requests[1] + 1);
    assert_eq!(after, "server:t0/5:read");
    let crash = Fault::Crash {
        process: "server".into(),
        after: Some(after),
        after_send: None,
        kill: false,
    };
    let mut inj = injector(vec![crash], &r);
    let (decisions, kills) = replay(&mut inj, r.events());
    let silenced = "drop (crash of server)";
    assert_eq!(
        acted(decisions),
        vec![
            (replies[1], decision(Action::Drop, silenced, 0)),
            (replies[2], decision(Action::Drop, silenced, 0)),
        ],
        "the client's requests still go out"
    );
    assert!(kills.is_empty());
    let effect = "server crashed: its messages are no longer delivered";
    let seq = Some(r.events()[requests[1] + 1].seq);
    assert_eq!(
        summary(&inj.records()[0]),
        (true, effect, 2, Some(("read", seq)))
    );
}

/// Node `n` (pid 1): t0 starts A (tid 2), A starts B (tid 3), and t0
/// starts C (tid 4) either before A starts B or after B's first read;
/// then B reads again. Returns the run and the index of B's second read.
fn threads_out_of_depth_order(c_first: bool) -> (Run, usize) {
    let mut r = Run::default();
    r.node(1, "n");
    r.thread(1, 1, 2);
    if c_first {
        r.thread(1, 1, 4);
    }
    r.thread(1, 2, 3);
    r.push_on(1, 3, "read");
    if !c_first {
        r.thread(1, 1, 4);
    }
    let read = r.push_on(1, 3, "read");
    (r, read)
}

#[test]
fn thread_locators_follow_each_threads_own_creation_history() {
    for c_first in [false, true] {
        let (r, read) = threads_out_of_depth_order(c_first);
        assert_eq!(r.event_name(read), "n:t1.1/2:read");
        let mut loc = super::Locator::default();
        for ev in r.events() {
            loc.observe(ev);
        }
        let keys: Vec<_> = [1, 2, 3, 4]
            .map(|t| loc.thread(t).map(str::to_string))
            .into();
        let want = ["n:t0", "n:t1", "n:t1.1", "n:t2"].map(|k| Some(k.to_string()));
        assert_eq!(keys, want, "c_first={c_first}");
    }
}

#[test]
fn a_crash_after_a_thread_event_fires_there_whatever_the_thread_order() {
    let (parent, planned) = threads_out_of_depth_order(false);
    let after = parent.event_name(planned);
    let kill = Fault::Crash {
        process: "n".into(),
        after: Some(after.clone()),
        after_send: None,
        kill: true,
    };
    let mut inj = injector(vec![kill], &parent);
    let (rerun, read) = threads_out_of_depth_order(true);
    let (_, kills) = replay(&mut inj, rerun.events());
    assert_eq!(kills, vec!["n"]);
    let seq = Some(rerun.events()[read].seq);
    assert_eq!(
        summary(&inj.records()[0]),
        (true, "killed n", 0, Some(("read", seq)))
    );
    assert_eq!(
        rerun.event_name(read),
        after,
        "recorded under the planned name"
    );
}

#[test]
fn a_crash_keeps_pipes_inside_the_crashed_tree() {
    let (mut r, requests, _) = rpc(1);
    const CHILD: i32 = 3;
    let pipe = bop_model::Endpoint {
        kind: Some(bop_model::ChannelKind::Pipe),
        stream: true,
        local: "pipe:9".into(),
        peer: Some("pipe:9".into()),
        path: None,
    };
    r.push(CLIENT, "pipe", |e| {
        e.detail.fds = vec![7, 8];
        e.detail.new_endpoints = vec![pipe.clone(), pipe.clone()];
    });
    r.push(CLIENT, "fork", |e| {
        e.ret = Some(CHILD.into());
        e.detail.child = Some(CHILD);
    });
    r.push(CHILD, "start", |e| e.detail.child = Some(CLIENT));
    let internal = r.push(CHILD, "write", |e| {
        e.fd = Some(8);
        e.endpoint = Some(pipe.clone().into());
        e.bytes = Some(6);
        e.ret = Some(6);
    });
    let crash = Fault::Crash {
        process: "client".into(),
        after: None,
        after_send: None,
        kill: false,
    };
    let mut inj = injector(vec![crash], &r);
    let (decisions, _) = replay(&mut inj, r.events());
    let acted: Vec<usize> = acted(decisions).into_iter().map(|(i, _)| i).collect();
    assert_eq!(
        acted,
        vec![requests[0]],
        "only what leaves the tree is lost"
    );
    assert!(!acted.contains(&internal));
}

#[test]
fn a_crash_with_kill_names_the_process_and_its_children() {
    let (mut r, _, _) = rpc(1);
    const CHILD: i32 = 3;
    r.push(CLIENT, "fork", |e| {
        e.ret = Some(CHILD.into());
        e.detail.child = Some(CHILD);
    });
    r.push(CHILD, "start", |e| e.detail.child = Some(CLIENT));
    let kill = Fault::Crash {
        process: "client".into(),
        after: None,
        after_send: None,
        kill: true,
    };
    let mut inj = injector(vec![kill], &r);
    let (decisions, kills) = replay(&mut inj, r.events());
    assert!(acted(decisions).is_empty(), "a kill drops nothing itself");
    assert_eq!(kills, vec!["client"], "at the client's first event, once");
    let mut pids = inj.pids_of("client");
    pids.sort();
    assert_eq!(pids, vec![CLIENT, CHILD]);
    assert_eq!(
        summary(&inj.records()[0]),
        (true, "killed client", 0, Some(("start", Some(1))))
    );
}

#[test]
fn a_partition_after_an_event_cuts_messages_and_refuses_connects() {
    let mut r = three_nodes();
    let c = r.connect(CLIENT, SERVER);
    let o = r.connect(CLIENT, OTHER);
    let before = r.send(&c, CLIENT, 10);
    let start = r.event_name(before + 1); // the server reads it
    let cut_request = r.send(&c, CLIENT, 10);
    let cut_reply = r.send(&c, SERVER, 5);
    let elsewhere = r.send(&o, CLIENT, 10);
    let connect_at = r.connect(CLIENT, SERVER).at;
    let mut inj = injector(
        vec![
            Cut {
                after: Some(start),
                ..Cut::default()
            }
            .between("client", "server"),
        ],
        &r,
    );
    let (decisions, _) = replay(&mut inj, r.events());
    let cut = |label| decision(Action::Drop, label, 0);
    assert_eq!(
        acted(decisions),
        vec![
            (cut_request, cut("drop (partition)")),
            (cut_reply, cut("drop (partition)")),
            (
                connect_at,
                decision(
                    Action::Fail(libc::ECONNREFUSED),
                    "error ECONNREFUSED (partition)",
                    0
                )
            ),
        ],
        "{elsewhere} (to the other node) is not cut"
    );
    let seq = Some(r.events()[before + 1].seq);
    assert_eq!(
        summary(&inj.records()[0]),
        (true, "partitioned", 3, Some(("read", seq)))
    );
}

#[test]
fn a_timed_partition_starts_and_heals_on_time() {
    // Events are 1 ms apart: the partition holds from 5 ms to 15 ms.
    let mut r = Run::default();
    r.node(CLIENT, "client").node(SERVER, "server");
    let c = r.connect(CLIENT, SERVER);
    let mut sends = vec![r.send(&c, CLIENT, 1)];
    let hung = r.connect(CLIENT, SERVER).at;
    assert_eq!(hung, 7, "at 7 ms");
    while sends.len() < 8 {
        sends.push(r.send(&c, CLIENT, 1));
    }
    let mut inj = injector(
        vec![
            Cut {
                after_ms: Some(5),
                heal_ms: Some(10),
                connect: ConnectMode::Hang,
                ..Cut::default()
            }
            .between("client", "server"),
        ],
        &r,
    );
    let (decisions, _) = replay(&mut inj, r.events());
    let mut want = vec![(
        hung,
        decision(
            Action::Hold(Some(Duration::from_millis(15 - 7))),
            "hang (partition)",
            0,
        ),
    )];
    let inside: Vec<usize> = sends
        .iter()
        .copied()
        .filter(|&i| (5..15).contains(&i))
        .collect();
    want.extend(
        inside
            .iter()
            .map(|&i| (i, decision(Action::Drop, "drop (partition)", 0))),
    );
    want.sort_by_key(|(i, _)| *i);
    assert_eq!(acted(decisions), want, "sends at {sends:?} ms");
    assert!(sends.iter().any(|&i| i >= 15), "some sends after the heal");
    let record = &inj.records()[0];
    let (fired, effect, count, _) = summary(record);
    let affected = inside.len() as u64 + 1;
    assert_eq!((fired, effect, count), (true, "partitioned", affected));
    assert_eq!(record.at.as_ref().map(|a| a.at_ms), Some(5));
}

#[test]
fn a_timed_partition_can_time_connects_out() {
    let (r, _, _) = rpc(1);
    let mut inj = injector(
        vec![
            Cut {
                connect: ConnectMode::Timeout,
                ..Cut::default()
            }
            .between("server", "client"),
        ],
        &r,
    );
    let (decisions, _) = replay(&mut inj, r.events());
    let first = acted(decisions).into_iter().next().unwrap();
    assert_eq!(
        first,
        (
            3,
            decision(
                Action::Fail(libc::ETIMEDOUT),
                "error ETIMEDOUT (partition)",
                0
            )
        )
    );
}

#[test]
fn jitter_is_a_function_of_the_seed_and_the_message() {
    let (r, requests, replies) = rpc(8);
    let run = |seed| {
        let plan = FaultPlan {
            faults: vec![Fault::Jitter { max_ms: 3, seed }],
        };
        // Jitter needs no parent run.
        let mut inj = Injector::new(&plan, &[]).unwrap();
        acted(replay(&mut inj, r.events()).0)
    };
    let seven = run(7);
    assert_eq!(seven, run(7), "same seed, same delays");
    assert_ne!(seven, run(8), "another seed, other delays");
    let mut sends: Vec<usize> = requests.iter().chain(&replies).copied().collect();
    sends.sort();
    for (i, d) in &seven {
        assert!(sends.contains(i), "only sends are held: {i}");
        let Action::Hold(Some(held)) = d.action else {
            panic!("{d:?}")
        };
        let ms = held.as_millis();
        assert!((1..=3).contains(&ms), "{ms}");
        assert_eq!(d.label, format!("jitter {ms} ms"));
    }
    // A draw of 0 holds nothing; with 0..=3 most sends are held.
    assert!(
        seven.len() >= sends.len() / 2,
        "most sends are held: {seven:?}"
    );
    assert!(seven.len() < sends.len(), "some draw 0: {seven:?}");
}

#[test]
fn the_first_matching_fault_decides() {
    let (r, requests, _) = rpc(2);
    let message = "client->server#0/0";
    let delay = Fault::Delay {
        message: message.into(),
        ms: Ms::N(10),
    };
    let mut inj = injector(vec![delay, drop_of(message)], &r);
    let (decisions, _) = replay(&mut inj, r.events());
    let hold = Action::Hold(Some(Duration::from_millis(10)));
    assert_eq!(
        acted(decisions),
        vec![(requests[0], decision(hold, "delay 10 ms", 0))]
    );
    assert!(!inj.records()[1].fired, "the drop never saw its message");
}

#[test]
fn faults_that_cannot_fire_say_why_and_stay_unfired() {
    let (r, _, _) = rpc(2);
    let never = "client:t0/99:write";
    let faults = vec![
        drop_of("client->server#0/7"),
        Fault::Crash {
            process: "server".into(),
            after: Some(never.into()),
            after_send: None,
            kill: false,
        },
        Cut {
            after: Some(never.into()),
            ..Cut::default()
        }
        .between("client", "server"),
        On {
            event: Some(never),
            ..On::default()
        }
        .errno("EPIPE"),
    ];
    let mut inj = injector(faults, &r);
    let (decisions, _) = replay(&mut inj, r.events());
    assert!(acted(decisions).is_empty());
    let effects: Vec<(bool, String, u64)> = inj
        .records()
        .into_iter()
        .map(|r| (r.fired, r.effect, r.count))
        .collect();
    let missing = |what: &str| {
        (
            false,
            format!("not fired: {what} did not occur in the parent run"),
            0,
        )
    };
    let event = format!("event '{never}'");
    assert_eq!(
        effects,
        vec![
            missing("message 'client->server#0/7'"),
            missing(&event),
            missing(&event),
            missing(&event),
        ]
    );
}

/// Which processes a translated plan could act on (`reach`), asked by
/// pid during the rerun as the tracer asks: before a process is named it
/// may be acted on; once named, only the ends of the faulted channel.
#[test]
fn a_message_fault_reaches_the_ends_of_its_channel_only() {
    let mut r = three_nodes();
    let c = r.connect(CLIENT, SERVER);
    let o = r.connect(OTHER, SERVER);
    let request = r.send(&c, CLIENT, 10);
    r.send(&o, OTHER, 10);
    let mut inj = injector(vec![drop_of(&r.message_name(request))], &r);
    assert!(!inj.acts_everywhere());
    assert!(inj.may_act_on(OTHER), "not named yet");
    replay(&mut inj, r.events());
    assert!(inj.may_act_on(CLIENT) && inj.may_act_on(SERVER));
    assert!(
        !inj.may_act_on(OTHER),
        "no fault of the plan is on its calls"
    );
    let jitter = Fault::Jitter { max_ms: 5, seed: 1 };
    let mut everywhere = injector(vec![jitter], &r);
    replay(&mut everywhere, r.events());
    assert!(everywhere.acts_everywhere() && everywhere.may_act_on(OTHER));
}
