//! Roles of the fastpath guest for the calls that carry a peer address or
//! a `msghdr`: `sendto`/`recvfrom` with addresses, `sendmsg`/`recvmsg`
//! with several iovecs, a name, and (taking the ptrace path) a control
//! message. Each is a ping-pong whose receiver is bound before the sender
//! starts, so its causal graph is the same in every run.

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::exit;

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrStorage, recvmsg, sendmsg,
};

use super::{fork, wait};

/// A UDP socket that is not bound yet: its first send binds it, which the
/// tracer sees as a `:0` end at entry.
fn unbound_udp() -> UdpSocket {
    // SAFETY: a plain socket(2); the UdpSocket owns the new fd.
    #[allow(unsafe_code)]
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        UdpSocket::from_raw_fd(fd)
    }
}

fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(a) => panic!("not IPv4: {a}"),
    }
}

/// udp-addr K: K datagrams from an unbound socket with `sendto` to a
/// bound one, each echoed back to the address `recvfrom` gave; then one
/// datagram longer than the receiver's buffer (peeked, then truncated).
pub(crate) fn udp_addr(k: u64) {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    match fork() {
        0 => {
            let mut buf = [0u8; 64];
            for _ in 0..k {
                let (n, from) = rx.recv_from(&mut buf).unwrap();
                rx.send_to(&buf[..n], from).unwrap();
            }
            let mut small = [0u8; 4];
            let (peeked, _) = rx.peek_from(&mut small).unwrap();
            let (n, from) = rx.recv_from(&mut small).unwrap();
            assert_eq!((peeked, n), (4, 4), "a datagram is cut at the buffer");
            rx.send_to(b"ok", from).unwrap();
            exit(0);
        }
        child => {
            drop(rx);
            let tx = unbound_udp();
            let mut buf = [0u8; 64];
            for i in 0..k {
                tx.send_to(&[b'a' + (i % 26) as u8; 12], to).unwrap();
                let (n, from) = tx.recv_from(&mut buf).unwrap();
                assert_eq!((n, from), (12, to));
            }
            tx.send_to(&[b'z'; 32], to).unwrap();
            assert_eq!(tx.recv_from(&mut buf).unwrap(), (2, to));
            exit(wait(child));
        }
    }
}

/// sendmsg of `parts`, to `to` if given; returns what it sent.
fn send_parts(fd: RawFd, parts: &[&[u8]], to: Option<SocketAddrV4>) -> usize {
    let iov: Vec<IoSlice> = parts.iter().map(|p| IoSlice::new(p)).collect();
    let to = to.map(SockaddrIn::from);
    sendmsg(fd, &iov, &[], MsgFlags::empty(), to.as_ref()).unwrap()
}

/// recvmsg into buffers of `sizes`; returns the bytes and the source.
fn recv_parts(fd: RawFd, sizes: &[usize]) -> (Vec<u8>, Option<SockaddrStorage>) {
    let mut bufs: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![0u8; n]).collect();
    let mut iov: Vec<IoSliceMut> = bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
    let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, None, MsgFlags::empty()).unwrap();
    let (n, from) = (msg.bytes, msg.address);
    let all: Vec<u8> = bufs.concat();
    (all[..n].to_vec(), from)
}

/// msg-udp K: the udp-addr ping-pong with sendmsg/recvmsg, three iovecs
/// each way and the address in `msg_name`.
pub(crate) fn msg_udp(k: u64) {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = v4(rx.local_addr().unwrap());
    match fork() {
        0 => {
            for _ in 0..k {
                let (got, from) = recv_parts(rx.as_raw_fd(), &[2, 3, 64]);
                let from = from.and_then(|f| f.as_sockaddr_in().map(|a| SocketAddrV4::from(*a)));
                let (a, b) = got.split_at(got.len() / 2);
                send_parts(rx.as_raw_fd(), &[b, a], from);
            }
            exit(0);
        }
        child => {
            drop(rx);
            let tx = unbound_udp();
            for i in 0..k {
                let body = [b'a' + (i % 26) as u8; 7];
                assert_eq!(
                    send_parts(tx.as_raw_fd(), &[b"<", &body, b">"], Some(to)),
                    9
                );
                let (got, from) = recv_parts(tx.as_raw_fd(), &[4, 4, 4]);
                assert_eq!(got.len(), 9);
                let from = from.and_then(|f| f.as_sockaddr_in().map(|a| SocketAddrV4::from(*a)));
                assert_eq!(from, Some(to));
            }
            exit(wait(child));
        }
    }
}

/// msg-stream K: sendmsg/recvmsg of several iovecs on a socketpair, each
/// 12-byte message read in two partial recvmsgs (8 bytes over two
/// iovecs, then 4); then an fd passed with `SCM_RIGHTS` (a control
/// message: the ptrace path), whose receiver writes to it once.
pub(crate) fn msg_stream(k: u64) {
    let (a, b) = UnixStream::pair().unwrap();
    match fork() {
        0 => {
            drop(a);
            for _ in 0..k {
                let (first, _) = recv_parts(b.as_raw_fd(), &[5, 3]);
                let (rest, _) = recv_parts(b.as_raw_fd(), &[4]);
                assert_eq!((first.len(), rest.len()), (8, 4), "partial reads");
                send_parts(b.as_raw_fd(), &[&first[..1]], None);
            }
            let mut byte = [0u8; 1];
            let mut iov = [IoSliceMut::new(&mut byte)];
            let mut space = nix::cmsg_space!([RawFd; 1]);
            let msg = recvmsg::<()>(b.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty())
                .unwrap();
            let fds: Vec<RawFd> = msg
                .cmsgs()
                .unwrap()
                .filter_map(|c| match c {
                    ControlMessageOwned::ScmRights(fds) => Some(fds),
                    _ => None,
                })
                .flatten()
                .collect();
            assert_eq!(fds.len(), 1, "one fd passed");
            // SAFETY: the fd just received is this process's to own.
            #[allow(unsafe_code)]
            let passed = unsafe { UnixStream::from_raw_fd(fds[0]) };
            send_parts(passed.as_raw_fd(), &[b"via", b" passed fd"], None);
            exit(0);
        }
        child => {
            drop(b);
            for i in 0..k {
                let tag = [b'0' + (i % 10) as u8];
                assert_eq!(
                    send_parts(a.as_raw_fd(), &[&tag, b"-iov", b"-parts!"], None),
                    12
                );
                let (ack, _) = recv_parts(a.as_raw_fd(), &[1]);
                assert_eq!(ack, tag);
            }
            let (mine, theirs) = UnixStream::pair().unwrap();
            let fds = [theirs.as_raw_fd()];
            let rights = [ControlMessage::ScmRights(&fds)];
            let iov = [IoSlice::new(b"F")];
            sendmsg::<()>(a.as_raw_fd(), &iov, &rights, MsgFlags::empty(), None).unwrap();
            drop(theirs);
            let (got, _) = recv_parts(mine.as_raw_fd(), &[64]);
            assert_eq!(got, b"via passed fd");
            exit(wait(child));
        }
    }
}
