//! Fidelity of the tracker and the injector on real guests (issue 13):
//! thread names that a prefix of a run shares with the whole run, so a
//! plan naming a thread's event fires at that event in the rerun; peeks
//! that consume no bytes; a fail-silent crash that keeps the crashed
//! node's own pipes.

use bop_tracker::CausalGraph;

use crate::common::*;

fn fidelity2() -> &'static str {
    env!("CARGO_BIN_EXE_fidelity2")
}

/// The logical name of the event with this seq in `events`.
fn name_of_seq(events: &[bop_model::Event], seq: u64) -> String {
    let g = CausalGraph::build(events);
    let i = events.iter().position(|e| e.seq == seq).unwrap();
    g.event_name(i)
}

#[test]
fn a_kill_after_a_deep_threads_event_fires_under_the_planned_name() {
    let s = TempStore::new();
    let out = s.bop(&["run", "-q", "--id", "base", "--", fidelity2(), "threads"]);
    assert_ok(&out, "bop run fidelity2 threads");
    let (_, ev) = s.read("base");
    let g = CausalGraph::build(&ev);
    let threads: Vec<&str> = g.threads().iter().map(|t| t.name.as_str()).collect();
    // t0 started A and C; A started B: B is named by its creator, not by
    // how many threads exist at smaller depths.
    let b = threads
        .iter()
        .find(|n| n.ends_with(":t1.1"))
        .unwrap_or_else(|| panic!("no thread started by t1: {threads:?}"));
    assert!(threads.iter().any(|n| n.ends_with(":t2")), "{threads:?}");
    let b_write = (0..ev.len())
        .find(|&i| g.threads()[g.thread_of(i)].name == *b && bop_model::is_send(&ev[i].call))
        .expect("B's first send");
    let planned = g.event_name(b_write);
    let process = &g.processes()[g.process_of(b_write)].name;
    let crash = format!("{process}@{planned}");
    let out = s.bop(&[
        "rerun", "-q", "base", "--id", "k", "--kill", "--crash", &crash,
    ]);
    let (m, rerun) = s.read("k");
    let f = &m.faults[0];
    assert!(f.fired, "{f:?} {}", text(&out.stderr));
    let seq = f.at.as_ref().and_then(|a| a.seq).expect("where it fired");
    assert_eq!(name_of_seq(&rerun, seq), planned, "{f:?}");
}

#[test]
fn peeks_before_each_read_leave_the_byte_accounting_alone() {
    let s = TempStore::new();
    let out = s.bop(&["run", "-q", "--id", "p", "--", fidelity2(), "peek"]);
    assert_ok(&out, "bop run fidelity2 peek");
    let (_, ev) = s.read("p");
    let peeks = ev.iter().filter(|e| e.detail.peek).count();
    assert_eq!(peeks, 3, "the tracer records each MSG_PEEK");
    let g = CausalGraph::build(&ev);
    let msgs = g.messages();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    for (m, n) in msgs.iter().zip([10, 20, 30]) {
        assert_eq!(m.bytes, n, "{m:?}");
        // Each message is seen by its own peek and consumed by its read.
        let sizes: Vec<Option<u64>> = m.recvs.iter().map(|&r| ev[r].bytes).collect();
        assert_eq!(sizes, vec![Some(1), Some(n)], "{}: {sizes:?}", m.name);
        assert!(ev[m.recvs[0]].detail.peek && !ev[m.recvs[1]].detail.peek);
    }
}

#[test]
fn a_crashed_nodes_own_pipes_still_deliver() {
    let s = TempStore::new();
    let script = r#"x=$(echo hello); [ "$x" = hello ] || exit 3"#;
    let out = s.bop(&["run", "-q", "--id", "base", "--", "sh", "-c", script]);
    assert_ok(&out, "bop run sh");
    let (_, ev) = s.read("base");
    let g = CausalGraph::build(&ev);
    let root = g.processes()[0].name.clone();
    let out = s.bop(&["rerun", "-q", "base", "--id", "c", "--crash", &root]);
    // The shell read hello from its own $(...): only what leaves the
    // crashed tree is lost.
    assert_ok(&out, "the crashed shell still read hello");
    let (m, ev) = s.read("c");
    assert!(m.faults[0].fired, "{:?}", m.faults[0]);
    assert!(
        ev.iter().all(|e| e.injected.is_none()),
        "nothing inside the tree was dropped"
    );
}
