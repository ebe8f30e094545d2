//! Guests for the tracer's fidelity on patterns real systems use (issue
//! 13): each role is one pattern, with a fixed amount of communication so
//! tests can assert on exact events. Roles that need a peer process
//! re-execute this binary.
//!
//! Usage: fidelity ROLE [ARGS...]
#![allow(missing_docs)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, exit};
use std::time::Duration;

use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn6, bind, listen, setsockopt, socket,
    sockopt,
};

fn me() -> std::path::PathBuf {
    std::env::current_exe().expect("current_exe")
}

fn main() {
    let role = std::env::args().nth(1).unwrap_or_default();
    let arg = |n: usize| std::env::args().nth(n).unwrap_or_default();
    match role.as_str() {
        // unix-late: a unix stream server that sleeps between listen and
        // accept, so its client's connect returns and the client sends
        // before the connection is accepted; one request, one reply.
        "unix-late" => {
            let path = std::env::temp_dir().join(format!("bop-late-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path).unwrap();
            let mut client = Command::new(me())
                .args(["unix-late-client", path.to_str().unwrap()])
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(300));
            let (mut conn, _) = listener.accept().unwrap();
            let mut req = [0u8; 5];
            conn.read_exact(&mut req).unwrap();
            conn.write_all(b"world!").unwrap();
            let status = client.wait().unwrap();
            let _ = std::fs::remove_file(&path);
            exit(status.code().unwrap_or(1));
        }
        "unix-late-client" => {
            let mut s = UnixStream::connect(arg(2)).unwrap();
            s.write_all(b"hello").unwrap();
            let mut reply = [0u8; 6];
            s.read_exact(&mut reply).unwrap();
        }
        // dual-stack: a server on an AF_INET6 socket that takes IPv4 too
        // (IPV6_V6ONLY off, as every Java server has it) and an IPv4
        // client; one request, one reply.
        "dual-stack" => {
            let listener = dual_stack_listener();
            let port = listener.local_addr().unwrap().port();
            let mut client = Command::new(me())
                .args(["dual-stack-client", &port.to_string()])
                .spawn()
                .unwrap();
            let (mut conn, from) = listener.accept().unwrap();
            assert!(
                matches!(from, SocketAddr::V6(_)),
                "a mapped address: {from}"
            );
            let mut req = [0u8; 5];
            conn.read_exact(&mut req).unwrap();
            conn.write_all(b"world!").unwrap();
            let status = client.wait().unwrap();
            exit(status.code().unwrap_or(1));
        }
        "dual-stack-client" => {
            let port: u16 = arg(2).parse().unwrap();
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(b"hello").unwrap();
            let mut reply = [0u8; 6];
            s.read_exact(&mut reply).unwrap();
        }
        other => {
            eprintln!("fidelity: unknown role {other:?}");
            exit(2);
        }
    }
}

/// `[::]:0`, listening, with IPV6_V6ONLY off whatever the sysctl says.
fn dual_stack_listener() -> TcpListener {
    let fd = socket(
        AddressFamily::Inet6,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    setsockopt(&fd, sockopt::Ipv6V6Only, &false).unwrap();
    let any = SockaddrIn6::from(std::net::SocketAddrV6::new(
        std::net::Ipv6Addr::UNSPECIFIED,
        0,
        0,
        0,
    ));
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &any).unwrap();
    listen(&fd, Backlog::new(8).unwrap()).unwrap();
    TcpListener::from(fd)
}
