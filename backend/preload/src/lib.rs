//! The fast path's in-process half (DESIGN.md "Fast path", docs/FASTPATH.md):
//! loaded into dynamically linked tracees with `LD_PRELOAD`, it replaces
//! the libc entry points of the hot data calls (read, write, readv, writev,
//! send, sendto, sendmsg, recv, recvfrom, recvmsg and glibc's fortified
//! `__*_chk` forms) and of the wait calls an event loop blocks in (poll,
//! ppoll, epoll_wait, epoll_pwait, epoll_pwait2; `wait.rs`), makes each
//! system call itself from a `syscall; ret`
//! stub at [`ring::STUB_ADDR`], which the tracer's seccomp filter lets
//! through without a stop, and appends the call's entry and return to
//! this thread's ring in memory shared with the tracer, with the peer
//! address a send names or a receive is given.
//!
//! Anything it does not handle takes libc's usual way and so the ptrace
//! path: sendmsg/recvmsg with control messages, an address or msghdr the
//! kernel would refuse, a call made while this thread is already inside the
//! library (a signal handler), a full ring, no free ring, a process of a
//! run with a fault plan that the tracer has not admitted (the plan could
//! act on it, or it is not named yet: `setup::Shared::may_use`), or a library that could not set itself up
//! (no `BOP_FASTPATH`, or the stub address is taken). Nothing is ever
//! missed: calls not made from the stub stop as before.
//!
//! The hot path allocates nothing, takes no lock and does no std I/O; it is
//! async-signal-safe (a handler that interrupts it finds `busy` set and
//! takes the slow way). errno is set as libc sets it, and a signal's
//! `EINTR` or restart is the kernel's, as for libc.
#![allow(unsafe_code)]

#[path = "ring.rs"]
mod ring;
mod setup;
pub mod wait;

use core::sync::atomic::Ordering;
use std::cell::Cell;

use libc::{c_int, c_void, iovec, size_t, sockaddr, socklen_t, ssize_t};

use ring::{DONE, ENTERED, Record, SlotHeader};

/// What this thread knows of its ring.
#[derive(Clone, Copy)]
struct State {
    /// Its slot's header (null: none claimed yet in this process).
    slot: *mut SlotHeader,
    /// Inside the library now: a nested call (a signal handler) goes slow.
    busy: bool,
    /// No slot was free: stop trying.
    no_slot: bool,
}

thread_local! {
    static STATE: Cell<State> = const {
        Cell::new(State { slot: core::ptr::null_mut(), busy: false, no_slot: false })
    };
}

/// Where a call's payload is, for capture once it returned.
#[derive(Clone, Copy)]
enum Payload {
    /// A wait call: no bytes.
    None,
    Flat(*const u8),
    Vector(*const iovec, usize),
}

/// The peer address a call names, copied into its record after the call
/// returned, from memory the kernel has by then read or written (so the
/// copy cannot fault where the kernel would have said EFAULT).
#[derive(Clone, Copy)]
enum Addr {
    None,
    /// sendto/sendmsg: `len` (at most [`ring::ADDR_SIZE`]) bytes at `at`.
    Dest(*const u8, usize),
    /// recvfrom/recvmsg: the kernel writes the source at `at` and its full
    /// length at `len_at`; it copies at most `room` bytes (the length the
    /// caller passed in), and so does the library.
    Source {
        at: *const u8,
        len_at: *const socklen_t,
        room: usize,
    },
}

/// CLOCK_MONOTONIC in ns (the vDSO: no system call).
fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The system call made from the stub, so that seccomp lets it through.
///
/// SAFETY: the caller passes arguments valid for `nr`; the stub is mapped
/// (the library is set up).
unsafe fn stub(nr: u32, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: the stub is `syscall; ret` at STUB_ADDR; the 128 bytes below
    // the stack pointer are skipped so the call's return address cannot
    // overwrite the caller's red zone. rcx and r11 are the syscall's.
    unsafe {
        core::arch::asm!(
            "sub rsp, 128",
            "call {stub}",
            "add rsp, 128",
            stub = in(reg) ring::STUB_ADDR,
            inlateout("rax") nr as i64 => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
        );
    }
    ret
}

/// The call the usual way (libc's syscall(2), which the tracer stops at).
///
/// SAFETY: arguments valid for `nr`.
unsafe fn slow(nr: u32, a: [u64; 6]) -> ssize_t {
    // SAFETY: as the caller promises.
    unsafe { libc::syscall(libc::c_long::from(nr), a[0], a[1], a[2], a[3], a[4], a[5]) as ssize_t }
}

