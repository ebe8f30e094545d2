//! Exploration: trace-class histograms over many runs, single-fault sweeps
//! over the demo, and stopping midway.

use std::time::{Duration, Instant};

use bop_model::Exploration;

use crate::common::*;

fn exploration(s: &TempStore, id: &str) -> Exploration {
    serde_json::from_slice(
        &std::fs::read(s.path().join("explorations").join(format!("{id}.json"))).unwrap(),
    )
    .unwrap()
}

#[test]
fn a_racy_guest_falls_into_several_classes_under_jitter() {
    let s = TempStore::new();
    s.record_guest("base", &["race"]);
    let out = s.bop(&[
        "explore",
        "base",
        "--id",
        "x",
        "--runs",
        "10",
        "--jitter",
        "40",
        "--parallel",
        "2",
    ]);
    assert_ok(&out, "bop explore");
    let e = exploration(&s, "x");
    assert!(e.complete);
    assert_eq!(e.classes.iter().map(|c| c.count).sum::<usize>(), 10);
    assert!(e.classes.len() >= 2, "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("trace classes"),
        "{}",
        text(&out.stdout)
    );
    // Every class names a representative run that exists.
    for c in &e.classes {
        assert!(
            s.path()
                .join(&c.representative)
                .join("manifest.json")
                .exists()
        );
    }
}

#[test]
fn sweeps_find_the_demo_bugs_and_the_tolerated_fault() {
    let s = TempStore::new();
    assert_ok(&s.bop(&["demo", "--id", "base"]), "demo");
    let out = s.bop(&[
        "explore",
        "base",
        "--id",
        "drops",
        "--sweep",
        "drop",
        "--channel",
        "client->primary#0",
    ]);
    assert_ok(&out, "drop sweep");
    let e = exploration(&s, "drops");
    let flips = |e: &Exploration, m: &str| {
        e.probes
            .iter()
            .find(|p| p.message == m)
            .unwrap_or_else(|| panic!("{m} not probed"))
            .flipped
    };
    assert!(
        flips(&e, "client->primary#0/r1"),
        "the dropped INCR reply (double increment)"
    );
    assert!(e.probes.iter().all(|p| p.channel == "client->primary#0"));
    let out = s.bop(&[
        "explore",
        "base",
        "--id",
        "delays",
        "--sweep",
        "delay=500",
        "--channel",
        "primary->replica#0",
    ]);
    assert_ok(&out, "delay sweep");
    let e = exploration(&s, "delays");
    assert!(
        flips(&e, "primary->replica#0/0"),
        "the delayed replication (stale read)"
    );
    assert!(
        !flips(&e, "primary->replica#0/r0"),
        "the delayed ack is tolerated"
    );
    assert!(
        text(&out.stdout).contains("FLIPS to fail"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn stopping_an_exploration_keeps_the_finished_runs() {
    let s = TempStore::new();
    s.record_guest("base", &["tcp", "2", "10"]);
    let explore = Started::spawn(&mut s.bop_command(&[
        "explore",
        "base",
        "--id",
        "stop",
        "--runs",
        "50",
        "--parallel",
        "1",
    ]));
    let started = Instant::now();
    while !s.path().join("stop-1").join("manifest.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no run finished"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(explore.pid(), nix::sys::signal::Signal::SIGINT).unwrap();
    assert_ok(&explore.wait(), "bop explore stopped by SIGINT");
    let e = exploration(&s, "stop");
    assert!(!e.complete);
    let kept: usize = e.classes.iter().map(|c| c.count).sum();
    assert!((1..50).contains(&kept), "{kept} runs kept");
    for c in &e.classes {
        for r in &c.runs {
            assert!(s.path().join(r).join("manifest.json").exists());
        }
    }
}
