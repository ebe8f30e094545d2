//! The blind spots of issue 13 (items 7 and 8) on real guests: bytes moved
//! inside the kernel (sendfile, splice, tee) are messages with their sends
//! and receives, an eventfd write → read is a causal edge, io_uring users
//! are named in the run, and sides no traced process holds are named the
//! same way in two runs.

use bop_model::ChannelKind;
use bop_tracker::{CausalGraph, EdgeKind};

use crate::common::*;

fn fidelity3() -> &'static str {
    env!("CARGO_BIN_EXE_fidelity3")
}

/// Records the guest in role `role` and returns its events.
fn record(s: &TempStore, role: &str) -> Vec<bop_model::Event> {
    let out = s.bop(&["run", "-q", "--id", role, "--", fidelity3(), role]);
    assert_ok(&out, &format!("bop run fidelity3 {role}"));
    s.read(role).1
}

#[test]
fn a_sendfile_is_a_message_on_its_socket() {
    let s = TempStore::new();
    let ev = record(&s, "sendfile");
    let g = CausalGraph::build(&ev);
    let sent: Vec<_> = g
        .messages()
        .iter()
        .filter(|m| ev[m.send].call == "sendfile")
        .collect();
    assert!(!sent.is_empty(), "{:?}", g.messages());
    assert_eq!(sent.iter().map(|m| m.bytes).sum::<u64>(), 1000);
    for m in sent {
        assert!(!m.recvs.is_empty() && !m.lost, "{m:?}");
        let ch = &g.channels()[m.channel];
        assert_eq!(ch.kind, ChannelKind::Unix, "{ch:?}");
    }
}

#[test]
fn splice_and_tee_receive_on_their_input_and_send_on_their_output() {
    let s = TempStore::new();
    let ev = record(&s, "splice");
    let g = CausalGraph::build(&ev);
    let by_send = |call: &str, kind: ChannelKind| {
        g.messages()
            .iter()
            .filter(|m| ev[m.send].call == call && g.channels()[m.channel].kind == kind)
            .map(|m| m.bytes)
            .sum::<u64>()
    };
    // socket -> pipe, pipe -> socket; tee copies pipe -> pipe.
    assert_eq!(by_send("splice", ChannelKind::Pipe), 500);
    assert_eq!(by_send("splice", ChannelKind::Unix), 500);
    assert_eq!(by_send("tee", ChannelKind::Pipe), 500);
    for m in g.messages() {
        assert!(!m.lost && !m.recvs.is_empty(), "{m:?}");
    }
    // The write on the first socket reaches the final read of each copy
    // (the second socket's, the teed pipe's) through the transfers.
    let write = (0..ev.len())
        .find(|&i| bop_model::sends(&ev[i]) && !bop_model::is_transfer(&ev[i].call))
        .unwrap();
    let last_reads: Vec<usize> = g
        .messages()
        .iter()
        .filter(|m| !bop_model::is_transfer(&ev[m.recvs[0]].call))
        .map(|m| m.recvs[0])
        .collect();
    assert_eq!(last_reads.len(), 2, "{:?}", g.messages());
    for r in last_reads {
        assert!(
            g.happens_before(write, r),
            "{} -> {}",
            g.event_name(write),
            g.event_name(r)
        );
    }
    // The tee consumed nothing: the splice after it took all 500 bytes
    // of the first pipe.
    let tee_in = ev
        .iter()
        .find(|e| e.call == "tee" && e.detail.input)
        .unwrap();
    assert!(tee_in.detail.peek, "{tee_in:?}");
}

