//! The tracer on each kind of guest: exact counts and byte totals of the
//! recorded events and channels, process and thread lifecycle.

use bop_model::{ChannelKind, Event, Verdict};

use crate::common::*;

#[test]
fn tcp_ping_pong_is_recorded_exactly() {
    let s = TempStore::new();
    let (m, ev) = s.record_guest("tcp", &["tcp", "5", "100"]);
    assert_eq!(m.verdict, Verdict::Pass);
    assert_eq!(m.exit_status, Some(0));
    assert_eq!(pids(&ev).len(), 2, "server and client");
    let connects = calls(&ev, "connect", Some("tcp"));
    let accepts: Vec<_> = ev.iter().filter(|e| e.call.starts_with("accept")).collect();
    assert_eq!((connects.len(), accepts.len()), (1, 1));
    // The two ends of the one connection mirror each other.
    let c = connects[0].endpoint.as_ref().unwrap();
    let a = &accepts[0].detail.new_endpoints[0];
    assert_eq!(
        (c.local.as_str(), c.peer.as_deref()),
        (a.peer.as_deref().unwrap(), Some(a.local.as_str()))
    );
    let client = connects[0].pid;
    let sends: Vec<_> = calls(&ev, "sendto", Some("tcp"));
    let recvs: Vec<_> = calls(&ev, "recvfrom", Some("tcp"));
    let (cs, ss): (Vec<_>, Vec<_>) = sends.iter().partition(|e| e.pid == client);
    let (cr, sr): (Vec<_>, Vec<_>) = recvs.iter().partition(|e| e.pid == client);
    assert_eq!((cs.len(), bytes(&cs)), (5, 500), "client sends");
    assert_eq!((ss.len(), bytes(&ss)), (5, 500), "server echoes");
    assert_eq!((cr.len(), bytes(&cr)), (5, 500), "client receives");
    // Five messages and the end-of-file read of the close.
    assert_eq!((sr.len(), bytes(&sr)), (6, 500), "server receives");
    assert_eq!(sr.last().unwrap().ret, Some(0), "EOF read");
    assert_eq!(
        calls(&ev, "close", Some("tcp"))
            .iter()
            .filter(|e| e.pid == client)
            .count(),
        1
    );
}

#[test]
fn udp_datagrams_are_recorded_per_datagram() {
    let s = TempStore::new();
    let (_, ev) = s.record_guest("udp", &["udp", "3"]);
    // The client binds port 0 twice (its socket, and a probe for a free
    // port that it closes); the server is the process that bound the port
    // it was given.
    let binds = calls(&ev, "bind", Some("udp"));
    let asked = |e: &Event| {
        e.detail
            .addr
            .clone()
            .expect("bind records the address asked for")
    };
    let fixed: Vec<_> = binds.iter().filter(|e| !asked(e).ends_with(":0")).collect();
    assert_eq!(fixed.len(), 1, "one bind of a given port: {binds:?}");
    let server_bind = fixed[0];
    let server = server_bind.pid;
    let server_addr = asked(server_bind);
    assert_eq!(
        server_bind.endpoint.as_ref().map(|e| e.local.as_str()),
        Some(server_addr.as_str()),
        "the server got the port it asked for"
    );
    let client = calls(&ev, "start", None)
        .into_iter()
        .find(|e| e.detail.child.is_none())
        .expect("the first process")
        .pid;
    assert_ne!(server, client, "the server is the spawned process");
    // Every datagram the client sent went to the server's address.
    let requests: Vec<_> = calls(&ev, "sendto", Some("udp"))
        .into_iter()
        .filter(|e| e.pid == client)
        .collect();
    assert!(requests.len() >= 3, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|e| e.detail.addr.as_deref() == Some(server_addr.as_str())),
        "sent to {server_addr}: {requests:?}"
    );
    let got: Vec<_> = calls(&ev, "recvfrom", Some("udp"))
        .into_iter()
        .filter(|e| e.pid == server && e.ret.unwrap_or(-1) > 0)
        .collect();
    assert_eq!(
        (got.len(), bytes(&got)),
        (3, 96),
        "server got 3 datagrams of 32 bytes"
    );
    let client_addr = requests[0].endpoint.as_ref().unwrap().local.clone();
    assert!(client_addr.starts_with("127.0.0.1:"), "{client_addr}");
    for g in &got {
        assert_eq!(
            g.detail.addr.as_deref(),
            Some(client_addr.as_str()),
            "source address recorded: {g:?}"
        );
    }
    let answers: Vec<_> = calls(&ev, "sendto", Some("udp"))
        .into_iter()
        .filter(|e| e.pid == server)
        .collect();
    assert_eq!((answers.len(), bytes(&answers)), (3, 24));
    assert!(
        answers
            .iter()
            .all(|a| a.detail.addr.as_deref() == Some(client_addr.as_str())),
        "destination recorded, the client's {client_addr}: {answers:?}"
    );
}

