//! The only module that calls `ptrace(2)` and `waitpid(2)`.
//!
//! Raw wait statuses are decoded once, here, into [`Stop`]; nothing above
//! sees a raw status. A tracee that is in a ptrace-stop is represented by a
//! [`Stopped`] token that is neither `Clone` nor `Copy` and is consumed by
//! [`Stopped::resume`], so code cannot issue a request to a running tracee
//! or resume one twice (the typestate idea of reverie's `safeptrace`).
//!
//! ptrace requests must come from the thread that is the tracer, so every
//! function here must be called on the tracer thread.
#![allow(unsafe_code)]

use std::io::IoSliceMut;

pub(super) use nix::errno::Errno;
use nix::sys::ptrace::{self, Event as PtraceEvent, Options};
pub(super) use nix::sys::signal::Signal;
use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
pub(super) use nix::unistd::Pid;

/// A tracee in a ptrace-stop. Consumed by [`Stopped::resume`].
#[derive(Debug)]
pub(super) struct Stopped(Pid);

/// How a stopped tracee continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resume {
    /// Run until the next seccomp stop, event or signal.
    Cont,
    /// Also stop at the return of the current system call.
    Syscall,
}

/// The user registers of a syscall stop that the tracer needs besides
/// the call's number and arguments (`PTRACE_GET_SYSCALL_INFO`'s own).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct UserRegs {
    /// The instruction pointer: the address after the `syscall`
    /// instruction (the kernel has advanced past it).
    pub(super) ip: u64,
    /// The stack pointer.
    pub(super) sp: u64,
}

/// What a thread's registers say about the system call it made last, at a
/// signal-delivery stop: the kernel delivers signals on the way back to
/// user space, after the call returned (or was cut short), so `ret` is its
/// result (an `ERESTART*` code if the signal's handling still decides it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LastCall {
    /// The instruction pointer (after the `syscall` instruction, if the
    /// thread stopped right after one).
    pub(super) ip: u64,
    /// The call's number (`orig_rax`).
    pub(super) nr: u64,
    /// Its result (`rax`).
    pub(super) ret: i64,
}

/// How a new task was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Spawned {
    /// fork (or clone without CLONE_VM|CLONE_VFORK semantics).
    Fork,
    /// vfork.
    Vfork,
    /// clone / clone3 (a thread or a process).
    Clone,
}

/// One decoded `waitpid` report.
#[derive(Debug)]
pub(super) enum Stop {
    /// A seccomp stop (`PTRACE_EVENT_SECCOMP`): syscall entry of a call our
    /// filter selected.
    SyscallEntry {
        /// The tracee.
        tracee: Stopped,
        /// Syscall number (native arch).
        nr: u64,
        /// The six argument registers.
        args: [u64; 6],
        /// Where the thread is: the address after its `syscall`
        /// instruction, and its stack pointer.
        at: UserRegs,
    },
    /// The return of a syscall we resumed with [`Resume::Syscall`].
    SyscallExit {
        /// The tracee.
        tracee: Stopped,
        /// Return value; `-errno` on failure.
        ret: i64,
    },
    /// fork/vfork/clone reported in the parent, before the call returns.
    NewTask {
        /// The parent.
        tracee: Stopped,
        /// The new task's tid.
        child: Pid,
        /// Which kind of creation.
        how: Spawned,
    },
    /// A successful execve, reported before it returns.
    Exec {
        /// The tracee (now with the tgid as tid).
        tracee: Stopped,
        /// The tid that called execve (differs when a non-leader thread execs).
        former_tid: Pid,
    },
    /// A signal is about to be delivered (includes a new task's initial SIGSTOP).
    Signal {
        /// The tracee.
        tracee: Stopped,
        /// Which signal.
        signal: Signal,
    },
    /// A group-stop (job control); resuming without a signal keeps it running.
    JobControl {
        /// The tracee.
        tracee: Stopped,
    },
    /// Any other ptrace-stop we do not act on.
    Other {
        /// The tracee.
        tracee: Stopped,
    },
    /// The task exited.
    Exited {
        /// Its tid.
        pid: Pid,
        /// Exit code.
        code: i32,
    },
    /// The task was killed by a signal.
    Killed {
        /// Its tid.
        pid: Pid,
        /// The signal.
        signal: Signal,
    },
}

