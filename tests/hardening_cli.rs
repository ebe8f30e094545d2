//! Hardening of the CLI (issue 17): closed output pipes, error chains,
//! scenario validation, readiness, the check, signals and damaged runs,
//! each through the real `bop` binary on real processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{TempStore, assert_status, run, text};

/// A pipe whose reading end is already closed: every write to it fails
/// with EPIPE, like `2>&1 | true` once `true` has exited.
fn closed_pipe() -> std::os::fd::OwnedFd {
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let write = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    write.into()
}

/// Runs `command` with stdout and stderr on a closed pipe; its exit code.
fn status_with_closed_output(mut command: Command) -> Option<i32> {
    let pipe = closed_pipe();
    command
        .stdout(Stdio::from(pipe.try_clone().unwrap()))
        .stderr(Stdio::from(pipe))
        .status()
        .unwrap()
        .code()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn a_closed_stderr_keeps_the_targets_status() {
    let s = TempStore::new();
    let run = s.bop_command(&["run", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(status_with_closed_output(run), Some(3), "bop run");
    // More bytes than the fast path captures: bop warns that it traces
    // under ptrace, into the closed stderr, and goes on.
    let warned = s.bop_command(&["run", "--capture-bytes", "4096", "--", "sh", "-c", "exit 3"]);
    assert_eq!(
        status_with_closed_output(warned),
        Some(3),
        "bop run with a warning"
    );
    let demo = s.bop_command(&["demo", "--id", "d"]);
    assert_eq!(status_with_closed_output(demo), Some(0), "bop demo");
    let failing = s.bop_command(&["run", "--id", "d", "--", "true"]);
    assert_eq!(
        status_with_closed_output(failing),
        Some(125),
        "an error to a closed stderr"
    );
    // bop search writes progress lines to stderr for every rerun (issue 14).
    s.record_guest("rpc", &["rpc"]);
    let search = s.bop_command(&[
        "search",
        "rpc",
        "--id",
        "s",
        "--budget",
        "3",
        "--baselines",
        "1",
        "--confirm",
        "1",
    ]);
    // 0 or 1 (no bug, bugs: a dropped reply fails the rpc guest), never
    // a panic's 101.
    let code = status_with_closed_output(search);
    assert!(matches!(code, Some(0 | 1)), "bop search exited {code:?}");
    let record = s.path().join("searches").join("s.json");
    assert!(record.is_file(), "the search was saved");
    let explore = s.bop_command(&["explore", "rpc", "--runs", "1", "--id", "e"]);
    assert_eq!(status_with_closed_output(explore), Some(0), "bop explore");
    let failing = s.bop_command(&["search", "nope"]);
    assert_eq!(
        status_with_closed_output(failing),
        Some(2),
        "bop search's error"
    );
}

#[test]
fn an_os_error_is_printed_once() {
    let Some(disk) = crate::common::SmallDisk::mount() else {
        eprintln!("skipped: cannot mount a tmpfs (not root)");
        return;
    };
    let store = disk.path().join("store");
    std::fs::create_dir(&store).unwrap();
    disk.fill();
    let out = run(Command::new(crate::common::bop_exe())
        .args(["run", "--store"])
        .arg(&store)
        .args(["--", "true"]));
    assert_status(&out, 125, "bop run on a full disk");
    let err = text(&out.stderr);
    assert_eq!(err.matches("os error 28").count(), 1, "{err}");
}

/// Runs `bop run FILE` (the scenario `body`) in a fresh store; the store
/// and what bop did.
fn run_scenario(body: &str, extra: &[&str]) -> (TempStore, crate::common::Ran) {
    let s = TempStore::new();
    let file = write(s.path(), "s.toml", body);
    let file = file.display().to_string();
    let mut args = vec!["run", "--store"];
    let store = s.path().join("store").display().to_string();
    args.push(&store);
    args.extend_from_slice(extra);
    args.push(&file);
    let out = s.bop(&args);
    (s, out)
}

/// The run directories of the store `run_scenario` used.
fn run_dirs(s: &TempStore) -> Vec<String> {
    std::fs::read_dir(s.path().join("store"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bad_scenarios_are_refused_before_anything_runs() {
    let long = format!(
        "[[node]]\nname = \"{}\"\ncommand = [\"true\"]\n[client]\ncommand = [\"true\"]\n",
        "n".repeat(5000)
    );
    let cases = [
        (long.as_str(), "must be 1-64 letters"),
        (
            "[client]\ncommand = [\"true\"]\nenv = { X = \"a\\u0000b\" }\n",
            "client: env X cannot contain a NUL character",
        ),
        (
            "[[node]]\nname = \"a\"\ncommand = [\"sleep\", \"5\"]\nready = { delay_ms = 9223372036854775807 }\n[client]\ncommand = [\"true\"]\n",
            "ready delay_ms / 1000 must be a number of seconds",
        ),
    ];
    for (body, want) in cases {
        let (s, out) = run_scenario(body, &[]);
        assert_status(&out, 125, want);
        let err = text(&out.stderr);
        assert!(err.contains(want), "want {want:?} in {err}");
        assert!(err.len() < 400, "one short sentence: {err}");
        assert_eq!(run_dirs(&s), Vec::<String>::new(), "nothing recorded");
    }
    let s = TempStore::new();
    let out = s.bop(&["run", "missing.toml"]);
    assert_status(&out, 125, "bop run missing.toml");
    let err = text(&out.stderr);
    assert!(err.contains("missing.toml: no such scenario file"), "{err}");
    // Options after a scenario file would be a command's arguments.
    let file = write(s.path(), "late.toml", "[client]\ncommand = [\"true\"]\n");
    let file = file.display().to_string();
    let out = s.bop(&["run", &file, "-q", "--id", "x"]);
    assert_status(&out, 125, "bop run FILE -q");
    let err = text(&out.stderr);
    assert!(
        err.contains("is a scenario file, which takes no arguments, but '-q --id x' came after it")
            && err.contains("put bop's options before it"),
        "{err}"
    );
    assert!(!s.path().join("x").exists(), "nothing recorded");
}

#[test]
fn not_ready_says_how_long_it_waited_for_what() {
    let body = "ports = [\"p\"]\n[[node]]\nname = \"a\"\ncommand = [\"sleep\", \"30\"]\n\
                ready = { port = \"{port.p}\", timeout = 30 }\n[client]\ncommand = [\"true\"]\n";
    let started = std::time::Instant::now();
    let (_s, out) = run_scenario(body, &["--timeout", "2"]);
    let took = started.elapsed().as_secs_f64();
    let err = text(&out.stderr);
    assert!(took < 15.0, "took {took} s: {err}");
    assert!(
        err.contains("node 'a' was not ready after 2.")
            && err.contains(
                "s (the run's timeout) of waiting for its process tree to listen on port"
            ),
        "{err}"
    );
    assert!(!err.contains("Port(") && !err.contains("604800"), "{err}");
}

impl TempStore {
    /// The manifest of run `id` in the `store` directory `run_scenario` uses.
    fn read_in(&self, id: &str) -> bop_model::Manifest {
        bop_store::Store::open(self.path().join("store"))
            .unwrap()
            .manifest(id)
            .unwrap()
    }
}

/// True while process `pid` exists (a zombie counts as gone).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

/// Waits up to 20 s for `path` to exist.
fn wait_for(path: &Path) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < until,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_crash_that_keeps_a_node_from_getting_ready_is_recorded_as_such() {
    let s = TempStore::new();
    let body = "[[node]]\nname = \"a\"\ncommand = [\"sh\", \"-c\", \"sleep 0.2; echo up; sleep 30\"]\n\
                ready = { line = \"up\", timeout = 20 }\n[client]\ncommand = [\"true\"]\n";
    for (id, check, status, verdict) in [
        ("nocheck", "", 124, "unknown"),
        (
            "check",
            "[check]\ncommand = [\"grep\", \"-q\", \"up\", \"{run_dir}/a.stdout\"]\n",
            1,
            "fail",
        ),
    ] {
        let file = write(s.path(), "s.toml", &format!("{body}{check}"));
        let base = format!("base-{id}");
        let file = file.display().to_string();
        crate::common::assert_ok(&s.bop(&["run", "-q", "--id", &base, &file]), "baseline");
        let out = s.bop(&["rerun", "-q", &base, "--id", id, "--crash", "a", "--kill"]);
        assert_status(&out, status, "a crash before a is ready");
        let m = serde_json::to_value(s.read(id).0).unwrap();
        assert_eq!(m["status"], "done", "{m}");
        assert_eq!(m["verdict"], verdict, "{m}");
        assert_ne!(m["ended_by"], "tracer_error", "{m}");
        assert_eq!(m["faults"][0]["fired"], true, "{m}");
        let err = text(&out.stderr);
        assert!(
            err.contains("node 'a' ended (killed by signal 9) before it was ready"),
            "{err}"
        );
        if verdict == "unknown" {
            let reason = m["reason"].as_str().unwrap_or_default();
            assert!(reason.contains("the client did not run"), "{m}");
        }
    }
}

#[test]
fn a_foreign_listener_is_not_the_node_being_ready() {
    let stranger = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stranger.local_addr().unwrap().port();
    let body = format!(
        "[[node]]\nname = \"a\"\ncommand = [\"sleep\", \"30\"]\nready = {{ port = \"{port}\", timeout = 1 }}\n\
         [client]\ncommand = [\"true\"]\n"
    );
    let (_s, out) = run_scenario(&body, &["-q"]);
    assert_status(&out, 125, "a stranger holds the port");
    let err = text(&out.stderr);
    assert!(err.contains("node 'a' was not ready after 1."), "{err}");
    let body = "ports = [\"p\"]\n[[node]]\nname = \"a\"\ncommand = [\"sh\", \"-c\", \"exit 3\"]\n\
                ready = { port = \"{port.p}\" }\n[client]\ncommand = [\"true\"]\n";
    let (_s, out) = run_scenario(body, &["-q"]);
    assert_status(&out, 125, "a node that exits first");
    let err = text(&out.stderr);
    assert!(
        err.contains("node 'a' ended (exit status 3) before it was ready"),
        "{err}"
    );
}

/// A scenario whose check starts a grandchild that hangs, writing its pid
/// to `{run_dir}/grandchild`, with `check_timeout` as the check's own.
fn hanging_check(run_timeout: u32, check_timeout: &str) -> String {
    format!(
        "timeout = {run_timeout}\n[client]\ncommand = [\"true\"]\n[check]\n\
         command = [\"sh\", \"-c\", \"sleep 60 & echo $! > {{run_dir}}/grandchild; wait\"]\n{check_timeout}"
    )
}

fn grandchild(s: &TempStore, id: &str) -> i32 {
    let file = s.path().join("store").join(id).join("grandchild");
    std::fs::read_to_string(file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_hanging_check_gets_the_time_left_and_its_tree_is_killed() {
    for (run_timeout, own, limit) in [(3, "", 5.0), (60, "timeout = 2\n", 2.0)] {
        let started = std::time::Instant::now();
        let (s, out) = run_scenario(&hanging_check(run_timeout, own), &["-q", "--id", "h"]);
        let took = started.elapsed().as_secs_f64();
        assert_status(&out, 124, "a hanging check");
        assert!(took < limit + 10.0, "took {took} s");
        let m = s.read_in("h");
        let reason = m.reason.clone().unwrap_or_default();
        let want = format!("the check did not finish in {limit:.1} s and was killed");
        assert!(reason.contains(&want), "want {want:?}: {m:?}");
        let pid = grandchild(&s, "h");
        assert!(!alive(pid), "the check's grandchild {pid} survived");
    }
}

#[test]
fn ctrl_c_during_the_check_stops_it() {
    let s = TempStore::new();
    let file = write(s.path(), "s.toml", &hanging_check(600, ""));
    let store = s.path().join("store");
    let mut cmd = Command::new(crate::common::bop_exe());
    cmd.args(["run", "-q", "--id", "c", "--store"])
        .arg(&store)
        .arg(&file);
    let started = crate::common::Started::spawn(&mut cmd);
    wait_for(&store.join("c").join("grandchild"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    nix::sys::signal::kill(started.pid(), nix::sys::signal::Signal::SIGINT).unwrap();
    let t = std::time::Instant::now();
    let out = started.wait();
    assert!(
        t.elapsed().as_secs_f64() < 10.0,
        "SIGINT took {:?}",
        t.elapsed()
    );
    assert_status(&out, 124, "interrupted check");
    let m = s.read_in("c");
    assert_eq!(m.ended_by, Some(bop_model::EndReason::Interrupted), "{m:?}");
    assert!(
        m.reason
            .unwrap_or_default()
            .contains("interrupted while the check ran")
    );
    assert!(
        !alive(grandchild(&s, "c")),
        "the check's grandchild survived"
    );
}

#[test]
fn sighup_saves_the_run_and_a_killed_recorder_leaves_an_abandoned_run() {
    let s = TempStore::new();
    let spawn = |id: &str| {
        let mut cmd = s.bop_command(&["run", "-q", "--id", id, "--", "sleep", "30"]);
        crate::common::Started::spawn(&mut cmd)
    };
    let hup = spawn("hup");
    wait_for(&s.path().join("hup").join("manifest.json"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    nix::sys::signal::kill(hup.pid(), nix::sys::signal::Signal::SIGHUP).unwrap();
    let out = hup.wait();
    assert_status(&out, 137, "SIGHUP kills the target's tree, as Ctrl-C does");
    let (m, _) = s.read("hup");
    assert_eq!(m.status, bop_model::RunStatus::Done, "{m:?}");
    assert_eq!(m.ended_by, Some(bop_model::EndReason::Interrupted), "{m:?}");
    let killed = spawn("gone");
    wait_for(&s.path().join("gone").join("manifest.json"));
    let (m, _) = s.read("gone");
    let recorder = m.recorder.expect("the recorder is recorded");
    assert_eq!(recorder.pid, killed.child.id());
    nix::sys::signal::kill(killed.pid(), nix::sys::signal::Signal::SIGKILL).unwrap();
    let _ = killed.wait();
    let runs = s.bop(&["runs"]);
    crate::common::assert_ok(&runs, "bop runs");
    let table = text(&runs.stdout);
    let line = table
        .lines()
        .find(|l| l.starts_with("gone "))
        .unwrap_or_default();
    assert!(line.contains("abandoned"), "{table}");
}

#[test]
fn damaged_runs_are_listed_and_deleted() {
    let s = TempStore::new();
    std::fs::create_dir(s.path().join("broken")).unwrap();
    std::fs::write(s.path().join("broken/manifest.json"), "{ not json").unwrap();
    std::fs::create_dir(s.path().join("empty")).unwrap();
    let runs = s.bop(&["runs"]);
    crate::common::assert_ok(&runs, "bop runs");
    let table = text(&runs.stdout);
    assert!(table.contains("DAMAGED"), "{table}");
    for (id, why) in [("broken", "not a manifest"), ("empty", "is missing")] {
        let line = table
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_default();
        assert!(line.contains(why), "{id}: {table}");
        crate::common::assert_ok(&s.bop(&["delete", id]), "bop delete");
        assert!(!s.path().join(id).exists(), "{id} was not deleted");
    }
}
