//! The tracer: runs targets under ptrace and records their communication
//! into a run's event log (docs/EVENTS.md). The only crate of bop with
//! ptrace and `unsafe` (each block with a SAFETY comment).
//!
//! One dedicated OS thread per run owns every tracee (ptrace requests must
//! come from the tracing thread). Other threads talk to it through
//! [`Tracer`]: they queue a request and interrupt its blocking `waitpid`
//! with a signal (`wake`), so the loop never polls or sleeps.
//!
//! Modules (all private; the API is this file's):
//!
//! * `session`: the loop of one run, which hands each stop to
//!   `session::entry` (a call's entry), `session::exit` (its return),
//!   `session::restart` (calls a signal interrupted), `session::faults`
//!   (what the fault injector does) and `session::tasks` (processes and
//!   threads coming and going, signalling a tree);
//! * `syscall`: which calls the tracer stops at (x86_64 numbers to the
//!   names of [`bop_model::CALLS`], which says what each call is for);
//! * `decode`: each call's arguments, decoded once into a typed value;
//! * `memory`: tracee memory and the structs calls point at (a bad pointer
//!   is the program's EFAULT, never the tracer's panic);
//! * `fds`: what each fd of each process refers to, cached;
//! * `channel`: channel identity from the kernel (/proc, pidfd_getfd,
//!   sock_diag);
//! * `ptrace`: the only caller of ptrace(2) and waitpid(2), raw wait
//!   statuses decoded once into `Stop`;
//! * `seccomp`: the filter that stops tracees only at traced calls (and
//!   lets the fast path's calls through);
//! * `fast`: the fast path's shared memory (`ring`, its layout, is shared
//!   with the preload library), drained into events by `session::drain`;
//! * `spawn`: forking a root tracee; `wake`: interrupting the loop;
//!   `error`: [`TraceError`].
//!
//! Ptrace stops handled (each decoded once into `ptrace::Stop`; every
//! report about a thread first passes `Session::before_stop`, where the fast
//! path will drain the thread's in-process ring):
//!
//! * seccomp stop (`PTRACE_EVENT_SECCOMP`) at the entry of each traced call:
//!   decoded, fds resolved, faults applied; resumed with `PTRACE_SYSCALL`
//!   when the call is followed to its return, else `PTRACE_CONT`, or held
//!   by a delay fault;
//! * syscall-exit stop of a followed call: its event is written, or it is
//!   stashed when a signal interrupted it (`ERESTART*`);
//! * `PTRACE_EVENT_FORK`, `_VFORK` and `_CLONE` in the parent: the child's
//!   `start` event (its initial SIGSTOP may come first: it is parked);
//! * `PTRACE_EVENT_EXEC`: the `exec` event (a non-leader thread that execs
//!   takes the leader's tid);
//! * signal-delivery stops: the signal is passed on, except a new task's
//!   initial SIGSTOP;
//! * group-stops (`PTRACE_EVENT_STOP`, or a stop signal whose
//!   `PTRACE_GETSIGINFO` fails) and any other stop: resumed as they are;
//! * exit and death by signal (reports, not stops): the thread's end
//!   event, and for a root process its exit status for waiters.
//!
//! Where new things go: a new traced call is its number in `syscall`, its
//! role in [`bop_model::CALLS`] and its arguments in `decode`; what its
//! entry and its return do is an arm of `session::entry::prepare` and
//! `session::exit::complete` (the compiler lists both once it is decoded).
//! A new kind of fd (eventfd, io_uring) is a case of `channel`'s resolver.
//! Work done at every stop of a thread goes in `Session::before_stop`.

mod channel;
mod decode;
mod error;
mod fast;
mod fds;
mod memory;
mod ptrace;
// The layout shared with the preload library (backend/preload), compiled
// into both crates from one file.
#[path = "../../preload/src/ring.rs"]
mod ring;
mod seccomp;
mod session;
mod spawn;
mod syscall;
mod wake;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use error::TraceError;

use bop_store::EventWriter;

/// How a root process's stdin is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdin {
    /// Inherit bop's stdin (interactive `bop run`).
    Inherit,
    /// /dev/null (scenario nodes, reruns from the server).
    Null,
}

/// A root process to start under the tracer.
#[derive(Debug)]
pub struct SpawnSpec {
    /// Program and arguments; the program is looked up in PATH.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Extra environment variables (on top of bop's environment).
    pub env: Vec<(String, String)>,
    /// Scenario node name, recorded on the root's `start` event.
    pub node: Option<String>,
    /// The ports the scenario allocated, recorded on that `start` too.
    pub ports: std::collections::BTreeMap<String, u16>,
    /// stdin setup.
    pub stdin: Stdin,
    /// Where the process's stdout goes (a file in the run directory).
    pub stdout: std::fs::File,
    /// Where its stderr goes.
    pub stderr: std::fs::File,
}

/// Tracer settings for a run.
#[derive(Default)]
pub struct TraceConfig {
    /// Bytes of payload to capture per data call (0 = none).
    pub capture_bytes: usize,
    /// The faults to inject, already translated (None: a plain run).
    pub injector: Option<bop_injector::Injector>,
    /// Preload the fast path library into dynamically linked targets so
    /// their hot data calls are recorded in process (docs/FASTPATH.md).
    /// False: every call stops under ptrace (`--no-fast-path`).
    pub fast_path: bool,
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal number.
    Signal(i32),
}

impl Exit {
    /// The status a shell reports: the code, or 128 + signal.
    pub fn shell_status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// Counts of what was recorded.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Events written.
    pub events: u64,
    /// Distinct processes.
    pub processes: u64,
    /// Distinct threads.
    pub threads: u64,
    /// What each planned fault did.
    pub faults: Vec<bop_injector::FaultRecord>,
    /// Why the fast path was asked for but could not be used at all.
    pub fast_path_unavailable: Option<String>,
}