#[test]
fn an_eventfd_write_wakes_the_worker_that_reads_it() {
    let s = TempStore::new();
    let ev = record(&s, "eventfd");
    let g = CausalGraph::build(&ev);
    let ch = g
        .channels()
        .iter()
        .position(|c| c.kind == ChannelKind::Eventfd)
        .unwrap_or_else(|| panic!("no eventfd channel: {:?}", g.channels()));
    assert!(
        g.channels()[ch].name.starts_with("eventfd:fidelity3#0#"),
        "{:?}",
        g.channels()[ch]
    );
    let m = g
        .messages()
        .iter()
        .find(|m| m.channel == ch)
        .expect("the write is a message");
    assert_eq!(m.recvs.len(), 1, "{m:?}");
    let (w, r) = (m.send, m.recvs[0]);
    assert_ne!(
        g.thread_of(w),
        g.thread_of(r),
        "the handoff crosses threads"
    );
    assert!(
        g.incoming(r)
            .iter()
            .any(|&(j, e)| j == w && e.kind == EdgeKind::Message),
        "write -> read is a message edge"
    );
    // The worker's answer is caused by the wakeup.
    let answer = g
        .messages()
        .iter()
        .find(|m| g.channels()[m.channel].kind == ChannelKind::Unix)
        .unwrap();
    assert!(g.happens_before(w, answer.recvs[0]));
}

#[test]
fn an_io_uring_user_is_named_in_the_manifest_and_by_bop_show() {
    let s = TempStore::new();
    record(&s, "uring");
    let (m, ev) = s.read("uring");
    assert!(
        ev.iter().any(|e| e.call == "io_uring_setup"),
        "the attempt is recorded"
    );
    let worked = std::fs::read_to_string(s.path().join("uring/stdout")).unwrap();
    if worked.contains("io_uring ok") {
        assert_eq!(m.unseen.len(), 1, "{:?}", m.unseen);
        assert_eq!(m.unseen[0].process, "fidelity3#0");
        assert_eq!(m.unseen[0].calls, ["io_uring_setup", "io_uring_enter"]);
        let show = s.bop(&["show", "uring"]);
        assert_ok(&show, "bop show uring");
        assert!(
            text(&show.stdout).contains("warning: fidelity3#0 did I/O bop cannot see"),
            "{}",
            text(&show.stdout)
        );
    } else {
        // io_uring blocked here: nothing was done that bop could not see.
        assert!(m.unseen.is_empty(), "{worked}");
    }
}

/// Channel names of a run, sorted.
fn channel_names(ev: &[bop_model::Event]) -> Vec<String> {
    let g = CausalGraph::build(ev);
    let mut names: Vec<String> = g.channels().iter().map(|c| c.name.clone()).collect();
    names.sort();
    names
}

#[test]
fn unlinked_sides_are_named_the_same_way_in_two_runs() {
    let s = TempStore::new();
    let toml = format!(
        "ports = [\"srv\", \"nobody\"]\n[[node]]\nname = \"srv\"\ncommand = [\"{g}\", \"listen\", \"{{port.srv}}\"]\nready = {{ line = \"listening\", timeout = 10 }}\n[client]\ncommand = [\"{g}\", \"knock\", \"{{port.srv}}\", \"{{port.nobody}}\"]\n",
        g = fidelity3()
    );
    let file = s.path().join("knock.toml");
    std::fs::write(&file, toml).unwrap();
    let mut runs = Vec::new();
    for id in ["k1", "k2"] {
        let out = s.bop(&["run", "-q", "--id", id, file.to_str().unwrap()]);
        assert_ok(&out, "bop run knock.toml");
        let (m, ev) = s.read(id);
        assert_eq!(m.ports.len(), 2, "the manifest records the ports");
        runs.push((m, channel_names(&ev)));
    }
    assert_ne!(runs[0].0.ports, runs[1].0.ports, "ports differ per run");
    let names = &runs[0].1;
    assert_eq!(names, &runs[1].1, "same names in both runs");
    // The server never accepted: its side is named by the listener. Nobody
    // listens on the UDP port: it is named by the scenario's port name.
    assert!(names.contains(&"client->srv#0".to_string()), "{names:?}");
    assert!(
        names.contains(&"client->127.0.0.1:{port.nobody}#0".to_string()),
        "{names:?}"
    );
}
