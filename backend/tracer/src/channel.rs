//! Channel identity from the kernel: which communication object an fd of a
//! tracee refers to, without guessing.
//!
//! * `/proc/PID/fd/N` says `socket:[INODE]`, `pipe:[INODE]`,
//!   `anon_inode:[eventfd]` or a path. Every eventfd shares one anonymous
//!   inode; `/proc/PID/fdinfo/N` gives each its own `eventfd-id`.
//! * For sockets, `pidfd_getfd(2)` copies the tracee's fd into the tracer
//!   (allowed because we are its ptracer), so `getsockname`/`getpeername`
//!   give the exact addresses of this end.
//! * Unix sockets have no peer address; the peer's inode comes from
//!   sock_diag netlink (`UNIX_DIAG_PEER`), queried by inode.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    self, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrLike, SockaddrStorage,
    sockopt,
};

use bop_model::{ChannelKind, Endpoint};

/// What an fd refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum FdTarget {
    /// A socket or a pipe.
    Channel(Endpoint),
    /// A regular file, a tty, an epoll fd...: not recorded.
    Other,
    /// Not open (or the process is gone).
    Closed,
    /// A socket whose identity could not be read this time (e.g. out of
    /// fds): not recorded now, and not cached, so the next call retries.
    Unknown,
}

/// Resolves fds of tracees to endpoints; keeps one pidfd per process.
#[derive(Default)]
pub(super) struct Resolver {
    pidfds: HashMap<i32, OwnedFd>,
    diag: Option<OwnedFd>,
}

impl Resolver {
    /// Forgets a process (its pidfd is closed).
    pub(super) fn forget(&mut self, tgid: i32) {
        self.pidfds.remove(&tgid);
    }

    /// What `fd` of process `tgid` refers to right now.
    pub(super) fn resolve(&mut self, tgid: i32, tid: i32, fd: i32) -> FdTarget {
        match link(tid, fd) {
            Some(l) => self.resolve_link(tgid, tid, fd, &l),
            None => FdTarget::Closed,
        }
    }

    /// What `fd`, whose [`link`] is `link`, refers to.
    pub(super) fn resolve_link(&mut self, tgid: i32, tid: i32, fd: i32, link: &str) -> FdTarget {
        if let Some(ino) = bracketed(link, "pipe:") {
            let id = format!("pipe:{ino}");
            return FdTarget::Channel(Endpoint {
                kind: Some(ChannelKind::Pipe),
                stream: true,
                local: id.clone(),
                peer: Some(id),
                path: None,
            });
        }
        if link == "anon_inode:[eventfd]" {
            return match eventfd_id(tid, fd) {
                Some(id) => FdTarget::Channel(Endpoint {
                    kind: Some(ChannelKind::Eventfd),
                    stream: false,
                    local: format!("eventfd:{id}"),
                    peer: Some(format!("eventfd:{id}")),
                    path: None,
                }),
                None => FdTarget::Other, // a kernel before 5.16: no identity
            };
        }
        let Some(ino) = bracketed(link, "socket:") else {
            return FdTarget::Other;
        };
        match self.socket_endpoint(tgid, tid, fd, ino) {
            Some(ep) => FdTarget::Channel(ep),
            None => FdTarget::Unknown,
        }
    }

    fn socket_endpoint(&mut self, tgid: i32, tid: i32, fd: i32, ino: u64) -> Option<Endpoint> {
        let copy = self
            .copy_fd(tgid, fd)
            .or_else(|| copy_fd_via_thread(tid, fd))?;
        let raw = copy.as_raw_fd();
        let local: SockaddrStorage = socket::getsockname(raw).ok()?;
        let ty = socket::getsockopt(&copy, sockopt::SockType).ok()?;
        let stream = matches!(ty, SockType::Stream | SockType::SeqPacket);
        match local.family() {
            Some(AddressFamily::Inet) | Some(AddressFamily::Inet6) => {
                let kind = match ty {
                    SockType::Stream => ChannelKind::Tcp,
                    SockType::Datagram => ChannelKind::Udp,
                    _ => return None,
                };
                let peer = socket::getpeername::<SockaddrStorage>(raw)
                    .ok()
                    .and_then(|p| inet_addr(&p));
                Some(Endpoint {
                    kind: Some(kind),
                    stream,
                    local: inet_addr(&local)?,
                    peer,
                    path: None,
                })
            }
            Some(AddressFamily::Unix) => {
                let mut path = unix_path(&local);
                if path.is_none() {
                    path = socket::getpeername::<SockaddrStorage>(raw)
                        .ok()
                        .and_then(|p| unix_path(&p));
                }
                let peer = self.unix_peer(ino).map(|p| format!("unix:{p}"));
                Some(Endpoint {
                    kind: Some(ChannelKind::Unix),
                    stream,
                    local: format!("unix:{ino}"),
                    peer,
                    path,
                })
            }
            _ => None,
        }
    }

