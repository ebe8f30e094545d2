//! Guests for the fast path's proof of equivalence (issue 15): each role
//! is one hazard of recording calls inside the traced process (threads,
//! exec, signals arriving inside the library's call, a process killed in
//! one, partial and short transfers, non-blocking sockets, a fault on a
//! channel), written so that its causal graph is the same in every run:
//! no role depends on how the scheduler interleaves its processes, so a
//! run traced under ptrace and one traced on the fast path must give the
//! same graph, and any difference is the tracer's. The last roles are the
//! benchmarks' workloads.
//!
//! Usage: fastpath ROLE [ARGS...]
#![allow(missing_docs)]

#[path = "fastpath_addr.rs"]
mod addr;
#[path = "fastpath_wait.rs"]
mod wait;

use std::fs::File;
use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::{Command, exit};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn me() -> std::path::PathBuf {
    std::env::current_exe().expect("current_exe")
}

fn main() {
    let role = std::env::args().nth(1).unwrap_or_default();
    let mode = std::env::args().nth(2).unwrap_or_default();
    match role.as_str() {
        // threads N K: N pairs of threads, each pair K round trips over
        // its own socketpair (8+i bytes one way, 4 back).
        "threads" => threads(arg(2, 3) as usize, arg(3, 5)),
        // fork-exec K: a forked child execs `exec-peer`, which echoes K
        // 16-byte messages on the socketpair it inherited.
        "fork-exec" => fork_exec(arg(2, 5)),
        "exec-peer" => exec_peer(arg(2, 0) as RawFd, arg(3, 5)),
        // signal MODE N: N SIGALRMs sent to the main thread while it is
        // blocked in a read, each handler writing a byte into a pipe;
        // MODE restart (SA_RESTART), eintr (the read fails each time and
        // is retried with a larger buffer) or eintr-same (retried with the
        // same arguments, as most programs do).
        "signal" => signal_inside(&mode, arg(3, 3)),
        // timer N: an interval timer's SIGALRM handler writes a byte into
        // a pipe N times (then disarms it) while the main thread reads.
        "timer" => timer(arg(2, 5) as u32),
        // killed K: a child writes K messages, then is killed by SIGKILL
        // while blocked in a read.
        "killed" => killed(arg(2, 3)),
        // partial-io: a reader reading 1 to 7 bytes at a time (read, recv,
        // readv, recvmsg) what a writer wrote in messages of other sizes
        // (write, writev, send, sendmsg), on a socketpair and on a pipe.
        "partial-io" => partial_io(),
        // short-writes R: R rounds of writing into a full non-blocking
        // socket (short writes, then EAGAIN) and draining it.
        "short-writes" => short_writes(arg(2, 3)),
        // epoll K: a non-blocking TCP server on epoll; its client polls
        // before each of K replies and first gets EAGAIN.
        "epoll" => epoll_server(arg(2, 4)),
        "epoll-client" => epoll_client(arg(2, 0) as u16, arg(3, 4)),
        // fault-target K: K 8-byte messages each acknowledged on a second
        // socketpair; a receiver that waits 1 s in vain says so and stops
        // (a dropped message ends the run instead of hanging it).
        "fault-target" => fault_target(arg(2, 5)),
        // fault-trio K N: a forked child runs `fault-target K` with its
        // own child (the faulted pair), while the root makes N 4-byte
        // round trips with a second child: a fault on the pair's data
        // channel can act on neither the root nor the second child.
        "fault-trio" => fault_trio(arg(2, 5), arg(3, 20)),
        // udp-addr K, msg-udp K, msg-stream K: calls that carry a peer
        // address or a msghdr (tests/guests/fastpath_addr.rs).
        "udp-addr" => addr::udp_addr(arg(2, 5)),
        "msg-udp" => addr::msg_udp(arg(2, 5)),
        "msg-stream" => addr::msg_stream(arg(2, 5)),
        // wait CALL HOW N: a wait call (poll, ppoll, the epoll waits) with
        // a timeout of 0, then interrupted N times by a signal
        // (tests/guests/fastpath_wait.rs).
        "wait" => wait::waits(
            &mode,
            &std::env::args().nth(3).unwrap_or_default(),
            arg(4, 3),
        ),
        // Benchmarks. socketpair N: N 1-byte round trips between two
        // processes over a socketpair. udp-flood N: N 16-byte datagrams,
        // acknowledged every 100.
        "socketpair" => socketpair_pingpong(arg(2, 20_000)),
        "udp-flood" => udp_flood(arg(2, 100_000)),
        other => {
            eprintln!("fastpath: unknown role {other:?}");
            exit(2);
        }
    }
}

