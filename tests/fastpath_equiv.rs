//! The fast path's proof of equivalence (issue 15, item 6): every guest
//! role and scenario of tests/ whose causal graph is the same in every
//! run is recorded twice, under ptrace only (`bop run --no-fast-path`) and
//! with the fast path (the default), and the two graphs must be the same
//! in everything but timestamps, pids and which path recorded an event:
//! logical names of processes, threads, channels, events and messages;
//! calls, fds, results, byte counts; every cross edge; the trace class;
//! the verdict; and, for a rerun with faults, what each fault did and
//! where. The graphs are compared through `bop export` (the JSON contract)
//! after [`normalise`]; a mismatch prints the first differing lines.
//!
//! Left out, because their graphs differ between two runs on one path
//! (the comparison would test the scheduler, not the tracer): guest roles
//! `udp` (resends until the server is bound), `pipe` (read sizes depend on
//! how the writes interleave), `threads` (which thread writes first),
//! `race` (by design), `rpc` (polls a non-blocking accept); `serve`, `ask`,
//! `sleepers` and the `*-client` roles are parts of other cases; search
//! target `window.toml` (its primary's asynchronous write races the
//! synchronous one: now and then the baseline itself fails). The
//! fastpath guest (tests/guests/fastpath.rs) covers threads, pipes and
//! partial reads deterministically instead.
//!
//! Cases whose processes make data calls through libc are also recorded
//! once more in `uses_fast_path`, which asserts that the manifest lists
//! processes that used the fast path and that events say so: a fast path
//! that silently fell back to ptrace would pass every comparison.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

/// The `bop run` flag that turns the fast path off.
const NO_FAST_PATH: &str = "--no-fast-path";

pub(crate) fn fastpath_guest() -> &'static str {
    env!("CARGO_BIN_EXE_fastpath")
}

fn fidelity_guest() -> &'static str {
    env!("CARGO_BIN_EXE_fidelity")
}

fn fidelity2_guest() -> &'static str {
    env!("CARGO_BIN_EXE_fidelity2")
}

/// What one case records: a command line or a scenario file.
pub(crate) enum Target {
    Command(Vec<String>),
    Scenario(PathBuf),
}