    /// Duplicates a tracee's fd into the tracer with pidfd_getfd(2).
    fn copy_fd(&mut self, tgid: i32, fd: i32) -> Option<OwnedFd> {
        let pidfd = match self.pidfds.entry(tgid) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                // SAFETY: pidfd_open returns a new fd or -1.
                let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, tgid, 0) };
                if pidfd < 0 {
                    return None;
                }
                // SAFETY: the fd was just returned to us and is owned by nobody else.
                v.insert(unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) })
            }
        }
        .as_raw_fd();
        // SAFETY: pidfd_getfd returns a new fd (owned by us) or -1.
        let copy = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) };
        if copy < 0 {
            return None;
        }
        // SAFETY: as above.
        Some(unsafe { OwnedFd::from_raw_fd(copy as RawFd) })
    }

    /// The inode of the peer of unix socket `ino`, via sock_diag.
    fn unix_peer(&mut self, ino: u64) -> Option<u64> {
        if self.diag.is_none() {
            self.diag = socket::socket(
                AddressFamily::Netlink,
                SockType::Datagram,
                SockFlag::SOCK_CLOEXEC,
                SockProtocol::NetlinkSockDiag,
            )
            .ok();
        }
        let diag = self.diag.as_ref()?.as_raw_fd();
        socket::send(diag, &unix_diag_request(ino as u32), MsgFlags::empty()).ok()?;
        let mut buf = [0u8; 8192];
        let n = socket::recv(diag, &mut buf, MsgFlags::empty()).ok()?;
        // Inode 0 is a connection the listener has not accepted yet: its
        // socket has no inode until accept(2) grafts one, so it names
        // nothing and must never be taken (or cached) as the peer.
        parse_unix_diag_peer(&buf[..n]).filter(|&peer| peer != 0)
    }
}

