//! Faults named by messages on a Go program (tests/guests/go/pingpong.go):
//! which OS thread runs a goroutine's system call, and how many reads
//! find nothing before the netpoller wakes it, change from run to run, so
//! event names do; an error on a message's first receive and a kill after
//! a message's send must still fire there in every rerun, and a search
//! that learns from reruns must find the same candidates again, not new
//! names for them.

use std::collections::BTreeSet;

use bop_model::{Event, Manifest, Search};

use crate::common::*;
use crate::fastpath::record;
use crate::fastpath_go::pingpong;

/// The name of ping `k` (the client's k-th message to the server).
fn ping(s: &TempStore, run: &str, k: usize) -> String {
    let first = message_id(&s.export(run), false);
    let channel = first.rsplit_once('/').unwrap().0;
    format!("{channel}/{k}")
}

/// Reruns run `base` of `s` as `id` with the fault plan file `plan`:
/// the rerun's manifest and events, and its fault records and stderr as
/// a report for assertion messages.
fn rerun_with(s: &TempStore, plan: &std::path::Path, id: &str) -> (Manifest, Vec<Event>, String) {
    let out = s.bop(&[
        "rerun",
        "-q",
        "base",
        "--id",
        id,
        "--faults",
        plan.to_str().unwrap(),
    ]);
    let (m, ev) = s.read(id);
    let report = format!("{:?}\n{}", m.faults, text(&out.stderr));
    (m, ev, report)
}

#[test]
fn a_reset_on_a_go_receive_fires_at_that_message_in_every_rerun() {
    let exe = pingpong().to_str().unwrap();
    let s = TempStore::new();
    record(&s, "base", &[], &[exe, "20"]);
    let target = ping(&s, "base", 5);
    let plan = s.path().join("plan.json");
    std::fs::write(
        &plan,
        format!(r#"{{"faults":[{{"kind":"error","receive":"{target}","errno":"ECONNRESET"}}]}}"#),
    )
    .unwrap();
    // The event names it fired at (they may differ: reads that found
    // nothing count among a thread's events).
    let mut names = BTreeSet::new();
    for k in 0..3 {
        let id = format!("r{k}");
        let (m, ev, report) = rerun_with(&s, &plan, &id);
        let record = &m.faults[0];
        assert!(record.fired, "{report}");
        assert_eq!(record.count, 1, "{report}");
        assert_eq!(record.effect, "error ECONNRESET", "{report}");
        let faulted: Vec<&Event> = ev
            .iter()
            .filter(|e| e.injected.as_deref() == Some("error ECONNRESET"))
            .collect();
        assert_eq!(faulted.len(), 1, "{report}");
        let at = faulted[0];
        assert_eq!(
            (at.call.as_str(), at.errno.as_deref()),
            ("read", Some("ECONNRESET"))
        );
        let root_pid = ev.iter().find(|e| e.call == "start").unwrap().pid;
        assert_eq!(at.pid, root_pid, "the server's read: {report}");
        // The right call: the server has read pings 0..=4, whole, before.
        let pings_read = ev
            .iter()
            .filter(|e| e.pid == at.pid && e.call == "read" && e.bytes == Some(8) && e.seq < at.seq)
            .count();
        assert_eq!(pings_read, 5, "{report}");
        let fired = record.at.as_ref().expect("where it fired");
        assert_eq!(fired.seq, Some(at.seq), "recorded where it acted");
        names.insert(fired.event.clone().unwrap_or_default());
        // The server's io.ReadFull saw the reset and pingpong gave up.
        let stderr = std::fs::read_to_string(s.path().join(&id).join("stderr")).unwrap_or_default();
        assert!(
            stderr.contains("connection reset by peer"),
            "{stderr}\n{report}"
        );
        assert_ne!(m.exit_status, Some(0), "{report}");
    }
    eprintln!("the reset fired at {names:?}");
}

/// `bop search base --json` with these options.
fn search(s: &TempStore, id: &str, more: &[&str]) -> Search {
    let mut args = vec!["search", "base", "--id", id, "--parallel", "2", "--json"];
    args.extend_from_slice(more);
    let out = s.bop(&args);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn a_search_of_a_go_program_learns_no_new_names_for_the_same_faults() {
    let exe = pingpong().to_str().unwrap();
    let s = TempStore::new();
    record(&s, "base", &[], &[exe, "20"]);
    // Each search ends once its baselines are spent (the budget counts
    // them): the candidates are the base's plus what the baselines
    // showed. Plain reruns of pingpong send the same messages, so they
    // can show nothing new, whichever threads ran the calls and however
    // many reads found nothing (with faults named by events: 278
    // candidates after one baseline, 648 after six).
    let kinds = "error,crash,partition,drop";
    let one = search(
        &s,
        "one",
        &["--faults", kinds, "--baselines", "1", "--budget", "1"],
    );
    let many = search(
        &s,
        "many",
        &["--faults", kinds, "--baselines", "6", "--budget", "6"],
    );
    eprintln!(
        "candidates: {} after one baseline, {} after six",
        one.candidates, many.candidates
    );
    assert_eq!(many.baseline_failures, 0, "{many:?}");
    assert_eq!(
        many.supports, 7,
        "the base and every baseline passed: {many:?}"
    );
    assert!(
        one.candidates > 60,
        "errors, crashes, drops of 40 messages: {one:?}"
    );
    assert_eq!(
        one.candidates, many.candidates,
        "six reruns showed no fault the first had not"
    );
}

#[test]
fn a_kill_after_a_go_send_fires_after_that_message() {
    let exe = pingpong().to_str().unwrap();
    let s = TempStore::new();
    record(&s, "base", &[], &[exe, "20"]);
    let first_pong = message_id(&s.export("base"), true);
    let pong5 = format!("{}/r5", first_pong.rsplit_once("/r").unwrap().0);
    let plan = s.path().join("plan.json");
    std::fs::write(
        &plan,
        format!(r#"{{"faults":[{{"kind":"crash","process":"pingpong#0","after_send":"{pong5}","kill":true}}]}}"#),
    )
    .unwrap();
    for k in 0..2 {
        let id = format!("k{k}");
        let (m, ev, report) = rerun_with(&s, &plan, &id);
        let record = &m.faults[0];
        assert!(record.fired, "{report}");
        assert_eq!(record.effect, "killed pingpong#0", "{report}");
        let at = record
            .at
            .as_ref()
            .and_then(|a| a.seq)
            .expect("where it fired");
        let fired_at = ev.iter().find(|e| e.seq == at).unwrap();
        assert_eq!(fired_at.call, "write", "{report}");
        // Pongs 0..=5 were written, the sixth being the one it fired at.
        let root_pid = ev.iter().find(|e| e.call == "start").unwrap().pid;
        assert_eq!(fired_at.pid, root_pid, "{report}");
        let pongs = ev
            .iter()
            .filter(|e| e.pid == root_pid && e.call == "write" && e.bytes == Some(8))
            .count();
        assert_eq!(pongs, 6, "{report}");
    }
}
