//! The `wait` role of the fastpath guest: the wait calls an event loop
//! blocks in (poll, ppoll, epoll_wait, epoll_pwait, epoll_pwait2), with a
//! timeout of 0 before and after data is there, and blocked in while a
//! signal arrives N times: one with a handler that writes into a pipe
//! (the call fails with EINTR and the handler's write comes after it in
//! the thread's program order), or one with no handler, ignored (poll and
//! ppoll are restarted by the kernel, poll through restart_syscall; the
//! epoll waits fail with EINTR). A helper thread
//! sends each signal only once the main thread sleeps in the call, and
//! the next only once the last was handled, so the graph is the same in
//! every run.
//!
//! Usage: fastpath wait CALL HOW N, CALL one of `poll`, `poll-timeout`,
//! `ppoll`, `epoll`, `epoll-pwait`, `epoll-pwait2`; HOW `handler` or
//! `ignored`.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{HANDLER_PIPE, gettid, handle, on_signal};

/// One of the wait calls, made through libc (so the library has it).
#[derive(Clone, Copy, PartialEq)]
enum Call {
    Poll,
    /// poll with a timeout (the kernel keeps what is left of it when it
    /// continues the call through restart_syscall).
    PollTimeout,
    Ppoll,
    Epoll,
    EpollPwait,
    EpollPwait2,
}

impl Call {
    fn of(name: &str) -> Call {
        match name {
            "poll" => Call::Poll,
            "poll-timeout" => Call::PollTimeout,
            "ppoll" => Call::Ppoll,
            "epoll" => Call::Epoll,
            "epoll-pwait" => Call::EpollPwait,
            "epoll-pwait2" => Call::EpollPwait2,
            other => panic!("fastpath wait: unknown call {other:?}"),
        }
    }

    /// The system calls a thread blocked in this one shows in /proc.
    fn numbers(self) -> &'static [i64] {
        match self {
            // poll continues through restart_syscall, timeout or not.
            Call::Poll | Call::PollTimeout => &[libc::SYS_poll, libc::SYS_restart_syscall],
            Call::Ppoll => &[libc::SYS_ppoll],
            Call::Epoll => &[libc::SYS_epoll_wait],
            Call::EpollPwait => &[libc::SYS_epoll_pwait],
            Call::EpollPwait2 => &[libc::SYS_epoll_pwait2],
        }
    }

    fn is_epoll(self) -> bool {
        matches!(self, Call::Epoll | Call::EpollPwait | Call::EpollPwait2)
    }
}

/// What a wait is made on: the fd, and an epoll instance watching it.
struct Waiter {
    call: Call,
    fd: RawFd,
    epfd: RawFd,
}

/// A new epoll instance (close-on-exec).
pub(crate) fn epoll_new() -> RawFd {
    // SAFETY: epoll_create1 returns a new fd or -1.
    #[allow(unsafe_code)]
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0);
    ep
}

/// Adds `fd` to epoll instance `ep`, for input, with the fd as its data.
pub(crate) fn epoll_watch(ep: RawFd, fd: RawFd) {
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: fd as u64,
    };
    // SAFETY: a valid epoll fd and event.
    #[allow(unsafe_code)]
    let r = unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) };
    assert_eq!(r, 0);
}

impl Waiter {
    fn new(call: Call, fd: RawFd) -> Waiter {
        let epfd = epoll_new();
        epoll_watch(epfd, fd);
        Waiter { call, fd, epfd }
    }

