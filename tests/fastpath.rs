//! The fast path (issue 15, docs/FASTPATH.md): a dynamically linked guest
//! records the same run with it and without it (`--no-fast-path`), the
//! manifest and `bop show` say which processes used it, a statically
//! linked guest falls back to ptrace by itself, and a fault on a channel
//! the fast path recorded still fires.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use bop_model::{CallPath, Event, Manifest};

use crate::common::*;

/// The C chat guest (tests/guests/chat.c), built once per test run:
/// dynamically linked, and statically linked.
fn chat(static_link: bool) -> &'static Path {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    let (dynamic, fixed) = BUILT.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests/chat.c");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let build = |out: &Path, extra: &[&str]| {
            let ran = run(Command::new("cc")
                .args(["-O2", "-D_FORTIFY_SOURCE=2", "-o"])
                .arg(out)
                .arg(&src)
                .args(extra));
            assert_ok(&ran, "cc chat.c");
        };
        let (d, s) = (dir.join("chat"), dir.join("chat-static"));
        build(&d, &[]);
        build(&s, &["-static"]);
        (d, s)
    });
    if static_link { fixed } else { dynamic }
}

/// The preload library must sit next to bop for the fast path to be used.
pub(crate) fn library_is_built() {
    let lib = bop_exe().with_file_name("libbop_preload.so");
    assert!(
        lib.exists(),
        "{} is missing: run `cargo build --workspace` (or `make test`) first",
        lib.display()
    );
}

pub(crate) fn record(
    s: &TempStore,
    id: &str,
    extra: &[&str],
    command: &[&str],
) -> (Manifest, Vec<Event>) {
    let mut args = vec!["run", "-q", "--id", id, "--capture-bytes", "6"];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(command);
    assert_ok(&s.bop(&args), &format!("bop run {id}"));
    s.read(id)
}

pub(crate) fn fast(events: &[Event]) -> usize {
    events.iter().filter(|e| e.path == CallPath::Fast).count()
}

/// The graph in logical names, timestamps and paths aside: each message
/// with its bytes, its payload and its receives; then the trace class.
pub(crate) fn shape(s: &TempStore, id: &str) -> (Vec<String>, String) {
    let g = s.export(id);
    let mut messages: Vec<String> = g["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {} {}",
                m["id"],
                m["bytes"],
                m["recvs"].as_array().map_or(0, Vec::len)
            )
        })
        .collect();
    messages.sort();
    (messages, s.read(id).0.trace_class.unwrap())
}

#[test]
fn a_chatty_guest_records_the_same_with_and_without_the_fast_path() {
    library_is_built();
    let s = TempStore::new();
    let guest = chat(false).to_str().unwrap();
    let (mf, ef) = record(&s, "fast", &[], &[guest, "60"]);
    let (ms, es) = record(&s, "slow", &["--no-fast-path"], &[guest, "60"]);
    // 60 round trips: 120 sends and 120 receives, plus the echo's EOF read.
    assert!(
        fast(&ef) >= 240,
        "most data calls took the fast path: {}",
        fast(&ef)
    );
    assert_eq!(fast(&es), 0, "--no-fast-path stops at every call");
    assert_eq!(ef.len(), es.len(), "the same events");
    assert_eq!(shape(&s, "fast"), shape(&s, "slow"));
    // Same facts per event, in each process's order, timing, pids and
    // kernel identities aside.
    let facts = |ev: &[Event]| -> Vec<Vec<_>> {
        pids(ev)
            .iter()
            .map(|p| {
                ev.iter()
                    .filter(|e| e.pid == *p)
                    .map(|e| (e.call, e.fd, e.bytes, e.errno, e.data.clone()))
                    .collect()
            })
            .collect()
    };
    assert_eq!(facts(&ef), facts(&es));
    // The captured payload is the message's first bytes.
    let first_write = ef
        .iter()
        .find(|e| e.call == "write" && e.path == CallPath::Fast)
        .unwrap();
    assert_eq!(
        first_write.data.as_deref(),
        Some("6d73672030"),
        "hex of 'msg 0'"
    );
    // The manifest and bop show name both processes.
    assert!(mf.fast_path.enabled && !ms.fast_path.enabled);
    assert_eq!(
        mf.fast_path.processes,
        ["chat#0", "chat#0/chat#0"],
        "{:?}",
        mf.fast_path
    );
    assert!(ms.fast_path.processes.is_empty());
    let shown = s.bop(&["show", "fast"]);
    assert_ok(&shown, "bop show");
    assert!(
        text(&shown.stdout).contains("fast path: used by chat#0, chat#0/chat#0"),
        "{}",
        text(&shown.stdout)
    );
    let shown = s.bop(&["show", "slow"]);
    assert!(text(&shown.stdout).contains("fast path: off (--no-fast-path)"));
}

#[test]
fn a_rerun_inherits_no_fast_path() {
    let s = TempStore::new();
    let guest = chat(false).to_str().unwrap();
    record(&s, "slow", &["--no-fast-path"], &[guest, "3"]);
    assert_ok(&s.bop(&["rerun", "-q", "slow", "--id", "again"]), "rerun");
    let (m, ev) = s.read("again");
    assert!(!m.fast_path.enabled);
    assert_eq!(fast(&ev), 0);
}

#[test]
fn a_statically_linked_guest_is_traced_under_ptrace() {
    library_is_built();
    let s = TempStore::new();
    let (m, ev) = record(&s, "static", &[], &[chat(true).to_str().unwrap(), "20"]);
    assert_eq!(fast(&ev), 0, "no libc to interpose");
    assert!(
        m.fast_path.enabled && m.fast_path.processes.is_empty(),
        "{:?}",
        m.fast_path
    );
    let sends = ev
        .iter()
        .filter(|e| matches!(e.call.as_str(), "write" | "sendto" | "writev"));
    assert_eq!(sends.count(), 40, "every send is still recorded");
}

#[test]
fn threads_record_the_same_on_either_path() {
    library_is_built();
    let s = TempStore::new();
    let (_, ef) = record(&s, "fast", &[], &[guest(), "threads"]);
    let (_, es) = record(&s, "slow", &["--no-fast-path"], &[guest(), "threads"]);
    assert!(fast(&ef) > 0, "the Rust guest's std calls libc's write");
    // Which thread's write is which message is a race on either path, and
    // so are the trace class and how the reader's reads split the bytes:
    // the messages, their sizes and the bytes read are not.
    let sized = |id: &str| -> Vec<String> {
        let mut m: Vec<String> = s.export(id)["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| format!("{} {}", m["id"], m["bytes"]))
            .collect();
        m.sort();
        m
    };
    assert_eq!(sized("fast"), sized("slow"));
    let read = |ev: &[Event]| bytes(&calls(ev, "read", Some("pipe")));
    assert_eq!((read(&ef), read(&es)), (32, 32));
}

#[test]
fn a_drop_on_a_channel_the_fast_path_recorded_fires() {
    library_is_built();
    let s = TempStore::new();
    let (_, ev) = s.record_guest("base", &["rpc"]);
    assert!(fast(&ev) > 0, "the baseline's messages took the fast path");
    let g = s.export("base");
    let reply = message_id(&g, true);
    let out = s.bop(&["rerun", "-q", "base", "--id", "x", "--drop", &reply]);
    assert!(!out.status.success(), "the client misses the reply");
    let (m, ev) = s.read("x");
    assert!(m.faults[0].fired, "{:?}", m.faults);
    assert!(ev.iter().any(|e| e.injected.as_deref() == Some("drop")));
}