fn threads(n: usize, k: u64) {
    // Each thread hands its socket back, so that no fd is closed (and
    // reused by the next socketpair) before every pair has finished.
    let mut handles = vec![];
    for i in 0..n {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let size = 8 + i;
        handles.push(std::thread::spawn(move || {
            let mut ack = [0u8; 4];
            for _ in 0..k {
                a.write_all(&vec![b'a'; size]).unwrap();
                a.read_exact(&mut ack).unwrap();
            }
            a
        }));
        handles.push(std::thread::spawn(move || {
            let mut buf = vec![0u8; size];
            for _ in 0..k {
                b.read_exact(&mut buf).unwrap();
                b.write_all(b"ack!").unwrap();
            }
            b
        }));
    }
    let sockets: Vec<UnixStream> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    drop(sockets);
}

fn fork_exec(k: u64) {
    let (mut a, b) = UnixStream::pair().unwrap();
    let fd = b.into_raw_fd();
    // SAFETY: clears FD_CLOEXEC on an fd this process owns, so the exec'd
    // child inherits it.
    #[allow(unsafe_code)]
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, 0)
    };
    match fork() {
        0 => {
            use std::os::unix::process::CommandExt;
            drop(a);
            let err = Command::new(me())
                .args(["exec-peer", &fd.to_string(), &k.to_string()])
                .exec();
            panic!("exec: {err}");
        }
        child => {
            // SAFETY: the parent's copy of the child's end, owned here.
            #[allow(unsafe_code)]
            drop(unsafe { UnixStream::from_raw_fd(fd) });
            let mut back = [0u8; 16];
            for _ in 0..k {
                a.write_all(&[b'f'; 16]).unwrap();
                a.read_exact(&mut back).unwrap();
            }
            drop(a);
            exit(wait(child));
        }
    }
}

fn exec_peer(fd: RawFd, k: u64) {
    // SAFETY: the fd was inherited across exec for this role alone.
    #[allow(unsafe_code)]
    let mut s = unsafe { UnixStream::from_raw_fd(fd) };
    let mut buf = [0u8; 16];
    for _ in 0..k {
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    }
    assert_eq!(s.read(&mut buf).unwrap(), 0, "EOF after the last message");
}

/// The write end of the pipe the SIGALRM handlers write into.
static HANDLER_PIPE: AtomicI32 = AtomicI32::new(-1);
/// How many more times the timer's handler writes.
static HANDLER_LEFT: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(_: i32) {
    // SAFETY: write(2) is async-signal-safe; the byte is static.
    #[allow(unsafe_code)]
    unsafe {
        libc::write(HANDLER_PIPE.load(Ordering::SeqCst), b"!".as_ptr().cast(), 1)
    };
}

extern "C" fn on_timer(_: i32) {
    let left = HANDLER_LEFT.load(Ordering::SeqCst);
    if left == 0 {
        // A late expiry of the timer the last handler disarmed.
        return;
    }
    HANDLER_LEFT.store(left - 1, Ordering::SeqCst);
    if left == 1 {
        set_timer(0);
    }
    on_signal(0);
}

fn handle(signal: nix::sys::signal::Signal, handler: extern "C" fn(i32), restart: bool) {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    let flags = if restart {
        SaFlags::SA_RESTART
    } else {
        SaFlags::empty()
    };
    let action = SigAction::new(SigHandler::Handler(handler), flags, SigSet::empty());
    // SAFETY: the handlers only call async-signal-safe functions.
    #[allow(unsafe_code)]
    unsafe { sigaction(signal, &action) }.unwrap();
}

