//! The tracer loop of one run: owns every tracee, takes requests from the
//! [`Tracer`](super::Tracer) handle, waits for stops and hands each to the
//! module that handles it:
//!
//! * `entry`: seccomp stops, a traced call's entry (decode, fds, faults);
//! * `exit`: syscall-exit stops, its return (the event);
//! * `restart`: calls interrupted by a signal (`ERESTART*`);
//! * `faults`: what the fault injector does at an entry, and held threads;
//! * `tasks`: processes and threads coming and going (fork/clone/exec
//!   events, signal stops, exits), and signalling a tree;
//! * `unaccepted`: unix stream connects kept until the server accepts;
//! * `drain`: the fast path's records, written as events;
//! * `admit`: which processes of a run with a fault plan use the fast path.
//!
//! Every report about a thread first goes through [`Session::before_stop`].

mod admit;
mod drain;
mod entry;
mod exit;
mod faults;
mod restart;
mod tasks;
mod unaccepted;

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use super::error::TraceeContext;
use super::fast::{self, FastPath};
use super::fds::Fds;
use super::ptrace::{self, Errno, Resume, Signal, Stop, Stopped};
use super::seccomp::Filter;
use super::wake::Waker;
use super::{Control, Exit, Exits, Summary, TraceConfig, TraceError};
use bop_model::Event;
use bop_store::EventWriter;

use tasks::Task;

pub(super) struct Session {
    /// The run's start on CLOCK_MONOTONIC: event times are nanoseconds since.
    epoch_ns: u64,
    config: TraceConfig,
    writer: EventWriter,
    control: Receiver<Control>,
    waker: Arc<Waker>,
    exits: Arc<Exits>,
    filter: Filter,
    fds: Fds,
    tasks: HashMap<i32, Task>,
    /// New tasks whose initial stop arrived before their parent's fork event.
    early: HashMap<i32, Stopped>,
    /// Parent process of each process (for signalling a tree).
    parents: HashMap<i32, i32>,
    roots: HashSet<i32>,
    finishing: bool,
    /// Threads held at a send's entry by a delay fault, until the instant.
    held: Vec<(Stopped, Option<Instant>)>,
    /// Threads kept at a unix connect's return until it is accepted.
    unaccepted: Vec<unaccepted::Unaccepted>,
    seq: u64,
    processes: HashSet<i32>,
    threads: HashSet<i32>,
    /// The fast path's shared memory, when the run uses it.
    fast: Option<FastPath>,
    /// Why the fast path was asked for and is not used.
    fast_unavailable: Option<String>,
    /// Wakes the loop while the fast path is on, so rings are drained
    /// even when no tracee stops.
    _ticker: Option<Ticker>,
}