impl Target {
    pub(crate) fn command(program: &str, args: &[&str]) -> Target {
        let mut argv = vec![program.to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        Target::Command(argv)
    }

    fn args(&self) -> Vec<String> {
        match self {
            Target::Command(argv) => std::iter::once("--".to_string())
                .chain(argv.iter().cloned())
                .collect(),
            Target::Scenario(file) => vec![file.display().to_string()],
        }
    }
}

/// Records `target` as run `id`, on the fast path or not, with extra
/// `bop run` options; returns the exit status bop reported.
pub(crate) fn record(s: &TempStore, id: &str, fast: bool, extra: &[&str], target: &Target) -> Ran {
    let mut args: Vec<String> = ["run", "-q", "--id", id, "--timeout", "60"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    if !fast {
        args.push(NO_FAST_PATH.to_string());
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    args.extend(target.args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.bop(&args)
}

/// The manifest of run `id` as JSON (read raw so that the test names the
/// fields it relies on).
pub(crate) fn manifest_json(s: &TempStore, id: &str) -> Value {
    let path = s.path().join(id).join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Logical names of the processes of run `id` that used the fast path.
pub(crate) fn fast_path_processes(s: &TempStore, id: &str) -> Vec<String> {
    let m = manifest_json(s, id);
    m["fast_path"]["processes"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Calls whose result is a pid or tid, which changes from run to run.
const PID_RESULTS: &[&str] = &[
    "fork", "vfork", "clone", "clone3", "wait4", "waitid", "start", "getpid",
];

/// Zero-pads every run of digits, so that names sort by their ordinals
/// (`t0/10` after `t0/9`).
pub(crate) fn padded(s: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in s.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            out.push_str(&format!("{digits:0>9}"));
            digits.clear();
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// Masks the ports of IP addresses inside a logical name
/// (`guest#0->127.0.0.1:49128#0`): a channel to an end outside the trace
/// is named by its address, whose port changes from run to run.
fn mask_ports(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(':') {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let digits = after[1..].chars().take_while(char::is_ascii_digit).count();
        let host = out
            .rsplit(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()
            .unwrap_or("");
        let ip = host.matches('.').count() == 3 || out.ends_with(']');
        if digits > 0 && ip {
            out.push_str(":PORT");
            rest = &after[1 + digits..];
        } else {
            out.push(':');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

pub(crate) fn field(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => mask_ports(s),
        other => other.to_string(),
    }
}

/// Calls whose result is an fd: in a server whose threads accept
/// concurrently, which fd a connection gets changes from run to run.
const FD_RESULTS: &[&str] = &[
    "socket",
    "accept",
    "accept4",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "pipe",
    "pipe2",
    "socketpair",
    "epoll_create1",
];

/// What of a graph is compared.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Scope {
    /// Everything: a command whose whole run is deterministic.
    Whole,
    /// The causal past of the end of the process named so (a scenario's
    /// `client`): what the nodes did after the workload ended, before
    /// bop stopped them, is a race by nature (a node's thread may close
    /// its connection or be killed first), and so is the fd a node's
    /// accepting thread gets. The trace class covers the whole graph, so
    /// it is left out too.
    PastOf(&'static str),
}

/// Event ids (in an export's numbering) in the causal past of the last
/// event of every thread of `process`, those events included.
fn causal_past(g: &Value, process: &str) -> std::collections::BTreeSet<u64> {
    let events = list_of(&g["events"]);
    let mut by_thread: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for e in &events {
        let name = field(&e["name"]);
        let ordinal = name
            .rsplit_once('/')
            .and_then(|(_, rest)| rest.split(':').next())
            .and_then(|o| o.parse().ok())
            .unwrap_or(0);
        by_thread
            .entry(field(&e["thread"]))
            .or_default()
            .push((ordinal, e["id"].as_u64().unwrap()));
    }
    let mut preds: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut ends = Vec::new();
    for (thread, evs) in &mut by_thread {
        evs.sort();
        for w in evs.windows(2) {
            preds.entry(w[1].1).or_default().push(w[0].1);
        }
        let of_process = events
            .iter()
            .any(|e| field(&e["thread"]) == *thread && field(&e["process"]) == process);
        if of_process {
            ends.extend(evs.last().map(|&(_, id)| id));
        }
    }
    for e in list_of(&g["edges"]) {
        let (from, to) = (e["from"].as_u64().unwrap(), e["to"].as_u64().unwrap());
        preds.entry(to).or_default().push(from);
    }
    let mut past = std::collections::BTreeSet::new();
    while let Some(id) = ends.pop() {
        if past.insert(id) {
            ends.extend(preds.get(&id).into_iter().flatten().copied());
        }
    }
    past
}

/// The run-independent content of an export: one (sort key, line) per
/// fact, sorted by key. Event ids (log line numbers, which depend on how
/// threads interleave) become event names; timestamps, pids, tids, seqs
/// and the recording path are left out.
fn normalise(g: &Value, scope: Scope) -> Vec<(String, String)> {
    let past = match scope {
        Scope::Whole => None,
        Scope::PastOf(process) => Some(causal_past(g, process)),
    };
    let kept = |id: &Value| {
        past.as_ref()
            .is_none_or(|p| id.as_u64().is_some_and(|i| p.contains(&i)))
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |key: String, line: String| out.push((padded(&key), line));
    let list = |k: &str| g[k].as_array().cloned().unwrap_or_default();
    let run = &g["run"];
    // The class hashes channel names, which name an end outside the trace
    // by its address (with a port that changes from run to run).
    let outside = list("channels")
        .iter()
        .any(|c| field(&c["name"]).contains(":PORT"));
    let class = match scope {
        Scope::Whole if !outside => field(&run["trace_class"]),
        Scope::Whole => "(names an address: not compared)".to_string(),
        Scope::PastOf(_) => "(whole graph: not compared)".to_string(),
    };
    add(
        "0 run".into(),
        format!(
            "run class={class} verdict={} exit={}",
            field(&run["verdict"]),
            field(&run["exit_status"])
        ),
    );
    for (i, f) in list_of(&run["faults"]).iter().enumerate() {
        let at = &f["at"];
        add(
            format!("1 fault {i}"),
            format!(
                "fault {} fired={} at={} call={} effect={:?} count={}",
                f["fault"],
                field(&f["fired"]),
                field(&at["event"]),
                field(&at["call"]),
                field(&f["effect"]),
                field(&f["count"])
            ),
        );
    }
    let events: Vec<Value> = list("events")
        .into_iter()
        .filter(|e| kept(&e["id"]))
        .collect();
    let seen = |key: &str, name: &Value| events.iter().any(|e| e[key] == *name);
    for p in list("processes") {
        if !seen("process", &p["name"]) {
            continue;
        }
        // How a node ended is decided after the workload's end.
        let end = match scope {
            Scope::PastOf(client) if p["name"] != client => "(after the workload)".to_string(),
            _ => format!("exit={} signal={}", field(&p["exit"]), field(&p["signal"])),
        };
        add(
            format!("2 process {}", field(&p["name"])),
            format!(
                "process {} parent={} exe={} {end}",
                field(&p["name"]),
                field(&p["parent"]),
                field(&p["exe"]),
            ),
        );
    }
    for t in list("threads") {
        if !seen("thread", &t["name"]) {
            continue;
        }
        add(
            format!("3 thread {}", field(&t["name"])),
            format!("thread {} of {}", field(&t["name"]), field(&t["process"])),
        );
    }
    for c in list("channels") {
        if !seen("channel", &c["name"]) {
            continue;
        }
        let ends: Vec<String> = list_of(&c["ends"]).iter().map(field).collect();
        add(
            format!("4 channel {}", field(&c["name"])),
            format!(
                "channel {} {} stream={} ends={ends:?}",
                field(&c["name"]),
                field(&c["kind"]),
                field(&c["stream"])
            ),
        );
    }
    let names: BTreeMap<u64, String> = events
        .iter()
        .map(|e| (e["id"].as_u64().unwrap(), field(&e["name"])))
        .collect();
    let name = |id: &Value| {
        id.as_u64()
            .and_then(|i| names.get(&i).cloned())
            .unwrap_or_else(|| format!("?{id}"))
    };
    for e in &events {
        let call = field(&e["call"]);
        let whole = scope == Scope::Whole;
        let ret = if PID_RESULTS.contains(&call.as_str()) {
            "PID".to_string()
        } else if !whole && FD_RESULTS.contains(&call.as_str()) {
            "FD".to_string()
        } else {
            field(&e["ret"])
        };
        let fd = if whole { field(&e["fd"]) } else { "FD".into() };
        add(
            format!("5 event {}", field(&e["name"])),
            format!(
                "event {} fd={fd} chan={} ret={ret} errno={} bytes={} lamport={} data={} injected={}",
                field(&e["name"]),
                field(&e["channel"]),
                field(&e["errno"]),
                field(&e["bytes"]),
                field(&e["lamport"]),
                field(&e["data"]),
                field(&e["injected"])
            ),
        );
    }
    for m in list("messages") {
        if !kept(&m["send"]) {
            continue;
        }
        let recvs: Vec<String> = list_of(&m["recvs"])
            .iter()
            .filter(|r| kept(r))
            .map(name)
            .collect();
        add(
            format!("6 message {}", field(&m["id"])),
            format!(
                "message {} bytes={} send={} recvs={recvs:?} lost={} dropped={}",
                field(&m["id"]),
                field(&m["bytes"]),
                name(&m["send"]),
                field(&m["lost"]),
                field(&m["dropped"])
            ),
        );
    }
    for e in list("edges") {
        if !kept(&e["from"]) || !kept(&e["to"]) {
            continue;
        }
        let line = format!(
            "edge {} -> {} {} {}",
            name(&e["from"]),
            name(&e["to"]),
            field(&e["kind"]),
            field(&e["message"])
        );
        add(format!("7 {line}"), line);
    }
    out.sort();
    out
}

pub(crate) fn list_of(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// The differences between two normalised graphs, slow side `-`, fast
/// side `+`, in key order; at most `limit` lines, then how many more.
fn diff(slow: &[(String, String)], fast: &[(String, String)], limit: usize) -> Vec<String> {
    let (mut i, mut j) = (0, 0);
    let mut lines = Vec::new();
    let mut more = 0;
    let mut push = |line: String| {
        if lines.len() < limit {
            lines.push(line);
        } else {
            more += 1;
        }
    };
    while i < slow.len() || j < fast.len() {
        match (slow.get(i), fast.get(j)) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                if a.1 != b.1 {
                    push(format!("- {}", a.1));
                    push(format!("+ {}", b.1));
                }
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.0 < b.0 => {
                push(format!("- {}", a.1));
                i += 1;
            }
            (Some(_), Some(b)) | (None, Some(b)) => {
                push(format!("+ {}", b.1));
                j += 1;
            }
            (Some(a), None) => {
                push(format!("- {}", a.1));
                i += 1;
            }
            (None, None) => unreachable!(),
        }
    }
    if more > 0 {
        lines.push(format!("... and {more} more differing lines"));
    }
    lines
}

/// Asserts two exports give the same graph, printing the first
/// differences otherwise.
pub(crate) fn assert_same_graph(what: &str, slow: &Value, fast: &Value, scope: Scope) {
    let (a, b) = (normalise(slow, scope), normalise(fast, scope));
    let d = diff(&a, &b, 40);
    assert!(
        d.is_empty(),
        "{what}: the graphs differ (- under ptrace only, + with the fast path; {scope:?}; {} and {} facts):\n{}",
        a.len(),
        b.len(),
        d.join("\n")
    );
}

/// Records `target` both ways (and with `extra` options) and compares.
fn equivalent(case: &str, target: &Target, extra: &[&str]) {
    let s = TempStore::new();
    let slow = record(&s, "slow", false, extra, target);
    let fast = record(&s, "fast", true, extra, target);
    assert_eq!(
        slow.status.code(),
        fast.status.code(),
        "{case}: bop exits differently\n--- slow: {}\n{}\n--- fast: {}\n{}",
        slow.command,
        text(&slow.stderr),
        fast.command,
        text(&fast.stderr)
    );
    assert!(
        !matches!(slow.status.code(), Some(124 | 125)),
        "{case}: bop failed or timed out\n{}\n{}",
        slow.command,
        text(&slow.stderr)
    );
    let scope = match target {
        Target::Command(_) => Scope::Whole,
        Target::Scenario(_) => Scope::PastOf("client"),
    };
    assert_same_graph(case, &s.export("slow"), &s.export("fast"), scope);
    assert!(
        fast_path_processes(&s, "slow").is_empty(),
        "{case}: --no-fast-path still used the fast path: {:?}",
        fast_path_processes(&s, "slow")
    );
}

/// Records `target` on the fast path and asserts it was used: a fast path
/// that silently fell back to ptrace would pass every comparison.
fn used(case: &str, target: &Target, extra: &[&str]) {
    let s = TempStore::new();
    let out = record(&s, "fast", true, extra, target);
    assert!(
        !matches!(out.status.code(), Some(124 | 125)),
        "{case}: bop failed or timed out\n{}\n{}",
        out.command,
        text(&out.stderr)
    );
    assert_fast_path_used(&s, "fast", case);
}

/// Asserts run `id` recorded calls on the fast path: the manifest lists
/// processes that did, and some events say so.
fn assert_fast_path_used(s: &TempStore, id: &str, case: &str) {
    let procs = fast_path_processes(s, id);
    let m = manifest_json(s, id);
    assert!(
        !procs.is_empty(),
        "{case}: no process used the fast path (fell back to ptrace?): fast_path = {}",
        m["fast_path"]
    );
    let events = std::fs::read_to_string(s.path().join(id).join("events.jsonl")).unwrap();
    assert!(
        events.lines().any(|l| l.contains(r#""path":"fast""#)),
        "{case}: the manifest lists {procs:?} but no event was recorded on the fast path"
    );
}

/// A scenario file of tests/guests/search or backend/bop/demo.
fn scenario_file(relative: &str) -> Target {
    Target::Scenario(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
}

/// Writes tests/scenario.rs's echo scenario (a threaded echo server and a
/// client) into the store directory of `dir`.
fn echo_scenario(dir: &Path) -> Target {
    let text = format!(
        r#"
timeout = 20
ports = ["echo"]
[[node]]
name = "server"
command = ["{g}", "serve", "{{port.echo}}"]
ready = {{ port = "{{port.echo}}" }}
[client]
command = ["{g}", "tcp-client", "{{port.echo}}", "3", "10"]
"#,
        g = guest()
    );
    let file = dir.join("echo.toml");
    std::fs::write(&file, text).unwrap();
    Target::Scenario(file)
}

/// The guest cases whose processes make data calls through libc, so that
/// the fast path has work to do: `$m!` makes one test of each.
macro_rules! data_call_cases {
    ($m:ident) => {
        $m! {
            // tests/guests/guest.rs
            guest_tcp: guest(), ["tcp", "5", "100"];
            guest_unix: guest(), ["unix", "4"];
            guest_eintr: guest(), ["eintr", "0"];
            guest_eintr_restart: guest(), ["eintr", "1"];
            guest_leader_exits: guest(), ["leader-exits"];
            guest_greet: guest(), ["greet"];
            guest_selfpipe: guest(), ["selfpipe"];
            guest_spans: guest(), ["spans"];
            guest_order_1: guest(), ["order", "1"];
            guest_order_2: guest(), ["order", "2"];
            guest_pingpong: guest(), ["pingpong", "50"];
            guest_udp_unbound: guest(), ["udp-unbound"];
            // tests/guests/fidelity.rs and fidelity2.rs
            fidelity_unix_late: fidelity_guest(), ["unix-late"];
            fidelity_dual_stack: fidelity_guest(), ["dual-stack"];
            fidelity2_threads: fidelity2_guest(), ["threads"];
            fidelity2_peek: fidelity2_guest(), ["peek"];
            // tests/guests/fastpath.rs: the hazards of recording in process
            fastpath_threads: fastpath_guest(), ["threads", "3", "5"];
            fastpath_signal_restart: fastpath_guest(), ["signal", "restart", "3"];
            fastpath_signal_eintr: fastpath_guest(), ["signal", "eintr", "3"];
            fastpath_timer: fastpath_guest(), ["timer", "5"];
            fastpath_killed_mid_call: fastpath_guest(), ["killed", "3"];
            fastpath_partial_io: fastpath_guest(), ["partial-io"];
            fastpath_short_writes: fastpath_guest(), ["short-writes", "3"];
            fastpath_epoll: fastpath_guest(), ["epoll", "4"];
            fastpath_fault_target: fastpath_guest(), ["fault-target", "5"];
            fastpath_socketpair: fastpath_guest(), ["socketpair", "200"];
            fastpath_udp_flood: fastpath_guest(), ["udp-flood", "300"];
            fastpath_udp_addr: fastpath_guest(), ["udp-addr", "5"];
            fastpath_msg_udp: fastpath_guest(), ["msg-udp", "5"];
            fastpath_msg_stream: fastpath_guest(), ["msg-stream", "4"];
            // tests/guests/fastpath_wait.rs: wait calls with a timeout of
            // 0, then interrupted by a signal with a handler that writes
            // (EINTR, and the write after the call in program order) or
            // an ignored one (restarted, or EINTR for the epoll waits).
            fastpath_wait_poll_handler: fastpath_guest(), ["wait", "poll", "handler", "3"];
            fastpath_wait_poll_ignored: fastpath_guest(), ["wait", "poll", "ignored", "3"];
            fastpath_wait_poll_timeout_handler: fastpath_guest(), ["wait", "poll-timeout", "handler", "3"];
            fastpath_wait_poll_timeout_ignored: fastpath_guest(), ["wait", "poll-timeout", "ignored", "3"];
            fastpath_wait_ppoll_handler: fastpath_guest(), ["wait", "ppoll", "handler", "3"];
            fastpath_wait_ppoll_ignored: fastpath_guest(), ["wait", "ppoll", "ignored", "3"];
            fastpath_wait_epoll_handler: fastpath_guest(), ["wait", "epoll", "handler", "3"];
            fastpath_wait_epoll_ignored: fastpath_guest(), ["wait", "epoll", "ignored", "3"];
            fastpath_wait_epoll_pwait_handler: fastpath_guest(), ["wait", "epoll-pwait", "handler", "3"];
            fastpath_wait_epoll_pwait2_handler: fastpath_guest(), ["wait", "epoll-pwait2", "handler", "3"];
            fastpath_wait_epoll_pwait2_ignored: fastpath_guest(), ["wait", "epoll-pwait2", "ignored", "3"];
        }
    };
}

/// One equivalence test per case: name, program, arguments.
macro_rules! equivalence_tests {
    ($($name:ident: $program:expr, [$($arg:expr),*];)*) => {
        $(
            #[test]
            fn $name() {
                let target = Target::command($program, &[$($arg),*]);
                equivalent(stringify!($name), &target, &[]);
            }
        )*
    };
}

/// One test per case that the fast path was used.
macro_rules! usage_tests {
    ($($name:ident: $program:expr, [$($arg:expr),*];)*) => {
        $(
            #[test]
            fn $name() {
                used(stringify!($name), &Target::command($program, &[$($arg),*]), &[]);
            }
        )*
    };
}

data_call_cases!(equivalence_tests);

equivalence_tests! {
    // No data call the fast path handles (or none that succeeds): compared
    // all the same, since the library is loaded into them.
    guest_mmsg: guest(), ["mmsg"];
    guest_forktree: guest(), ["forktree", "2"];
    guest_exec_chain: guest(), ["exec-chain", "3"];
    guest_killed: guest(), ["killed"];
    guest_efault: guest(), ["efault"];
    guest_stats: guest(), ["stats", "100"];
}

/// The fast path was used where it has work to do, so that the
/// comparisons above do not pass because it silently fell back to ptrace.
mod uses_fast_path {
    use super::*;

    data_call_cases!(usage_tests);

    #[test]
    fn demo_scenario() {
        used("demo", &scenario_file("../backend/bop/demo/kv.toml"), &[]);
    }

    /// The run that names the faults' messages used the fast path.
    #[test]
    fn the_baseline_of_a_fault_on_a_channel() {
        let s = TempStore::new();
        fault_plan(&s, "drop");
        assert_fast_path_used(&s, "names", "fault-target baseline");
    }
}

#[test]
fn ports_in_logical_names_are_masked() {
    assert_eq!(
        mask_ports("guest#0->127.0.0.1:49128#0/2"),
        "guest#0->127.0.0.1:PORT#0/2"
    );
    assert_eq!(mask_ports("[::1]:80->b#1"), "[::1]:PORT->b#1");
    assert_eq!(mask_ports("primary:t2/17:read"), "primary:t2/17:read");
    assert_eq!(mask_ports("a#12:t0/3:x"), "a#12:t0/3:x");
}

/// An fd inherited across exec: the exec'd child's calls on the fast path
/// must be on the channel the parent created.
#[test]
fn fastpath_fork_exec() {
    let target = Target::command(fastpath_guest(), &["fork-exec", "5"]);
    equivalent("fastpath_fork_exec", &target, &[]);
}

/// The exec'd child records into a ring of its new image, and its calls
/// drained after the parent closed its end (the end-of-file read always
/// is; the others when the drain comes late) are still on the channel the
/// parent created: the tracer keeps what an inherited fd was across the
/// exec instead of asking the kernel again, which no longer names the
/// closed peer of a unix socket.
#[test]
fn an_execd_child_records_on_the_channel_it_inherited() {
    let target = Target::command(fastpath_guest(), &["fork-exec", "5"]);
    let s = TempStore::new();
    assert_ok(&record(&s, "fast", true, &[], &target), "fork-exec");
    let child = "fastpath#0/fastpath#0";
    assert!(
        fast_path_processes(&s, "fast").iter().any(|p| p == child),
        "the exec'd child used the fast path: {:?}",
        fast_path_processes(&s, "fast")
    );
    let g = s.export("fast");
    let messages = list_of(&g["messages"]);
    assert_eq!(messages.len(), 10, "5 each way: {messages:?}");
    for m in &messages {
        assert!(
            m["lost"] != true && !list_of(&m["recvs"]).is_empty(),
            "delivered: {m}"
        );
    }
    let eof = list_of(&g["events"])
        .into_iter()
        .find(|e| e["process"] == child && e["call"] == "recvfrom" && e["ret"] == 0);
    let eof = eof.unwrap_or_else(|| panic!("the child's end-of-file read: {}", g["events"]));
    assert!(
        eof["channel"].is_string(),
        "the end-of-file read is on the channel: {eof}"
    );
}

#[test]
fn echo_scenario_equivalent() {
    let dir = tempfile::tempdir().unwrap();
    equivalent("echo scenario", &echo_scenario(dir.path()), &[]);
}

#[test]
fn demo_scenario() {
    equivalent(
        "bop demo (backend/bop/demo/kv.toml)",
        &scenario_file("../backend/bop/demo/kv.toml"),
        &[],
    );
}

#[test]
fn search_target_two() {
    equivalent(
        "search target two.toml",
        &scenario_file("guests/search/two.toml"),
        &[],
    );
}

#[test]
fn search_target_correct() {
    equivalent(
        "search target correct.toml",
        &scenario_file("guests/search/correct.toml"),
        &[],
    );
}

fn fault_target() -> Target {
    Target::command(fastpath_guest(), &["fault-target", "5"])
}

/// Writes a plan with one fault of `kind` (drop or delay) on the third
/// data message of `fastpath fault-target`, named from a run recorded
/// for the purpose; returns the plan's path and the message name.
fn fault_plan(s: &TempStore, kind: &str) -> (String, String) {
    fault_plan_for(s, kind, &fault_target())
}

/// [`fault_plan`] for a target whose data messages are those of
/// `fault-target` (five of 8 bytes, no other message of that size).
pub(crate) fn fault_plan_for(s: &TempStore, kind: &str, target: &Target) -> (String, String) {
    // Named from a run on the fast path: the plan's names come from a
    // baseline that may have used the fast path.
    assert_ok(&record(s, "names", true, &[], target), "names run");
    let g = s.export("names");
    // The data messages are 8 bytes, the acks 1.
    let mut data: Vec<String> = list_of(&g["messages"])
        .iter()
        .filter(|m| m["bytes"] == 8)
        .map(|m| field(&m["id"]))
        .collect();
    data.sort_by_key(|id| padded(id));
    assert_eq!(data.len(), 5, "five data messages: {data:?}");
    let fault = match kind {
        "drop" => format!("kind = \"drop\"\nmessage = \"{}\"\n", data[2]),
        _ => format!("kind = \"delay\"\nmessage = \"{}\"\nms = 300\n", data[2]),
    };
    let plan = s.path().join("plan.toml");
    std::fs::write(&plan, format!("[[fault]]\n{fault}")).unwrap();
    (plan.display().to_string(), data[2].clone())
}

/// A fault on a message of a channel the fast path records fires the same
/// way on both paths: same fired record (fault, event, call, effect,
/// count), same graph, same outcome for the program.
fn fault_equivalent(kind: &str) {
    let s = TempStore::new();
    let (plan, message) = fault_plan(&s, kind);
    let extra = ["--faults", plan.as_str()];
    let slow = record(&s, "slow", false, &extra, &fault_target());
    assert_ok(&slow, "faulty run under ptrace");
    let fast = record(&s, "fast", true, &extra, &fault_target());
    assert_ok(&fast, "faulty run with the fast path");
    let what = format!("{kind} of {message}");
    assert_same_graph(&what, &s.export("slow"), &s.export("fast"), Scope::Whole);
    for id in ["slow", "fast"] {
        let faults = &manifest_json(&s, id)["faults"];
        assert_eq!(
            faults[0]["fired"], true,
            "{what} did not fire in run {id}: {faults}"
        );
        let out = std::fs::read_to_string(s.path().join(id).join("stdout")).unwrap();
        let lost = out.contains("message 2 never arrived");
        assert_eq!(lost, kind == "drop", "{what}, run {id} printed {out:?}");
    }
}

#[test]
fn a_dropped_message_on_a_fast_path_channel() {
    fault_equivalent("drop");
}

#[test]
fn a_delayed_message_on_a_fast_path_channel() {
    fault_equivalent("delay");
}

/// A read that a signal interrupts, retried by the program with the same
/// arguments after EINTR (what most programs do), is three EINTR failures
/// and a success on both paths: the ptrace path tells the retry from the
/// kernel restarting the call by the signal frame's saved context at
/// `rt_sigreturn` (`-EINTR` in rax, or the call rewound for a restart).
#[test]
fn a_read_retried_after_eintr_with_the_same_arguments() {
    let target = Target::command(fastpath_guest(), &["signal", "eintr-same", "3"]);
    let s = TempStore::new();
    assert_ok(&record(&s, "slow", false, &[], &target), "eintr-same");
    let eintr = list_of(&s.export("slow")["events"])
        .iter()
        .filter(|e| e["errno"] == "EINTR")
        .count();
    assert_eq!(eintr, 3, "each EINTR the program saw is an event");
    equivalent("signal eintr-same", &target, &[]);
}

/// The calls that carry a peer address or a msghdr, as run `id` recorded
/// them: (call, result, address with its port masked), sorted; and
/// whether each was recorded on the fast path.
fn address_calls(s: &TempStore, id: &str) -> (Vec<String>, Vec<bool>) {
    let (mut calls, fast) = logged_calls(s, id, |e, call| {
        ["sendto", "recvfrom", "sendmsg", "recvmsg"]
            .contains(&call)
            .then(|| {
                format!(
                    "{call} ret={} addr={}",
                    field(&e["ret"]),
                    field(&e["detail"]["addr"])
                )
            })
    });
    calls.sort();
    (calls, fast)
}

/// The events of run `id` that `describe` picks (given the event and its
/// call), described, in log order, and whether each was recorded on the
/// fast path.
fn logged_calls(
    s: &TempStore,
    id: &str,
    mut describe: impl FnMut(&Value, &str) -> Option<String>,
) -> (Vec<String>, Vec<bool>) {
    let log = std::fs::read_to_string(s.path().join(id).join("events.jsonl")).unwrap();
    let mut calls = Vec::new();
    let mut fast = Vec::new();
    for line in log.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        if let Some(c) = describe(&e, &field(&e["call"])) {
            calls.push(c);
            fast.push(e["path"] == "fast");
        }
    }
    (calls, fast)
}

/// sendto/recvfrom with addresses and sendmsg/recvmsg with several
/// iovecs and a name are recorded on the fast path, each with the address
/// the ptrace path records (the graph comparison sees an address only
/// through how datagrams are matched); a sendmsg/recvmsg with a control
/// message (SCM_RIGHTS) still takes the ptrace path.
#[test]
fn address_calls_take_the_fast_path_with_their_addresses() {
    for (role, k, ptrace_only) in [
        ("udp-addr", "3", 0),
        ("msg-udp", "3", 0),
        ("msg-stream", "2", 2),
    ] {
        let target = Target::command(fastpath_guest(), &[role, k]);
        let s = TempStore::new();
        assert_ok(&record(&s, "slow", false, &[], &target), role);
        assert_ok(&record(&s, "fast", true, &[], &target), role);
        let (slow, _) = address_calls(&s, "slow");
        let (fast, path) = address_calls(&s, "fast");
        assert_eq!(
            slow, fast,
            "{role}: the address calls differ between the paths"
        );
        assert!(
            slow.iter().any(|c| !c.ends_with("addr=-")) || role == "msg-stream",
            "{role}: no call recorded an address: {slow:?}"
        );
        let on_ptrace = path.iter().filter(|f| !**f).count();
        assert_eq!(
            on_ptrace,
            ptrace_only,
            "{role}: {on_ptrace} of {} address calls took ptrace, expected {ptrace_only}: {fast:?}",
            path.len()
        );
    }
}

/// The wait calls of run `id` (blocking points), in the order the log has
/// them: (thread, call, result, errno), and whether each was recorded on
/// the fast path.
fn wait_calls(s: &TempStore, id: &str) -> (Vec<String>, Vec<bool>) {
    let mut threads: Vec<u64> = Vec::new();
    logged_calls(s, id, |e, call| {
        if !bop_model::is_blocking(call) {
            return None;
        }
        let tid = e["tid"].as_u64().unwrap();
        if !threads.contains(&tid) {
            threads.push(tid);
        }
        let thread = threads.iter().position(|t| *t == tid).unwrap();
        Some(format!(
            "t{thread} {call} ret={} errno={} fd={}",
            field(&e["ret"]),
            field(&e["errno"]),
            field(&e["fd"])
        ))
    })
}

/// Every wait call of the `wait` guest is recorded on the fast path, as
/// the same blocking point (call, result, errno, no fd) the ptrace path
/// records, and none takes ptrace: the equivalence tests above would
/// also pass if the library had let them all fall back. The timeouts of
/// 0 (results 0, 1, 0) and the interrupted waits (EINTR) are among them.
#[test]
fn wait_calls_take_the_fast_path() {
    for (call, how, eintr) in [
        ("epoll", "handler", 3),
        ("epoll-pwait", "ignored", 3),
        ("poll", "ignored", 0),
        ("ppoll", "handler", 3),
    ] {
        let target = Target::command(fastpath_guest(), &["wait", call, how, "3"]);
        let s = TempStore::new();
        assert_ok(&record(&s, "slow", false, &[], &target), call);
        assert_ok(&record(&s, "fast", true, &[], &target), call);
        let (slow, slow_path) = wait_calls(&s, "slow");
        let (fast, fast_path) = wait_calls(&s, "fast");
        assert_eq!(slow, fast, "{call} {how}: the wait calls differ");
        let interrupted = slow.iter().filter(|c| c.contains("EINTR")).count();
        assert_eq!(interrupted, eintr, "{call} {how}: {slow:?}");
        // Rust's runtime polls stdin, stdout and stderr at startup; then
        // three waits with a timeout of 0, the interrupted ones and the
        // one that saw "done".
        assert_eq!(slow.len(), 1 + 3 + eintr + 1, "{call} {how}: {slow:?}");
        assert!(
            slow_path.iter().all(|f| !f),
            "--no-fast-path recorded a wait call in process"
        );
        assert!(
            fast_path.iter().all(|f| *f),
            "{call} {how}: a wait call took ptrace: {fast:?} {fast_path:?}"
        );
    }
}