/// The identity of the open file behind `fd` of thread `tid` now, as
/// `/proc/TID/fd/N` links it (`socket:[INODE]`, `pipe:[INODE]`, a path):
/// an fd whose link is unchanged still refers to the same object. `None`
/// when it is not open. Read through the thread: /proc/TGID/fd is gone
/// once the main thread has exited while other threads still run.
pub(super) fn link(tid: i32, fd: i32) -> Option<String> {
    if fd < 0 {
        return None;
    }
    fs::read_link(format!("/proc/{tid}/fd/{fd}"))
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

/// pidfd_getfd through a pidfd of the thread itself (`PIDFD_THREAD`,
/// Linux 6.9+), for processes whose main thread has exited.
fn copy_fd_via_thread(tid: i32, fd: i32) -> Option<OwnedFd> {
    const PIDFD_THREAD: libc::c_int = libc::O_EXCL;
    // SAFETY: pidfd_open returns a new fd or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, tid, PIDFD_THREAD) };
    if pidfd < 0 {
        return None;
    }
    // SAFETY: a fresh fd nobody else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
    // SAFETY: pidfd_getfd returns a new fd (owned by us) or -1.
    let copy = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    // SAFETY: as above.
    (copy >= 0).then(|| unsafe { OwnedFd::from_raw_fd(copy as RawFd) })
}

fn bracketed(link: &str, prefix: &str) -> Option<u64> {
    link.strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// `ip:port` or `[ip6]:port` (SockaddrStorage's own Display does not
/// dispatch on the family). An IPv4-mapped IPv6 address is written in its
/// IPv4 form (see `memory::inet6`).
fn inet_addr(addr: &SockaddrStorage) -> Option<String> {
    if let Some(a) = addr.as_sockaddr_in() {
        return Some(a.to_string());
    }
    addr.as_sockaddr_in6()
        .map(|a| super::memory::inet6(a.ip().octets(), a.port()))
}

fn unix_path(addr: &SockaddrStorage) -> Option<String> {
    let unix = addr.as_unix_addr()?;
    if let Some(p) = unix.path() {
        return Some(p.display().to_string());
    }
    unix.as_abstract()
        .map(|a| format!("@{}", String::from_utf8_lossy(a)))
}

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const UDIAG_SHOW_PEER: u32 = 0x4;
const UNIX_DIAG_PEER: u16 = 2;

/// nlmsghdr + unix_diag_req asking for one socket by inode (exact lookup;
/// the all-ones cookie means "no cookie check").
fn unix_diag_request(ino: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(40);
    m.extend_from_slice(&40u32.to_ne_bytes()); // nlmsg_len
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // pid
    m.push(libc::AF_UNIX as u8); // sdiag_family
    m.push(0); // sdiag_protocol
    m.extend_from_slice(&0u16.to_ne_bytes()); // pad
    m.extend_from_slice(&u32::MAX.to_ne_bytes()); // udiag_states: all
    m.extend_from_slice(&ino.to_ne_bytes());
    m.extend_from_slice(&UDIAG_SHOW_PEER.to_ne_bytes());
    m.extend_from_slice(&u32::MAX.to_ne_bytes());
    m.extend_from_slice(&u32::MAX.to_ne_bytes());
    m
}

/// Finds the UNIX_DIAG_PEER attribute in a sock_diag answer.
fn parse_unix_diag_peer(buf: &[u8]) -> Option<u64> {
    let u16_at = |i: usize| buf.get(i..i + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let u32_at = |i: usize| {
        buf.get(i..i + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let len = u32_at(0)? as usize;
    if u16_at(4)? == NLMSG_ERROR || len > buf.len() {
        return None;
    }
    // nlmsghdr (16) + unix_diag_msg (16), then rtattrs aligned to 4.
    let mut at = 32;
    while at + 4 <= len {
        let alen = u16_at(at)? as usize;
        let atype = u16_at(at + 2)?;
        if alen < 4 {
            return None;
        }
        if atype == UNIX_DIAG_PEER {
            return u32_at(at + 4).map(u64::from);
        }
        at += (alen + 3) & !3;
    }
    None
}

/// The kernel's id of an eventfd (`eventfd-id:` in fdinfo, Linux 5.16+).
fn eventfd_id(tid: i32, fd: i32) -> Option<u64> {
    let info = fs::read_to_string(format!("/proc/{tid}/fdinfo/{fd}")).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("eventfd-id:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn resolves_our_own_socketpair_and_pipe() {
        let (a, b) = UnixStream::pair().unwrap();
        let me = std::process::id() as i32;
        let mut r = Resolver::default();
        let FdTarget::Channel(ea) = r.resolve(me, me, a.as_raw_fd()) else {
            panic!("not a channel")
        };
        let FdTarget::Channel(eb) = r.resolve(me, me, b.as_raw_fd()) else {
            panic!("not a channel")
        };
        assert_eq!(ea.kind, Some(ChannelKind::Unix));
        assert_eq!(ea.peer.as_deref(), Some(eb.local.as_str()), "{ea:?} {eb:?}");
        assert_eq!(eb.peer.as_deref(), Some(ea.local.as_str()));
        let (rd, wr) = nix::unistd::pipe().unwrap();
        let FdTarget::Channel(p) = r.resolve(me, me, rd.as_raw_fd()) else {
            panic!()
        };
        assert_eq!(
            r.resolve(me, me, wr.as_raw_fd()),
            FdTarget::Channel(p.clone())
        );
        assert_eq!(p.kind, Some(ChannelKind::Pipe));
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(r.resolve(me, me, f.as_raw_fd()), FdTarget::Other);
        assert_eq!(r.resolve(me, me, 9999), FdTarget::Closed);
    }

    #[test]
    fn each_eventfd_has_its_own_identity() {
        let me = std::process::id() as i32;
        let mut r = Resolver::default();
        let open = || unsafe { OwnedFd::from_raw_fd(libc::eventfd(0, libc::EFD_CLOEXEC)) };
        let (a, b) = (open(), open());
        let (FdTarget::Channel(ea), FdTarget::Channel(eb)) = (
            r.resolve(me, me, a.as_raw_fd()),
            r.resolve(me, me, b.as_raw_fd()),
        ) else {
            panic!("an eventfd is a channel")
        };
        assert_eq!(ea.kind, Some(ChannelKind::Eventfd));
        assert!(ea.local.starts_with("eventfd:") && ea.peer.as_ref() == Some(&ea.local));
        assert_ne!(ea.local, eb.local);
    }

    #[test]
    fn tcp_ends_mirror_each_other() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let me = std::process::id() as i32;
        let mut r = Resolver::default();
        let FdTarget::Channel(ec) = r.resolve(me, me, c.as_raw_fd()) else {
            panic!()
        };
        let FdTarget::Channel(es) = r.resolve(me, me, s.as_raw_fd()) else {
            panic!()
        };
        assert_eq!(ec.kind, Some(ChannelKind::Tcp));
        assert_eq!(es.local, l.local_addr().unwrap().to_string());
        assert_eq!(ec.local, c.local_addr().unwrap().to_string());
        assert_ne!(ec.local, es.local);
        assert_eq!(ec.local, es.peer.clone().unwrap());
        assert_eq!(es.local, ec.peer.clone().unwrap());
    }
}