#[test]
fn unix_socketpair_ends_are_peers() {
    let s = TempStore::new();
    let (_, ev) = s.record_guest("unix", &["unix", "4"]);
    let pair = calls(&ev, "socketpair", None);
    assert_eq!(pair.len(), 1);
    let ends = &pair[0].detail.new_endpoints;
    assert_eq!(ends.len(), 2);
    assert_eq!(ends[0].kind, Some(ChannelKind::Unix));
    assert_eq!(ends[0].peer.as_deref(), Some(ends[1].local.as_str()));
    let parent = pair[0].pid;
    let sends = calls(&ev, "sendto", Some("unix"));
    let (ps, cs): (Vec<_>, Vec<_>) = sends.iter().partition(|e| e.pid == parent);
    assert_eq!((ps.len(), bytes(&ps)), (4, 64));
    assert_eq!((cs.len(), bytes(&cs)), (4, 16));
    assert_eq!(bytes(&calls(&ev, "recvfrom", Some("unix"))), 80);
}

#[test]
fn pipe_bytes_and_eof() {
    let s = TempStore::new();
    let (m, ev) = s.record_guest("pipe", &["pipe", "5"]);
    assert_eq!(m.verdict, Verdict::Pass, "child counted all 50 bytes");
    let writes = calls(&ev, "write", Some("pipe"));
    assert_eq!((writes.len(), bytes(&writes)), (5, 50));
    let reads = calls(&ev, "read", Some("pipe"));
    assert_eq!(bytes(&reads), 50);
    assert_eq!(reads.last().unwrap().ret, Some(0), "reader sees EOF");
    let ino = &writes[0].endpoint.as_ref().unwrap().local;
    assert!(
        reads
            .iter()
            .all(|r| &r.endpoint.as_ref().unwrap().local == ino),
        "same pipe inode on both ends"
    );
}

#[test]
fn fork_tree_start_exit_and_wait() {
    let s = TempStore::new();
    let (m, ev) = s.record_guest("forktree", &["forktree", "2"]);
    assert_eq!(m.counts.processes, 7, "1 + 2 + 4 processes");
    let starts = calls(&ev, "start", None);
    assert_eq!(starts.len(), 7);
    let forks: Vec<_> = ev
        .iter()
        .filter(|e| matches!(e.call.as_str(), "fork" | "clone" | "clone3"))
        .collect();
    assert_eq!(forks.len(), 6);
    for f in &forks {
        let child = f.detail.child.unwrap();
        let st = starts
            .iter()
            .find(|s| s.tid == child)
            .expect("child has a start event");
        assert_eq!(
            st.detail.child,
            Some(f.tid),
            "start names its parent thread"
        );
    }
    let reaped: Vec<i32> = calls(&ev, "wait4", None)
        .iter()
        .filter_map(|w| w.detail.child)
        .collect();
    assert_eq!(reaped.len(), 6, "every child reaped by wait4");
    assert_eq!(calls(&ev, "exit_group", None).len(), 7);
}

#[test]
fn threads_are_followed() {
    let s = TempStore::new();
    let (m, ev) = s.record_guest("threads", &["threads", "4"]);
    assert_eq!((m.counts.processes, m.counts.threads), (1, 5));
    let writes = calls(&ev, "write", Some("pipe"));
    let mut writers: Vec<i32> = writes.iter().map(|w| w.tid).collect();
    writers.sort();
    writers.dedup();
    assert_eq!(
        (writes.len(), bytes(&writes), writers.len()),
        (4, 32, 4),
        "one write per thread"
    );
    assert_eq!(
        calls(&ev, "start", None)
            .iter()
            .filter(|s| s.detail.thread)
            .count(),
        4,
        "one start per thread"
    );
}

