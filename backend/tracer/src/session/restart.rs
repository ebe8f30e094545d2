//! Calls interrupted by a signal, recorded as the program saw them: one
//! event for a call the kernel restarted, an `EINTR` failure for one it did
//! not.
//!
//! A syscall a signal interrupts returns one of the kernel-internal codes
//! of `include/linux/errno.h` below, visible only to a tracer at the
//! syscall-exit stop; signal delivery then decides what becomes of it. The
//! tracer cannot decide that itself (it would have to know the handler's
//! `SA_RESTART` flag and whether a handler runs at all), so it stashes the
//! call and watches the thread's next entries, which show the outcome:
//!
//! * `rt_sigreturn`: a handler returns, and the frame it returns through
//!   says what the kernel decided when it set the handler up (x86's
//!   `handle_signal`): `-EINTR` in rax and rip just past the call's
//!   `syscall` instruction, the program sees `EINTR` (recorded now, so a
//!   retry with the same arguments is a call of its own); the call's number
//!   in rax and rip back on the instruction, it is restarted. A frame that
//!   resumes anywhere else returns into another handler (two signals
//!   delivered at once); keep waiting;
//! * the same call with the same arguments and no handler in between (the
//!   kernel rewound the instruction pointer), or `restart_syscall(2)`:
//!   restarted, and the stashed call continues as the same event;
//! * any other call after an `rt_sigreturn` whose frame could not be read:
//!   the program saw `EINTR`, recorded as the call's result;
//! * any other call before it: made inside the handler; keep waiting.

use super::super::TraceError;
use super::super::memory::{Memory, SavedRegs};
use super::super::ptrace::UserRegs;
use super::super::syscall;
use super::Session;
use super::entry::Pending;

/// Restarted if no handler runs or the handler has `SA_RESTART`, else
/// `EINTR` (most blocking calls: read, write, accept, connect, wait4).
const ERESTARTSYS: i64 = 512;
/// Always restarted, handler or not (fork and clone, which the kernel
/// retries when a signal arrived while they ran).
const ERESTARTNOINTR: i64 = 513;
/// Restarted only if no handler runs, else `EINTR` whatever `SA_RESTART`
/// says (poll, select, epoll_wait...).
const ERESTARTNOHAND: i64 = 514;
/// Like `ERESTARTNOHAND`, but restarted through `restart_syscall(2)`
/// (a different number, so [`syscall::is_restart`] is checked) so that a
/// timeout continues where it was (poll with a timeout, nanosleep).
const ERESTART_RESTARTBLOCK: i64 = 516;

/// All four are handled alike because the next entries tell them apart:
/// `ERESTARTNOINTR` simply never reaches the `EINTR` case. (515 between them
/// is `ENOIOCTLCMD`, which the ioctl layer turns into `ENOTTY` before any
/// syscall returns.)
pub(super) fn interrupted(ret: i64) -> bool {
    [
        ERESTARTSYS,
        ERESTARTNOINTR,
        ERESTARTNOHAND,
        ERESTART_RESTARTBLOCK,
    ]
    .contains(&-ret)
}

/// The length of x86_64's `syscall` instruction: how far the kernel
/// rewinds the instruction pointer to restart a call.
const SYSCALL_INSN_LEN: u64 = 2;

/// A call stashed at its interrupted return.
pub(super) struct Interrupted {
    /// The call.
    pub(super) call: Pending,
    /// A signal handler has returned (`rt_sigreturn`) since, through a
    /// frame that restarts the call or one that could not be read (then
    /// the next call says: the same one is a restart, another one means
    /// the program saw `EINTR`).
    pub(super) handler_returned: bool,
}

/// What an `rt_sigreturn`'s frame says about an interrupted call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resumes {
    /// The program gets `EINTR` from the call.
    WithEintr,
    /// The kernel rewound the call: it runs again.
    Restarted,
    /// The frame returns somewhere else (into another handler).
    Elsewhere,
}

/// What the frame of a handler returning through it says about the call
/// `nr` interrupted at `ip`: the kernel put either `-EINTR` or the call's
/// number in rax when it set the handler up, rewinding rip onto the
/// `syscall` instruction for a restart.
fn resumes(nr: u64, ip: u64, saved: SavedRegs) -> Resumes {
    let eintr = -i64::from(libc::EINTR) as u64;
    if saved.rip == ip && saved.rax == eintr {
        Resumes::WithEintr
    } else if saved.rip == ip.wrapping_sub(SYSCALL_INSN_LEN) && saved.rax == nr {
        Resumes::Restarted
    } else {
        Resumes::Elsewhere
    }
}

