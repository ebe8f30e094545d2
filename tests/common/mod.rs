//! Shared helpers: paths of the binaries, a temporary store per test, and
//! reading a run back through the bop library.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bop_model::{Event, Manifest};
use bop_store::Store;

/// The bop binary built for this test run (built by `make test` /
/// `cargo build --workspace` before the tests).
pub fn bop_exe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bop = dir.join("bop");
    assert!(
        bop.exists(),
        "{} is missing: run `cargo build --workspace` first",
        bop.display()
    );
    bop
}

/// The guest program.
pub fn guest() -> &'static str {
    env!("CARGO_BIN_EXE_guest")
}

/// A store in a fresh temporary directory.
pub struct TempStore {
    pub dir: tempfile::TempDir,
}

impl TempStore {
    pub fn new() -> TempStore {
        TempStore {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `bop ARGS` with this store.
    pub fn bop(&self, args: &[&str]) -> Output {
        Command::new(bop_exe())
            .args(args)
            .env("BOP_STORE", self.path())
            .output()
            .unwrap()
    }

    /// `bop run --id ID -- guest ROLE...`, asserting it succeeded.
    pub fn record_guest(&self, id: &str, role: &[&str]) -> (Manifest, Vec<Event>) {
        let mut args = vec!["run", "-q", "--id", id, "--", guest()];
        args.extend_from_slice(role);
        let out = self.bop(&args);
        assert_ok(&out, &format!("bop run guest {role:?}"));
        self.read(id)
    }

    pub fn read(&self, id: &str) -> (Manifest, Vec<Event>) {
        let store = Store::open(self.path()).unwrap();
        (store.manifest(id).unwrap(), store.events(id).unwrap())
    }
}

/// Asserts a command exited 0, showing its output otherwise.
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Events of one call (and channel kind, if given).
pub fn calls<'a>(events: &'a [Event], call: &str, kind: Option<&str>) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.call == call)
        .filter(|e| {
            kind.is_none_or(|k| {
                e.endpoint
                    .as_ref()
                    .and_then(|ep| ep.kind)
                    .map(|k| k.as_str())
                    == Some(k)
            })
        })
        .collect()
}

/// Sum of bytes moved by the events.
pub fn bytes(events: &[&Event]) -> u64 {
    events.iter().filter_map(|e| e.bytes).sum()
}

/// Distinct pids in the run.
pub fn pids(events: &[Event]) -> Vec<i32> {
    let mut p: Vec<i32> = events.iter().map(|e| e.pid).collect();
    p.sort();
    p.dedup();
    p
}

/// True while /proc/PID exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}