/// Arms ITIMER_REAL to fire every `us` microseconds (0 disarms it).
fn set_timer(us: i64) {
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: us,
    };
    let timer = libc::itimerval {
        it_interval: tv,
        it_value: tv,
    };
    // SAFETY: setitimer with a valid itimerval; async-signal-safe.
    #[allow(unsafe_code)]
    unsafe {
        libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut())
    };
}

fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// Waits until thread `tid` of process `pid` sleeps inside a read (std
/// reads a socket with recvfrom): the kernel's view, whichever path made
/// the call.
fn wait_blocked_in_read(pid: i32, tid: i32) {
    let reads = [libc::SYS_read.to_string(), libc::SYS_recvfrom.to_string()];
    let dir = format!("/proc/{pid}/task/{tid}");
    let started = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("{dir}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        let call = std::fs::read_to_string(format!("{dir}/syscall")).unwrap_or_default();
        let first = call.split_whitespace().next().unwrap_or("");
        if state.starts_with('S') && reads.iter().any(|r| r == first) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "thread {tid} never blocked in a read: state {state:?}, syscall {call:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn signal_inside(mode: &str, n: u64) {
    use nix::sys::signal::Signal;
    let restart = mode == "restart";
    let grow = mode == "eintr";
    let (mut a, mut peer) = UnixStream::pair().unwrap();
    let (pr, pw) = nix::unistd::pipe().unwrap();
    HANDLER_PIPE.store(pw.into_raw_fd(), Ordering::SeqCst);
    handle(Signal::SIGALRM, on_signal, restart);
    let (pid, main) = (std::process::id() as i32, gettid());
    let helper = std::thread::spawn(move || {
        let mut pr = File::from(pr);
        for _ in 0..n {
            wait_blocked_in_read(pid, main);
            // SAFETY: tgkill to a thread of this process.
            #[allow(unsafe_code)]
            unsafe {
                libc::syscall(libc::SYS_tgkill, pid, main, libc::SIGALRM)
            };
            pr.read_exact(&mut [0u8; 1]).unwrap();
        }
        wait_blocked_in_read(pid, main);
        peer.write_all(b"done").unwrap();
    });
    let mut buf = [0u8; 64];
    let mut interrupted = 0;
    loop {
        let len = if grow { 4 + interrupted as usize } else { 4 };
        match a.read(&mut buf[..len]) {
            Err(e) if e.kind() == ErrorKind::Interrupted && !restart => interrupted += 1,
            Ok(4) => break,
            other => panic!("read: {other:?}"),
        }
    }
    helper.join().unwrap();
    assert_eq!(interrupted, if restart { 0 } else { n });
}

fn timer(n: u32) {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let (mut a, mut peer) = UnixStream::pair().unwrap();
    let (pr, pw) = nix::unistd::pipe().unwrap();
    HANDLER_PIPE.store(pw.into_raw_fd(), Ordering::SeqCst);
    HANDLER_LEFT.store(n, Ordering::SeqCst);
    handle(Signal::SIGALRM, on_timer, true);
    // The process-directed SIGALRM goes to the main thread only: the
    // helper is born with it blocked (a thread inherits the mask).
    let mut alarm = SigSet::empty();
    alarm.add(Signal::SIGALRM);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&alarm), None).unwrap();
    let helper = std::thread::spawn(move || {
        let mut pr = File::from(pr);
        for _ in 0..n {
            pr.read_exact(&mut [0u8; 1]).unwrap();
        }
        peer.write_all(b"done").unwrap();
    });
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&alarm), None).unwrap();
    set_timer(20_000);
    let mut buf = [0u8; 4];
    a.read_exact(&mut buf).unwrap();
    helper.join().unwrap();
}

fn killed(k: u64) {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    match fork() {
        0 => {
            drop(a);
            for _ in 0..k {
                b.write_all(&[b'k'; 12]).unwrap();
            }
            let _ = b.read(&mut [0u8; 1]);
            exit(3);
        }
        child => {
            drop(b);
            let mut buf = [0u8; 12];
            for _ in 0..k {
                a.read_exact(&mut buf).unwrap();
            }
            wait_blocked_in_read(child, child);
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            exit(if wait(child) == 128 + 9 { 0 } else { 1 });
        }
    }
}

