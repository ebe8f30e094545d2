//! The tracer loop of one run: owns every tracee, decodes stops, resolves
//! fds to channels and writes events.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use super::channel::{FdTarget, Resolver};
use super::error::TraceeContext;
use super::ptrace::{self, Errno, Pid, Resume, Signal, Stop, Stopped};
use super::seccomp::Filter;
use super::syscall::{self, Call, Kind};
use super::wake::Waker;
use super::{Control, Exit, Exits, Summary, TraceConfig, TraceError};
use bop_injector::{Action, Decision, Entry};
use bop_model::{Detail, Endpoint, Event};
use bop_store::EventWriter;

/// A call between its seccomp stop and its return.
struct Pending {
    nr: u64,
    call: Call,
    args: [u64; 6],
    start_ns: u64,
    fd: Option<i32>,
    endpoint: Option<Endpoint>,
    detail: Detail,
    /// False for calls we only follow for bookkeeping (dup of a file fd).
    record: bool,
    /// What the injector did (label, fault index).
    injected: Option<(String, usize)>,
    /// The call was skipped; this is the result the tracee gets.
    skip: Option<i64>,
}

struct Task {
    tgid: i32,
    pending: Option<Pending>,
    /// exit/exit_group seen at entry: (name, entry time, argument).
    exiting: Option<(&'static str, u64, i32)>,
    /// The initial SIGSTOP of an auto-attached task has not been seen yet.
    expect_initial_stop: bool,
    /// A call interrupted by a signal stop (`ERESTART*`): the kernel either
    /// restarts it (the next entry continues this event) or the process sees
    /// EINTR (recorded when the thread's next call is a different one).
    restarting: Option<(Pending, bool)>,
}

pub(super) struct Session {
    start: Instant,
    config: TraceConfig,
    writer: EventWriter,
    control: Receiver<Control>,
    waker: Arc<Waker>,
    exits: Arc<Exits>,
    filter: Filter,
    resolver: Resolver,
    tasks: HashMap<i32, Task>,
    /// New tasks whose initial stop arrived before their parent's fork event.
    early: HashMap<i32, Stopped>,
    /// fd → what it refers to, per process (threads share their process's).
    fds: HashMap<i32, HashMap<i32, FdTarget>>,
    /// Parent process of each process (for signalling a tree).
    parents: HashMap<i32, i32>,
    roots: HashSet<i32>,
    finishing: bool,
    /// Threads held at a send's entry by a delay fault, until the instant.
    held: Vec<(Stopped, Option<Instant>)>,
    seq: u64,
    processes: HashSet<i32>,
    threads: HashSet<i32>,
}

impl Session {
    pub(super) fn new(
        config: TraceConfig,
        writer: EventWriter,
        control: Receiver<Control>,
        waker: Arc<Waker>,
        exits: Arc<Exits>,
    ) -> Result<Session, TraceError> {
        let filter = Filter::new()
            .map_err(|e| TraceError::Setup(format!("cannot build the seccomp filter: {e}")))?;
        Ok(Session {
            start: Instant::now(),
            config,
            writer,
            control,
            waker,
            exits,
            filter,
            resolver: Resolver::default(),
            tasks: HashMap::new(),
            early: HashMap::new(),
            fds: HashMap::new(),
            parents: HashMap::new(),
            roots: HashSet::new(),
            finishing: false,
            held: Vec::new(),
            seq: 0,
            processes: HashSet::new(),
            threads: HashSet::new(),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    pub(super) fn run(mut self) -> Result<Summary, TraceError> {
        let result = self.run_loop();
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
        })
    }

    fn run_loop(&mut self) -> Result<(), TraceError> {
        loop {
            self.waker.acknowledge();
            loop {
                match self.control.try_recv() {
                    Ok(c) => self.control(c)?,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.finishing = true;
                        break;
                    }
                }
            }
            self.release_due()?;
            if self.tasks.is_empty() && self.early.is_empty() {
                if self.finishing {
                    return Ok(());
                }
                // Nothing to wait for: block on the queue instead.
                match self.control.recv() {
                    Ok(c) => self.control(c)?,
                    Err(_) => return Ok(()),
                }
                continue;
            }
            match ptrace::wait_any() {
                Ok(stop) => self.handle(stop)?,
                Err(Errno::EINTR) => {}
                Err(Errno::ECHILD) => {
                    // Every tracee is gone (reaped elsewhere); nothing more will report.
                    let tids: Vec<i32> = self.tasks.keys().copied().collect();
                    for tid in tids {
                        self.task_ended(tid, None)?;
                    }
                    self.early.clear();
                }
                Err(e) => return Err(e).tracee("waitpid", -1),
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

    fn spawn_root(&mut self, spec: &super::SpawnSpec) -> Result<i32, TraceError> {
        let pid = super::spawn::fork_traced(spec, &self.filter)?;
        let raw = pid.as_raw();
        match ptrace::wait_for(pid).tracee("waitpid", raw)? {
            Stop::Signal { tracee, .. } => {
                tracee.set_options().tracee("PTRACE_SETOPTIONS", raw)?;
                let now = self.now();
                self.tasks.insert(
                    raw,
                    Task {
                        tgid: raw,
                        pending: None,
                        exiting: None,
                        expect_initial_stop: false,
                        restarting: None,
                    },
                );
                self.roots.insert(raw);
                self.processes.insert(raw);
                self.threads.insert(raw);
                self.emit(Event {
                    pid: raw,
                    tid: raw,
                    call: "start".into(),
                    ret: Some(0),
                    start_ns: now,
                    end_ns: Some(now),
                    detail: Detail {
                        node: spec.node.clone(),
                        ..Detail::default()
                    },
                    ..Event::default()
                })?;
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
    fn signal(&mut self, root: Option<i32>, signal: i32) {
        let sig = Signal::try_from(signal).unwrap_or(Signal::SIGKILL);
        let mut tgids: HashSet<i32> = self.tasks.values().map(|t| t.tgid).collect();
        tgids.extend(self.early.keys().copied());
        for tgid in tgids {
            let in_tree = match root {
                None => true,
                Some(r) => {
                    let mut p = Some(tgid);
                    let mut found = false;
                    let mut hops = 0;
                    while let Some(x) = p {
                        if x == r {
                            found = true;
                            break;
                        }
                        p = self.parents.get(&x).copied();
                        hops += 1;
                        if hops > 10_000 {
                            break;
                        }
                    }
                    found
                }
            };
            // Never 0 or negative: kill(2) would take that as a process group.
            if in_tree && tgid > 0 {
                let _ = nix::sys::signal::kill(Pid::from_raw(tgid), sig);
            }
        }
    }

    fn emit(&mut self, mut ev: Event) -> Result<(), TraceError> {
        self.seq += 1;
        ev.seq = self.seq;
        self.writer.append(&ev)?;
        let now_ms = self.start.elapsed().as_millis() as u64;
        if let Some(inj) = self.config.injector.as_mut() {
            for process in inj.observe(&ev, now_ms) {
                // Only live tracees: a pid seen earlier may belong to anyone now.
                for pid in inj.pids_of(&process) {
                    if pid > 0 && self.tasks.values().any(|t| t.tgid == pid) {
                        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                }
            }
        }
        Ok(())
    }

    /// Emits an event the injector acted on (if `fault`), telling it where.
    fn emit_acted(&mut self, ev: Event, fault: Option<usize>) -> Result<(), TraceError> {
        if let (Some(fault), Some(inj)) = (fault, self.config.injector.as_mut()) {
            inj.acted_on(
                fault,
                &Event {
                    seq: self.seq + 1,
                    ..ev.clone()
                },
            );
        }
        self.emit(ev)
    }

    /// Emits a call that did not return normally.
    fn emit_pending(
        &mut self,
        tgid: i32,
        tid: i32,
        p: Pending,
        ret: Option<i64>,
        end_ns: Option<u64>,
    ) -> Result<(), TraceError> {
        let fault = p.injected.as_ref().map(|(_, f)| *f);
        self.emit_acted(pending_event(tgid, tid, p, ret, end_ns), fault)
    }

    /// Resumes held threads whose delay is over.
    fn release_due(&mut self) -> Result<(), TraceError> {
        let now = Instant::now();
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(_, until)| until.is_some_and(|u| u <= now));
        self.held = keep;
        for (tracee, _) in due {
            self.resume(tracee, None)?;
        }
        Ok(())
    }

    /// Applies the fault plan at a recorded call's entry. Returns the
    /// tracee back when it is to be resumed now.
    fn inject(
        &mut self,
        tracee: Stopped,
        tgid: i32,
        tid: i32,
        pending: &mut Pending,
    ) -> Result<Option<Stopped>, TraceError> {
        let now_ms = self.start.elapsed().as_millis() as u64;
        let Some(inj) = self.config.injector.as_mut() else {
            return Ok(Some(tracee));
        };
        let entry = Entry {
            pid: tgid,
            tid,
            call: pending.call.name,
            endpoint: pending.endpoint.as_ref(),
            addr: pending.detail.addr.as_deref(),
            now_ms,
        };
        let Some(Decision {
            action,
            label,
            fault,
        }) = inj.on_entry(&entry)
        else {
            return Ok(Some(tracee));
        };
        pending.injected = Some((label, fault));
        match action {
            Action::Hold(d) => {
                let until = d.map(|d| Instant::now() + d);
                if let Some(d) = d {
                    let waker = self.waker.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(d);
                        waker.wake();
                    });
                }
                self.held.push((tracee, until));
                return Ok(None);
            }
            Action::Drop => {
                pending.skip = Some(send_length(tid, pending.call.name, pending.args) as i64)
            }
            Action::Fail(errno) => pending.skip = Some(-(errno as i64)),
        }
        // ESRCH: the thread died meanwhile (a sibling's exit_group); its
        // exit report follows and the call never ran.
        match tracee.skip_syscall() {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => return Err(e).tracee("PTRACE_SETREGS", tid),
        }
        Ok(Some(tracee))
    }

    fn resume(&mut self, tracee: Stopped, signal: Option<Signal>) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        let how = match self.tasks.get(&tid) {
            Some(t) if t.pending.is_some() => Resume::Syscall,
            _ => Resume::Cont,
        };
        tracee.resume(how, signal).tracee("PTRACE_CONT", tid)
    }

    fn handle(&mut self, stop: Stop) -> Result<(), TraceError> {
        match stop {
            Stop::SyscallEntry { tracee, nr, args } => self.syscall_entry(tracee, nr, args),
            Stop::SyscallExit { tracee, ret } => self.syscall_exit(tracee, ret),
            Stop::NewTask { tracee, child, how } => self.new_task(tracee, child, how),
            Stop::Exec { tracee, former_tid } => self.exec(tracee, former_tid),
            Stop::Signal { tracee, signal } => {
                let tid = tracee.pid().as_raw();
                match self.tasks.get_mut(&tid) {
                    None => {
                        // A new task whose parent's fork event has not come yet.
                        self.early.insert(tid, tracee);
                        Ok(())
                    }
                    Some(t) if t.expect_initial_stop && signal == Signal::SIGSTOP => {
                        t.expect_initial_stop = false;
                        self.resume(tracee, None)
                    }
                    Some(_) => self.resume(tracee, Some(signal)),
                }
            }
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

    /// What an fd of a process refers to, cached until the fd changes.
    fn fd_target(&mut self, tgid: i32, tid: i32, fd: i32) -> FdTarget {
        if let Some(t) = self.fds.get(&tgid).and_then(|m| m.get(&fd)) {
            return t.clone();
        }
        let t = self.resolver.resolve(tgid, tid, fd);
        if cacheable(&t) {
            self.fds.entry(tgid).or_default().insert(fd, t.clone());
        }
        t
    }

    fn forget_fd(&mut self, tgid: i32, fd: i32) {
        if let Some(m) = self.fds.get_mut(&tgid) {
            m.remove(&fd);
        }
    }

    fn syscall_entry(
        &mut self,
        tracee: Stopped,
        nr: u64,
        args: [u64; 6],
    ) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        if let Some((stashed, handled)) = self.tasks.get_mut(&tid).and_then(|t| t.restarting.take())
        {
            // The same call with the same arguments: the kernel restarted it.
            if (stashed.nr == nr && stashed.args == args) || syscall::is_restart(nr) {
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.pending = Some(stashed);
                }
                return self.resume(tracee, None);
            }
            // A signal handler ran and is returning: the interrupted call
            // may still be restarted after it.
            if syscall::is_sigreturn(nr) {
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.restarting = Some((stashed, true));
                }
                return self.resume(tracee, None);
            }
            if handled {
                // The handler returned and the program went on: it saw EINTR.
                let tgid = self.tasks.get(&tid).map_or(tid, |t| t.tgid);
                let now = self.now();
                if stashed.record {
                    self.emit_pending(tgid, tid, stashed, Some(-(libc::EINTR as i64)), Some(now))?;
                }
            } else if let Some(t) = self.tasks.get_mut(&tid) {
                // A call made inside the signal handler: keep waiting.
                t.restarting = Some((stashed, false));
            }
        }
        let (Some(call), Some(tgid)) = (syscall::lookup(nr), self.tasks.get(&tid).map(|t| t.tgid))
        else {
            return self.resume(tracee, None);
        };
        let start_ns = self.now();
        let fd0 = args[0] as i32;
        let mut pending = Pending {
            nr,
            call,
            args,
            start_ns,
            fd: None,
            endpoint: None,
            detail: Detail::default(),
            record: true,
            injected: None,
            skip: None,
        };
        match call.kind {
            Kind::Exit => {
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.exiting = Some((call.name, start_ns, args[0] as i32));
                }
                return self.resume(tracee, None);
            }
            Kind::SigReturn => return self.resume(tracee, None),
            Kind::CloseRange => {
                let (lo, hi) = (args[0] as i64, (args[1] as u32) as i64);
                if let Some(m) = self.fds.get_mut(&tgid) {
                    m.retain(|fd, _| (*fd as i64) < lo || (*fd as i64) > hi);
                }
                return self.resume(tracee, None);
            }
            Kind::Send | Kind::Recv | Kind::Teardown => {
                let target = self.fd_target(tgid, tid, fd0);
                if call.name == "close" {
                    self.forget_fd(tgid, fd0);
                }
                let FdTarget::Channel(ep) = target else {
                    return self.resume(tracee, None);
                };
                pending.fd = Some(fd0);
                pending.endpoint = Some(ep);
                match call.name {
                    "sendto" => pending.detail.addr = read_sockaddr(tid, args[4], args[5] as usize),
                    "sendmsg" => {
                        let hdr = read_u64s(tid, args[1], 2);
                        if let [name, namelen] = hdr[..] {
                            pending.detail.addr =
                                read_sockaddr(tid, name, (namelen as u32) as usize);
                        }
                    }
                    "shutdown" => {
                        pending.detail.how = Some(
                            match args[1] as i32 {
                                libc::SHUT_RD => "rd",
                                libc::SHUT_WR => "wr",
                                _ => "rdwr",
                            }
                            .into(),
                        )
                    }
                    _ => {}
                }
            }
            Kind::Dup => {
                if call.name == "fcntl"
                    && !matches!(args[1] as i32, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC)
                {
                    return self.resume(tracee, None);
                }
                let target = self.fd_target(tgid, tid, fd0);
                pending.fd = Some(fd0);
                if let FdTarget::Channel(ep) = target {
                    pending.endpoint = Some(ep);
                } else {
                    pending.record = false;
                }
            }
            Kind::Setup => {
                pending.fd = Some(fd0);
                if matches!(call.name, "connect" | "bind") {
                    pending.detail.addr = read_sockaddr(tid, args[1], args[2] as usize);
                }
            }
            Kind::Create | Kind::Spawn | Kind::Exec | Kind::Wait | Kind::Block => {}
        }
        let tracee = if pending.record {
            self.inject(tracee, tgid, tid, &mut pending)?
        } else {
            Some(tracee)
        };
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.pending = Some(pending);
        }
        match tracee {
            Some(tracee) => self.resume(tracee, None),
            None => Ok(()), // held by a delay fault
        }
    }

