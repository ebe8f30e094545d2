//! Processes and threads coming and going: a root's first stop, fork/
//! vfork/clone events and the new task's initial SIGSTOP (in either order),
//! exec (which may change a thread's tid), signal stops, exits and deaths,
//! and signalling the tree under a root.

use std::collections::HashSet;

use super::super::error::TraceeContext;
use super::super::ptrace::{self, Pid, Resume, Signal, Stop, Stopped};
use super::super::{Exit, SpawnSpec, TraceError};
use super::Session;
use super::entry::Pending;
use super::restart::Interrupted;
use bop_model::{Detail, Event};

/// One traced thread.
pub(super) struct Task {
    /// Its process.
    pub(super) tgid: i32,
    /// The call it is in, between entry and return.
    pub(super) pending: Option<Pending>,
    /// exit/exit_group seen at entry: (name, entry time); the exit report
    /// that follows becomes that event.
    pub(super) exiting: Option<(&'static str, u64)>,
    /// The initial SIGSTOP of an auto-attached task has not been seen yet.
    pub(super) expect_initial_stop: bool,
    /// A call interrupted by a signal (`ERESTART*`), until the thread shows
    /// whether it was restarted.
    pub(super) restarting: Option<Interrupted>,
}

impl Task {
    fn new(tgid: i32, expect_initial_stop: bool) -> Task {
        Task {
            tgid,
            pending: None,
            exiting: None,
            expect_initial_stop,
            restarting: None,
        }
    }

    /// The call the thread is in, returned or not (interrupted).
    pub(super) fn current_call(&self) -> Option<&Pending> {
        self.pending
            .as_ref()
            .or(self.restarting.as_ref().map(|r| &r.call))
    }
}

impl Session {
    /// Forks and traces a root process; returns its pid.
    pub(super) fn spawn_root(&mut self, spec: &SpawnSpec) -> Result<i32, TraceError> {
        let env = self.fast.as_ref().map(|f| {
            let current = spec
                .env
                .iter()
                .find(|(k, _)| k == "LD_PRELOAD")
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var("LD_PRELOAD").ok());
            f.env(current.as_deref())
        });
        let pid = super::super::spawn::fork_traced(spec, &self.filter, &env.unwrap_or_default())?;
        let raw = pid.as_raw();
        match ptrace::wait_for(pid).tracee("waitpid", raw)? {
            Stop::Signal { tracee, .. } => {
                tracee.set_options().tracee("PTRACE_SETOPTIONS", raw)?;
                self.tasks.insert(raw, Task::new(raw, false));
                self.roots.insert(raw);
                self.processes.insert(raw);
                self.threads.insert(raw);
                let node = Detail {
                    node: spec.node.clone(),
                    ports: spec.ports.clone(),
                    ..Detail::default()
                };
                self.emit_point(raw, raw, "start", node)?;
                tracee
                    .resume(Resume::Cont, None)
                    .tracee("PTRACE_CONT", raw)?;
                Ok(raw)
            }
            Stop::Exited { code, .. } => Err(TraceError::Setup(format!(
                "{} exited with status {code} before it could be traced",
                spec.argv[0]
            ))),
            other => Err(TraceError::Setup(format!(
                "unexpected first stop of {}: {other:?}",
                spec.argv[0]
            ))),
        }
    }

    /// Sends `signal` to every process of the tree under `root` (or all).
    pub(super) fn signal(&mut self, root: Option<i32>, signal: i32) {
        let sig = Signal::try_from(signal).unwrap_or(Signal::SIGKILL);
        let mut tgids: HashSet<i32> = self.tasks.values().map(|t| t.tgid).collect();
        tgids.extend(self.early.keys().copied());
        for tgid in tgids {
            let in_tree = root.is_none_or(|r| self.descends_from(tgid, r));
            // Never 0 or negative: kill(2) would take that as a process group.
            if in_tree && tgid > 0 {
                let _ = nix::sys::signal::kill(Pid::from_raw(tgid), sig);
            }
        }
    }

    /// True when process `tgid` is `root` or below it.
    fn descends_from(&self, tgid: i32, root: i32) -> bool {
        let mut p = Some(tgid);
        // Bounded: a pid reused inside the map could make a loop.
        for _ in 0..10_000 {
            match p {
                Some(x) if x == root => return true,
                Some(x) => p = self.parents.get(&x).copied(),
                None => return false,
            }
        }
        false
    }