impl Stop {
    /// The thread the report is about.
    pub(super) fn tid(&self) -> i32 {
        match self {
            Stop::SyscallEntry { tracee, .. }
            | Stop::SyscallExit { tracee, .. }
            | Stop::NewTask { tracee, .. }
            | Stop::Exec { tracee, .. }
            | Stop::Signal { tracee, .. }
            | Stop::JobControl { tracee }
            | Stop::Other { tracee } => tracee.0.as_raw(),
            Stop::Exited { pid, .. } | Stop::Killed { pid, .. } => pid.as_raw(),
        }
    }
}

/// Options set on every tracee (inherited by auto-attached children).
/// `EXITKILL`: if bop dies, the kernel kills every tracee, so nothing is left
/// behind. `TRACESECCOMP`: stop only where our filter says so.
fn options() -> Options {
    Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_EXITKILL
}

/// Blocks until any tracee reports. `EINTR` means the tracer was woken to
/// look at its control queue; `ECHILD` means there is no tracee left.
pub(super) fn wait_any() -> Result<Stop, Errno> {
    loop {
        let status = waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD))?;
        if let Some(stop) = decode(status) {
            return Ok(stop);
        }
    }
}

/// Waits for one specific task (used once, for a freshly forked root).
pub(super) fn wait_for(pid: Pid) -> Result<Stop, Errno> {
    loop {
        let status = match waitpid(pid, Some(WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD)) {
            Err(Errno::EINTR) => continue,
            other => other?,
        };
        if let Some(stop) = decode(status) {
            return Ok(stop);
        }
    }
}

fn decode(status: WaitStatus) -> Option<Stop> {
    Some(match status {
        WaitStatus::Exited(pid, code) => Stop::Exited { pid, code },
        WaitStatus::Signaled(pid, signal, _) => Stop::Killed { pid, signal },
        WaitStatus::PtraceSyscall(pid) => syscall_exit(Stopped(pid)),
        WaitStatus::PtraceEvent(pid, _, event) => ptrace_event(Stopped(pid), event),
        WaitStatus::Stopped(pid, signal) => signal_stop(Stopped(pid), signal),
        WaitStatus::Continued(_) | WaitStatus::StillAlive => return None,
    })
}

/// A syscall-stop (we only resume with PTRACE_SYSCALL to see returns).
fn syscall_exit(tracee: Stopped) -> Stop {
    match ptrace::syscall_info(tracee.0) {
        Ok(info) if info.op == libc::PTRACE_SYSCALL_INFO_EXIT => {
            // SAFETY: op == EXIT says the `exit` member is the valid one.
            let ret = unsafe { info.u.exit.sval };
            Stop::SyscallExit { tracee, ret }
        }
        _ => Stop::Other { tracee },
    }
}

/// A `PTRACE_EVENT_*` stop.
fn ptrace_event(tracee: Stopped, event: i32) -> Stop {
    let pid = tracee.0;
    // A failed GETEVENTMSG (the task died meanwhile) must not become pid 0:
    // that would later mean "my own process group" to kill(2).
    let msg = || {
        ptrace::getevent(pid)
            .ok()
            .map(|m| m as i32)
            .filter(|m| *m > 0)
    };
    let new_task = |tracee, how| match msg() {
        Some(child) => Stop::NewTask {
            child: Pid::from_raw(child),
            tracee,
            how,
        },
        None => Stop::Other { tracee },
    };
    match event {
        e if e == PtraceEvent::PTRACE_EVENT_SECCOMP as i32 => seccomp_stop(tracee),
        e if e == PtraceEvent::PTRACE_EVENT_FORK as i32 => new_task(tracee, Spawned::Fork),
        e if e == PtraceEvent::PTRACE_EVENT_VFORK as i32 => new_task(tracee, Spawned::Vfork),
        e if e == PtraceEvent::PTRACE_EVENT_CLONE as i32 => new_task(tracee, Spawned::Clone),
        e if e == PtraceEvent::PTRACE_EVENT_EXEC as i32 => {
            let former_tid = Pid::from_raw(msg().unwrap_or(pid.as_raw()));
            Stop::Exec { former_tid, tracee }
        }
        e if e == PtraceEvent::PTRACE_EVENT_STOP as i32 => Stop::JobControl { tracee },
        _ => Stop::Other { tracee },
    }
}