#[test]
fn exec_chain_keeps_the_process() {
    let s = TempStore::new();
    let (m, ev) = s.record_guest("exec", &["exec-chain", "3"]);
    assert_eq!(m.counts.processes, 1);
    let execs = calls(&ev, "execve", None);
    assert_eq!(execs.len(), 4, "initial exec + 3");
    assert!(
        execs
            .iter()
            .all(|e| e.ret == Some(0) && e.detail.exe.as_deref().unwrap().ends_with("guest"))
    );
    assert_eq!(
        execs[3].detail.argv,
        vec![guest().to_string(), "exec-chain".into(), "0".into()]
    );
}

#[test]
fn a_killed_process_is_recorded_as_killed() {
    let s = TempStore::new();
    let (m, ev) = s.record_guest("killed", &["killed"]);
    assert_eq!(m.verdict, Verdict::Pass);
    let killed = calls(&ev, "killed", None);
    assert_eq!(killed.len(), 1);
    assert_eq!(killed[0].detail.signal.as_deref(), Some("SIGKILL"));
    let w = calls(&ev, "wait4", None);
    assert_eq!(w[0].detail.child, Some(killed[0].pid));
}

#[test]
fn captured_bytes_are_hex() {
    let s = TempStore::new();
    let out = s.bop(&[
        "run",
        "-q",
        "--id",
        "cap",
        "--capture-bytes",
        "4",
        "--",
        guest(),
        "pipe",
        "1",
    ]);
    assert_ok(&out, "bop run --capture-bytes");
    let (_, ev) = s.read("cap");
    let w = calls(&ev, "write", Some("pipe"));
    assert_eq!(
        w[0].data.as_deref(),
        Some("70707070"),
        "first 4 bytes of 'pppppppppp'"
    );
}

#[test]
fn targets_get_default_signal_dispositions() {
    // bop ignores SIGPIPE itself; the target must not inherit that.
    let s = TempStore::new();
    let out = s.bop(&[
        "run",
        "-q",
        "--id",
        "sig",
        "--",
        "/bin/sh",
        "-c",
        "grep -E '^Sig(Ign|Blk)' /proc/self/status",
    ]);
    assert_ok(&out, "grep");
    let status = std::fs::read_to_string(s.path().join("sig/stdout")).unwrap();
    for line in status.lines() {
        let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
        assert_eq!(
            mask & (1 << (libc::SIGPIPE - 1)),
            0,
            "SIGPIPE ignored or blocked: {line}"
        );
    }
}

#[test]
fn an_interrupted_read_is_recorded_as_the_program_saw_it() {
    let s = TempStore::new();
    // Without SA_RESTART: the read on A fails with EINTR, then B's 4 bytes.
    let (m, ev) = s.record_guest("eintr", &["eintr", "0"]);
    assert_eq!(m.verdict, Verdict::Pass);
    let reads: Vec<_> = calls(&ev, "read", Some("unix"))
        .into_iter()
        .chain(calls(&ev, "recvfrom", Some("unix")))
        .collect();
    let eintr: Vec<_> = reads
        .iter()
        .filter(|r| r.errno.as_deref() == Some("EINTR"))
        .collect();
    assert_eq!(eintr.len(), 1, "{reads:?}");
    let got: Vec<_> = reads.iter().filter(|r| r.bytes == Some(4)).collect();
    assert_eq!(got.len(), 1);
    assert_ne!(
        got[0].endpoint, eintr[0].endpoint,
        "the 4 bytes came from the other socketpair"
    );
    // With SA_RESTART: one read on A that returns 4 bytes, no EINTR; the
    // handler's write into its pipe is recorded in between.
    let (m, ev) = s.record_guest("restart", &["eintr", "1"]);
    assert_eq!(m.verdict, Verdict::Pass);
    let reads: Vec<_> = ev
        .iter()
        .filter(|e| {
            matches!(e.call.as_str(), "read" | "recvfrom")
                && e.endpoint
                    .as_ref()
                    .is_some_and(|p| p.kind == Some(ChannelKind::Unix))
        })
        .collect();
    assert!(reads.iter().all(|r| r.errno.is_none()), "{reads:?}");
    assert_eq!(reads.iter().filter(|r| r.bytes == Some(4)).count(), 1);
    assert_eq!(
        calls(&ev, "write", Some("pipe")).len(),
        1,
        "the handler's write"
    );
}

