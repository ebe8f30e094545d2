//! Which system calls the tracer stops at, and how each is recorded.
//! Syscall numbers are per architecture; only x86_64 is wired so far, and
//! the rest of the tracer only sees [`Call`] and [`Kind`].

/// What the tracer does with a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Creates fds: socket, socketpair, pipe, pipe2.
    Create,
    /// bind/connect/listen/accept/accept4.
    Setup,
    /// Moves bytes out (write family / send family).
    Send,
    /// Moves bytes in (read family / recv family).
    Recv,
    /// close / shutdown.
    Teardown,
    /// dup, dup2, dup3, fcntl.
    Dup,
    /// fork, vfork, clone, clone3.
    Spawn,
    /// execve, execveat.
    Exec,
    /// exit, exit_group (never return).
    Exit,
    /// wait4, waitid.
    Wait,
    /// poll & co: recorded only as where a thread blocks.
    Block,
    /// close_range: not recorded, but invalidates cached fds.
    CloseRange,
    /// rt_sigreturn: not recorded; ends a signal handler (see ERESTART*).
    SigReturn,
}

/// A traced call: its name and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Call {
    /// Syscall name as strace spells it.
    pub name: &'static str,
    /// How it is handled.
    pub kind: Kind,
}

#[cfg(target_arch = "x86_64")]
const TABLE: &[(i64, &str, Kind)] = &[
    (libc::SYS_socket, "socket", Kind::Create),
    (libc::SYS_socketpair, "socketpair", Kind::Create),
    (libc::SYS_pipe, "pipe", Kind::Create),
    (libc::SYS_pipe2, "pipe2", Kind::Create),
    (libc::SYS_bind, "bind", Kind::Setup),
    (libc::SYS_connect, "connect", Kind::Setup),
    (libc::SYS_listen, "listen", Kind::Setup),
    (libc::SYS_accept, "accept", Kind::Setup),
    (libc::SYS_accept4, "accept4", Kind::Setup),
    (libc::SYS_write, "write", Kind::Send),
    (libc::SYS_writev, "writev", Kind::Send),
    (libc::SYS_pwrite64, "pwrite64", Kind::Send),
    (libc::SYS_sendto, "sendto", Kind::Send),
    (libc::SYS_sendmsg, "sendmsg", Kind::Send),
    (libc::SYS_sendmmsg, "sendmmsg", Kind::Send),
    (libc::SYS_read, "read", Kind::Recv),
    (libc::SYS_readv, "readv", Kind::Recv),
    (libc::SYS_pread64, "pread64", Kind::Recv),
    (libc::SYS_recvfrom, "recvfrom", Kind::Recv),
    (libc::SYS_recvmsg, "recvmsg", Kind::Recv),
    (libc::SYS_recvmmsg, "recvmmsg", Kind::Recv),
    (libc::SYS_shutdown, "shutdown", Kind::Teardown),
    (libc::SYS_close, "close", Kind::Teardown),
    (libc::SYS_dup, "dup", Kind::Dup),
    (libc::SYS_dup2, "dup2", Kind::Dup),
    (libc::SYS_dup3, "dup3", Kind::Dup),
    (libc::SYS_fcntl, "fcntl", Kind::Dup),
    (libc::SYS_fork, "fork", Kind::Spawn),
    (libc::SYS_vfork, "vfork", Kind::Spawn),
    (libc::SYS_clone, "clone", Kind::Spawn),
    (libc::SYS_clone3, "clone3", Kind::Spawn),
    (libc::SYS_execve, "execve", Kind::Exec),
    (libc::SYS_execveat, "execveat", Kind::Exec),
    (libc::SYS_exit, "exit", Kind::Exit),
    (libc::SYS_exit_group, "exit_group", Kind::Exit),
    (libc::SYS_wait4, "wait4", Kind::Wait),
    (libc::SYS_waitid, "waitid", Kind::Wait),
    (libc::SYS_poll, "poll", Kind::Block),
    (libc::SYS_ppoll, "ppoll", Kind::Block),
    (libc::SYS_select, "select", Kind::Block),
    (libc::SYS_pselect6, "pselect6", Kind::Block),
    (libc::SYS_epoll_wait, "epoll_wait", Kind::Block),
    (libc::SYS_epoll_pwait, "epoll_pwait", Kind::Block),
    (libc::SYS_epoll_pwait2, "epoll_pwait2", Kind::Block),
    (libc::SYS_close_range, "close_range", Kind::CloseRange),
    (libc::SYS_restart_syscall, "restart_syscall", Kind::Block),
    (libc::SYS_rt_sigreturn, "rt_sigreturn", Kind::SigReturn),
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
    TABLE.iter().map(|(nr, _, _)| *nr)
}

/// True when `name` is a call the tracer records (what error faults and
/// patterns can name).
pub fn is_recorded_call(name: &str) -> bool {
    TABLE.iter().any(|(_, n, k)| {
        *n == name && !matches!(k, Kind::CloseRange | Kind::SigReturn | Kind::Exit)
    })
}

/// Looks a syscall number up.
pub(super) fn lookup(nr: u64) -> Option<Call> {
    TABLE
        .iter()
        .find(|(n, _, _)| *n as u64 == nr)
        .map(|(_, name, kind)| Call { name, kind: *kind })
}

/// Name of an errno value (`ECONNREFUSED`), for the event log.
pub fn errno_name(errno: i32) -> String {
    let e = nix::errno::Errno::from_raw(errno);
    if e == nix::errno::Errno::UnknownErrno {
        format!("E{errno}")
    } else {
        format!("{e:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_names_and_skips_untraced() {
        assert_eq!(lookup(libc::SYS_connect as u64).unwrap().name, "connect");
        assert!(lookup(libc::SYS_openat as u64).is_none());
        assert_eq!(errno_name(libc::ECONNREFUSED), "ECONNREFUSED");
    }
}
