//! The wait calls an event loop blocks in (poll, ppoll, epoll_wait,
//! epoll_pwait, epoll_pwait2), on the fast path: redis's `epoll_wait` was
//! nearly every ptrace stop left in a run once its data calls were in
//! process (docs/PERFORMANCE.md "Wait calls on the fast path").
//!
//! The ptrace path records a wait call as a blocking point: its name, its
//! entry and return times and its result, nothing else (docs/EVENTS.md),
//! so a record needs no payload and no address. Each function makes the
//! system call glibc's function of the same name makes on x86_64 (the
//! event's call name is the system call's), with glibc's arguments:
//! `__NSIG_BYTES` (8) as the sigset size, and ppoll's timeout copied first
//! because the kernel writes the time left into it and glibc's ppoll does
//! not let it. select and pselect stay on the ptrace path: glibc 2.36 makes
//! both with pselect6 and converts select's timeout around it, older ones
//! with select(2), so the call name would depend on the glibc.
//!
//! A signal interrupting one of these is the kernel's business, as for
//! libc: epoll_wait and its kin fail with EINTR, poll and ppoll are
//! restarted when no handler runs (poll through restart_syscall(2), which
//! the filter lets through from the stub too, since only an interrupted
//! stub call restarts there) and fail with EINTR when one does.

use libc::{c_int, epoll_event, nfds_t, pollfd, sigset_t, timespec};

use super::{Addr, Payload, call};

/// The size of a kernel sigset on x86_64, which glibc passes.
const NSIG_BYTES: u64 = 8;

/// A wait call through [`call`]: no payload, no address; libc's result.
///
/// SAFETY: arguments valid for `nr`.
unsafe fn wait(nr: i64, a: [u64; 6]) -> c_int {
    // SAFETY: as the caller promises.
    unsafe { call(nr as u32, a, 0, Payload::None, Addr::None) as c_int }
}

/// poll(2).
///
/// # Safety
/// As poll(2): `fds` holds `n` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn poll(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int {
    let a = [fds as u64, n, timeout as u64, 0, 0, 0];
    // SAFETY: poll's arguments.
    unsafe { wait(libc::SYS_poll, a) }
}

/// ppoll(2). The timeout is copied, as glibc does, so the caller's is not
/// changed.
///
/// # Safety
/// As ppoll(2): `timeout`, if not null, is readable (glibc reads it too).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ppoll(
    fds: *mut pollfd,
    n: nfds_t,
    timeout: *const timespec,
    sigmask: *const sigset_t,
) -> c_int {
    // SAFETY: the caller's timeout, read as glibc's ppoll reads it.
    let mut local = (!timeout.is_null()).then(|| unsafe { *timeout });
    let at = local
        .as_mut()
        .map_or(core::ptr::null_mut(), |t| t as *mut timespec);
    let a = [fds as u64, n, at as u64, sigmask as u64, NSIG_BYTES, 0];
    // SAFETY: ppoll's arguments; `local` outlives the call.
    unsafe { wait(libc::SYS_ppoll, a) }
}

/// epoll_wait(2).
///
/// # Safety
/// As epoll_wait(2): `events` has room for `max` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn epoll_wait(
    epfd: c_int,
    events: *mut epoll_event,
    max: c_int,
    timeout: c_int,
) -> c_int {
    let a = [epfd as u64, events as u64, max as u64, timeout as u64, 0, 0];
    // SAFETY: epoll_wait's arguments.
    unsafe { wait(libc::SYS_epoll_wait, a) }
}

/// epoll_pwait(2).
///
/// # Safety
/// As epoll_pwait(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn epoll_pwait(
    epfd: c_int,
    events: *mut epoll_event,
    max: c_int,
    timeout: c_int,
    sigmask: *const sigset_t,
) -> c_int {
    let a = [
        epfd as u64,
        events as u64,
        max as u64,
        timeout as u64,
        sigmask as u64,
        NSIG_BYTES,
    ];
    // SAFETY: epoll_pwait's arguments.
    unsafe { wait(libc::SYS_epoll_pwait, a) }
}

/// epoll_pwait2(2): epoll_pwait with a `timespec` timeout.
///
/// # Safety
/// As epoll_pwait2(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn epoll_pwait2(
    epfd: c_int,
    events: *mut epoll_event,
    max: c_int,
    timeout: *const timespec,
    sigmask: *const sigset_t,
) -> c_int {
    let a = [
        epfd as u64,
        events as u64,
        max as u64,
        timeout as u64,
        sigmask as u64,
        NSIG_BYTES,
    ];
    // SAFETY: epoll_pwait2's arguments.
    unsafe { wait(libc::SYS_epoll_pwait2, a) }
}

/// glibc's fortified poll: aborts when `fds` is shorter than `n`, as
/// glibc's `__chk_fail` does.
///
/// # Safety
/// As poll(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __poll_chk(
    fds: *mut pollfd,
    n: nfds_t,
    timeout: c_int,
    fdslen: usize,
) -> c_int {
    if (fdslen / core::mem::size_of::<pollfd>()) < n as usize {
        // SAFETY: abort never returns.
        unsafe { libc::abort() }
    }
    // SAFETY: poll's arguments.
    unsafe { poll(fds, n, timeout) }
}

/// glibc's fortified ppoll.
///
/// # Safety
/// As ppoll(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __ppoll_chk(
    fds: *mut pollfd,
    n: nfds_t,
    timeout: *const timespec,
    sigmask: *const sigset_t,
    fdslen: usize,
) -> c_int {
    if (fdslen / core::mem::size_of::<pollfd>()) < n as usize {
        // SAFETY: abort never returns.
        unsafe { libc::abort() }
    }
    // SAFETY: ppoll's arguments.
    unsafe { ppoll(fds, n, timeout, sigmask) }
}