/// How often every ring is drained when nothing stops.
const DRAIN_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// A thread waking the loop every [`DRAIN_EVERY`] until dropped.
struct Ticker {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Ticker {
    fn start(waker: Arc<Waker>) -> Ticker {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = stop.clone();
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(DRAIN_EVERY);
                waker.wake();
            }
        });
        Ticker { stop }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The fast path for a run, or why it is off (`None` reason: turned off
/// on purpose, nothing to say). With a fault plan it is gated: only the
/// processes the plan cannot act on are admitted to it (`admit`), and a
/// plan that could act on every process (jitter, an unbound error
/// pattern) turns it off for the run, every call stopping where the
/// injector can act.
fn fast_path(config: &TraceConfig, epoch_ns: u64) -> (Option<FastPath>, Option<String>) {
    let everywhere = config
        .injector
        .as_ref()
        .is_some_and(|i| i.acts_everywhere());
    if !config.fast_path {
        return (None, None);
    }
    if everywhere {
        // Said in the manifest and by `bop show`, so a jitter exploration
        // does not read as "enabled" with no process on it.
        let why = "the fault plan can act on every process";
        return (None, Some(why.to_string()));
    }
    let made =
        fast::find_library().and_then(|lib| FastPath::create(lib, config.capture_bytes, epoch_ns));
    match made {
        Ok(f) => {
            if config.injector.is_some() {
                f.gate();
            }
            (Some(f), None)
        }
        Err(why) => {
            // Not eprintln!: it panics when stderr is a closed pipe, and a
            // panic here ended the run as a tracer failure (exit 125).
            let _ = writeln!(
                std::io::stderr(),
                "bop: fast path unavailable ({why}); tracing every call under ptrace"
            );
            (None, Some(why))
        }
    }
}

impl Session {
    pub(super) fn new(
        config: TraceConfig,
        writer: EventWriter,
        control: Receiver<Control>,
        waker: Arc<Waker>,
        exits: Arc<Exits>,
    ) -> Result<Session, TraceError> {
        // One clock reading for both paths: the library stamps its records
        // on CLOCK_MONOTONIC against this epoch, the tracer its stops. Two
        // readings (an Instant and then the epoch) could be apart by a
        // preemption, shifting every fast-path time against every ptrace
        // time; a close would then seem to start after the end-of-file read
        // it caused, and the close → EOF edge was lost (1 run in ~400 at
        // load 7).
        let epoch_ns = fast::monotonic_ns();
        let (fast, fast_unavailable) = fast_path(&config, epoch_ns);
        let filter = Filter::new(fast.is_some())
            .map_err(|e| TraceError::Setup(format!("cannot build the seccomp filter: {e}")))?;
        let ticker = fast.as_ref().map(|_| Ticker::start(waker.clone()));
        Ok(Session {
            epoch_ns,
            config,
            writer,
            control,
            waker,
            exits,
            filter,
            fds: Fds::default(),
            tasks: HashMap::new(),
            early: HashMap::new(),
            parents: HashMap::new(),
            roots: HashSet::new(),
            finishing: false,
            held: Vec::new(),
            unaccepted: Vec::new(),
            seq: 0,
            processes: HashSet::new(),
            threads: HashSet::new(),
            fast,
            fast_unavailable,
            _ticker: ticker,
        })
    }

    /// Nanoseconds since the run started (events' timestamps).
    fn now(&self) -> u64 {
        fast::monotonic_ns().saturating_sub(self.epoch_ns)
    }

    /// Milliseconds since the run started (the injector's clock).
    fn now_ms(&self) -> u64 {
        self.now() / 1_000_000
    }

    pub(super) fn run(mut self) -> Result<Summary, TraceError> {
        let result = self.run_loop().and_then(|()| Ok(self.writer.flush()?));
        if result.is_err() {
            self.signal(None, libc::SIGKILL);
        }
        result?;
        Ok(Summary {
            events: self.seq,
            processes: self.processes.len() as u64,
            threads: self.threads.len() as u64,
            faults: self
                .config
                .injector
                .as_ref()
                .map(|i| i.records())
                .unwrap_or_default(),
            fast_path_unavailable: self.fast_unavailable.clone(),
        })
    }

    fn run_loop(&mut self) -> Result<(), TraceError> {
        let mut drained = Instant::now();
        loop {
            self.waker.acknowledge();
            self.drain_control()?;
            if self.fast.is_some() && drained.elapsed() >= DRAIN_EVERY {
                self.drain_all()?;
                drained = Instant::now();
            }
            self.release_due()?;
            self.release_unaccepted(Some(Instant::now()))?;
            if self.tasks.is_empty() && self.early.is_empty() {
                if self.finishing {
                    return Ok(());
                }
                // Nothing to wait for: block on the queue instead.
                self.writer.flush()?;
                match self.control.recv() {
                    Ok(c) => self.control(c)?,
                    Err(_) => return Ok(()),
                }
                continue;
            }
            // Events wait in the writer until the tracer would block.
            self.writer.flush()?;
            match ptrace::wait_any() {
                Ok(stop) => self.handle(stop)?,
                Err(Errno::EINTR) => {}
                Err(Errno::ECHILD) => self.all_gone()?,
                Err(e) => return Err(e).tracee("waitpid", -1),
            }
        }
    }

    /// Handles every queued request without blocking.
    fn drain_control(&mut self) -> Result<(), TraceError> {
        loop {
            match self.control.try_recv() {
                Ok(c) => self.control(c)?,
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Disconnected) => {
                    self.finishing = true;
                    return Ok(());
                }
            }
        }
    }

    fn control(&mut self, c: Control) -> Result<(), TraceError> {
        match c {
            Control::Spawn(spec, reply) => {
                let r = self.spawn_root(&spec);
                let _ = reply.send(r);
            }
            Control::Signal { root, signal } => self.signal(root, signal),
            Control::Finish => self.finishing = true,
        }
        Ok(())
    }

    /// Every tracee is gone (reaped elsewhere); nothing more will report.
    fn all_gone(&mut self) -> Result<(), TraceError> {
        let tids: Vec<i32> = self.tasks.keys().copied().collect();
        for tid in tids {
            self.task_ended(tid, None)?;
        }
        self.early.clear();
        Ok(())
    }

    fn handle(&mut self, stop: Stop) -> Result<(), TraceError> {
        self.before_stop(stop.tid())?;
        match stop {
            Stop::SyscallEntry {
                tracee,
                nr,
                args,
                at,
            } => self.syscall_entry(tracee, nr, args, at),
            Stop::SyscallExit { tracee, ret } => self.syscall_exit(tracee, ret),
            Stop::NewTask { tracee, child, how } => self.new_task(tracee, child, how),
            Stop::Exec { tracee, former_tid } => self.exec(tracee, former_tid),
            Stop::Signal { tracee, signal } => self.signal_stop(tracee, signal),
            Stop::JobControl { tracee } | Stop::Other { tracee } => self.resume(tracee, None),
            Stop::Exited { pid, code } => {
                self.task_ended(pid.as_raw(), Some(Exit::Code(code)))?;
                self.adopt_orphans()
            }
            Stop::Killed { pid, signal } => {
                self.task_ended(pid.as_raw(), Some(Exit::Signal(signal as i32)))?;
                self.adopt_orphans()
            }
        }
    }

    /// The first thing done for every report about thread `tid` (each
    /// ptrace stop, and its exit), before the report itself is handled.
    ///
    /// The fast path (DESIGN.md "Fast path"): the rings of the thread's
    /// process are drained (`drain`). Its calls there all happened before
    /// this stop, so writing them first keeps its program order exact.
    ///
    /// With a fault plan every ring is drained: the injector may decide
    /// at this stop, and its counters (a message's ordinal, an error
    /// pattern's nth call) and triggers (a crash's or a partition's
    /// `after` event) must have seen every call made before it, whichever
    /// path recorded it.
    fn before_stop(&mut self, tid: i32) -> Result<(), TraceError> {
        if self.config.injector.is_some() {
            return self.drain_all();
        }
        match self.tgid_of(tid) {
            Some(tgid) => self.drain_process(tgid),
            None => Ok(()),
        }
    }

    /// Resumes a tracee: to its syscall-exit stop if its current call is
    /// followed to its return, else to its next seccomp stop or event.
    fn resume(&mut self, tracee: Stopped, signal: Option<Signal>) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        let how = match self.tasks.get(&tid) {
            Some(t) if t.pending.is_some() => Resume::Syscall,
            _ => Resume::Cont,
        };
        tracee.resume(how, signal).tracee("PTRACE_CONT", tid)
    }

    /// Writes an event (numbering it) and tells the injector, which may
    /// answer with processes a crash fault kills now.
    fn emit(&mut self, mut ev: Event) -> Result<(), TraceError> {
        self.seq += 1;
        ev.seq = self.seq;
        self.writer.append(&ev)?;
        self.injector_observe(&ev);
        self.admit(&ev);
        Ok(())
    }

    /// A lifecycle point (`start`, `exec`, `exit`): an instant, no call.
    fn emit_point(
        &mut self,
        pid: i32,
        tid: i32,
        call: &str,
        detail: bop_model::Detail,
    ) -> Result<(), TraceError> {
        let now = self.now();
        self.emit(Event {
            pid,
            tid,
            call: call.into(),
            ret: Some(0),
            start_ns: now,
            end_ns: Some(now),
            detail: detail.into(),
            ..Event::default()
        })
    }

    /// The process of a traced thread.
    fn tgid_of(&self, tid: i32) -> Option<i32> {
        self.tasks.get(&tid).map(|t| t.tgid)
    }

    /// True while some traced thread belongs to process `tgid`.
    fn process_alive(&self, tgid: i32) -> bool {
        self.tasks.values().any(|t| t.tgid == tgid)
    }
}