/// libc's convention: -1 and errno on failure.
fn to_libc(ret: i64) -> ssize_t {
    if (-4095..0).contains(&ret) {
        // SAFETY: this thread's errno.
        unsafe { *libc::__errno_location() = -ret as c_int };
        -1
    } else {
        ret as ssize_t
    }
}

/// Makes call `nr` on the fast path if it can, else the slow way.
///
/// SAFETY: arguments valid for `nr`; `payload` and `addr` point where they
/// say.
unsafe fn call(nr: u32, a: [u64; 6], flags: u32, payload: Payload, addr: Addr) -> ssize_t {
    let Some(shared) = setup::shared() else {
        // SAFETY: as the caller promises.
        return unsafe { slow(nr, a) };
    };
    let mut st = STATE.with(Cell::get);
    if st.busy || st.no_slot || !shared.may_use() {
        // SAFETY: as the caller promises.
        return unsafe { slow(nr, a) };
    }
    st.busy = true;
    STATE.with(|s| s.set(st));
    if st.slot.is_null() {
        st.slot = shared.claim();
        st.no_slot = st.slot.is_null();
    }
    // SAFETY: a claimed slot stays this thread's until it ends.
    let reserved = (!st.slot.is_null())
        .then(|| unsafe { shared.reserve(st.slot) })
        .flatten();
    let ret = match reserved {
        // SAFETY: the record is ours until it is DONE; arguments as promised.
        Some(rec) => unsafe { record(shared, st.slot, rec, nr, a, (flags, payload, addr)) },
        // SAFETY: as the caller promises.
        None => unsafe { slow(nr, a) as i64 },
    };
    st.busy = false;
    STATE.with(|s| s.set(st));
    if reserved.is_some() {
        to_libc(ret)
    } else {
        ret as ssize_t
    }
}

/// Fills the record around the call itself; returns the raw result.
///
/// SAFETY: `rec` is a reserved record of `slot`; arguments as for [`call`].
unsafe fn record(
    shared: &setup::Shared,
    slot: *mut SlotHeader,
    rec: *mut Record,
    nr: u32,
    a: [u64; 6],
    (flags, payload, addr): (u32, Payload, Addr),
) -> i64 {
    // SAFETY: the record is reserved for this thread; the tracer reads it
    // only once `head` (published below) covers it, and its fields only
    // after `state` says DONE (acquire).
    unsafe {
        (*rec).nr = nr;
        (*rec).fd = a[0] as i32;
        (*rec).flags = flags;
        (*rec).ret = 0;
        (*rec).captured = 0;
        (*rec).addr_len = 0;
        (*rec).start_ns = now_ns();
        (*rec).end_ns = 0;
        (*rec).state.store(ENTERED, Ordering::Release);
        (*slot).head.fetch_add(1, Ordering::Release);
        let ret = stub(nr, a);
        (*rec).end_ns = now_ns();
        (*rec).ret = ret;
        if ret > 0 && shared.capture > 0 {
            (*rec).captured = capture(rec, shared.capture.min(ret as usize), payload) as u32;
        }
        (*rec).addr_len = peer(rec, ret, addr) as u32;
        (*rec).state.store(DONE, Ordering::Release);
        ret
    }
}

/// Copies up to `n` payload bytes into the record's capture area, as the
/// ptrace path captures them: from the buffer, or the first iovec.
///
/// SAFETY: `rec` has room for the run's capture; the payload pointers are
/// the caller's valid arguments (a call that returned > 0 read them).
unsafe fn capture(rec: *mut Record, n: usize, payload: Payload) -> usize {
    // SAFETY: as promised; iovec contents are the caller's.
    unsafe {
        let (src, len) = match payload {
            Payload::Flat(p) => (p, n),
            Payload::Vector(iov, cnt) if cnt > 0 && !iov.is_null() => {
                ((*iov).iov_base as *const u8, n.min((*iov).iov_len))
            }
            Payload::None | Payload::Vector(..) => return 0,
        };
        if src.is_null() {
            return 0;
        }
        let dst = (rec as *mut u8).add(ring::CAPTURE_AT);
        core::ptr::copy_nonoverlapping(src, dst, len);
        len
    }
}