/// Under ptrace, a program that retries a read after EINTR with the same
/// arguments makes a new call each time, which the kernel restarting the
/// call (`SA_RESTART`) does not: the signal frame the handler returns
/// through tells the two apart, not the arguments of the next call.
#[test]
fn a_read_retried_after_eintr_is_not_taken_for_a_restart() {
    let s = TempStore::new();
    let unix_reads = |id: &str, mode: &str| {
        let fastpath = env!("CARGO_BIN_EXE_fastpath");
        let out = s.bop(&[
            "run",
            "-q",
            "--no-fast-path",
            "--id",
            id,
            "--",
            fastpath,
            "signal",
            mode,
            "3",
        ]);
        assert_ok(&out, &format!("fastpath signal {mode} 3"));
        let (_, ev) = s.read(id);
        let reads: Vec<Event> = ev
            .iter()
            .filter(|e| matches!(e.call.as_str(), "read" | "recvfrom"))
            .filter(|e| e.endpoint.as_ref().and_then(|p| p.kind) == Some(ChannelKind::Unix))
            .cloned()
            .collect();
        let handler_writes = calls(&ev, "write", Some("pipe")).len();
        (reads, handler_writes)
    };
    // Each EINTR the program saw, then the read that got the 4 bytes.
    let (reads, writes) = unix_reads("same", "eintr-same");
    let results: Vec<_> = reads
        .iter()
        .map(|r| (r.errno.as_deref(), r.bytes))
        .collect();
    let eintr = (Some("EINTR"), None);
    assert_eq!(results, [eintr, eintr, eintr, (None, Some(4))], "{reads:?}");
    assert_eq!(writes, 3, "each handler's write");
    // The kernel restarted the read three times: one call, one event.
    let (reads, writes) = unix_reads("restart", "restart");
    let results: Vec<_> = reads
        .iter()
        .map(|r| (r.errno.as_deref(), r.bytes))
        .collect();
    assert_eq!(results, [(None, Some(4))], "{reads:?}");
    assert_eq!(writes, 3, "each handler's write");
}

#[test]
fn a_process_whose_main_thread_exited_is_still_traced() {
    let s = TempStore::new();
    let (m, ev) = s.record_guest("leader", &["leader-exits"]);
    assert_eq!(m.verdict, Verdict::Pass);
    let pair = calls(&ev, "socketpair", None);
    assert_eq!(pair[0].detail.new_endpoints.len(), 2, "{:?}", pair[0]);
    assert_eq!(
        bytes(&calls(&ev, "sendto", Some("unix"))) + bytes(&calls(&ev, "write", Some("unix"))),
        3
    );
}

#[test]
fn the_first_datagram_of_an_unbound_socket_has_its_real_address() {
    let s = TempStore::new();
    s.record_guest("u", &["udp-unbound"]);
    let (_, ev) = s.read("u");
    let sends = calls(&ev, "sendto", Some("udp"));
    assert_eq!(sends.len(), 2);
    assert!(
        sends
            .iter()
            .all(|e| !e.endpoint.as_ref().unwrap().local.ends_with(":0")),
        "{sends:?}"
    );
    let g = s.export("u");
    let msgs = g["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs.iter()
            .all(|m| m["recvs"].as_array().unwrap().len() == 1),
        "{msgs:?}"
    );
}

/// A target's own EFAULT (bad address pointers) is recorded as its errno and
/// never stops the tracer (the tracer used to index an empty read of the
/// tracee's memory and panic: issue 12).
#[test]
fn calls_with_bad_address_pointers_fail_with_efault_and_the_run_goes_on() {
    let s = TempStore::new();
    let out = s.bop(&["run", "-q", "--id", "efault", "--", guest(), "efault"]);
    let shown = format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "the guest's own status: {shown}"
    );
    let (m, ev) = s.read("efault");
    assert_eq!(m.exit_status, Some(7), "{shown}");
    for call in ["connect", "sendto", "sendmsg"] {
        let got = calls(&ev, call, None);
        assert_eq!(got.len(), 1, "one {call}: {ev:?}");
        assert_eq!(
            (
                got[0].ret,
                got[0].errno.as_deref(),
                got[0].detail.addr.as_deref()
            ),
            (Some(-i64::from(libc::EFAULT)), Some("EFAULT"), None),
            "{call}: {:?}",
            got[0]
        );
    }
}