    fn syscall_exit(&mut self, tracee: Stopped, ret: i64) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        let Some((tgid, Some(p))) = self.tasks.get_mut(&tid).map(|t| (t.tgid, t.pending.take()))
        else {
            return self.resume(tracee, None);
        };
        let ret = match p.skip {
            Some(fake) => {
                match tracee.set_return(fake) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => return Err(e).tracee("PTRACE_SETREGS", tid),
                }
                fake
            }
            None => ret,
        };
        if (-516..=-512).contains(&ret) {
            if let Some(t) = self.tasks.get_mut(&tid) {
                t.restarting = Some((p, false));
            }
            return self.resume(tracee, None);
        }
        let end_ns = self.now();
        let ok = ret >= 0;
        let mut ev = Event {
            pid: tgid,
            tid,
            call: p.call.name.into(),
            fd: p.fd,
            ret: Some(ret),
            errno: (!ok && ret > -4096).then(|| bop_model::errno_name(-ret as i32)),
            start_ns: p.start_ns,
            end_ns: Some(end_ns),
            endpoint: p.endpoint,
            detail: p.detail,
            injected: p.injected.as_ref().map(|(label, _)| label.clone()),
            ..Event::default()
        };
        let args = p.args;
        let acted = p.injected.as_ref().map(|(_, fault)| *fault);
        match p.call.kind {
            Kind::Create if ok => {
                let fds: Vec<i32> = match p.call.name {
                    "socket" => vec![ret as i32],
                    "socketpair" => read_i32s(tid, args[3], 2),
                    _ => read_i32s(tid, args[0], 2),
                };
                self.new_fds(tgid, tid, &fds, &mut ev.detail);
            }
            Kind::Setup => {
                let fd = args[0] as i32;
                self.forget_fd(tgid, fd);
                if let FdTarget::Channel(ep) = self.fd_target(tgid, tid, fd) {
                    ev.endpoint = Some(ep);
                }
                if ok && p.call.name.starts_with("accept") {
                    self.forget_fd(tgid, ret as i32);
                    self.new_fds(tgid, tid, &[ret as i32], &mut ev.detail);
                    ev.detail.peer_pid = ev
                        .detail
                        .new_endpoints
                        .first()
                        .and_then(|ep| self.connector_of(ep));
                }
            }
            Kind::Send | Kind::Recv if ok => {
                // An unbound datagram socket is bound by its first send: the
                // endpoint seen at entry said `:0`.
                if ev
                    .endpoint
                    .as_ref()
                    .is_some_and(|ep| ep.local.ends_with(":0"))
                {
                    let fd = args[0] as i32;
                    self.forget_fd(tgid, fd);
                    if let FdTarget::Channel(ep) = self.fd_target(tgid, tid, fd) {
                        ev.endpoint = Some(ep);
                    }
                }
                let mut bytes = ret as u64;
                match p.call.name {
                    "sendmmsg" | "recvmmsg" => {
                        // struct mmsghdr: msghdr (56 bytes) + msg_len (u32) + padding.
                        let raw =
                            ptrace::read_memory(Pid::from_raw(tid), args[1], 64 * ret as usize);
                        ev.detail.parts = raw
                            .chunks_exact(64)
                            .map(|c| u32::from_ne_bytes([c[56], c[57], c[58], c[59]]) as u64)
                            .collect();
                        bytes = ev.detail.parts.iter().sum();
                    }
                    "recvfrom" => {
                        let len = read_i32s(tid, args[5], 1).first().copied().unwrap_or(0);
                        if let Some(a) = read_sockaddr(tid, args[4], len.max(0) as usize) {
                            ev.detail.addr = Some(a);
                        }
                    }
                    "recvmsg" => {
                        let hdr = read_u64s(tid, args[1], 2);
                        if let [name, namelen] = hdr[..] {
                            if let Some(a) = read_sockaddr(tid, name, (namelen as u32) as usize) {
                                ev.detail.addr = Some(a);
                            }
                        }
                    }
                    _ => {}
                }
                ev.bytes = Some(bytes);
                if self.config.capture_bytes > 0 && bytes > 0 {
                    ev.data = self.capture(tid, p.call.name, args, bytes as usize);
                }
            }
            // Another thread may have re-cached the fd between close's entry
            // and its return.
            Kind::Teardown if p.call.name == "close" => self.forget_fd(tgid, args[0] as i32),
            Kind::Dup if ok => {
                let new_fd = if matches!(p.call.name, "dup2" | "dup3") {
                    args[1] as i32
                } else {
                    ret as i32
                };
                let old = self
                    .fds
                    .get(&tgid)
                    .and_then(|m| m.get(&(args[0] as i32)))
                    .cloned();
                let m = self.fds.entry(tgid).or_default();
                match old {
                    Some(t) => m.insert(new_fd, t),
                    None => m.remove(&new_fd),
                };
                ev.detail.fds = vec![new_fd];
            }
            Kind::Wait if ok => {
                ev.detail.child = match p.call.name {
                    "wait4" if ret > 0 => Some(ret as i32),
                    // siginfo_t: si_signo, si_errno, si_code, padding, then si_pid.
                    "waitid" => read_i32s(tid, args[2] + 16, 1)
                        .first()
                        .copied()
                        .filter(|p| *p > 0),
                    _ => None,
                };
            }
            _ => {}
        }
        if p.record {
            self.emit_acted(ev, acted)?;
        }
        self.resume(tracee, None)
    }

    /// The traced process at the other end of a just-accepted connection,
    /// from the kernel: a task whose connect is still pending (its return not
    /// handled yet) or already done, whose socket's local address is this
    /// connection's peer. Lets logical names of the accepting side not depend
    /// on the order in which the tracer happens to handle the two stops.
    fn connector_of(&mut self, accepted: &Endpoint) -> Option<i32> {
        let peer = accepted.peer.clone()?;
        // Already known: some process's cached endpoint has it as its local end.
        for (tgid, fds) in &self.fds {
            if fds
                .values()
                .any(|t| matches!(t, FdTarget::Channel(ep) if ep.local == peer))
            {
                return Some(*tgid);
            }
        }
        let connecting: Vec<(i32, i32, i32)> = self
            .tasks
            .iter()
            .filter_map(|(tid, t)| {
                let p = t
                    .pending
                    .as_ref()
                    .or(t.restarting.as_ref().map(|(p, _)| p))?;
                (p.call.name == "connect").then_some((t.tgid, *tid, p.args[0] as i32))
            })
            .collect();
        connecting.into_iter().find_map(|(tgid, tid, fd)| {
            match self.resolver.resolve(tgid, tid, fd) {
                FdTarget::Channel(ep) if ep.local == peer => Some(tgid),
                _ => None,
            }
        })
    }

    /// Records new fds (and their endpoints) in the detail and the cache.
    fn new_fds(&mut self, tgid: i32, tid: i32, fds: &[i32], detail: &mut Detail) {
        detail.fds = fds.to_vec();
        for &fd in fds {
            self.forget_fd(tgid, fd);
            if let FdTarget::Channel(ep) = self.fd_target(tgid, tid, fd) {
                detail.new_endpoints.push(ep);
            }
        }
    }

    fn capture(&self, tid: i32, call: &str, args: [u64; 6], n: usize) -> Option<String> {
        let n = n.min(self.config.capture_bytes);
        let pid = Pid::from_raw(tid);
        // Vectored calls: the first iovec only, never past its end.
        let first_iovec = |iov: u64| -> Option<(u64, usize)> {
            let v = read_u64s(tid, iov, 2);
            Some((*v.first()?, *v.get(1)? as usize))
        };
        let (buf, n) = match call {
            "readv" | "writev" => first_iovec(args[1]).map(|(b, len)| (b, n.min(len)))?,
            "sendmsg" | "recvmsg" => {
                // msghdr.msg_iov is at offset 16.
                let iov = read_u64s(tid, args[1] + 16, 1).first().copied()?;
                first_iovec(iov).map(|(b, len)| (b, n.min(len)))?
            }
            "sendmmsg" | "recvmmsg" => return None,
            _ => (args[1], n),
        };
        let bytes = ptrace::read_memory(pid, buf, n);
        Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn new_task(
        &mut self,
        tracee: Stopped,
        child: Pid,
        how: ptrace::Spawned,
    ) -> Result<(), TraceError> {
        let parent_tid = tracee.pid().as_raw();
        let child = child.as_raw();
        let parent_tgid = self
            .tasks
            .get(&parent_tid)
            .map(|t| t.tgid)
            .unwrap_or(parent_tid);
        let tgid = read_tgid(child).unwrap_or(child);
        let thread = tgid == parent_tgid && how == ptrace::Spawned::Clone;
        if !thread {
            let copy = self.fds.get(&parent_tgid).cloned().unwrap_or_default();
            self.fds.insert(tgid, copy);
            self.parents.insert(tgid, parent_tgid);
            self.processes.insert(tgid);
        }
        self.threads.insert(child);
        if let Some(p) = self
            .tasks
            .get_mut(&parent_tid)
            .and_then(|t| t.pending.as_mut())
        {
            p.detail.child = Some(child);
        }
        // The task exists before its start event is seen (a crash fault
        // may kill it right at that event).
        let early = self.early.remove(&child);
        self.tasks.insert(
            child,
            Task {
                tgid,
                pending: None,
                exiting: None,
                expect_initial_stop: early.is_none(),
                restarting: None,
            },
        );
        let now = self.now();
        self.emit(Event {
            pid: tgid,
            tid: child,
            call: "start".into(),
            ret: Some(0),
            start_ns: now,
            end_ns: Some(now),
            detail: Detail {
                child: Some(parent_tid),
                thread,
                ..Detail::default()
            },
            ..Event::default()
        })?;
        if let Some(stopped) = early {
            self.resume(stopped, None)?;
        }
        self.resume(tracee, None)
    }

    fn exec(&mut self, tracee: Stopped, former: Pid) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        let former = former.as_raw();
        if former != tid {
            // A non-leader thread exec'd: it takes over the leader's tid; the
            // old leader vanishes without an exit report.
            let moved = self.tasks.remove(&former);
            if let Some(old_leader) = self.tasks.remove(&tid) {
                let now = self.now();
                self.emit(Event {
                    pid: old_leader.tgid,
                    tid,
                    call: "exit".into(),
                    ret: Some(0),
                    start_ns: now,
                    end_ns: Some(now),
                    ..Event::default()
                })?;
            }
            if let Some(t) = moved {
                self.tasks.insert(tid, t);
            }
        }
        let tgid = self.tasks.get(&tid).map(|t| t.tgid).unwrap_or(tid);
        // close-on-exec fds are gone; re-resolve lazily.
        self.fds.insert(tgid, HashMap::new());
        let exe = std::fs::read_link(format!("/proc/{tid}/exe"))
            .ok()
            .map(|p| p.display().to_string());
        let argv: Vec<String> = std::fs::read(format!("/proc/{tid}/cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let now = self.now();
        if let Some(p) = self.tasks.get_mut(&tid).and_then(|t| t.pending.as_mut()) {
            p.detail.exe = exe.clone();
            p.detail.argv = argv.clone();
        }
        self.emit(Event {
            pid: tgid,
            tid,
            call: "exec".into(),
            ret: Some(0),
            start_ns: now,
            end_ns: Some(now),
            detail: Detail {
                exe,
                argv,
                ..Detail::default()
            },
            ..Event::default()
        })?;
        self.resume(tracee, None)
    }

    /// New tasks whose creator died before its fork event reached us would
    /// wait forever for that event: adopt them (their parent from /proc).
    fn adopt_orphans(&mut self) -> Result<(), TraceError> {
        let orphans: Vec<i32> = self
            .early
            .keys()
            .copied()
            .filter(|&tid| {
                let alive = |pid: i32| self.tasks.values().any(|t| t.tgid == pid);
                // A new thread's creator is in its own thread group; a new
                // process's creator is its parent.
                match read_status_field(tid, "Tgid:") {
                    Some(tgid) if tgid != tid => !alive(tgid),
                    Some(_) => read_status_field(tid, "PPid:").is_none_or(|pp| !alive(pp)),
                    None => false,
                }
            })
            .collect();
        for tid in orphans {
            let Some(stopped) = self.early.remove(&tid) else {
                continue;
            };
            let tgid = read_status_field(tid, "Tgid:").unwrap_or(tid);
            let parent = read_status_field(tid, "PPid:").unwrap_or(0);
            let thread = self.tasks.values().any(|t| t.tgid == tgid);
            if !thread {
                self.parents.insert(tgid, parent);
                self.processes.insert(tgid);
            }
            self.threads.insert(tid);
            self.tasks.insert(
                tid,
                Task {
                    tgid,
                    pending: None,
                    exiting: None,
                    expect_initial_stop: false,
                    restarting: None,
                },
            );
            let now = self.now();
            self.emit(Event {
                pid: tgid,
                tid,
                call: "start".into(),
                ret: Some(0),
                start_ns: now,
                end_ns: Some(now),
                detail: Detail {
                    child: (parent > 0).then_some(parent),
                    thread,
                    ..Detail::default()
                },
                ..Event::default()
            })?;
            self.resume(stopped, None)?;
        }
        Ok(())
    }

    fn task_ended(&mut self, tid: i32, exit: Option<Exit>) -> Result<(), TraceError> {
        self.early.remove(&tid);
        let Some(task) = self.tasks.remove(&tid) else {
            return Ok(());
        };
        let now = self.now();
        if let Some(p) = task.pending.or(task.restarting.map(|(p, _)| p)) {
            // The call never returned (killed, or exit of the whole group).
            if p.record {
                self.emit_pending(task.tgid, tid, p, None, None)?;
            }
        }
        let (call, start_ns, detail) = match (exit, task.exiting) {
            (Some(Exit::Signal(s)), _) => (
                "killed",
                now,
                Detail {
                    signal: Some(
                        Signal::try_from(s)
                            .map(|s| s.as_str().to_string())
                            .unwrap_or(format!("SIG{s}")),
                    ),
                    ..Detail::default()
                },
            ),
            (Some(Exit::Code(c)), Some((name, at, _))) => (
                name,
                at,
                Detail {
                    status: Some(c),
                    ..Detail::default()
                },
            ),
            (Some(Exit::Code(c)), None) => (
                "exit",
                now,
                Detail {
                    status: Some(c),
                    ..Detail::default()
                },
            ),
            (None, _) => ("exit", now, Detail::default()),
        };
        self.emit(Event {
            pid: task.tgid,
            tid,
            call: call.into(),
            ret: Some(0),
            start_ns,
            end_ns: Some(now),
            detail,
            ..Event::default()
        })?;
        if tid == task.tgid {
            self.fds.remove(&tid);
            self.resolver.forget(tid);
            if self.roots.contains(&tid) {
                let mut map = self
                    .exits
                    .map
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                map.insert(tid, exit.unwrap_or(Exit::Signal(libc::SIGKILL)));
                self.exits.changed.notify_all();
            }
        }
        Ok(())
    }
}

/// Endpoints change while a socket is being set up (bind, connect); cache
/// only those that are final.
fn cacheable(t: &FdTarget) -> bool {
    match t {
        FdTarget::Closed | FdTarget::Unknown => false,
        FdTarget::Other => true,
        FdTarget::Channel(ep) => {
            let bound = !ep.local.ends_with(":0");
            bound && (ep.peer.is_some() || !ep.stream)
        }
    }
}

/// The event of a call that ended without a normal return (`ret` None:
/// never returned; `Some(-EINTR)`: interrupted).
fn pending_event(tgid: i32, tid: i32, p: Pending, ret: Option<i64>, end_ns: Option<u64>) -> Event {
    Event {
        pid: tgid,
        tid,
        call: p.call.name.into(),
        fd: p.fd,
        ret,
        errno: ret
            .filter(|r| *r < 0)
            .map(|r| bop_model::errno_name(-r as i32)),
        start_ns: p.start_ns,
        end_ns,
        endpoint: p.endpoint,
        detail: p.detail,
        injected: p.injected.map(|(label, _)| label),
        ..Event::default()
    }
}

/// The length a skipped (dropped) send reports: what the caller asked to
/// send, so it believes everything went out.
fn send_length(tid: i32, call: &str, args: [u64; 6]) -> u64 {
    let iov_sum = |iov: u64, n: u64| -> u64 {
        read_u64s(tid, iov, 2 * n.min(1024) as usize)
            .chunks(2)
            .map(|c| c.get(1).copied().unwrap_or(0))
            .sum()
    };
    match call {
        "writev" => iov_sum(args[1], args[2]),
        "sendmsg" => {
            // msghdr: name, namelen, iov, iovlen, ...
            let hdr = read_u64s(tid, args[1], 4);
            if let [_, _, iov, n] = hdr[..] {
                iov_sum(iov, n)
            } else {
                0
            }
        }
        "sendmmsg" => {
            // Each struct mmsghdr (64 bytes) gets msg_len = its iovecs' total,
            // as if every datagram had been sent; the call returns vlen.
            let vlen = args[2].min(1024);
            for k in 0..vlen {
                let hdr = args[1] + 64 * k;
                let iov = read_u64s(tid, hdr + 16, 2);
                if let [iov, n] = iov[..] {
                    let len = iov_sum(iov, n) as u32;
                    ptrace::write_memory(Pid::from_raw(tid), hdr + 56, &len.to_ne_bytes());
                }
            }
            vlen
        }
        _ => args[2],
    }
}

fn read_tgid(tid: i32) -> Option<i32> {
    read_status_field(tid, "Tgid:")
}

/// A numeric field of /proc/TID/status (`Tgid:`, `PPid:`).
fn read_status_field(tid: i32, field: &str) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().parse().ok())
}

