//! The CLI as scripts see it: exit statuses, output passthrough, clear
//! errors that change nothing, and no process left behind.

use std::time::{Duration, Instant};

use bop_model::{EndReason, Verdict};

use crate::common::*;

#[test]
fn exit_status_and_output_pass_through() {
    let s = TempStore::new();
    let out = s.bop(&[
        "run",
        "--id",
        "r",
        "--",
        "/bin/sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_status(&out, 3, "the target's exit status");
    assert_eq!(text(&out.stdout), "out\n");
    assert!(text(&out.stderr).contains("err\n"));
    let (m, _) = s.read("r");
    assert_eq!((m.exit_status, m.verdict), (Some(3), Verdict::Fail));
    assert_eq!(
        std::fs::read_to_string(s.path().join("r/stdout")).unwrap(),
        "out\n"
    );
    assert_eq!(
        std::fs::read_to_string(s.path().join("r/stderr")).unwrap(),
        "err\n"
    );
}

#[test]
fn killed_target_exits_128_plus_signal() {
    let s = TempStore::new();
    let out = s.bop(&["run", "-q", "--", "/bin/sh", "-c", "kill -9 $$"]);
    assert_status(&out, 137, "128 + SIGKILL");
}

#[test]
fn timeout_kills_the_whole_tree_and_saves_the_run() {
    let s = TempStore::new();
    let started = Instant::now();
    let out = s.bop(&[
        "run",
        "-q",
        "--id",
        "t",
        "--timeout",
        "1",
        "--",
        guest(),
        "sleepers",
        "3",
    ]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_status(&out, 137, "killed by SIGKILL");
    let (m, ev) = s.read("t");
    assert_eq!(m.ended_by, Some(EndReason::Timeout));
    assert_eq!(m.verdict, Verdict::Unknown);
    let kids: Vec<i32> = std::fs::read_to_string(s.path().join("t/stdout"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(kids.len(), 3);
    assert_eq!(
        calls(&ev, "killed", None)
            .iter()
            .filter(|k| k.tid == k.pid)
            .count(),
        4
    );
    for k in kids {
        assert!(!alive(k), "sleeper {k} survived the timeout");
    }
}

#[test]
fn bad_command_is_a_clear_error_and_creates_nothing() {
    let s = TempStore::new();
    let out = s.bop(&["run", "--id", "x", "--", "no-such-command-bop"]);
    assert_status(&out, 125, "a command that does not exist");
    assert_eq!(
        text(&out.stderr),
        "bop: error: command not found or not executable: no-such-command-bop\n"
    );
    assert!(!s.path().join("x").exists());
}

#[test]
fn existing_id_is_refused_and_the_run_kept() {
    let s = TempStore::new();
    assert_ok(
        &s.bop(&["run", "-q", "--id", "same", "--", "/bin/true"]),
        "first run",
    );
    let before = std::fs::read(s.path().join("same/manifest.json")).unwrap();
    let out = s.bop(&["run", "-q", "--id", "same", "--", "/bin/false"]);
    assert_status(&out, 125, "an id that exists");
    assert!(
        text(&out.stderr).contains("a run 'same' already exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(s.path().join("same/manifest.json")).unwrap(),
        before
    );
}

#[test]
fn bad_run_ids_are_clear_errors() {
    let s = TempStore::new();
    for (args, msg) in [
        (vec!["show", "nope"], "bop: error: no run 'nope' in"),
        (
            vec!["show", "../etc"],
            "bop: error: '../etc' is not a valid run id",
        ),
        (vec!["export", "nope"], "bop: error: no run 'nope'"),
        (vec!["delete", "nope"], "bop: error: no run 'nope'"),
    ] {
        let out = s.bop(&args);
        assert_status(&out, 1, &format!("{args:?}"));
        assert!(
            text(&out.stderr).starts_with(msg),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).contains("panicked"));
    }
}

#[test]
fn runs_lists_and_show_prints_and_delete_deletes() {
    let s = TempStore::new();
    s.record_guest("p", &["pipe", "2"]);
    let runs = s.bop(&["runs"]);
    assert_ok(&runs, "bop runs");
    assert!(
        text(&runs.stdout).lines().nth(1).unwrap().starts_with("p "),
        "{}",
        text(&runs.stdout)
    );
    let show = s.bop(&["show", "p"]);
    assert_ok(&show, "bop show");
    assert!(
        text(&show.stdout).contains("write"),
        "{}",
        text(&show.stdout)
    );
    assert_ok(&s.bop(&["delete", "p"]), "bop delete");
    assert!(!s.path().join("p").exists());
}

/// The subcommands `bop --help` lists (its "Commands:" section).
fn subcommands() -> Vec<String> {
    let out = run(std::process::Command::new(bop_exe()).arg("--help"));
    assert_ok(&out, "bop --help");
    let help = text(&out.stdout);
    let commands: Vec<String> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    for known in ["run", "show", "runs", "export", "delete"] {
        assert!(
            commands.iter().any(|c| c == known),
            "{known} missing from {commands:?} in\n{help}"
        );
    }
    commands
}

#[test]
fn every_subcommand_has_help() {
    for sub in subcommands() {
        let out = run(std::process::Command::new(bop_exe()).args([&sub, "--help"]));
        assert_ok(&out, &sub);
        assert!(
            text(&out.stdout).contains(&format!("Usage: bop {sub}")),
            "{sub}: {}",
            text(&out.stdout)
        );
    }
}

/// Starts `bop run --id ID -- guest sleepers 2` and waits for the sleepers.
fn start_sleepers(s: &TempStore, id: &str) -> (Started, Vec<i32>) {
    let bop = Started::spawn(&mut s.bop_command(&[
        "run",
        "-q",
        "--id",
        id,
        "--",
        guest(),
        "sleepers",
        "2",
    ]));
    let out = s.path().join(id).join("stdout");
    let started = Instant::now();
    loop {
        let pids: Vec<i32> = std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect();
        if pids.len() == 2 {
            return (bop, pids);
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "sleepers did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_gone(pids: &[i32], what: &str) {
    let started = Instant::now();
    while pids.iter().any(|p| alive(*p)) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: {pids:?} still alive"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_kills_the_tree_and_saves_the_run() {
    let s = TempStore::new();
    let (bop, kids) = start_sleepers(&s, "int");
    nix::sys::signal::kill(bop.pid(), nix::sys::signal::Signal::SIGINT).unwrap();
    assert_status(&bop.wait(), 137, "the target was killed");
    wait_gone(&kids, "after Ctrl-C");
    let (m, _) = s.read("int");
    assert_eq!(
        (m.ended_by, m.verdict),
        (Some(EndReason::Interrupted), Verdict::Unknown)
    );
}

#[test]
fn a_dying_tracer_takes_its_tracees_with_it() {
    let s = TempStore::new();
    let (mut bop, kids) = start_sleepers(&s, "dead");
    bop.child.kill().unwrap(); // SIGKILL: no cleanup code runs in bop
    let status = bop.child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "{status}"
    );
    wait_gone(&kids, "after the tracer died (PTRACE_O_EXITKILL)");
    // The event log survives up to the last event.
    let (_, ev) = s.read("dead");
    assert!(calls(&ev, "start", None).len() >= 3, "{ev:?}");
}

#[test]
fn absurd_timeouts_are_clear_errors() {
    let s = TempStore::new();
    for t in ["1e30", "-1", "NaN", "0"] {
        let out = s.bop(&["run", "-q", "--id", "t", "--timeout", t, "--", "/bin/true"]);
        assert_status(&out, 125, &format!("--timeout {t}"));
        assert!(
            text(&out.stderr).contains("--timeout must be a number of seconds"),
            "{t}: {}",
            text(&out.stderr)
        );
        assert!(!s.path().join("t").exists());
    }
}
