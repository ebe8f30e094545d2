//! Faults still act with the fast path on (issue 15 item 4,
//! docs/FASTPATH.md "Faults"): in a run with a fault plan, the processes
//! the plan could act on stop at every call as without the fast path,
//! and every other process uses it. `fastpath fault-trio` has a faulted
//! pair (a child and its own child on a socketpair the child made) and a
//! second pair (the root and another child) that no fault names.
//!
//! Each case (a drop, a delay, an error on an event) records the same
//! plan under ptrace only and with the fast path, and asserts: the fault
//! fired with the same record, on the same message or event, with the
//! same outcome for the program; for the drop and the delay the graphs
//! are the same; the sender the fault acts on used ptrace only; and every
//! other process used the fast path. Jitter reaches every process.

use bop_model::CallPath;
use serde_json::Value;

use crate::common::*;
use crate::fastpath_equiv::{
    Scope, Target, assert_same_graph, fast_path_processes, fastpath_guest, fault_plan_for, field,
    list_of, manifest_json, record,
};

fn trio() -> Target {
    Target::command(fastpath_guest(), &["fault-trio", "5", "20"])
}

/// What fault 0 of run `id` did: fired, where (event and call), its
/// effect and count.
fn fired(s: &TempStore, id: &str) -> Vec<String> {
    let f = &manifest_json(s, id)["faults"][0];
    [
        &f["fired"],
        &f["at"]["event"],
        &f["at"]["call"],
        &f["effect"],
        &f["count"],
    ]
    .iter()
    .map(|v| field(v))
    .collect()
}

