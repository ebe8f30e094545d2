//! Guests for the blind spots of issue 13 (items 7 and 8): calls that move
//! bytes inside the kernel, wakeups through an eventfd, I/O through
//! io_uring, and connections whose other side no traced process holds.
//!
//! * `sendfile`: 1000 bytes of a file sent with sendfile(2) on a unix
//!   socket to a reader thread.
//! * `splice`: 500 bytes written on a socket, spliced socket → pipe, teed
//!   pipe → pipe, spliced pipe → socket, and read at the end of each.
//! * `eventfd`: t0 writes an eventfd that a worker thread blocks on; the
//!   worker then answers on a socketpair (the handoff of memcached).
//! * `uring`: io_uring_setup and an empty io_uring_enter.
//! * `listen PORT`: a server that listens on PORT and never accepts.
//! * `knock TCP UDP`: connects to the TCP port and sends on it, then sends
//!   one datagram to the UDP port, where nobody listens.
#![allow(unsafe_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::thread;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str).unwrap_or_default() {
        "sendfile" => sendfile(),
        "splice" => splice(),
        "eventfd" => eventfd(),
        "uring" => uring(),
        "listen" => listen(&args[2]),
        "knock" => knock(&args[2], &args[3]),
        other => {
            eprintln!(
                "fidelity3: unknown role {other:?} (use sendfile, splice, eventfd, uring, listen, knock)"
            );
            std::process::exit(2);
        }
    }
}

/// A return value of a raw call, or the error that made it fail.
fn check(what: &str, r: isize) -> usize {
    assert!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
    r as usize
}

fn sendfile() {
    let path = std::env::temp_dir().join(format!("fidelity3-{}", std::process::id()));
    std::fs::write(&path, vec![b'f'; 1000]).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (mut tx, mut rx) = UnixStream::pair().unwrap();
    let reader = thread::spawn(move || {
        let mut got = vec![0u8; 1000];
        rx.read_exact(&mut got).unwrap();
    });
    let mut sent = 0;
    while sent < 1000 {
        // SAFETY: two fds this process owns; a null offset uses the file's.
        let n = unsafe {
            libc::sendfile(
                tx.as_raw_fd(),
                file.as_raw_fd(),
                std::ptr::null_mut(),
                1000 - sent,
            )
        };
        sent += check("sendfile", n);
    }
    reader.join().unwrap();
    tx.write_all(b"").unwrap();
}

/// A pipe's (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a live int[2].
    check("pipe", unsafe { libc::pipe(fds.as_mut_ptr()) } as isize);
    // SAFETY: the kernel just gave us these two fds.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Moves exactly `n` bytes from `from` to `to` with splice(2).
fn splice_all(from: &impl AsRawFd, to: &impl AsRawFd, n: usize) {
    let mut moved = 0;
    while moved < n {
        // SAFETY: two fds this process owns, null offsets (pipes, sockets).
        let r = unsafe {
            libc::splice(
                from.as_raw_fd(),
                std::ptr::null_mut(),
                to.as_raw_fd(),
                std::ptr::null_mut(),
                n - moved,
                0,
            )
        };
        moved += check("splice", r);
    }
}

fn splice() {
    let (mut a, b) = UnixStream::pair().unwrap();
    let (c, mut d) = UnixStream::pair().unwrap();
    let (r1, w1) = pipe();
    let (r2, w2) = pipe();
    a.write_all(&[b's'; 500]).unwrap();
    splice_all(&b, &w1, 500); // socket -> pipe
    // SAFETY: two pipe fds this process owns.
    let teed = unsafe { libc::tee(r1.as_raw_fd(), w2.as_raw_fd(), 500, 0) };
    assert_eq!(check("tee", teed), 500, "tee copies what the pipe holds");
    splice_all(&r1, &c, 500); // pipe -> socket
    let mut got = vec![0u8; 500];
    d.read_exact(&mut got).unwrap();
    let mut copy = std::fs::File::from(r2);
    copy.read_exact(&mut got).unwrap();
    drop((w1, w2));
}

fn eventfd() {
    // SAFETY: plain eventfd(2).
    let efd = check("eventfd", unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) }
        as isize);
    // SAFETY: the kernel just gave us this fd.
    let efd = unsafe { OwnedFd::from_raw_fd(efd as i32) };
    let (mut back, mut answer) = UnixStream::pair().unwrap();
    let raw = efd.as_raw_fd();
    let worker = thread::spawn(move || {
        let mut count = 0u64;
        // SAFETY: an 8-byte counter into a live u64.
        let n = unsafe { libc::read(raw, (&mut count as *mut u64).cast(), 8) };
        assert_eq!(check("eventfd read", n), 8);
        back.write_all(b"done").unwrap();
    });
    // Let the worker block in its read first, as a worker pool does.
    thread::sleep(std::time::Duration::from_millis(100));
    let one = 1u64;
    // SAFETY: an 8-byte counter from a live u64.
    let n = unsafe { libc::write(efd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    assert_eq!(check("eventfd write", n), 8);
    let mut done = [0u8; 4];
    answer.read_exact(&mut done).unwrap();
    worker.join().unwrap();
}

fn uring() {
    // struct io_uring_params is 120 bytes; zero asks for the defaults.
    let mut params = [0u8; 120];
    // SAFETY: a live, zeroed io_uring_params.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 4, params.as_mut_ptr()) };
    if fd < 0 {
        // Blocked here (seccomp, io_uring_disabled): the attempt is what
        // bop records.
        println!("io_uring_setup: {}", std::io::Error::last_os_error());
        return;
    }
    // SAFETY: an empty submit on the ring just made.
    let r = unsafe { libc::syscall(libc::SYS_io_uring_enter, fd, 0, 0, 0, 0usize, 0) };
    check("io_uring_enter", r as isize);
    // SAFETY: the ring's fd, ours.
    drop(unsafe { OwnedFd::from_raw_fd(fd as i32) });
    println!("io_uring ok");
}

fn listen(port: &str) {
    let l = TcpListener::bind(format!("127.0.0.1:{port}")).unwrap();
    println!("listening");
    // Never accepts: the connection's server side stays in the backlog.
    loop {
        thread::sleep(std::time::Duration::from_secs(1));
        let _ = &l;
    }
}

fn knock(tcp: &str, udp: &str) {
    let mut s = TcpStream::connect(format!("127.0.0.1:{tcp}")).unwrap();
    s.write_all(b"knock").unwrap();
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.send_to(b"anyone?", format!("127.0.0.1:{udp}")).unwrap();
}