    /// A signal-delivery stop: passed on, except a new task's initial
    /// SIGSTOP; the initial stop of a task not known yet is parked until
    /// its creator's fork event arrives.
    pub(super) fn signal_stop(
        &mut self,
        tracee: Stopped,
        signal: Signal,
    ) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        match self.tasks.get_mut(&tid) {
            None => {
                self.early.insert(tid, tracee);
                Ok(())
            }
            Some(t) if t.expect_initial_stop && signal == Signal::SIGSTOP => {
                t.expect_initial_stop = false;
                self.resume(tracee, None)
            }
            Some(t) => {
                // A signal delivered after the handler of an interrupted
                // call returned, before the call was restarted, runs
                // another handler first: its calls are not the program
                // going on past an EINTR (an interval timer does this).
                if let Some(stashed) = t.restarting.as_mut() {
                    stashed.handler_returned = false;
                }
                self.settle_fast_wait(&tracee)?;
                self.resume(tracee, Some(signal))
            }
        }
    }

    /// fork/vfork/clone reported in the parent: the child's start event.
    pub(super) fn new_task(
        &mut self,
        tracee: Stopped,
        child: Pid,
        how: ptrace::Spawned,
    ) -> Result<(), TraceError> {
        let parent_tid = tracee.pid().as_raw();
        let child = child.as_raw();
        let parent_tgid = self.tgid_of(parent_tid).unwrap_or(parent_tid);
        let tgid = read_status_field(child, "Tgid:").unwrap_or(child);
        let thread = tgid == parent_tgid && how == ptrace::Spawned::Clone;
        if !thread {
            self.fds.fork(parent_tgid, tgid);
            self.parents.insert(tgid, parent_tgid);
            self.processes.insert(tgid);
        }
        self.threads.insert(child);
        if let Some(p) = self.pending_mut(parent_tid) {
            p.event.detail.child = Some(child);
        }
        // The task exists before its start event is seen (a crash fault
        // may kill it right at that event).
        let early = self.early.remove(&child);
        self.tasks.insert(child, Task::new(tgid, early.is_none()));
        let start = Detail {
            child: Some(parent_tid),
            thread,
            ..Detail::default()
        };
        self.emit_point(tgid, child, "start", start)?;
        if let Some(stopped) = early {
            self.resume(stopped, None)?;
        }
        self.resume(tracee, None)
    }

    /// A successful exec, reported before it returns.
    pub(super) fn exec(&mut self, tracee: Stopped, former: Pid) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        let former = former.as_raw();
        let tgid = self.tgid_of(tid).or(self.tgid_of(former)).unwrap_or(tid);
        // The old image's rings are done with (the new image claims new
        // ones); nothing of the old image runs any more.
        self.drain_thread(tgid, former, true)?;
        if former != tid {
            self.drain_thread(tgid, tid, true)?;
            self.exec_by_non_leader(former, tid)?;
        }
        self.fds.exec(tgid, tid);
        let exe = std::fs::read_link(format!("/proc/{tid}/exe"))
            .ok()
            .map(|p| p.display().to_string());
        let argv = read_cmdline(tid);
        if let Some(p) = self.pending_mut(tid) {
            p.event.detail.exe = exe.clone();
            p.event.detail.argv = argv.clone();
        }
        let detail = Detail {
            exe,
            argv,
            ..Detail::default()
        };
        self.emit_point(tgid, tid, "exec", detail)?;
        self.resume(tracee, None)
    }

    /// A non-leader thread exec'd: it takes over the leader's tid; the old
    /// leader vanishes without an exit report.
    fn exec_by_non_leader(&mut self, former: i32, leader: i32) -> Result<(), TraceError> {
        let moved = self.tasks.remove(&former);
        if let Some(old_leader) = self.tasks.remove(&leader) {
            self.emit_point(old_leader.tgid, leader, "exit", Detail::default())?;
        }
        if let Some(t) = moved {
            self.tasks.insert(leader, t);
        }
        Ok(())
    }

    /// New tasks whose creator died before its fork event reached us would
    /// wait forever for that event: adopt them (their parent from /proc).
    pub(super) fn adopt_orphans(&mut self) -> Result<(), TraceError> {
        let orphans: Vec<i32> = self
            .early
            .keys()
            .copied()
            .filter(|&tid| self.is_orphan(tid))
            .collect();
        for tid in orphans {
            let Some(stopped) = self.early.remove(&tid) else {
                continue;
            };
            let tgid = read_status_field(tid, "Tgid:").unwrap_or(tid);
            let parent = read_status_field(tid, "PPid:").unwrap_or(0);
            let thread = self.process_alive(tgid);
            if !thread {
                self.parents.insert(tgid, parent);
                self.processes.insert(tgid);
            }
            self.threads.insert(tid);
            self.tasks.insert(tid, Task::new(tgid, false));
            let start = Detail {
                child: (parent > 0).then_some(parent),
                thread,
                ..Detail::default()
            };
            self.emit_point(tgid, tid, "start", start)?;
            self.resume(stopped, None)?;
        }
        Ok(())
    }

    /// True when the creator of early task `tid` is no longer traced. A new
    /// thread's creator is in its own thread group; a new process's
    /// creator is its parent.
    fn is_orphan(&self, tid: i32) -> bool {
        match read_status_field(tid, "Tgid:") {
            Some(tgid) if tgid != tid => !self.process_alive(tgid),
            Some(_) => read_status_field(tid, "PPid:").is_none_or(|pp| !self.process_alive(pp)),
            None => false,
        }
    }

    /// Thread `tid` ended (`exit` None: it vanished unreported): its
    /// unfinished call, its end event, and for a process its fds and, for
    /// a root, its exit status for waiters.
    pub(super) fn task_ended(&mut self, tid: i32, exit: Option<Exit>) -> Result<(), TraceError> {
        self.early.remove(&tid);
        let Some(tgid) = self.tgid_of(tid) else {
            return Ok(());
        };
        // Its last in-process calls, one it died in included, come first.
        self.drain_thread(tgid, tid, true)?;
        let Some(task) = self.tasks.remove(&tid) else {
            return Ok(());
        };
        let now = self.now();
        if let Some(p) = task.pending.or(task.restarting.map(|r| r.call)) {
            // The call never returned (killed, or exit of the whole group).
            if p.record {
                self.emit_finished(p, task.tgid, tid, None, None)?;
            }
        }
        let (call, start_ns, detail) = end_event(exit, task.exiting, now);
        self.emit(Event {
            pid: task.tgid,
            tid,
            call: call.into(),
            ret: Some(0),
            start_ns,
            end_ns: Some(now),
            detail: detail.into(),
            ..Event::default()
        })?;
        if tid == task.tgid {
            self.fds.process_ended(tid);
            self.dismiss(tid);
            if self.roots.contains(&tid) {
                self.report_root_exit(tid, exit.unwrap_or(Exit::Signal(libc::SIGKILL)));
            }
        }
        Ok(())
    }

    fn report_root_exit(&self, pid: i32, exit: Exit) {
        let mut map = self
            .exits
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(pid, exit);
        self.exits.changed.notify_all();
    }

    /// The call thread `tid` is in, if any.
    pub(super) fn pending_mut(&mut self, tid: i32) -> Option<&mut Pending> {
        self.tasks.get_mut(&tid).and_then(|t| t.pending.as_mut())
    }
}

/// The event that ends a thread: `killed` by a signal, or the exit call
/// seen at entry (timed from there), or a plain `exit` point.
fn end_event(
    exit: Option<Exit>,
    exiting: Option<(&'static str, u64)>,
    now: u64,
) -> (&'static str, u64, Detail) {
    let status = |c| Detail {
        status: Some(c),
        ..Detail::default()
    };
    match (exit, exiting) {
        (Some(Exit::Signal(s)), _) => {
            let name = Signal::try_from(s)
                .map(|s| s.as_str().to_string())
                .unwrap_or(format!("SIG{s}"));
            let detail = Detail {
                signal: Some(name),
                ..Detail::default()
            };
            ("killed", now, detail)
        }
        (Some(Exit::Code(c)), Some((name, at))) => (name, at, status(c)),
        (Some(Exit::Code(c)), None) => ("exit", now, status(c)),
        (None, _) => ("exit", now, Detail::default()),
    }
}

/// The argument vector of a process, from /proc.
fn read_cmdline(tid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{tid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A numeric field of /proc/TID/status (`Tgid:`, `PPid:`).
fn read_status_field(tid: i32, field: &str) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().parse().ok())
}
