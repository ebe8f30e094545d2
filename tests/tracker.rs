//! The causal graph of real traced guests, through `bop export`: message
//! matching by byte ranges, edges, trace classes, and a redacted snapshot.

use serde_json::Value;

use crate::common::*;

fn edges<'a>(g: &'a Value, kind: &str) -> Vec<&'a Value> {
    g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

fn event<'a>(g: &'a Value, id: &Value) -> &'a Value {
    g["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| &e["id"] == id)
        .unwrap()
}

#[test]
fn a_read_spanning_two_messages_and_a_message_split_over_two_reads() {
    let s = TempStore::new();
    let (m, _) = s.record_guest("spans", &["spans"]);
    assert_eq!(
        m.verdict,
        bop_model::Verdict::Pass,
        "the child read what it expected"
    );
    let g = s.export("spans");
    let msgs = g["messages"].as_array().unwrap();
    assert_eq!(
        msgs.iter()
            .map(|m| m["bytes"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [4, 4, 8]
    );
    let recvs = |m: &Value| m["recvs"].as_array().unwrap().clone();
    // The first two messages end in the same read; the third in two reads.
    assert_eq!(recvs(&msgs[0]).len(), 1);
    assert_eq!(recvs(&msgs[0]), recvs(&msgs[1]), "one read spans both");
    assert_eq!(recvs(&msgs[2]).len(), 2, "the third is split");
    assert_eq!(event(&g, &recvs(&msgs[0])[0])["bytes"], 8);
    assert_eq!(edges(&g, "message").len(), 4);
    // EOF: the reader's last read is not in this guest (read_exact), but the
    // writer's close and exit are; fork and wait edges are there.
    assert_eq!(edges(&g, "spawn").len(), 1);
    assert_eq!(edges(&g, "exit").len(), 1);
}

#[test]
fn tcp_counts_connect_accept_and_eof() {
    let s = TempStore::new();
    s.record_guest("tcp", &["tcp", "4", "50"]);
    let g = s.export("tcp");
    let chans: Vec<&Value> = g["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "tcp")
        .collect();
    assert_eq!(chans.len(), 1);
    let msgs = g["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 8, "4 requests and 4 echoes");
    assert!(
        msgs.iter()
            .all(|m| m["bytes"] == 50 && m["recvs"].as_array().unwrap().len() == 1)
    );
    let total: u64 = msgs.iter().map(|m| m["bytes"].as_u64().unwrap()).sum();
    assert_eq!(total, 400);
    let connects = edges(&g, "connect");
    assert_eq!(connects.len(), 1);
    assert_eq!(event(&g, &connects[0]["from"])["call"], "connect");
    assert!(
        event(&g, &connects[0]["to"])["call"]
            .as_str()
            .unwrap()
            .starts_with("accept")
    );
    let eofs = edges(&g, "eof");
    assert_eq!(eofs.len(), 1, "the client's close ends the server's reads");
    assert_eq!(event(&g, &eofs[0]["to"])["ret"], 0);
}

#[test]
fn udp_unix_and_pipe_messages_are_matched() {
    let s = TempStore::new();
    for (id, role, kind, messages) in [
        ("udp", vec!["udp", "3"], "udp", None),
        ("unix", vec!["unix", "4"], "unix", Some(8)),
        ("pipe", vec!["pipe", "5"], "pipe", Some(5)),
    ] {
        s.record_guest(id, &role);
        let g = s.export(id);
        let chan: Vec<String> = g["channels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == kind)
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        assert!(!chan.is_empty(), "{id}: no {kind} channel");
        let msgs: Vec<&Value> = g["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| chan.contains(&m["channel"].as_str().unwrap().to_string()))
            .collect();
        if let Some(n) = messages {
            assert_eq!(msgs.len(), n, "{id}");
            assert!(
                msgs.iter()
                    .all(|m| !m["recvs"].as_array().unwrap().is_empty()),
                "{id}: every message delivered"
            );
        } else {
            // UDP: the server got exactly 3 datagrams of 32 bytes and answered each.
            let delivered: Vec<&&Value> = msgs
                .iter()
                .filter(|m| m["bytes"] == 32 && !m["recvs"].as_array().unwrap().is_empty())
                .collect();
            assert_eq!(delivered.len(), 3, "{id}: {msgs:?}");
            assert_eq!(msgs.iter().filter(|m| m["bytes"] == 8).count(), 3);
        }
    }
}

#[test]
fn same_behaviour_same_class_different_order_different_class() {
    let s = TempStore::new();
    let class = |id: &str, role: &[&str]| s.record_guest(id, role).0.trace_class.unwrap();
    let a1 = class("a1", &["order", "1"]);
    let a2 = class("a2", &["order", "1"]);
    let b = class("b", &["order", "2"]);
    assert_eq!(a1, a2, "two runs of the same deterministic guest");
    assert_ne!(a1, b, "the parent reads the children in the other order");
    let t1 = class("t1", &["tcp", "3", "10"]);
    let t2 = class("t2", &["tcp", "3", "10"]);
    assert_eq!(t1, t2);
}

/// Replaces what changes from run to run (pids, times, addresses, paths).
fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                match k.as_str() {
                    "pid" | "tid" | "start_ns" | "end_ns" | "id" if val.is_number() => {
                        *val = Value::String(format!("[{k}]"))
                    }
                    "exe" => {
                        let base = val
                            .as_str()
                            .unwrap_or("")
                            .rsplit('/')
                            .next()
                            .unwrap_or("")
                            .to_string();
                        *val = Value::String(base);
                    }
                    "trace_class" | "command" => *val = Value::String(format!("[{k}]")),
                    _ => redact(val),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[test]
fn export_of_a_small_guest_matches_the_snapshot() {
    let s = TempStore::new();
    s.record_guest("selfpipe", &["selfpipe"]);
    let mut g = s.export("selfpipe");
    redact(&mut g);
    insta::assert_json_snapshot!("selfpipe_export", g);
}

#[test]
fn every_export_format_is_well_formed() {
    let s = TempStore::new();
    s.record_guest("t", &["tcp", "2", "10"]);
    let run = |format: &str| {
        let out = s.bop(&["export", "t", "--format", format]);
        assert_ok(&out, format);
        text(&out.stdout)
    };
    let perfetto: Value = serde_json::from_str(&run("perfetto")).unwrap();
    let trace = perfetto["traceEvents"].as_array().unwrap();
    assert!(trace.iter().any(|e| e["ph"] == "X"), "syscall slices");
    // One flow arrow per cross-thread edge (4 messages, connect, spawn, exit, eof).
    let edges = s.export("t")["edges"].as_array().unwrap().len();
    assert_eq!(edges, 8);
    assert_eq!(
        trace.iter().filter(|e| e["ph"] == "s").count(),
        edges,
        "flow starts"
    );
    assert_eq!(
        trace.iter().filter(|e| e["ph"] == "f").count(),
        edges,
        "flow ends"
    );
    let dot = run("dot");
    assert!(dot.starts_with("digraph") && dot.trim_end().ends_with('}'));
    // ShiViz: "event\nhost {clock}" pairs, clocks are JSON objects keyed by host.
    let shiviz = run("shiviz");
    let lines: Vec<&str> = shiviz.lines().collect();
    assert!(lines.len() >= 2 && lines.len() % 2 == 0, "{shiviz}");
    for pair in lines.chunks(2) {
        let (host, clock) = pair[1].split_once(' ').unwrap();
        let clock: Value = serde_json::from_str(clock).unwrap();
        assert!(clock[host].as_u64().unwrap() >= 1, "{}", pair[1]);
    }
    let bad = s.bop(&["export", "t", "--format", "svg"]);
    assert_status(&bad, 1, "an unknown export format");
    assert!(text(&bad.stderr).contains("unknown export format 'svg'"));
}