/// A seccomp stop: the entry of a call our filter selected.
fn seccomp_stop(tracee: Stopped) -> Stop {
    match ptrace::syscall_info(tracee.0) {
        Ok(info) if info.op == libc::PTRACE_SYSCALL_INFO_SECCOMP => {
            // SAFETY: op == SECCOMP says the `seccomp` member is valid.
            let s = unsafe { info.u.seccomp };
            Stop::SyscallEntry {
                tracee,
                nr: s.nr,
                args: s.args,
                at: UserRegs {
                    ip: info.instruction_pointer,
                    sp: info.stack_pointer,
                },
            }
        }
        _ => Stop::Other { tracee },
    }
}

/// A signal-delivery stop, or a group-stop that looks like one.
fn signal_stop(tracee: Stopped, signal: Signal) -> Stop {
    // Without PTRACE_SEIZE a group-stop looks like a signal stop;
    // GETSIGINFO fails with EINVAL only for the group-stop.
    if matches!(
        signal,
        Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU
    ) && ptrace::getsiginfo(tracee.0) == Err(Errno::EINVAL)
    {
        Stop::JobControl { tracee }
    } else {
        Stop::Signal { tracee, signal }
    }
}

impl Stopped {
    /// The stopped task's tid.
    pub(super) fn pid(&self) -> Pid {
        self.0
    }

    /// Sets bop's ptrace options; done once on each root tracee (children
    /// inherit them).
    pub(super) fn set_options(&self) -> Result<(), Errno> {
        ptrace::setoptions(self.0, options())
    }

    /// Resumes the tracee, delivering `signal` if given. A tracee that died
    /// meanwhile (ESRCH) is not an error: its exit report follows.
    pub(super) fn resume(self, how: Resume, signal: Option<Signal>) -> Result<(), Errno> {
        let r = match how {
            Resume::Cont => ptrace::cont(self.0, signal),
            Resume::Syscall => ptrace::syscall(self.0, signal),
        };
        match r {
            Err(Errno::ESRCH) => Ok(()),
            other => other,
        }
    }
}

/// Reads `len` bytes of a tracee's memory (short if the range is partly
/// unmapped). Works on any task we trace; process_vm_readv is one syscall
/// instead of one PEEKDATA per word.
pub(super) fn read_memory(pid: Pid, addr: u64, len: usize) -> Vec<u8> {
    if addr == 0 || len == 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; len];
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    let n = process_vm_readv(pid, &mut [IoSliceMut::new(&mut buf)], &remote).unwrap_or(0);
    buf.truncate(n);
    buf
}

impl Stopped {
    /// At a seccomp stop: makes the kernel skip the call (syscall number -1),
    /// so the fault injector can fake its result at the exit stop.
    #[cfg(target_arch = "x86_64")]
    pub(super) fn skip_syscall(&self) -> Result<(), Errno> {
        let mut regs = ptrace::getregs(self.0)?;
        regs.orig_rax = u64::MAX;
        ptrace::setregs(self.0, regs)
    }

    /// At a signal-delivery stop: the call the thread made last.
    #[cfg(target_arch = "x86_64")]
    pub(super) fn last_call(&self) -> Result<LastCall, Errno> {
        let regs = ptrace::getregs(self.0)?;
        Ok(LastCall {
            ip: regs.rip,
            nr: regs.orig_rax,
            ret: regs.rax as i64,
        })
    }

    /// At a syscall-exit stop: replaces the return value the tracee sees.
    #[cfg(target_arch = "x86_64")]
    pub(super) fn set_return(&self, value: i64) -> Result<(), Errno> {
        let mut regs = ptrace::getregs(self.0)?;
        regs.rax = value as u64;
        ptrace::setregs(self.0, regs)
    }
}

/// Writes bytes into a tracee's memory (the fault injector fills in what a
/// skipped call would have written). Returns how many were written.
pub(super) fn write_memory(pid: Pid, addr: u64, bytes: &[u8]) -> usize {
    use nix::sys::uio::process_vm_writev;
    if addr == 0 || bytes.is_empty() {
        return 0;
    }
    let remote = [RemoteIoVec {
        base: addr as usize,
        len: bytes.len(),
    }];
    process_vm_writev(pid, &[std::io::IoSlice::new(bytes)], &remote).unwrap_or(0)
}