fn read_i32s(tid: i32, addr: u64, n: usize) -> Vec<i32> {
    ptrace::read_memory(Pid::from_raw(tid), addr, 4 * n)
        .chunks_exact(4)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn read_u64s(tid: i32, addr: u64, n: usize) -> Vec<u64> {
    ptrace::read_memory(Pid::from_raw(tid), addr, 8 * n)
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// Decodes a `struct sockaddr` in tracee memory.
fn read_sockaddr(tid: i32, addr: u64, len: usize) -> Option<String> {
    if addr == 0 || len < 2 {
        return None;
    }
    // Empty or short when the pointer is bad: the call then fails with
    // EFAULT, which is the program's business, not the tracer's.
    let raw = ptrace::read_memory(Pid::from_raw(tid), addr, len.min(128));
    let family = u16::from_ne_bytes([*raw.first()?, *raw.get(1)?]) as i32;
    match family {
        libc::AF_INET if raw.len() >= 8 => {
            let port = u16::from_be_bytes([raw[2], raw[3]]);
            Some(format!(
                "{}.{}.{}.{}:{port}",
                raw[4], raw[5], raw[6], raw[7]
            ))
        }
        libc::AF_INET6 if raw.len() >= 24 => {
            let port = u16::from_be_bytes([raw[2], raw[3]]);
            let ip: [u8; 16] = raw[8..24].try_into().ok()?;
            Some(format!("[{}]:{port}", std::net::Ipv6Addr::from(ip)))
        }
        libc::AF_UNIX => {
            let path = &raw[2..];
            if path.first() == Some(&0) {
                let name = &path[1..];
                return Some(format!("@{}", String::from_utf8_lossy(name)));
            }
            let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
            Some(String::from_utf8_lossy(&path[..end]).into_owned())
        }
        _ => None,
    }
}