/// Copies the peer address of a call that returned `ret` into the
/// record's address area, as the ptrace path records it: a send's
/// destination whatever the result (read at entry there), a receive's
/// source only on success. Returns the bytes copied.
///
/// A send that failed with EFAULT, EBADF or ENOTSOCK may have failed
/// before the kernel read the address, so it is not read here (the ptrace
/// path would record it if readable: the one difference, for a program
/// passing a bad pointer or a non-socket).
///
/// SAFETY: `rec` has its address area; the pointers are the caller's
/// arguments, valid as far as the kernel used them.
unsafe fn peer(rec: *mut Record, ret: i64, addr: Addr) -> usize {
    let unread = [libc::EFAULT, libc::EBADF, libc::ENOTSOCK].map(|e| -i64::from(e));
    let (src, len) = match addr {
        Addr::None => return 0,
        Addr::Dest(at, len) if ret >= 0 || !unread.contains(&ret) => (at, len),
        Addr::Dest(..) => return 0,
        // SAFETY: a receive that succeeded wrote the length back.
        Addr::Source { at, len_at, room } if ret >= 0 => {
            (at, (unsafe { *len_at } as usize).min(room))
        }
        Addr::Source { .. } => return 0,
    };
    if src.is_null() {
        return 0;
    }
    let len = len.min(ring::ADDR_SIZE);
    // SAFETY: the kernel read (send) or wrote (receive) these `len` bytes.
    unsafe {
        let dst = (rec as *mut u8).add(ring::RECORD_HEADER);
        core::ptr::copy_nonoverlapping(src, dst, len);
    }
    len
}

/// Resets this thread's state in a fork child: it is a new thread of a new
/// process and claims its own ring.
pub(crate) fn forget_ring() {
    STATE.with(|s| {
        s.set(State {
            slot: core::ptr::null_mut(),
            busy: false,
            no_slot: false,
        })
    });
}

/// read(2).
///
/// # Safety
/// As read(2): `buf` has room for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    let a = [fd as u64, buf as u64, n as u64, 0, 0, 0];
    // SAFETY: read's arguments, as the caller promises.
    unsafe { call(0, a, 0, Payload::Flat(buf as *const u8), Addr::None) }
}

/// write(2).
///
/// # Safety
/// As write(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    let a = [fd as u64, buf as u64, n as u64, 0, 0, 0];
    // SAFETY: write's arguments.
    unsafe { call(1, a, 0, Payload::Flat(buf as *const u8), Addr::None) }
}

/// readv(2).
///
/// # Safety
/// As readv(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, cnt: c_int) -> ssize_t {
    let a = [fd as u64, iov as u64, cnt as u64, 0, 0, 0];
    // SAFETY: readv's arguments.
    unsafe {
        call(
            19,
            a,
            0,
            Payload::Vector(iov, cnt.max(0) as usize),
            Addr::None,
        )
    }
}

/// writev(2).
///
/// # Safety
/// As writev(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, cnt: c_int) -> ssize_t {
    let a = [fd as u64, iov as u64, cnt as u64, 0, 0, 0];
    // SAFETY: writev's arguments.
    unsafe {
        call(
            20,
            a,
            0,
            Payload::Vector(iov, cnt.max(0) as usize),
            Addr::None,
        )
    }
}

/// sendto(2). An address longer than a `sockaddr_storage` takes the
/// ptrace path (the kernel refuses it, EINVAL, and the tracer records what
/// it can read).
///
/// # Safety
/// As sendto(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    n: size_t,
    flags: c_int,
    addr: *const sockaddr,
    alen: socklen_t,
) -> ssize_t {
    let a = [
        fd as u64,
        buf as u64,
        n as u64,
        flags as u64,
        addr as u64,
        alen as u64,
    ];
    let payload = Payload::Flat(buf as *const u8);
    // SAFETY: sendto's arguments.
    unsafe {
        if addr.is_null() {
            call(44, a, flags as u32, payload, Addr::None)
        } else if alen as usize <= ring::ADDR_SIZE {
            let dest = Addr::Dest(addr as *const u8, alen as usize);
            call(44, a, flags as u32, payload, dest)
        } else {
            slow(44, a)
        }
    }
}

/// send(2): sendto without an address.
///
/// # Safety
/// As send(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t {
    // SAFETY: send's arguments.
    unsafe { sendto(fd, buf, n, flags, core::ptr::null(), 0) }
}

