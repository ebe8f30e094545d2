//! bop search on the bundled demo: it finds exactly the two seeded bugs
//! (stale read; double increment), each plan reproduces, and the verdict
//! rules leave only those bugs failing in a single-drop sweep.

use bop_model::{Exploration, Search};
use bop_tracker::CausalGraph;

use crate::common::*;

#[test]
fn a_search_of_the_demo_finds_exactly_its_two_seeded_bugs() {
    let s = TempStore::new();
    assert_ok(&s.bop(&["demo", "--id", "base"]), "demo");
    let out = s.bop(&[
        "search",
        "base",
        "--id",
        "s",
        "--budget",
        "60",
        "--parallel",
        "2",
        "--json",
    ]);
    let report = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "a bug found exits 1\n{report}");
    let found: Search = serde_json::from_slice(&out.stdout).unwrap();
    let stored: Search =
        serde_json::from_slice(&std::fs::read(s.path().join("searches").join("s.json")).unwrap())
            .unwrap();
    assert_eq!(found, stored, "what --json prints is what is stored");
    assert!(found.runs >= 60, "runs counts every rerun: {}", found.runs);
    assert_eq!(found.baselines.len(), 5);
    assert_eq!(
        found.baseline_failures, 0,
        "the demo's check is not flaky\n{report}"
    );
    let checks: Vec<&str> = found.bugs.iter().map(|b| b.check.as_str()).collect();
    assert_eq!(checks.len(), 2, "exactly two bugs: {checks:?}\n{report}");
    assert!(
        checks.iter().any(|c| c.contains("read-your-writes"))
            && checks.iter().any(|c| c.contains("exactly-once")),
        "{checks:?}\n{report}"
    );
    for (k, bug) in found.bugs.iter().enumerate() {
        eprintln!(
            "bug {k} ({}) found after {} reruns",
            bug.check, bug.runs_to_find
        );
        assert!(
            bug.confirmed.failed >= 2 && bug.confirmed.of == 3,
            "{bug:?}"
        );
        assert!(bug.runs_to_find <= 45, "found late: {bug:?}\n{report}");
        assert!(!bug.plan.faults.is_empty() && bug.plan.faults.len() <= 3);
        // The minimal plan, as bop rerun reads it, fails the check again in
        // most reruns (a bug is what fails in most; a delay sits in a window).
        let file = s.path().join(format!("bug{k}.json"));
        std::fs::write(&file, serde_json::to_vec(&bug.plan).unwrap()).unwrap();
        let failed = (0..3)
            .filter(|n| {
                let id = format!("again{k}-{n}");
                let args = [
                    "rerun",
                    "-q",
                    "base",
                    "--id",
                    &id,
                    "--faults",
                    file.to_str().unwrap(),
                ];
                s.bop(&args).status.code() == Some(1)
            })
            .count();
        assert!(failed >= 2, "{bug:?} failed {failed} of 3 reruns");
    }
    let listed = s.bop(&["searches"]);
    assert_ok(&listed, "bop searches");
    let line = text(&listed.stdout);
    assert!(
        line.lines()
            .any(|l| l.starts_with("s ") && l.contains(" 2 ")),
        "{line}"
    );
}

