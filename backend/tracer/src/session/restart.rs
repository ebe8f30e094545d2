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
//! * the same call with the same arguments (the kernel rewound the
//!   instruction pointer), or `restart_syscall(2)`: restarted, and the
//!   stashed call continues as the same event;
//! * `rt_sigreturn`: a handler ran and returns; the call may still be
//!   restarted right after it;
//! * any other call after that `rt_sigreturn`: the program saw `EINTR`,
//!   recorded as the call's result;
//! * any other call before it: made inside the handler; keep waiting.

use super::super::TraceError;
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

/// A call stashed at its interrupted return.
pub(super) struct Interrupted {
    /// The call.
    pub(super) call: Pending,
    /// A signal handler has returned (`rt_sigreturn`) since.
    pub(super) handler_returned: bool,
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

    /// At thread `tid`'s entry of call `nr`: settles its interrupted call,
    /// if any. True when this entry is that call restarted, or the
    /// `rt_sigreturn` of its handler (nothing else to do at this entry).
    pub(super) fn settle_interrupted(
        &mut self,
        tid: i32,
        nr: u64,
        args: [u64; 6],
    ) -> Result<bool, TraceError> {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return Ok(false);
        };
        let Some(mut stashed) = task.restarting.take() else {
            return Ok(false);
        };
        let call = &stashed.call;
        if (call.nr == nr && call.args == args) || syscall::is_restart(nr) {
            task.pending = Some(stashed.call);
            return Ok(true);
        }
        if syscall::is_sigreturn(nr) {
            stashed.handler_returned = true;
            task.restarting = Some(stashed);
            return Ok(true);
        }
        if !stashed.handler_returned {
            task.restarting = Some(stashed);
            return Ok(false);
        }
        // The handler returned and the program went on: it saw EINTR.
        if stashed.call.record {
            let tgid = task.tgid;
            let now = self.now();
            let eintr = Some(-i64::from(libc::EINTR));
            self.emit_finished(stashed.call, tgid, tid, eintr, Some(now))?;
        }
        Ok(false)
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
            Some(s) if s.call.record => {
                let eintr = Some(-i64::from(libc::EINTR));
                self.emit_finished(s.call, tgid, tid, eintr, Some(at_ns))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