/// Message sizes of `partial-io` (135 bytes).
const SIZES: [usize; 6] = [10, 33, 7, 64, 1, 20];

fn partial_io() {
    let (mut sw, mut sr) = UnixStream::pair().unwrap();
    let (pr, pw) = nix::unistd::pipe().unwrap();
    let (gr, gw) = nix::unistd::pipe().unwrap();
    let (rr, rw) = nix::unistd::pipe().unwrap();
    match fork() {
        0 => {
            drop((sw, pw, gw, rr));
            // Says its copies of the write ends are closed (so the EOF is
            // the writer's close), then starts once everything is written
            // and closed, so each read gets what it asked for, whatever
            // the scheduler does.
            File::from(rw).write_all(b"r").unwrap();
            File::from(gr).read_exact(&mut [0u8; 1]).unwrap();
            let on_socket = read_in_pieces(&mut sr, 4);
            let on_pipe = read_in_pieces(&mut File::from(pr), 2);
            exit(if on_socket == 135 && on_pipe == 135 {
                0
            } else {
                1
            });
        }
        child => {
            drop((sr, pr, gr, rw));
            let mut pw = File::from(pw);
            for (i, &n) in SIZES.iter().enumerate() {
                let msg = vec![b'a' + i as u8; n];
                write_one_way(&mut sw, &msg, i % 4);
                write_one_way(&mut pw, &msg, i % 2);
            }
            File::from(rr).read_exact(&mut [0u8; 1]).unwrap();
            drop((sw, pw));
            File::from(gw).write_all(b"g").unwrap();
            exit(wait(child));
        }
    }
}

/// Writes `msg` whole with write, writev, send or sendmsg (`how` 0..4).
fn write_one_way<W: Write + AsRawFd>(w: &mut W, msg: &[u8], how: usize) {
    let (head, tail) = msg.split_at(msg.len() / 2);
    let iov = [IoSlice::new(head), IoSlice::new(tail)];
    let fd = w.as_raw_fd();
    let sent = match how {
        0 => w.write(msg).unwrap(),
        1 => w.write_vectored(&iov).unwrap(),
        // SAFETY: msg and the iovecs outlive the calls.
        #[allow(unsafe_code)]
        2 => unsafe { libc::send(fd, msg.as_ptr().cast(), msg.len(), 0) as usize },
        _ => {
            // SAFETY: a zeroed msghdr is valid; iov outlives the call.
            #[allow(unsafe_code)]
            unsafe {
                let mut hdr: libc::msghdr = std::mem::zeroed();
                hdr.msg_iov = iov.as_ptr() as *mut libc::iovec;
                hdr.msg_iovlen = 2;
                libc::sendmsg(fd, &hdr, 0) as usize
            }
        }
    };
    assert_eq!(sent, msg.len());
}

/// Reads to EOF asking for 1, 2, ... 7, 1, ... bytes, cycling through
/// the first `ways` of read, readv, recv and recvmsg; returns the total.
fn read_in_pieces<R: Read + AsRawFd>(r: &mut R, ways: usize) -> usize {
    let mut total = 0;
    for i in 0.. {
        let want = 1 + i % 7;
        let mut buf = [0u8; 7];
        let fd = r.as_raw_fd();
        let got = match i % ways {
            0 => r.read(&mut buf[..want]).unwrap(),
            1 => {
                let (head, tail) = buf[..want].split_at_mut(want / 2);
                r.read_vectored(&mut [IoSliceMut::new(head), IoSliceMut::new(tail)])
                    .unwrap()
            }
            // SAFETY: buf outlives the call and holds `want` bytes.
            #[allow(unsafe_code)]
            2 => unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), want, 0) as usize },
            _ => {
                let mut iov = libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: want,
                };
                // SAFETY: a zeroed msghdr is valid; iov and buf outlive it.
                #[allow(unsafe_code)]
                unsafe {
                    let mut hdr: libc::msghdr = std::mem::zeroed();
                    hdr.msg_iov = &mut iov;
                    hdr.msg_iovlen = 1;
                    libc::recvmsg(fd, &mut hdr, 0) as usize
                }
            }
        };
        if got == 0 {
            break;
        }
        assert_eq!(got, want.min(135 - total), "read {i}");
        total += got;
    }
    total
}