impl Session {
    /// The return of a call a signal interrupted: stash it until the
    /// thread's next entries show what became of it.
    pub(super) fn stash_interrupted(&mut self, tid: i32, call: Pending) {
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.restarting = Some(Interrupted {
                call,
                handler_returned: false,
            });
        }
    }

    /// At thread `tid`'s entry of call `nr` (at `at`): settles its
    /// interrupted call, if any. True when this entry is that call
    /// restarted, or the `rt_sigreturn` of a handler (nothing else to do
    /// at this entry).
    pub(super) fn settle_interrupted(
        &mut self,
        tid: i32,
        nr: u64,
        args: [u64; 6],
        at: UserRegs,
    ) -> Result<bool, TraceError> {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return Ok(false);
        };
        let Some(mut stashed) = task.restarting.take() else {
            return Ok(false);
        };
        if syscall::is_sigreturn(nr) {
            let saved = Memory::of(tid).sigreturn_regs(at.sp);
            let call = &stashed.call;
            match saved.map(|regs| resumes(call.nr, call.ip, regs)) {
                Some(Resumes::WithEintr) => {
                    let tgid = task.tgid;
                    self.emit_eintr(tgid, tid, stashed, self.now())?;
                    return Ok(true);
                }
                Some(Resumes::Elsewhere) => {}
                Some(Resumes::Restarted) | None => stashed.handler_returned = true,
            }
            task.restarting = Some(stashed);
            return Ok(true);
        }
        let call = &stashed.call;
        if (call.nr == nr && call.args == args) || syscall::is_restart(nr) {
            task.pending = Some(stashed.call);
            return Ok(true);
        }
        if !stashed.handler_returned {
            task.restarting = Some(stashed);
            return Ok(false);
        }
        // The handler returned and the program went on: it saw EINTR.
        let tgid = task.tgid;
        self.emit_eintr(tgid, tid, stashed, self.now())?;
        Ok(false)
    }

    /// The stashed call failed with EINTR, as the program saw it, at `at_ns`.
    fn emit_eintr(
        &mut self,
        tgid: i32,
        tid: i32,
        stashed: Interrupted,
        at_ns: u64,
    ) -> Result<(), TraceError> {
        if !stashed.call.record {
            return Ok(());
        }
        let eintr = Some(-i64::from(libc::EINTR));
        self.emit_finished(stashed.call, tgid, tid, eintr, Some(at_ns))
    }
}

impl Session {
    /// Before the fast path's calls of thread `tid` (the first entered at
    /// `at_ns`) are written: a stashed call whose handler has returned was
    /// not restarted (the program made other calls), so it saw EINTR.
    pub(super) fn settle_before(&mut self, tid: i32, at_ns: u64) -> Result<(), TraceError> {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return Ok(());
        };
        if !task.restarting.as_ref().is_some_and(|r| r.handler_returned) {
            return Ok(());
        }
        let (tgid, stashed) = (task.tgid, task.restarting.take());
        match stashed {
            Some(s) => self.emit_eintr(tgid, tid, s, at_ns),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_frame_says_whether_the_call_is_restarted() {
        // read (0) interrupted with its `syscall` instruction at 0x1000.
        let (nr, ip) = (0, 0x1002);
        let frame = |rax: i64, rip| SavedRegs {
            rax: rax as u64,
            rip,
        };
        let eintr = -i64::from(libc::EINTR);
        assert_eq!(resumes(nr, ip, frame(eintr, ip)), Resumes::WithEintr);
        assert_eq!(resumes(nr, ip, frame(0, 0x1000)), Resumes::Restarted);
        // Another handler's frame (a second signal delivered at once), or
        // one that resumes the call's result elsewhere.
        assert_eq!(resumes(nr, ip, frame(0, 0x5000)), Resumes::Elsewhere);
        assert_eq!(resumes(nr, ip, frame(eintr, 0x1000)), Resumes::Elsewhere);
        assert_eq!(resumes(nr, ip, frame(-512, ip)), Resumes::Elsewhere);
        assert_eq!(resumes(1, ip, frame(0, 0x1000)), Resumes::Elsewhere);
    }

    #[test]
    fn only_the_four_restart_codes_are_interruptions() {
        for code in [512, 513, 514, 516] {
            assert!(interrupted(-code), "{code}");
        }
        for ret in [-515, -511, -517, -4, 0, 512] {
            assert!(!interrupted(ret), "{ret}");
        }
    }
}