/// recvfrom(2). Asking for the source address with an unreadable length
/// takes the ptrace path (the kernel fails the call, EFAULT, after it took
/// the data).
///
/// # Safety
/// As recvfrom(2): `*alen` is initialised when `addr` is not null.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    let a = [
        fd as u64,
        buf as u64,
        n as u64,
        flags as u64,
        addr as u64,
        alen as u64,
    ];
    let payload = Payload::Flat(buf as *const u8);
    // SAFETY: recvfrom's arguments; `*alen` is read without faulting.
    unsafe {
        if addr.is_null() {
            call(45, a, flags as u32, payload, Addr::None)
        } else if let Some(room) = setup::read_own(alen) {
            let source = Addr::Source {
                at: addr as *const u8,
                len_at: alen,
                room: room as usize,
            };
            call(45, a, flags as u32, payload, source)
        } else {
            slow(45, a)
        }
    }
}

/// recv(2): recvfrom without an address.
///
/// # Safety
/// As recv(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t {
    // SAFETY: recv's arguments.
    unsafe {
        recvfrom(
            fd,
            buf,
            n,
            flags,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        )
    }
}

/// sendmsg(2). Control messages (`SCM_RIGHTS` passes fds, which the
/// tracer follows) take the ptrace path, as does an unreadable `msg`
/// (EFAULT), which the library reads without faulting.
///
/// # Safety
/// As sendmsg(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> ssize_t {
    let a = [fd as u64, msg as u64, flags as u64, 0, 0, 0];
    // SAFETY: sendmsg's arguments; its msghdr is read without faulting.
    unsafe {
        // An unreadable msghdr is the kernel's EFAULT, a length it reads
        // as a negative int its EINVAL.
        let Some(m) = setup::read_own(msg) else {
            return slow(46, a);
        };
        if m.msg_controllen != 0 || m.msg_namelen > i32::MAX as u32 {
            return slow(46, a);
        }
        let payload = Payload::Vector(m.msg_iov, m.msg_iovlen);
        let dest = if m.msg_name.is_null() {
            Addr::None
        } else {
            // The kernel takes at most a sockaddr_storage of it.
            Addr::Dest(m.msg_name as *const u8, m.msg_namelen as usize)
        };
        call(46, a, flags as u32, payload, dest)
    }
}

/// recvmsg(2). Control messages (`SCM_RIGHTS` brings fds, which the tracer
/// follows) take the ptrace path, as does an unreadable `msg` (EFAULT),
/// which the library reads without faulting.
///
/// # Safety
/// As recvmsg(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> ssize_t {
    let a = [fd as u64, msg as u64, flags as u64, 0, 0, 0];
    // SAFETY: recvmsg's arguments; its msghdr is read without faulting.
    unsafe {
        // An unreadable msghdr is the kernel's EFAULT.
        let Some(m) = setup::read_own(msg).filter(|m| m.msg_controllen == 0) else {
            return slow(47, a);
        };
        let payload = Payload::Vector(m.msg_iov, m.msg_iovlen);
        let source = if m.msg_name.is_null() {
            Addr::None
        } else {
            Addr::Source {
                at: m.msg_name as *const u8,
                len_at: &raw const (*msg).msg_namelen,
                room: m.msg_namelen as usize,
            }
        };
        call(47, a, flags as u32, payload, source)
    }
}

/// glibc's fortified read: aborts on a buffer smaller than the count, as
/// glibc's `__chk_fail` does.
///
/// # Safety
/// As read(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __read_chk(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    buflen: size_t,
) -> ssize_t {
    if n > buflen {
        // SAFETY: abort never returns.
        unsafe { libc::abort() }
    }
    // SAFETY: read's arguments.
    unsafe { read(fd, buf, n) }
}

/// glibc's fortified recv.
///
/// # Safety
/// As recv(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __recv_chk(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    buflen: size_t,
    flags: c_int,
) -> ssize_t {
    if n > buflen {
        // SAFETY: abort never returns.
        unsafe { libc::abort() }
    }
    // SAFETY: recv's arguments.
    unsafe { recv(fd, buf, n, flags) }
}

/// glibc's fortified recvfrom.
///
/// # Safety
/// As recvfrom(2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    buflen: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    alen: *mut socklen_t,
) -> ssize_t {
    if n > buflen {
        // SAFETY: abort never returns.
        unsafe { libc::abort() }
    }
    // SAFETY: recvfrom's arguments.
    unsafe { recvfrom(fd, buf, n, flags, addr, alen) }
}
