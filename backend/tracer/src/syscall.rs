//! Which system calls the tracer stops at: syscall numbers to the names of
//! [`bop_model::CALLS`], the one table of what each call is for. Numbers
//! are per architecture; only x86_64 is wired so far. Past this table and
//! `decode`, the tracer sees [`Call`] and decoded arguments, never numbers.

pub(super) use bop_model::CallKind as Kind;

/// A traced call: its name and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Call {
    /// Syscall name as strace spells it.
    pub name: &'static str,
    /// How it is handled.
    pub kind: Kind,
}

/// Syscall numbers of the calls in [`bop_model::CALLS`] on this
/// architecture (the model says what each is for).
#[cfg(target_arch = "x86_64")]
const TABLE: &[(i64, &str)] = &[
    (libc::SYS_socket, "socket"),
    (libc::SYS_socketpair, "socketpair"),
    (libc::SYS_pipe, "pipe"),
    (libc::SYS_pipe2, "pipe2"),
    (libc::SYS_eventfd, "eventfd"),
    (libc::SYS_eventfd2, "eventfd2"),
    (libc::SYS_bind, "bind"),
    (libc::SYS_connect, "connect"),
    (libc::SYS_listen, "listen"),
    (libc::SYS_accept, "accept"),
    (libc::SYS_accept4, "accept4"),
    (libc::SYS_write, "write"),
    (libc::SYS_writev, "writev"),
    (libc::SYS_pwrite64, "pwrite64"),
    (libc::SYS_sendto, "sendto"),
    (libc::SYS_sendmsg, "sendmsg"),
    (libc::SYS_sendmmsg, "sendmmsg"),
    (libc::SYS_read, "read"),
    (libc::SYS_readv, "readv"),
    (libc::SYS_pread64, "pread64"),
    (libc::SYS_recvfrom, "recvfrom"),
    (libc::SYS_recvmsg, "recvmsg"),
    (libc::SYS_recvmmsg, "recvmmsg"),
    (libc::SYS_sendfile, "sendfile"),
    (libc::SYS_splice, "splice"),
    (libc::SYS_tee, "tee"),
    (libc::SYS_copy_file_range, "copy_file_range"),
    (libc::SYS_io_uring_setup, "io_uring_setup"),
    (libc::SYS_io_uring_enter, "io_uring_enter"),
    (libc::SYS_shutdown, "shutdown"),
    (libc::SYS_close, "close"),
    (libc::SYS_dup, "dup"),
    (libc::SYS_dup2, "dup2"),
    (libc::SYS_dup3, "dup3"),
    (libc::SYS_fcntl, "fcntl"),
    (libc::SYS_fork, "fork"),
    (libc::SYS_vfork, "vfork"),
    (libc::SYS_clone, "clone"),
    (libc::SYS_clone3, "clone3"),
    (libc::SYS_execve, "execve"),
    (libc::SYS_execveat, "execveat"),
    (libc::SYS_exit, "exit"),
    (libc::SYS_exit_group, "exit_group"),
    (libc::SYS_wait4, "wait4"),
    (libc::SYS_waitid, "waitid"),
    (libc::SYS_poll, "poll"),
    (libc::SYS_ppoll, "ppoll"),
    (libc::SYS_select, "select"),
    (libc::SYS_pselect6, "pselect6"),
    (libc::SYS_epoll_wait, "epoll_wait"),
    (libc::SYS_epoll_pwait, "epoll_pwait"),
    (libc::SYS_epoll_pwait2, "epoll_pwait2"),
    (libc::SYS_close_range, "close_range"),
    (libc::SYS_restart_syscall, "restart_syscall"),
    (libc::SYS_rt_sigreturn, "rt_sigreturn"),
];

/// True for `rt_sigreturn`: a signal handler returns (an interrupted call
/// may be restarted right after).
pub(super) fn is_sigreturn(nr: u64) -> bool {
    nr == libc::SYS_rt_sigreturn as u64
}

/// True for `restart_syscall`, which continues an interrupted poll & co.
pub(super) fn is_restart(nr: u64) -> bool {
    nr == libc::SYS_restart_syscall as u64
}

#[cfg(not(target_arch = "x86_64"))]
compile_error!("bop's syscall table is only written for x86_64 so far");

/// Every syscall number the seccomp filter must stop at.
pub(super) fn traced_numbers() -> impl Iterator<Item = i64> {
    TABLE.iter().map(|(nr, _)| *nr)
}

/// Looks a syscall number up.
pub(super) fn lookup(nr: u64) -> Option<Call> {
    let (_, name) = TABLE.iter().find(|(n, _)| *n as u64 == nr)?;
    Some(Call {
        name,
        kind: Kind::of(name)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_names_and_skips_untraced() {
        assert_eq!(lookup(libc::SYS_connect as u64).unwrap().name, "connect");
        assert!(lookup(libc::SYS_openat as u64).is_none());
        // Every name in the model's table has a number here, and back.
        for (name, _) in bop_model::CALLS {
            if matches!(*name, "send" | "recv") {
                continue; // not system calls on x86_64
            }
            let (nr, _) = TABLE.iter().find(|(_, n)| n == name).unwrap();
            assert_eq!(lookup(*nr as u64).unwrap().name, *name);
        }
    }
}
