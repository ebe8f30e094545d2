//! `bop diff` on real runs: a run against itself, a rerun with one
//! dropped message, exit statuses like diff(1).

use bop_tracker::compare::Comparison;

use crate::common::*;

/// `bop diff --json A B`, asserting its exit status: 0 when the runs are
/// the same, 1 when they differ.
fn diff(s: &TempStore, a: &str, b: &str, code: i32) -> Comparison {
    let out = s.bop(&["diff", "--json", a, b]);
    assert_status(&out, code, &format!("bop diff {a} {b}"));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)))
}

#[test]
fn a_run_against_itself_is_empty() {
    let s = TempStore::new();
    s.record_guest("t", &["tcp", "3", "10"]);
    let c = diff(&s, "t", "t", 0);
    assert!(
        c.is_empty() && c.first_divergence.is_none(),
        "{}",
        c.summary
    );
}

#[test]
fn a_dropped_reply_is_the_first_divergence() {
    let s = TempStore::new();
    assert_ok(&s.bop(&["demo", "--id", "base"]), "demo");
    let rerun = s.bop(&[
        "rerun",
        "-q",
        "base",
        "--id",
        "drop",
        "--drop",
        "client->primary#0/r1",
    ]);
    assert_status(&rerun, 1, "verdict fail");
    let c = diff(&s, "base", "drop", 1);
    let first = c.first_divergence.expect("a first divergence");
    assert!(
        first
            .reason
            .contains("client->primary#0/r1 was dropped in B"),
        "{}",
        first.reason
    );
    assert!(
        first.a.as_deref().unwrap().starts_with("primary:"),
        "{first:?}"
    );
    let changed: Vec<&str> = c
        .messages
        .changed
        .iter()
        .map(|m| m.a.name.as_str())
        .collect();
    assert!(changed.contains(&"client->primary#0/r1"), "{changed:?}");
    let text_out = s.bop(&["diff", "base", "drop"]);
    assert_status(&text_out, 1, "bop diff (text) of runs that differ");
    assert!(text(&text_out.stdout).contains("== First divergence =="));
    let bad = s.bop(&["diff", "base", "nope"]);
    assert_status(&bad, 2, "bop diff of a run that does not exist");
    assert!(text(&bad.stderr).contains("no run 'nope'"));
}

#[test]
fn two_runs_of_a_racy_guest_show_the_swap() {
    let s = TempStore::new();
    s.record_guest("base", &["race"]);
    // Jittered reruns until the two children's messages arrive in both orders.
    assert_ok(
        &s.bop(&[
            "explore", "base", "--id", "x", "--runs", "12", "--jitter", "40",
        ]),
        "explore",
    );
    let e: bop_model::Exploration =
        serde_json::from_slice(&std::fs::read(s.path().join("explorations/x.json")).unwrap())
            .unwrap();
    assert!(e.classes.len() >= 2, "the race showed both orders");
    let (a, b) = (&e.classes[0].representative, &e.classes[1].representative);
    let c = diff(&s, a, b, 1);
    assert!(!c.same_class);
    let first = c.first_divergence.expect("a first divergence");
    assert!(
        first.a.as_deref().is_some_and(|n| n.contains(":read")),
        "the parent's read differs first: {first:?}"
    );
    assert!(
        !c.messages.changed.is_empty(),
        "the messages swapped receivers: {}",
        c.summary
    );
}
