//! One guest program with many roles, traced by the end-to-end tests. Each
//! role does a fixed, known amount of communication so tests can assert
//! exact counts. Roles that need a peer process re-execute this binary.
//!
//! Usage: guest ROLE [ARGS...]
#![allow(missing_docs)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::process::{Command, exit};

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
    match role.as_str() {
        // tcp N SIZE: a server process and a client process (this one execs
        // the client); the client sends N messages of SIZE bytes, waiting
        // for each echo (ping-pong), then closes.
        "tcp" => {
            let (n, size) = (arg(2, 10), arg(3, 100));
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let mut client = Command::new(me())
                .args([
                    "tcp-client",
                    &port.to_string(),
                    &n.to_string(),
                    &size.to_string(),
                ])
                .spawn()
                .unwrap();
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; 65536];
            loop {
                let got = conn.read(&mut buf).unwrap();
                if got == 0 {
                    break;
                }
                conn.write_all(&buf[..got]).unwrap();
            }
            let status = client.wait().unwrap();
            exit(status.code().unwrap_or(1));
        }
        "tcp-client" => {
            let (port, n, size) = (arg(2, 0), arg(3, 10), arg(4, 100) as usize);
            let mut s = TcpStream::connect(("127.0.0.1", port as u16)).unwrap();
            let msg = vec![b'x'; size];
            let mut back = vec![0u8; size];
            for _ in 0..n {
                s.write_all(&msg).unwrap();
                s.read_exact(&mut back).unwrap();
            }
        }
        // udp N: this process sends N datagrams of 32 bytes to a server
        // process, which answers each with 8 bytes.
        "udp" => {
            let n = arg(2, 5);
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            let server = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = server.local_addr().unwrap().port();
            drop(server);
            let mut child = Command::new(me())
                .args(["udp-server", &port.to_string(), &n.to_string()])
                .spawn()
                .unwrap();
            let mut buf = [0u8; 64];
            for _ in 0..n {
                // The server may not be bound yet: resend until answered.
                sock.set_read_timeout(Some(std::time::Duration::from_millis(200)))
                    .unwrap();
                loop {
                    sock.send_to(&[b'u'; 32], ("127.0.0.1", port)).unwrap();
                    if sock.recv_from(&mut buf).is_ok() {
                        break;
                    }
                }
            }
            exit(child.wait().unwrap().code().unwrap_or(1));
        }
        "udp-server" => {
            let (port, n) = (arg(2, 0), arg(3, 5));
            let sock = UdpSocket::bind(("127.0.0.1", port as u16)).unwrap();
            let mut buf = [0u8; 64];
            for _ in 0..n {
                let (_, from) = sock.recv_from(&mut buf).unwrap();
                sock.send_to(&[b'r'; 8], from).unwrap();
            }
        }
        // unix N: a socketpair shared with a forked child; the parent sends
        // N messages of 16 bytes, the child answers each with 4 bytes.
        "unix" => {
            let n = arg(2, 5);
            let (a, mut b) = UnixStream::pair().unwrap();
            match unsafe_fork() {
                0 => {
                    drop(b);
                    let mut a = a;
                    let mut buf = [0u8; 16];
                    for _ in 0..n {
                        a.read_exact(&mut buf).unwrap();
                        a.write_all(&[b'k'; 4]).unwrap();
                    }
                    exit(0);
                }
                child => {
                    drop(a);
                    let mut buf = [0u8; 4];
                    for _ in 0..n {
                        b.write_all(&[b'm'; 16]).unwrap();
                        b.read_exact(&mut buf).unwrap();
                    }
                    wait(child);
                }
            }
        }
        // pipe N: parent writes N chunks of 10 bytes into a pipe, child
        // reads until EOF.
        "pipe" => {
            let n = arg(2, 5);
            let (r, w) = nix::unistd::pipe().unwrap();
            match unsafe_fork() {
                0 => {
                    drop(w);
                    let mut r = std::fs::File::from(r);
                    let mut total = 0;
                    let mut buf = [0u8; 1000];
                    loop {
                        let got = r.read(&mut buf).unwrap();
                        if got == 0 {
                            break;
                        }
                        total += got;
                    }
                    exit(if total as u64 == 10 * n { 0 } else { 1 });
                }
                child => {
                    drop(r);
                    let mut w = std::fs::File::from(w);
                    for _ in 0..n {
                        w.write_all(&[b'p'; 10]).unwrap();
                    }
                    drop(w);
                    exit(wait(child));
                }
            }
        }
        // forktree DEPTH: each process forks two children until DEPTH.
        "forktree" => {
            let depth = arg(2, 2);
            fn tree(d: u64) {
                if d == 0 {
                    return;
                }
                let mut kids = vec![];
                for _ in 0..2 {
                    match unsafe_fork() {
                        0 => {
                            tree(d - 1);
                            exit(0);
                        }
                        c => kids.push(c),
                    }
                }
                for k in kids {
                    wait(k);
                }
            }
            tree(depth);
        }
        // threads N: N threads each write 8 bytes into one pipe; the main
        // thread reads them all.
        "threads" => {
            let n = arg(2, 4);
            let (r, w) = nix::unistd::pipe().unwrap();
            let w = std::sync::Arc::new(std::fs::File::from(w));
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    let w = w.clone();
                    std::thread::spawn(move || (&*w).write_all(&[b't'; 8]).unwrap())
                })
                .collect();
            let mut r = std::fs::File::from(r);
            let mut buf = vec![0u8; 8 * n as usize];
            r.read_exact(&mut buf).unwrap();
            for h in handles {
                h.join().unwrap();
            }
        }
        // exec-chain N: exec this binary N times, then exit 0.
        "exec-chain" => {
            let n = arg(2, 3);
            if n > 0 {
                use std::os::unix::process::CommandExt;
                let err = Command::new(me())
                    .args(["exec-chain", &(n - 1).to_string()])
                    .exec();
                panic!("exec failed: {err}");
            }
        }
        // killed: a child that is killed by SIGKILL from its parent.
        "killed" => match unsafe_fork() {
            0 => loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            },
            child => {
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child),
                    nix::sys::signal::Signal::SIGKILL,
                )
                .unwrap();
                let status = wait(child);
                exit(if status == 128 + 9 { 0 } else { 1 });
            }
        },
        // sleepers N: fork N children that sleep forever, print their pids.
        "sleepers" => {
            let n = arg(2, 3);
            for _ in 0..n {
                match unsafe_fork() {
                    0 => loop {
                        std::thread::sleep(std::time::Duration::from_secs(1));
                    },
                    child => println!("{child}"),
                }
            }
            std::io::stdout().flush().unwrap();
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        // serve PORT: an echo server, one thread per connection, forever.
        "serve" => {
            let listener = TcpListener::bind(("127.0.0.1", arg(2, 0) as u16)).unwrap();
            println!("listening");
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = conn.read(&mut buf) {
                        if n == 0 || conn.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        }
        // rpc: a server process and a client process; the client sends
        // "ping", waits up to 1 s for "pong" and exits 0 (answered), 3 (timed
        // out) or 4 (could not connect, error printed). The server answers
        // one request, then waits for the client and exits with its status.
        "rpc" => {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let mut client = Command::new(me())
                .args(["rpc-client", &port.to_string()])
                .spawn()
                .unwrap();
            listener.set_nonblocking(true).unwrap();
            let started = std::time::Instant::now();
            let conn = loop {
                match listener.accept() {
                    Ok((c, _)) => break Some(c),
                    Err(_) if started.elapsed() < std::time::Duration::from_secs(3) => {
                        if let Ok(Some(_)) = client.try_wait() {
                            break None;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(5))
                    }
                    Err(_) => break None,
                }
            };
            if let Some(mut conn) = conn {
                conn.set_nonblocking(false).unwrap();
                let mut buf = [0u8; 4];
                if conn.read_exact(&mut buf).is_ok() {
                    let _ = conn.write_all(b"pong");
                }
            }
            exit(client.wait().unwrap().code().unwrap_or(1));
        }
        "rpc-client" => {
            let port = arg(2, 0) as u16;
            let mut s = match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("connect: {e}");
                    exit(4);
                }
            };
            s.set_read_timeout(Some(std::time::Duration::from_secs(1)))
                .unwrap();
            s.write_all(b"ping").unwrap();
            let mut buf = [0u8; 4];
            match s.read_exact(&mut buf) {
                Ok(()) => println!("answered"),
                Err(_) => {
                    println!("timed out");
                    exit(3);
                }
            }
        }
        // ask PORT...: asks each echo server once (1 s timeout), prints
        // "PORT ok", "PORT timeout" or "PORT refused" per port.
        "ask" => {
            for port in std::env::args().skip(2) {
                let p: u16 = port.parse().unwrap();
                let verdict = match TcpStream::connect(("127.0.0.1", p)) {
                    Err(_) => "refused",
                    Ok(mut s) => {
                        s.set_read_timeout(Some(std::time::Duration::from_secs(1)))
                            .unwrap();
                        let _ = s.write_all(b"hello");
                        let mut buf = [0u8; 5];
                        if s.read_exact(&mut buf).is_ok() {
                            "ok"
                        } else {
                            "timeout"
                        }
                    }
                };
                println!("{port} {verdict}");
            }
        }
        // spans: three messages into a pipe (4, 4 and 8 bytes); the child
        // waits until all are written, then reads 8 (spanning the first
        // two), 4 and 4 (splitting the third).
        "spans" => {
            let (r, w) = nix::unistd::pipe().unwrap();
            match unsafe_fork() {
                0 => {
                    drop(w);
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    let mut r = std::fs::File::from(r);
                    let (mut a, mut b, mut c) = ([0u8; 8], [0u8; 4], [0u8; 4]);
                    r.read_exact(&mut a).unwrap();
                    r.read_exact(&mut b).unwrap();
                    r.read_exact(&mut c).unwrap();
                    exit(if &a == b"aaaabbbb" && &b == b"cccc" && &c == b"cccc" {
                        0
                    } else {
                        1
                    });
                }
                child => {
                    drop(r);
                    let mut w = std::fs::File::from(w);
                    w.write_all(b"aaaa").unwrap();
                    w.write_all(b"bbbb").unwrap();
                    w.write_all(b"cccccccc").unwrap();
                    exit(wait(child));
                }
            }
        }
        // order FIRST: two children each write one message into their own
        // pipe; the parent reads child FIRST's (1 or 2) message first.
        "order" => {
            let first = arg(2, 1);
            let mut readers = vec![];
            let mut kids = vec![];
            for i in 0..2u8 {
                let (r, w) = nix::unistd::pipe().unwrap();
                match unsafe_fork() {
                    0 => {
                        drop(r);
                        std::fs::File::from(w).write_all(&[b'0' + i; 6]).unwrap();
                        exit(0);
                    }
                    child => {
                        drop(w);
                        readers.push(std::fs::File::from(r));
                        kids.push(child);
                    }
                }
            }
            if first == 2 {
                readers.reverse();
            }
            for mut r in readers {
                let mut buf = [0u8; 6];
                r.read_exact(&mut buf).unwrap();
            }
            for k in kids {
                wait(k);
            }
        }
        // race: two children write one 6-byte message each into one pipe;
        // which arrives first is up to the scheduler.
        "race" => {
            let (r, w) = nix::unistd::pipe().unwrap();
            let mut kids = vec![];
            for i in 0..2u8 {
                match unsafe_fork() {
                    0 => {
                        drop(r);
                        std::fs::File::from(w).write_all(&[b'0' + i; 6]).unwrap();
                        exit(0);
                    }
                    child => kids.push(child),
                }
            }
            drop(w);
            let mut r = std::fs::File::from(r);
            for _ in 0..2 {
                let mut buf = [0u8; 6];
                r.read_exact(&mut buf).unwrap();
            }
            for k in kids {
                wait(k);
            }
        }
        // eintr RESTART: a read on socketpair A is interrupted by SIGALRM
        // after 100 ms. RESTART=0: no SA_RESTART, the read fails with EINTR
        // and the guest then reads 4 bytes on socketpair B. RESTART=1: the
        // handler writes 1 byte into a pipe and the read on A is restarted
        // and gets the 4 bytes a thread writes 300 ms later.
        "eintr" => {
            use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
            static PIPE_W: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);
            extern "C" fn on_alarm(_: i32) {
                let fd = PIPE_W.load(std::sync::atomic::Ordering::SeqCst);
                if fd >= 0 {
                    #[allow(unsafe_code)]
                    // SAFETY: write(2) is async-signal-safe.
                    unsafe {
                        libc::write(fd, b"!".as_ptr().cast(), 1);
                    }
                }
            }
            let restart = arg(2, 0) == 1;
            let (mut a, mut a_peer) = UnixStream::pair().unwrap();
            let (mut b, mut b_peer) = UnixStream::pair().unwrap();
            let (_pr, pw) = nix::unistd::pipe().unwrap();
            if restart {
                use std::os::fd::IntoRawFd;
                PIPE_W.store(pw.into_raw_fd(), std::sync::atomic::Ordering::SeqCst);
            }
            let flags = if restart {
                SaFlags::SA_RESTART
            } else {
                SaFlags::empty()
            };
            #[allow(unsafe_code)]
            // SAFETY: the handler only calls write(2).
            unsafe {
                sigaction(
                    Signal::SIGALRM,
                    &SigAction::new(SigHandler::Handler(on_alarm), flags, SigSet::empty()),
                )
            }
            .unwrap();
            let timer = libc::itimerval {
                it_interval: libc::timeval {
                    tv_sec: 0,
                    tv_usec: 0,
                },
                it_value: libc::timeval {
                    tv_sec: 0,
                    tv_usec: 100_000,
                },
            };
            #[allow(unsafe_code)]
            // SAFETY: plain setitimer.
            unsafe {
                libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut());
            }
            let writer = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                if restart {
                    a_peer.write_all(b"late").unwrap()
                } else {
                    b_peer.write_all(b"bbbb").unwrap()
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
                drop(a_peer);
            });
            let mut buf = [0u8; 4];
            match a.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted && !restart => {
                    b.read_exact(&mut buf).unwrap();
                    assert_eq!(&buf, b"bbbb");
                }
                Ok(4) if restart => assert_eq!(&buf, b"late"),
                other => panic!("unexpected {other:?}"),
            }
            writer.join().unwrap();
        }
        // leader-exits: the main thread exits (pthread_exit) while a worker
        // thread talks over a socketpair.
        "leader-exits" => {
            std::thread::spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let (mut x, mut y) = UnixStream::pair().unwrap();
                x.write_all(b"abc").unwrap();
                let mut buf = [0u8; 3];
                y.read_exact(&mut buf).unwrap();
                exit(0);
            });
            #[allow(unsafe_code)]
            // SAFETY: exit(2), not exit_group: ends only the main thread
            // (without unwinding); the worker exits the process.
            unsafe {
                libc::syscall(libc::SYS_exit, 0);
            }
            unreachable!()
        }
        // udp-unbound: the first sendto binds the socket (the tracer sees
        // `0.0.0.0:0` at entry); the receiver is in the same process.
        "udp-unbound" => {
            let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
            let to = rx.local_addr().unwrap();
            #[allow(unsafe_code)]
            // SAFETY: a plain socket(2); the fd is owned by the UdpSocket below.
            let tx = unsafe {
                use std::os::fd::FromRawFd;
                UdpSocket::from_raw_fd(libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0))
            };
            for _ in 0..2 {
                tx.send_to(b"datagram", to).unwrap();
                let mut buf = [0u8; 16];
                rx.recv_from(&mut buf).unwrap();
            }
        }
        // mmsg: one sendmmsg of three 8-byte datagrams to a socket of this
        // process; prints what sendmmsg reported and how many arrived.
        "mmsg" => {
            use std::os::fd::AsRawFd;
            let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
            let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
            tx.connect(rx.local_addr().unwrap()).unwrap();
            let mut bufs = [*b"datagrm0", *b"datagrm1", *b"datagrm2"];
            let mut iovs: Vec<libc::iovec> = bufs
                .iter_mut()
                .map(|b| libc::iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: 8,
                })
                .collect();
            #[allow(unsafe_code)]
            // SAFETY: zeroed mmsghdr is valid; pointers outlive the call.
            let mut msgs: Vec<libc::mmsghdr> = iovs
                .iter_mut()
                .map(|iov| {
                    let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                    m.msg_hdr.msg_iov = iov;
                    m.msg_hdr.msg_iovlen = 1;
                    m
                })
                .collect();
            #[allow(unsafe_code)]
            // SAFETY: msgs is a valid array of 3 mmsghdr.
            let sent = unsafe { libc::sendmmsg(tx.as_raw_fd(), msgs.as_mut_ptr(), 3, 0) };
            let lens: Vec<u32> = msgs.iter().map(|m| m.msg_len).collect();
            rx.set_read_timeout(Some(std::time::Duration::from_millis(300)))
                .unwrap();
            let mut got = 0;
            let mut buf = [0u8; 16];
            while rx.recv(&mut buf).is_ok() {
                got += 1;
            }
            println!("sent {sent} lens {lens:?} received {got}");
        }
        // greet: a server-speaks-first protocol. The server sends "hello"
        // right after accept; the client waits up to 1 s for it and exits 0
        // (greeted) or 3 (not).
        "greet" => {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let mut client = Command::new(me())
                .args(["greet-client", &port.to_string()])
                .spawn()
                .unwrap();
            let (mut conn, _) = listener.accept().unwrap();
            conn.write_all(b"hello").unwrap();
            exit(client.wait().unwrap().code().unwrap_or(1));
        }
        "greet-client" => {
            let mut s = TcpStream::connect(("127.0.0.1", arg(2, 0) as u16)).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(1)))
                .unwrap();
            let mut buf = [0u8; 5];
            exit(if s.read_exact(&mut buf).is_ok() { 0 } else { 3 });
        }
        // selfpipe: one process writes 5 bytes into a pipe and reads them back.
        "selfpipe" => {
            let (r, w) = nix::unistd::pipe().unwrap();
            let (mut r, mut w) = (std::fs::File::from(r), std::fs::File::from(w));
            w.write_all(b"hello").unwrap();
            let mut buf = [0u8; 5];
            r.read_exact(&mut buf).unwrap();
        }
        // pingpong N: TCP ping-pong of N one-byte messages (benchmark).
        "pingpong" => {
            let n = arg(2, 100_000);
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let mut client = Command::new(me())
                .args(["tcp-client", &port.to_string(), &n.to_string(), "1"])
                .spawn()
                .unwrap();
            let (mut conn, _) = listener.accept().unwrap();
            let mut b = [0u8; 1];
            while conn.read(&mut b).unwrap() == 1 {
                conn.write_all(&b).unwrap();
            }
            exit(client.wait().unwrap().code().unwrap_or(1));
        }
        // efault: connect(2), sendto(2) and sendmsg(2) whose address
        // arguments point at nothing mapped (a legitimate program error the
        // kernel answers with EFAULT). Exits 7, a status of its own, once
        // all three failed that way; 1 otherwise.
        "efault" => exit(if efault_calls() { 7 } else { 1 }),
        // stats N: N non-communication syscalls (stat of a file) (benchmark).
        "stats" => {
            let n = arg(2, 1_000_000);
            let mut total = 0u64;
            for _ in 0..n {
                total += std::fs::metadata("/proc/self")
                    .map(|m| m.len())
                    .unwrap_or(1);
            }
            std::hint::black_box(total);
        }
        other => {
            eprintln!("guest: unknown role {other:?}");
            exit(2);
        }
    }
}

