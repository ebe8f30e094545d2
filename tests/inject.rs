//! The fault injector on real guests: each fault kind has an observable
//! effect, faults that cannot fire say so, bad plans change nothing, and
//! the bundled demo's seeded bugs are each revealed by one fault.

use bop_model::FaultRecord;
use bop_model::{EndReason, Verdict};

use crate::common::*;

/// Records `guest rpc` and returns the store and the logical names of its
/// client process, its request message and its reply message.
fn rpc_baseline() -> (TempStore, String, String, String) {
    let s = TempStore::new();
    s.record_guest("base", &["rpc"]);
    let g = s.export("base");
    let msgs: Vec<&serde_json::Value> = g["messages"].as_array().unwrap().iter().collect();
    assert_eq!(msgs.len(), 2, "request and reply: {msgs:?}");
    let request = message_id(&g, false);
    let reply = message_id(&g, true);
    let client = g["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .find(|n| n.contains('/'))
        .unwrap()
        .to_string();
    (s, client, request, reply)
}

fn faults(s: &TempStore, id: &str) -> Vec<FaultRecord> {
    s.read(id).0.faults
}

fn rerun(s: &TempStore, args: &[&str]) -> Ran {
    let mut all = vec!["rerun", "-q", "base"];
    all.extend_from_slice(args);
    s.bop(&all)
}

#[test]
fn delayed_reply_arrives_at_least_the_delay_later() {
    let (s, _, _, reply) = rpc_baseline();
    let out = rerun(&s, &["--id", "d", "--delay", &format!("{reply}=300")]);
    assert_ok(&out, "delayed reply");
    let (m, ev) = s.read("d");
    assert_eq!(m.parent.as_deref(), Some("base"));
    let held = ev
        .iter()
        .find(|e| e.injected.as_deref() == Some("delay 300 ms"))
        .expect("the delayed send is marked");
    assert!(
        held.end_ns.unwrap() - held.start_ns >= 300_000_000,
        "held {} ns",
        held.end_ns.unwrap() - held.start_ns
    );
    let f = &faults(&s, "d")[0];
    assert!(f.fired);
    assert_eq!(f.at.as_ref().unwrap().seq, Some(held.seq));
    assert!(
        f.at.as_ref()
            .unwrap()
            .event
            .as_deref()
            .unwrap()
            .ends_with(":sendto"),
        "{f:?}"
    );
}

#[test]
fn dropped_reply_makes_the_client_time_out() {
    let (s, _, _, reply) = rpc_baseline();
    let out = rerun(&s, &["--id", "x", "--drop", &reply]);
    assert_status(&out, 3, "client timed out");
    assert_eq!(
        std::fs::read_to_string(s.path().join("x/stdout")).unwrap(),
        "timed out\n"
    );
    let (_, ev) = s.read("x");
    let dropped = ev
        .iter()
        .find(|e| e.injected.as_deref() == Some("drop"))
        .unwrap();
    assert_eq!(
        dropped.ret,
        Some(4),
        "the sender believes it sent everything"
    );
    let g = s.export("x");
    let m = g["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply.as_str())
        .unwrap();
    assert_eq!(
        (m["lost"].as_bool(), m["recvs"].as_array().unwrap().len()),
        (Some(true), 0),
        "{m}"
    );
}

#[test]
fn injected_errno_is_what_the_guest_sees() {
    let (s, client, _, _) = rpc_baseline();
    let out = rerun(
        &s,
        &[
            "--id",
            "e",
            "--error",
            &format!("{client}:t0/5:connect=ECONNREFUSED"),
        ],
    );
    assert_status(&out, 4, "the client's connect failed");
    assert!(
        std::fs::read_to_string(s.path().join("e/stderr"))
            .unwrap()
            .contains("Connection refused")
    );
    let (_, ev) = s.read("e");
    let c = calls(&ev, "connect", None);
    assert_eq!(
        (c[0].errno.as_deref(), c[0].injected.as_deref()),
        (Some("ECONNREFUSED"), Some("error ECONNREFUSED"))
    );
}

#[test]
fn a_crashed_server_stops_answering_but_lives() {
    let s = two_servers();
    let out = rerun(&s, &["--id", "c", "--crash", "a"]);
    assert_ok(&out, "crash rerun");
    assert_eq!(
        answers(&s, "c"),
        ["timeout", "ok"],
        "a went silent, b still answers"
    );
    let (_, ev) = s.read("c");
    let a = calls(&ev, "start", None)
        .into_iter()
        .find(|e| e.detail.node.as_deref() == Some("a"))
        .unwrap()
        .pid;
    assert!(
        ev.iter()
            .any(|e| e.pid == a && e.injected.as_deref() == Some("drop (crash of a)")),
        "a's echo was swallowed"
    );
    // a lived on until the scenario stopped it: it was not killed by the fault.
    let killed = calls(&ev, "killed", None);
    assert!(
        killed.iter().any(|k| k.pid == a),
        "the scenario stopped a: {killed:?}"
    );
    assert!(
        killed
            .iter()
            .all(|k| k.detail.signal.as_deref() == Some("SIGTERM")),
        "{killed:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.pid == a && e.call == "accept4" && e.ret.is_some_and(|r| r >= 0)),
        "a still accepted"
    );
}

#[test]
fn crash_with_kill_kills_the_process() {
    let (s, client, _, _) = rpc_baseline();
    let out = rerun(&s, &["--id", "k", "--kill", "--crash", &client]);
    // The server exits with its client's status, 1 when it has none.
    assert_status(&out, 1, "the client was killed");
    let (_, ev) = s.read("k");
    // The client is the process the server spawned: its start names a parent.
    let client_pid = calls(&ev, "start", None)
        .into_iter()
        .find(|e| e.detail.child.is_some())
        .expect("the client's start")
        .pid;
    assert!(
        calls(&ev, "killed", None)
            .iter()
            .any(|e| e.pid == client_pid && e.detail.signal.as_deref() == Some("SIGKILL")),
        "{}",
        text(&out.stderr)
    );
    let f = &faults(&s, "k")[0];
    assert!(f.fired, "{f:?}");
    assert_eq!(f.at.as_ref().unwrap().pid, client_pid, "{f:?}");
}

#[test]
fn faults_that_cannot_fire_say_so_and_the_run_succeeds() {
    let (s, _, request, _) = rpc_baseline();
    // The request's channel exists between real processes; its eighth
    // message never occurs.
    let channel = request.rsplit_once('/').unwrap().0;
    let never = format!("{channel}/7");
    let out = rerun(&s, &["--id", "n", "--drop", &never]);
    assert_ok(&out, "a fault that cannot fire");
    let f = &faults(&s, "n")[0];
    assert!(!f.fired && f.at.is_none());
    assert!(f.effect.contains("did not occur"), "{}", f.effect);
}

#[test]
fn bad_plans_are_refused_before_anything_runs() {
    let (s, _, _, reply) = rpc_baseline();
    let plan = s.path().join("plan.toml");
    std::fs::write(
        &plan,
        "[[fault]]\nkind = \"error\"\nevent = \"x\"\nerrno = \"EBOGUS\"\n",
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--crash".into(), "nobody".into()],
            "no process 'nobody' in the run",
        ),
        (
            vec!["--delay".into(), format!("{reply}=soon")],
            "'soon' is not a duration",
        ),
        (
            vec!["--error".into(), "a:t0/1:read=EBOGUS".into()],
            "unknown errno 'EBOGUS'",
        ),
        (
            vec!["--faults".into(), plan.display().to_string()],
            "unknown errno 'EBOGUS'",
        ),
        // Issue 17 item 3: names that cannot occur in a rerun of `base`.
        (
            vec!["--drop".into(), "nosuch->other#0/0".into()],
            "message 'nosuch->other#0/0' cannot occur in a rerun: no process 'nosuch' or 'other'",
        ),
        (
            vec!["--drop".into(), "".into()],
            "'' is not a message name (CHANNEL/N or CHANNEL/rN",
        ),
        (
            vec!["--delay".into(), "////=5".into()],
            "'////' is not a message name",
        ),
        (
            vec!["--error".into(), "nosuch:t0/5:connect=EPIPE".into()],
            "event 'nosuch:t0/5:connect' cannot occur in a rerun: no process 'nosuch'",
        ),
        (
            vec!["--delay".into(), "x".into()],
            "--delay x: use MESSAGE=MS",
        ),
    ];
    for (args, want) in cases {
        let mut all: Vec<&str> = vec!["--id", "bad"];
        all.extend(args.iter().map(String::as_str));
        let out = rerun(&s, &all);
        assert_status(&out, 2, &format!("{args:?}"));
        assert!(
            text(&out.stderr).contains(want),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!s.path().join("bad").exists(), "{args:?} created a run");
    }
    let out = s.bop(&["rerun", "no-such-run", "--drop", "a->b#0/0"]);
    assert_status(&out, 125, "a rerun of a run that does not exist");
    assert!(
        text(&out.stderr).contains("no run 'no-such-run'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn faults_compose() {
    let (s, _, request, reply) = rpc_baseline();
    let out = rerun(
        &s,
        &[
            "--id",
            "both",
            "--delay",
            &format!("{request}=100"),
            "--drop",
            &reply,
        ],
    );
    assert_status(&out, 3, "the reply was dropped");
    let f = faults(&s, "both");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.iter().all(|f| f.fired), "{f:?}");
}

#[test]
fn delay_forever_is_ended_by_the_timeout_with_nothing_left() {
    let (s, _, request, _) = rpc_baseline();
    let out = rerun(
        &s,
        &[
            "--id",
            "inf",
            "--timeout",
            "2",
            "--delay",
            &format!("{request}=inf"),
        ],
    );
    assert_status(&out, 137, "killed by the timeout");
    let (m, ev) = s.read("inf");
    assert_eq!(m.ended_by, Some(EndReason::Timeout));
    let held = ev
        .iter()
        .find(|e| e.injected.as_deref() == Some("delay inf"))
        .unwrap();
    assert_eq!(held.ret, None, "never sent");
    for pid in pids(&ev) {
        assert!(!alive(pid), "{pid} survived");
    }
}

/// A scenario with two echo servers `a` and `b` and a client asking both,
/// recorded as run `base`.
fn two_servers() -> TempStore {
    let s = TempStore::new();
    let file = s.path().join("two.toml");
    let text = r#"
ports = ["a", "b"]
[[node]]
name = "a"
command = ["GUEST", "serve", "{port.a}"]
ready = { port = "{port.a}" }
[[node]]
name = "b"
command = ["GUEST", "serve", "{port.b}"]
ready = { port = "{port.b}" }
[client]
command = ["GUEST", "ask", "{port.a}", "{port.b}"]
"#;
    std::fs::write(&file, text.replace("GUEST", guest())).unwrap();
    assert_ok(
        &s.bop(&["run", "-q", "--id", "base", file.to_str().unwrap()]),
        "baseline",
    );
    s
}

/// What the client heard from a and b: ok, timeout or refused.
fn answers(s: &TempStore, id: &str) -> Vec<String> {
    std::fs::read_to_string(s.path().join(id).join("stdout"))
        .unwrap()
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn a_partition_cuts_exactly_the_named_pairs() {
    let s = two_servers();
    assert_eq!(answers(&s, "base"), ["ok", "ok"]);
    let plan = s.path().join("p.toml");
    std::fs::write(
        &plan,
        "[[fault]]\nkind = \"partition\"\ngroups = [[\"client\"], [\"a\"]]\n",
    )
    .unwrap();
    assert_ok(
        &rerun(&s, &["--id", "cut", "--faults", plan.to_str().unwrap()]),
        "partitioned rerun",
    );
    assert_eq!(
        answers(&s, "cut"),
        ["refused", "ok"],
        "client-a cut, client-b intact"
    );
    // A partition that starts only after the client's first connect (to a)
    // cuts the later connection to b instead.
    let g = s.export("base");
    let first_connect = g["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["process"] == "client" && e["call"] == "connect")
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&plan, format!("[[fault]]\nkind = \"partition\"\ngroups = [[\"client\"], [\"b\"]]\nafter = \"{first_connect}\"\n")).unwrap();
    assert_ok(
        &rerun(&s, &["--id", "late", "--faults", plan.to_str().unwrap()]),
        "late partition",
    );
    assert_eq!(answers(&s, "late"), ["ok", "refused"]);
    let late = faults(&s, "late");
    assert_eq!(
        late[0].at.as_ref().unwrap().event.as_deref(),
        Some(first_connect.as_str())
    );
    // connect = "hang": the connection waits until the partition heals.
    std::fs::write(&plan, "[[fault]]\nkind = \"partition\"\ngroups = [[\"client\"], [\"a\"]]\nconnect = \"hang\"\nheal_ms = 1500\n").unwrap();
    assert_ok(
        &rerun(&s, &["--id", "hang", "--faults", plan.to_str().unwrap()]),
        "hanging partition",
    );
    assert_eq!(
        answers(&s, "hang"),
        ["ok", "ok"],
        "healed before the client gave up"
    );
    let (_, ev) = s.read("hang");
    let held = ev
        .iter()
        .find(|e| e.injected.as_deref() == Some("hang (partition)"))
        .expect("the connect was held");
    // The partition starts with the run and heals 1500 ms in: the connect,
    // whenever it started, returns only after that (run-relative times).
    assert!(
        held.end_ns.unwrap() >= 1_450_000_000,
        "returned at {} ns",
        held.end_ns.unwrap()
    );
    assert!(
        held.start_ns < 1_450_000_000,
        "the connect started before the heal"
    );
}

#[test]
fn demo_seeded_bugs_flip_the_verdict_and_the_tolerated_fault_does_not() {
    let s = TempStore::new();
    assert_ok(&s.bop(&["demo", "--id", "base"]), "demo baseline");
    assert_eq!(s.read("base").0.verdict, Verdict::Pass);
    for (id, flag, value, verdict) in [
        (
            "stale-read",
            "--delay",
            "primary->replica#0/0=500",
            Verdict::Fail,
        ),
        (
            "double-incr",
            "--drop",
            "client->primary#0/r1",
            Verdict::Fail,
        ),
        (
            "late-ack",
            "--delay",
            "primary->replica#0/r0=500",
            Verdict::Pass,
        ),
    ] {
        let out = rerun(&s, &["--id", id, flag, value]);
        // A scenario's exit status is its verdict.
        let code = if verdict == Verdict::Pass { 0 } else { 1 };
        assert_status(&out, code, &format!("{id}: verdict {verdict:?}"));
        let (m, _) = s.read(id);
        assert_eq!(m.verdict, verdict, "{id}: {}", text(&out.stderr));
        assert!(faults(&s, id)[0].fired, "{id}");
    }
    let check = std::fs::read_to_string(s.path().join("stale-read/check.stdout")).unwrap();
    assert!(check.contains("read-your-writes"), "{check}");
    let check = std::fs::read_to_string(s.path().join("double-incr/check.stdout")).unwrap();
    assert!(check.contains("exactly-once"), "{check}");
}

#[test]
fn run_with_a_plan_records_a_baseline_then_the_faulty_run() {
    let s = TempStore::new();
    let plan = s.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"faults": [{"kind": "delay", "message": "primary->replica#0/0", "ms": 500}]}"#,
    )
    .unwrap();
    let kv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../backend/bop/demo/kv.toml");
    let out = s.bop(&[
        "run",
        "-q",
        "--id",
        "f",
        "--faults",
        plan.to_str().unwrap(),
        kv.to_str().unwrap(),
    ]);
    assert_status(&out, 1, "verdict fail");
    let (base, _) = s.read("f-base");
    let (m, _) = s.read("f");
    assert_eq!(
        (base.verdict, m.verdict, m.parent.as_deref()),
        (Verdict::Pass, Verdict::Fail, Some("f-base"))
    );
    assert!(
        text(&out.stderr).contains("fired at primary:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_with_a_plan_naming_nothing_leaves_no_run() {
    let s = TempStore::new();
    let plan = s.path().join("plan.json");
    // Issue 17 item 3: each names something no run of the guest can have;
    // each exits 2 with a sentence before the faulty run starts, and the
    // baseline recorded to resolve names is removed.
    let cases = [
        (
            r#"{"kind": "crash", "process": "nope"}"#,
            "no process 'nope' in the run",
        ),
        (
            r#"{"kind": "drop", "message": "nosuch->other#0/0"}"#,
            "message 'nosuch->other#0/0' cannot occur in a rerun",
        ),
        (
            r#"{"kind": "delay", "message": "////", "ms": 5}"#,
            "'////' is not a message name",
        ),
        (
            r#"{"kind": "error", "event": "nosuch:t0/5:connect", "errno": "EPIPE"}"#,
            "event 'nosuch:t0/5:connect' cannot occur in a rerun",
        ),
        (
            r#"{"kind": "partition", "groups": [["nosuch"], ["other"]]}"#,
            "no process 'nosuch' in the run",
        ),
    ];
    for (fault, want) in cases {
        std::fs::write(&plan, format!(r#"{{"faults": [{fault}]}}"#)).unwrap();
        let out = s.bop(&[
            "run",
            "-q",
            "--id",
            "g",
            "--faults",
            plan.to_str().unwrap(),
            "--",
            guest(),
            "rpc",
        ]);
        assert_status(&out, 2, fault);
        assert!(
            text(&out.stderr).contains(want),
            "{fault}: {}",
            text(&out.stderr)
        );
        assert!(
            !s.path().join("g").exists() && !s.path().join("g-base").exists(),
            "{fault}: runs were left behind"
        );
    }
}

#[test]
fn a_dropped_sendmmsg_reports_every_datagram_sent() {
    let s = TempStore::new();
    s.record_guest("base", &["mmsg"]);
    assert_eq!(
        std::fs::read_to_string(s.path().join("base/stdout")).unwrap(),
        "sent 3 lens [8, 8, 8] received 3\n"
    );
    let g = s.export("base");
    let first = g["messages"][0]["id"].as_str().unwrap().to_string();
    assert_ok(&rerun(&s, &["--id", "d", "--drop", &first]), "rerun");
    assert_eq!(
        std::fs::read_to_string(s.path().join("d/stdout")).unwrap(),
        "sent 3 lens [8, 8, 8] received 0\n",
        "the sender sees success for every datagram; none arrives"
    );
}

#[test]
fn faults_on_a_server_speaks_first_greeting_always_fire() {
    // The server's first send can be handled before the client's connect
    // returns; the accept event names the connecting process from the
    // kernel, so the greeting has the same locator in every run.
    let s = TempStore::new();
    s.record_guest("base", &["greet"]);
    let g = s.export("base");
    let greeting = message_id(&g, true);
    for i in 0..6 {
        let id = format!("d{i}");
        let out = rerun(&s, &["--id", &id, "--drop", &greeting]);
        assert_status(&out, 3, &format!("run {i}: the greeting must be dropped"));
        assert!(faults(&s, &id)[0].fired);
    }
}
