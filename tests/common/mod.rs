//! Shared helpers: paths of the binaries, a temporary store per test,
//! running commands so that a failed assertion shows what ran and what it
//! printed, and reading a run back through the bop library.

use std::io::{BufRead, BufReader};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

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

    /// `bop ARGS` with this store, not yet started.
    pub fn bop_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(bop_exe());
        command.args(args).env("BOP_STORE", self.path());
        command
    }

    /// Runs `bop ARGS` with this store.
    pub fn bop(&self, args: &[&str]) -> Ran {
        run(&mut self.bop_command(args))
    }

    /// `bop export ID` (JSON), asserting it succeeded.
    pub fn export(&self, id: &str) -> serde_json::Value {
        let out = self.bop(&["export", id]);
        assert_ok(&out, "bop export");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("bop export {id}: not JSON ({e}): {}", text(&out.stdout)))
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

/// A finished command and the command line that started it, so that an
/// assertion on it can say what ran.
pub struct Ran {
    pub command: String,
    pub output: Output,
}

impl Deref for Ran {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.output
    }
}

/// The command line of `command`, with the environment it sets, as a
/// shell would show it.
pub fn command_line(command: &Command) -> String {
    let env = command
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())));
    let argv = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| {
            let a = a.to_string_lossy();
            let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c);
            if !a.is_empty() && a.chars().all(plain) {
                a.into_owned()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        });
    env.chain(argv).collect::<Vec<_>>().join(" ")
}

/// Runs `command` to completion, capturing its output.
pub fn run(command: &mut Command) -> Ran {
    let line = command_line(command);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot start {line}: {e}"));
    Ran {
        command: line,
        output,
    }
}

/// A command running in the background, its stdout and stderr going to
/// files rather than pipes: a pipe inherited by a process that outlives
/// the command would make waiting for its output hang instead of letting
/// the test fail.
pub struct Started {
    pub command: String,
    pub child: Child,
    log: tempfile::TempDir,
}

impl Started {
    /// Starts `command` with its output captured to files.
    pub fn spawn(command: &mut Command) -> Started {
        let line = command_line(command);
        let log = tempfile::tempdir().unwrap();
        let file = |name: &str| std::fs::File::create(log.path().join(name)).unwrap();
        let child = command
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {line}: {e}"));
        Started {
            command: line,
            child,
            log,
        }
    }

    /// The process id, for signalling it.
    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    /// Waits for it to exit and reads what it printed.
    pub fn wait(mut self) -> Ran {
        let status = self.child.wait().unwrap();
        let read = |name: &str| std::fs::read(self.log.path().join(name)).unwrap();
        Ran {
            command: self.command.clone(),
            output: Output {
                status,
                stdout: read("stdout"),
                stderr: read("stderr"),
            },
        }
    }
}

/// Asserts a command exited with `code`, showing the command, its exit
/// status and its output otherwise.
pub fn assert_status(out: &Ran, code: i32, what: &str) {
    assert!(
        out.status.code() == Some(code),
        "{what}: expected exit status {code}, got {}\n--- command\n{}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        out.command,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Asserts a command exited 0, showing the command and its output otherwise.
pub fn assert_ok(out: &Ran, what: &str) {
    assert_status(out, 0, what);
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

/// A 64 KiB tmpfs, unmounted when dropped; `None` when it cannot be
/// mounted (not root). For full-disk tests of the store and the CLI.
pub struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    pub fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(dir))
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes until the disk is full.
    pub fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.path().join("filler")).unwrap();
        while f.write_all(&[0u8; 4096]).is_ok() {}
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

/// The id of the first message of `graph` (a `bop export`) sent towards
/// the connecting end (`reverse`: a reply or greeting) or away from it,
/// the locator a fault plan names it by.
pub fn message_id(graph: &serde_json::Value, reverse: bool) -> String {
    graph["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["reverse"] == reverse)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A real `bop serve` on a free port, killed when dropped. Tests add the
/// requests they need in their own `impl Served` blocks.
pub struct Served {
    pub child: Child,
    pub addr: std::net::SocketAddr,
}

impl Served {
    /// Starts `bop serve` over `store` and reads the address it listens on.
    pub fn start(store: &Path) -> Served {
        let mut child = Command::new(bop_exe())
            .args(["serve", "--addr", "127.0.0.1:0", "--store"])
            .arg(store)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("bop serve: listening on http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Served { child, addr }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