    /// One wait for input on the fd: `Some(0)` timed out, `Some(1)` ready,
    /// `None` EINTR. `block`: no timeout (20 s for `poll-timeout`), else 0.
    fn wait(&self, block: bool) -> Option<i32> {
        let ms = match (block, self.call) {
            (false, _) => 0,
            (true, Call::PollTimeout) => 20_000,
            (true, _) => -1,
        };
        let ts = libc::timespec {
            tv_sec: if ms > 0 { 20 } else { 0 },
            tv_nsec: 0,
        };
        let ts_at: *const libc::timespec = if ms < 0 { std::ptr::null() } else { &ts };
        let mut p = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let mut ready = [libc::epoll_event { events: 0, u64: 0 }; 2];
        // SAFETY: an empty sigset, initialised by sigemptyset.
        #[allow(unsafe_code)]
        let none = unsafe {
            let mut s = std::mem::zeroed::<libc::sigset_t>();
            libc::sigemptyset(&mut s);
            s
        };
        // SAFETY: valid pollfd, epoll events array of 2, timespec and
        // sigset, all outliving the call.
        #[allow(unsafe_code)]
        let n = unsafe {
            match self.call {
                Call::Poll | Call::PollTimeout => libc::poll(&mut p, 1, ms),
                Call::Ppoll => libc::ppoll(&mut p, 1, ts_at, &none),
                Call::Epoll => libc::epoll_wait(self.epfd, ready.as_mut_ptr(), 2, ms),
                Call::EpollPwait => libc::epoll_pwait(self.epfd, ready.as_mut_ptr(), 2, ms, &none),
                Call::EpollPwait2 => {
                    libc::epoll_pwait2(self.epfd, ready.as_mut_ptr(), 2, ts_at, &none)
                }
            }
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(e.kind(), ErrorKind::Interrupted, "wait: {e}");
            return None;
        }
        Some(n)
    }
}

/// Waits until thread `tid` of process `pid` sleeps in one of `calls`.
fn wait_blocked_in(pid: i32, tid: i32, calls: &[i64]) {
    let dir = format!("/proc/{pid}/task/{tid}");
    let started = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("{dir}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        let call = std::fs::read_to_string(format!("{dir}/syscall")).unwrap_or_default();
        let first = call.split_whitespace().next().unwrap_or("");
        if state.starts_with('S') && calls.iter().any(|c| c.to_string() == first) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "thread {tid} never blocked in {calls:?}: state {state:?}, syscall {call:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub(super) fn waits(call: &str, how: &str, n: u64) {
    let call = Call::of(call);
    let handled = match how {
        "handler" => true,
        "ignored" => false,
        other => panic!("fastpath wait: HOW is handler or ignored, not {other:?}"),
    };
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let waiter = Waiter::new(call, a.as_raw_fd());
    // A timeout of 0: nothing there, then a byte this thread sent itself.
    assert_eq!(waiter.wait(false), Some(0), "nothing to read yet");
    b.write_all(b"z").unwrap();
    assert_eq!(waiter.wait(false), Some(1), "the byte is there");
    a.read_exact(&mut [0u8; 1]).unwrap();
    assert_eq!(waiter.wait(false), Some(0), "read again: nothing");

    let (pr, pw) = nix::unistd::pipe().unwrap();
    HANDLER_PIPE.store(pw.into_raw_fd(), Ordering::SeqCst);
    let signal = if handled {
        handle(Signal::SIGALRM, on_signal, false);
        libc::SIGALRM
    } else {
        // Ignored by default: it only wakes the thread because it is traced.
        libc::SIGWINCH
    };
    let (pid, main) = (std::process::id() as i32, gettid());
    let numbers = call.numbers();
    let helper = std::thread::spawn(move || {
        let mut pr = File::from(pr);
        for _ in 0..n {
            wait_blocked_in(pid, main, numbers);
            // SAFETY: tgkill to a thread of this process.
            #[allow(unsafe_code)]
            unsafe {
                libc::syscall(libc::SYS_tgkill, pid, main, signal)
            };
            if handled {
                pr.read_exact(&mut [0u8; 1]).unwrap();
            }
        }
        wait_blocked_in(pid, main, numbers);
        b.write_all(b"done").unwrap();
        b
    });
    let mut interrupted = 0;
    while waiter.wait(true).is_none() {
        interrupted += 1;
    }
    let mut done = [0u8; 4];
    a.read_exact(&mut done).unwrap();
    assert_eq!(&done, b"done");
    let b = helper.join().unwrap();
    // Handled: every call fails with EINTR. Ignored: the epoll waits fail
    // with EINTR, poll and ppoll are restarted.
    let expected = if handled || call.is_epoll() { n } else { 0 };
    assert_eq!(interrupted, expected, "EINTRs seen");
    drop((a, b));
}