/// poll(2) on one fd for `events`; returns the revents (0: timed out).
fn poll_one(fd: RawFd, events: i16, timeout_ms: i32) -> i16 {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    #[allow(unsafe_code)]
    let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    p.revents
}

fn short_writes(rounds: u64) {
    let (mut w, mut r) = UnixStream::pair().unwrap();
    let (mut ctl_w, mut ctl_r) = UnixStream::pair().unwrap();
    nix::sys::socket::setsockopt(&w, nix::sys::socket::sockopt::SndBuf, &8192).unwrap();
    w.set_nonblocking(true).unwrap();
    r.set_nonblocking(true).unwrap();
    match fork() {
        0 => {
            drop((w, ctl_w));
            let mut buf = [0u8; 1000];
            while ctl_r.read(&mut [0u8; 1]).unwrap() == 1 {
                assert_ne!(poll_one(r.as_raw_fd(), libc::POLLIN, -1), 0);
                loop {
                    match r.read(&mut buf) {
                        Ok(n) => assert!(n > 0, "EOF before the writer closed"),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("read: {e}"),
                    }
                }
                ctl_r.write_all(b"k").unwrap();
            }
            assert_eq!(r.read(&mut buf).unwrap(), 0, "EOF at the end");
            exit(0);
        }
        child => {
            drop((r, ctl_r));
            let chunk = [b'w'; 20_000];
            let mut short = 0;
            for _ in 0..rounds {
                loop {
                    match w.write(&chunk) {
                        Ok(n) if n < chunk.len() => short += 1,
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("write: {e}"),
                    }
                }
                ctl_w.write_all(b"d").unwrap();
                ctl_w.read_exact(&mut [0u8; 1]).unwrap();
                assert_ne!(poll_one(w.as_raw_fd(), libc::POLLOUT, -1), 0);
            }
            drop((w, ctl_w));
            assert!(short > 0, "no short write: the role tests nothing");
            exit(wait(child));
        }
    }
}

fn epoll_server(k: u64) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let mut client = Command::new(me())
        .args(["epoll-client", &port.to_string(), &k.to_string()])
        .spawn()
        .unwrap();
    let ep = wait::epoll_new();
    let watch = |fd: RawFd| wait::epoll_watch(ep, fd);
    watch(listener.as_raw_fd());
    let mut conn: Option<TcpStream> = None;
    let mut buf = [0u8; 64];
    'serve: loop {
        let mut ready = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: `ready` holds 4 events.
        #[allow(unsafe_code)]
        let n = unsafe { libc::epoll_wait(ep, ready.as_mut_ptr(), 4, -1) };
        assert!(n > 0, "epoll_wait: {}", std::io::Error::last_os_error());
        for ev in &ready[..n as usize] {
            if ev.u64 == listener.as_raw_fd() as u64 {
                let (c, _) = listener.accept().unwrap();
                c.set_nonblocking(true).unwrap();
                watch(c.as_raw_fd());
                conn = Some(c);
                let again = listener.accept().map(|_| ()).unwrap_err();
                assert_eq!(again.kind(), ErrorKind::WouldBlock);
            } else {
                let c = conn.as_mut().unwrap();
                let got = c.read(&mut buf).unwrap();
                if got == 0 {
                    break 'serve;
                }
                c.write_all(&buf[..got]).unwrap();
            }
        }
    }
    exit(client.wait().unwrap().code().unwrap_or(1));
}