#[test]
fn bad_search_requests_are_refused_and_change_nothing() {
    let s = TempStore::new();
    assert_ok(&s.bop(&["demo", "--id", "base"]), "demo");
    for (args, want) in [
        (
            vec!["search", "base", "--faults", "explode"],
            "--faults explode",
        ),
        (vec!["search", "nope"], "nope"),
        (vec!["search", "base", "--budget", "0"], "at least 1"),
    ] {
        let out = s.bop(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(want),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(!s.path().join("searches").exists());
}

#[test]
fn in_a_demo_drop_sweep_only_the_seeded_bugs_fail() {
    let s = TempStore::new();
    assert_ok(&s.bop(&["demo", "--id", "base"]), "demo");
    let out = s.bop(&[
        "explore",
        "base",
        "--id",
        "drops",
        "--sweep",
        "drop",
        "--parallel",
        "2",
    ]);
    assert_ok(&out, "drop sweep");
    let e: Exploration = serde_json::from_slice(
        &std::fs::read(s.path().join("explorations").join("drops.json")).unwrap(),
    )
    .unwrap();
    // One probe per message of the base run. The INCR's replication and
    // its ack race the end of the workload (the client does not wait for
    // them, and the nodes are stopped when it ends), so under load a base
    // run may end before they were sent; every other message is always
    // there.
    let (_, events) = s.read("base");
    let graph = CausalGraph::build(&events);
    let mut base: Vec<&str> = graph.messages().iter().map(|m| m.name.as_str()).collect();
    let mut probed: Vec<&str> = e.probes.iter().map(|p| p.message.as_str()).collect();
    base.sort();
    probed.sort();
    assert_eq!(probed, base, "{}", text(&out.stdout));
    let late = ["primary->replica#0/1", "primary->replica#0/r1"];
    let always: Vec<&str> = base.iter().copied().filter(|m| !late.contains(m)).collect();
    let want = [
        "client->primary#0/0",
        "client->primary#0/1",
        "client->primary#0/2",
        "client->primary#0/r0",
        "client->primary#0/r1",
        "client->primary#0/r2",
        "client->replica#0/0",
        "client->replica#0/r0",
        "primary->replica#0/0",
        "primary->replica#0/r0",
    ];
    assert_eq!(always, want, "{base:?}");
    let mut flipped: Vec<&str> = e
        .probes
        .iter()
        .filter(|p| p.flipped)
        .map(|p| p.message.as_str())
        .collect();
    flipped.sort();
    // Dropping the replication message is the stale read; dropping the
    // INCR's reply (or, on the stream, the PUT's before it) makes the
    // retry count twice. A client that only timed out passes.
    assert_eq!(
        flipped,
        [
            "client->primary#0/r0",
            "client->primary#0/r1",
            "primary->replica#0/0"
        ],
        "{}",
        text(&out.stdout)
    );
}

/// `bop search TARGET.toml --json` on one of tests/guests/search/.
fn search_target(s: &TempStore, name: &str, budget: &str) -> (Option<i32>, Search, String) {
    search_target_with(s, name, budget, &[])
}

/// [`search_target`] with more `bop search` options.
fn search_target_with(
    s: &TempStore,
    name: &str,
    budget: &str,
    more: &[&str],
) -> (Option<i32>, Search, String) {
    let file = format!("{}/guests/search/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let mut args = vec![
        "search",
        &file,
        "--id",
        name,
        "--budget",
        budget,
        "--parallel",
        "2",
        "--json",
    ];
    args.extend_from_slice(more);
    let out = s.bop(&args);
    let report = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let found = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{report}"));
    (out.status.code(), found, report)
}

#[test]
fn a_bug_that_needs_two_faults_at_once_is_found() {
    let s = TempStore::new();
    let (code, found, report) = search_target(&s, "two", "60");
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(found.bugs.len(), 1, "{report}");
    let bug = &found.bugs[0];
    eprintln!(
        "two-fault bug found after {} reruns: {:?}",
        bug.runs_to_find, bug.plan
    );
    // Either replication message alone is masked by the other backup, so
    // the minimal plan keeps two faults.
    assert_eq!(bug.plan.faults.len(), 2, "{bug:?}");
    assert!(bug.check.contains("acknowledged write lost"), "{bug:?}");
    assert!(bug.runs_to_find <= 50, "{bug:?}\n{report}");
}

#[test]
fn a_bug_only_a_delay_inside_a_window_reveals_is_found() {
    let s = TempStore::new();
    let (code, found, report) = search_target(&s, "window", "40");
    assert_eq!(code, Some(1), "{report}");
    let bug = found
        .bugs
        .iter()
        .find(|b| {
            matches!(
                b.plan.faults.as_slice(),
                [bop_model::Fault::Delay {
                    ms: bop_model::Ms::N(_),
                    ..
                }]
            )
        })
        .unwrap_or_else(|| panic!("no single finite delay among the bugs\n{report}"));
    eprintln!(
        "window bug found after {} reruns: {:?}",
        bug.runs_to_find, bug.plan
    );
    assert!(bug.runs_to_find <= 20, "{bug:?}\n{report}");
}

#[test]
fn a_bug_in_a_retry_that_only_a_fault_creates_is_found() {
    let s = TempStore::new();
    // Drops only: a partition of primary and backup would lose the write
    // by itself, and this test is about learning candidates from reruns.
    let more = ["--faults", "drop", "--max-faults", "2", "--baselines", "2"];
    let (code, found, report) = search_target_with(&s, "retry", "40", &more);
    assert_eq!(code, Some(1), "{report}");
    let bug = found
        .bugs
        .iter()
        .find(|b| b.check.contains("acknowledged write lost"))
        .unwrap_or_else(|| panic!("the lost write was not found\n{report}"));
    eprintln!(
        "retry bug found after {} reruns: {:?}",
        bug.runs_to_find, bug.plan
    );
    // The SET and its retry: the retry's connection (the primary's second
    // to the backup) exists only in reruns where the first SET was lost.
    let dropped: Vec<String> = bug.plan.faults.iter().map(|f| f.to_string()).collect();
    assert_eq!(dropped.len(), 2, "{dropped:?}\n{report}");
    assert!(
        dropped.iter().all(|f| f.starts_with("drop primary->b1#")),
        "{dropped:?}\n{report}"
    );
    // The retry's name is the rerun's, so the bug says where to rerun it
    // from, and its failing run was rerun from there with both fired.
    let parent = bug.parent.as_deref().unwrap_or_else(|| panic!("{bug:?}"));
    assert_ne!(parent, "retry-base", "{bug:?}");
    let (failing, _) = s.read(&bug.run);
    assert_eq!(failing.parent.as_deref(), Some(parent), "{failing:?}");
    assert!(
        failing.faults.iter().all(|f| f.fired),
        "{:?}",
        failing.faults
    );
    // ... and the retry's connection is not in the base run at all.
    let retry_channel = dropped
        .iter()
        .filter_map(|f| f.strip_prefix("drop ")?.rsplit_once('/'))
        .map(|(channel, _)| channel.to_string())
        .max()
        .unwrap();
    let base = s.export("retry-base");
    let channels: Vec<&str> = base["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["channel"].as_str())
        .collect();
    assert!(
        !channels.contains(&retry_channel.as_str()),
        "{retry_channel} is in the base run: {channels:?}"
    );
}

#[test]
fn a_correct_system_yields_no_bug() {
    let s = TempStore::new();
    let (code, found, report) = search_target(&s, "correct", "40");
    assert_eq!(code, Some(0), "{report}");
    assert!(found.bugs.is_empty(), "{report}");
    assert!(found.runs >= 40, "{report}");
}

#[test]
fn a_flaky_check_is_reported_and_yields_no_bug() {
    let s = TempStore::new();
    let (code, found, report) = search_target(&s, "flaky", "30");
    assert_eq!(code, Some(0), "no bug: exit 0\n{report}");
    assert!(found.bugs.is_empty(), "{report}");
    // One check in four fails: the base run's (the 1st), then one of the
    // five baselines (the 5th check).
    assert_eq!(found.baselines.len(), 5, "{report}");
    assert_eq!(found.baseline_failures, 1, "{report}");
    assert!(
        report.contains("1 of 5 baselines failed the check: a flaky check"),
        "{report}"
    );
    assert!(found.runs >= 30, "{report}");
    // Failures did happen under faults, and confirmation turned them down.
    assert!(report.contains("not confirmed"), "{report}");
}