/// The events a fault acted on in run `id`'s graph: (event, label), and
/// the messages marked dropped.
fn affected(g: &Value) -> (Vec<String>, Vec<String>) {
    let events = list_of(&g["events"])
        .iter()
        .filter(|e| !e["injected"].is_null())
        .map(|e| format!("{} {}", field(&e["name"]), field(&e["injected"])))
        .collect();
    let dropped = list_of(&g["messages"])
        .iter()
        .filter(|m| m["dropped"] == true)
        .map(|m| field(&m["id"]))
        .collect();
    (events, dropped)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn a_fault_on_one_pair(kind: &str) {
    let s = TempStore::new();
    let (plan, message) = fault_plan_for(&s, kind, &trio());
    let extra = ["--faults", plan.as_str()];
    let slow = record(&s, "slow", false, &extra, &trio());
    assert_ok(&slow, "faulty run under ptrace");
    let fast = record(&s, "fast", true, &extra, &trio());
    assert_ok(&fast, "faulty run with the fast path");
    let what = format!("{kind} of {message}");
    let (gs, gf) = (s.export("slow"), s.export("fast"));
    assert_same_graph(&what, &gs, &gf, Scope::Whole);

    // (a) it fired, and did the same thing to the same message.
    let record = fired(&s, "fast");
    assert_eq!(record[0], "true", "{what} did not fire: {record:?}");
    assert_eq!(
        record,
        fired(&s, "slow"),
        "{what}: the fired records differ"
    );
    let (events, dropped) = affected(&gf);
    assert_eq!((events.clone(), dropped.clone()), affected(&gs), "{what}");
    assert_eq!(events.len(), 1, "{what} acted on one send: {events:?}");
    assert_eq!(
        dropped,
        if kind == "drop" {
            vec![message.clone()]
        } else {
            vec![]
        },
        "{what}"
    );
    for id in ["slow", "fast"] {
        let out = std::fs::read_to_string(s.path().join(id).join("stdout")).unwrap();
        let lost = out.contains("message 2 never arrived");
        assert_eq!(lost, kind == "drop", "{what}, run {id} printed {out:?}");
    }

    // (b) every process the plan cannot act on used the fast path, (c)
    // the sender it acts on did not.
    let event = &record[1];
    let sender = event.split_once(":t").map_or(event.as_str(), |(p, _)| p);
    let processes: Vec<String> = list_of(&gf["processes"])
        .iter()
        .map(|p| field(&p["name"]))
        .collect();
    assert_eq!(processes.len(), 4, "{processes:?}");
    assert!(
        processes.iter().any(|p| p == sender),
        "{sender} in {processes:?}"
    );
    let others: Vec<String> = processes.into_iter().filter(|p| p != sender).collect();
    assert_eq!(
        sorted(fast_path_processes(&s, "fast")),
        sorted(others),
        "{what}: the fast path's processes (the sender {sender} must not be one)"
    );
    assert!(fast_path_processes(&s, "slow").is_empty());
    let (m, events) = s.read("fast");
    let pid = m.faults[0].at.as_ref().map(|at| at.pid);
    let sender_fast = events
        .iter()
        .filter(|e| Some(e.pid) == pid && e.path == CallPath::Fast)
        .count();
    assert_eq!(sender_fast, 0, "{what}: {sender} took the fast path");
}

#[test]
fn a_dropped_message_leaves_the_other_processes_on_the_fast_path() {
    a_fault_on_one_pair("drop");
}

#[test]
fn a_delayed_message_leaves_the_other_processes_on_the_fast_path() {
    a_fault_on_one_pair("delay");
}

/// A plan that could act on every process (jitter) keeps the whole run on
/// ptrace, and its faults still act.
#[test]
fn jitter_keeps_every_process_on_ptrace() {
    let s = TempStore::new();
    let plan = s.path().join("jitter.toml");
    std::fs::write(
        &plan,
        "[[fault]]\nkind = \"jitter\"\nmax_ms = 3\nseed = 7\n",
    )
    .unwrap();
    let plan = plan.display().to_string();
    let out = record(&s, "fast", true, &["--faults", plan.as_str()], &trio());
    assert_ok(&out, "jittered run");
    assert!(fast_path_processes(&s, "fast").is_empty());
    // The manifest says why, so `bop show` does not claim it was on.
    let m = s.read("fast").0;
    assert_eq!(
        m.fast_path.unavailable.as_deref(),
        Some("the fault plan can act on every process")
    );
    let shown = text(&s.bop(&["show", "fast"]).stdout);
    assert!(
        shown.contains("fast path: unavailable (the fault plan can act on every process)"),
        "{shown}"
    );
    let jittered = list_of(&s.export("fast")["events"])
        .iter()
        .filter(|e| field(&e["injected"]).starts_with("jitter"))
        .count();
    assert!(jittered > 0, "jitter held some sends");
}

/// An error on one event of the faulted sender (its third data send)
/// fails that call the same way on both paths, and only the sender stays
/// on ptrace.
#[test]
fn an_error_on_an_event_leaves_the_other_processes_on_the_fast_path() {
    let s = TempStore::new();
    assert_ok(&record(&s, "names", true, &[], &trio()), "names run");
    let g = s.export("names");
    let mut data: Vec<Value> = list_of(&g["messages"])
        .into_iter()
        .filter(|m| m["bytes"] == 8)
        .collect();
    data.sort_by_key(|m| field(&m["id"]));
    let send = data[2]["send"].as_u64().unwrap() as usize;
    let event = field(&list_of(&g["events"])[send]["name"]);
    let plan = s.path().join("error.toml");
    std::fs::write(
        &plan,
        format!("[[fault]]\nkind = \"error\"\nevent = \"{event}\"\nerrno = \"EIO\"\n"),
    )
    .unwrap();
    let plan = plan.display().to_string();
    let extra = ["--faults", plan.as_str()];
    let slow = record(&s, "slow", false, &extra, &trio());
    let fast = record(&s, "fast", true, &extra, &trio());
    assert_eq!(
        slow.status.code(),
        fast.status.code(),
        "{}",
        text(&fast.stderr)
    );
    let record = fired(&s, "fast");
    assert_eq!(
        record[0], "true",
        "error on {event} did not fire: {record:?}"
    );
    assert_eq!(record, fired(&s, "slow"));
    assert_eq!(record[1], event, "it failed the event the plan names");
    let sender = event.split_once(":t").map_or(event.as_str(), |(p, _)| p);
    let others: Vec<String> = list_of(&s.export("fast")["processes"])
        .iter()
        .map(|p| field(&p["name"]))
        .filter(|p| p != sender)
        .collect();
    assert_eq!(others.len(), 3);
    assert_eq!(sorted(fast_path_processes(&s, "fast")), sorted(others));
}