enum Control {
    Spawn(Box<SpawnSpec>, mpsc::Sender<Result<i32, TraceError>>),
    /// Send a signal to the process tree under a root pid (or every tracee).
    Signal {
        root: Option<i32>,
        signal: i32,
    },
    /// Stop when no tracee is left.
    Finish,
}

/// Exit reports of root processes, for waiters on other threads.
#[derive(Default)]
struct Exits {
    map: Mutex<HashMap<i32, Exit>>,
    changed: Condvar,
}

/// Handle on a run's tracer thread.
pub struct Tracer {
    ctl: mpsc::Sender<Control>,
    waker: Arc<wake::Waker>,
    exits: Arc<Exits>,
    thread: Option<JoinHandle<Result<Summary, TraceError>>>,
}

/// A cloneable, thread-safe way to signal the traced tree (for Ctrl-C
/// handlers and timeouts).
#[derive(Clone)]
pub struct Killer {
    ctl: mpsc::Sender<Control>,
    waker: Arc<wake::Waker>,
}

impl Killer {
    /// Sends `signal` to every tracee.
    pub fn signal_all(&self, signal: i32) {
        if self
            .ctl
            .send(Control::Signal { root: None, signal })
            .is_ok()
        {
            self.waker.wake();
        }
    }
}

impl Tracer {
    /// Starts the tracer thread; it records into `writer`.
    pub fn start(config: TraceConfig, writer: EventWriter) -> Result<Tracer, TraceError> {
        let (ctl, rx) = mpsc::channel();
        let exits = Arc::new(Exits::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let exits2 = exits.clone();
        let thread = std::thread::Builder::new()
            .name("bop-tracer".into())
            .spawn(move || {
                let waker = match wake::Waker::for_current_thread() {
                    Ok(w) => Arc::new(w),
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(Summary::default());
                    }
                };
                let _ = ready_tx.send(Ok(waker.clone()));
                session::Session::new(config, writer, rx, waker, exits2)?.run()
            })
            .map_err(|e| TraceError::Setup(format!("cannot start the tracer thread: {e}")))?;
        let waker = ready_rx
            .recv()
            .map_err(|_| TraceError::Setup("the tracer thread died at start".into()))??;
        Ok(Tracer {
            ctl,
            waker,
            exits,
            thread: Some(thread),
        })
    }

    fn send(&self, c: Control) -> Result<(), TraceError> {
        self.ctl
            .send(c)
            .map_err(|_| TraceError::Setup("the tracer thread has stopped".into()))?;
        self.waker.wake();
        Ok(())
    }

    /// Starts a root process under the tracer; returns its pid once it is
    /// traced (before it has exec'd).
    pub fn spawn(&self, spec: SpawnSpec) -> Result<i32, TraceError> {
        let (tx, rx) = mpsc::channel();
        self.send(Control::Spawn(Box::new(spec), tx))?;
        rx.recv()
            .map_err(|_| TraceError::Setup("the tracer thread stopped while spawning".into()))?
    }

    /// Sends a signal to the process tree rooted at `root`.
    pub fn signal_tree(&self, root: i32, signal: i32) {
        let _ = self.send(Control::Signal {
            root: Some(root),
            signal,
        });
    }

    /// A handle that can kill the whole traced tree from any thread.
    pub fn killer(&self) -> Killer {
        Killer {
            ctl: self.ctl.clone(),
            waker: self.waker.clone(),
        }
    }

    /// Waits until root process `pid` has ended, or until `deadline`.
    pub fn wait_exit(&self, pid: i32, deadline: Option<Instant>) -> Option<Exit> {
        let mut map = self
            .exits
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(e) = map.get(&pid) {
                return Some(*e);
            }
            match deadline {
                None => {
                    map = self
                        .exits
                        .changed
                        .wait(map)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    map = self
                        .exits
                        .changed
                        .wait_timeout(map, d - now)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        }
    }

    /// Waits until every tracee has ended (or `deadline`); true if they have.
    pub fn wait_all(&self, deadline: Option<Instant>) -> bool {
        // The tracer thread ends once Finish is queued and no tracee is left.
        let _ = self.send(Control::Finish);
        loop {
            match &self.thread {
                Some(t) if t.is_finished() => return true,
                None => return true,
                _ => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Kills whatever is still traced, waits for the tracer thread and
    /// returns what it recorded.
    pub fn finish(mut self) -> Result<Summary, TraceError> {
        let _ = self.send(Control::Finish);
        if !self.wait_all(Some(Instant::now() + Duration::from_millis(50))) {
            let _ = self.send(Control::Signal {
                root: None,
                signal: libc::SIGKILL,
            });
        }
        let thread = self.thread.take().expect("finish is called once");
        thread
            .join()
            .map_err(|_| TraceError::Setup("the tracer thread panicked".into()))?
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        // Never leave tracees behind, even on an error path.
        if let Some(t) = self.thread.take() {
            let _ = self.ctl.send(Control::Signal {
                root: None,
                signal: libc::SIGKILL,
            });
            let _ = self.ctl.send(Control::Finish);
            self.waker.wake();
            let _ = t.join();
        }
    }
}

/// Looks `program` up in PATH (as execvp would), so a missing command is a
/// clear error before anything runs.
pub fn resolve_program(program: &str, cwd: &std::path::Path) -> Result<PathBuf, TraceError> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        let p = cwd.join(program);
        return if executable(&p) {
            Ok(p)
        } else {
            Err(TraceError::NotFound(program.to_string()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| cwd.join(dir).join(program))
        .find(|p| executable(p))
        .ok_or_else(|| TraceError::NotFound(program.to_string()))
}