fn epoll_client(port: u16, k: u64) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    // Nothing was asked yet: EAGAIN, whatever the timing.
    let early = s.read(&mut buf).map(|_| ()).unwrap_err();
    assert_eq!(early.kind(), ErrorKind::WouldBlock);
    for _ in 0..k {
        s.write_all(&[b'q'; 20]).unwrap();
        assert_ne!(poll_one(s.as_raw_fd(), libc::POLLIN, 20_000), 0);
        assert_eq!(s.read(&mut buf).unwrap(), 20);
    }
}

fn fault_target(k: u64) {
    let (mut data, mut data_peer) = UnixStream::pair().unwrap();
    let (mut ctl, mut ctl_peer) = UnixStream::pair().unwrap();
    match fork() {
        0 => {
            drop((data, ctl));
            let mut buf = [0u8; 8];
            for _ in 0..k {
                if poll_one(data_peer.as_raw_fd(), libc::POLLIN, 1000) == 0 {
                    ctl_peer.write_all(b"T").unwrap();
                    exit(0);
                }
                data_peer.read_exact(&mut buf).unwrap();
                ctl_peer.write_all(b"A").unwrap();
            }
            exit(0);
        }
        child => {
            drop((data_peer, ctl_peer));
            let mut answer = [0u8; 1];
            for i in 0..k {
                data.write_all(&[b'0' + i as u8; 8]).unwrap();
                ctl.read_exact(&mut answer).unwrap();
                if &answer == b"T" {
                    println!("message {i} never arrived");
                    break;
                }
            }
            exit(wait(child));
        }
    }
}

fn fault_trio(k: u64, n: u64) {
    let pair = match fork() {
        0 => {
            fault_target(k);
            exit(0)
        }
        child => child,
    };
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let chatter = match fork() {
        0 => {
            drop(a);
            let mut buf = [0u8; 4];
            for _ in 0..n {
                b.read_exact(&mut buf).unwrap();
                b.write_all(&buf).unwrap();
            }
            exit(0);
        }
        child => child,
    };
    drop(b);
    let mut buf = [0u8; 4];
    for i in 0..n {
        a.write_all(&(i as u32).to_le_bytes()).unwrap();
        a.read_exact(&mut buf).unwrap();
        assert_eq!(u32::from_le_bytes(buf), i as u32);
    }
    let (p, c) = (wait(pair), wait(chatter));
    exit(if p != 0 { p } else { c });
}

fn socketpair_pingpong(n: u64) {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    match fork() {
        0 => {
            drop(a);
            let mut byte = [0u8; 1];
            while b.read(&mut byte).unwrap() == 1 {
                b.write_all(&byte).unwrap();
            }
            exit(0);
        }
        child => {
            drop(b);
            let mut byte = [b'p'; 1];
            for _ in 0..n {
                a.write_all(&byte).unwrap();
                a.read_exact(&mut byte).unwrap();
            }
            drop(a);
            exit(wait(child));
        }
    }
}

fn udp_flood(n: u64) {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(rx.local_addr().unwrap()).unwrap();
    rx.connect(tx.local_addr().unwrap()).unwrap();
    match fork() {
        0 => {
            drop(tx);
            let mut buf = [0u8; 64];
            for i in 1..=n {
                assert_eq!(rx.recv(&mut buf).unwrap(), 16);
                if i % 100 == 0 || i == n {
                    rx.send(b"k").unwrap();
                }
            }
            exit(0);
        }
        child => {
            drop(rx);
            let mut ack = [0u8; 1];
            for i in 1..=n {
                tx.send(&[b'u'; 16]).unwrap();
                if i % 100 == 0 || i == n {
                    tx.recv(&mut ack).unwrap();
                }
            }
            exit(wait(child));
        }
    }
}

/// fork(2); returns 0 in the child.
fn fork() -> i32 {
    // SAFETY: every role forks before it starts a thread.
    #[allow(unsafe_code)]
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => 0,
        nix::unistd::ForkResult::Parent { child } => child.as_raw(),
    }
}

/// waitpid; returns the shell-style status.
fn wait(pid: i32) -> i32 {
    match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap() {
        nix::sys::wait::WaitStatus::Exited(_, c) => c,
        nix::sys::wait::WaitStatus::Signaled(_, s, _) => 128 + s as i32,
        _ => 1,
    }
}