/// fork(2); returns 0 in the child.
fn unsafe_fork() -> i32 {
    #[allow(unsafe_code)]
    // SAFETY: the guests fork before starting any thread.
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

/// The calls of the `efault` role; true when each failed with EFAULT.
fn efault_calls() -> bool {
    use std::os::fd::AsRawFd;
    // The first page is never mapped; the top of the address space is
    // kernel memory, and an address there plus a length would overflow.
    let low = 0x10 as *const libc::sockaddr;
    let top = (usize::MAX - 7) as *const libc::sockaddr;
    let efault = |what: &str, r: isize| {
        let e = std::io::Error::last_os_error();
        let ok = r == -1 && e.raw_os_error() == Some(libc::EFAULT);
        println!("{what}: {r} {e}");
        ok
    };
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    #[allow(unsafe_code)]
    // SAFETY: a plain socket(2); bad pointers are only passed to the kernel,
    // which checks them (that is the point).
    let (connect, sendto, sendmsg) = unsafe {
        let tcp = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        let connect = libc::connect(tcp, low, 16) as isize;
        let connect = efault("connect", connect);
        let sent = libc::sendto(udp.as_raw_fd(), b"lost".as_ptr().cast(), 4, 0, top, 16);
        let sendto = efault("sendto", sent);
        let sent = libc::sendmsg(udp.as_raw_fd(), low.cast(), 0);
        let sendmsg = efault("sendmsg", sent);
        libc::close(tcp);
        (connect, sendto, sendmsg)
    };
    connect && sendto && sendmsg
}
