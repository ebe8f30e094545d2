//! A tracee's memory as the traced calls lay it out: the structs their
//! pointer arguments point at (`sockaddr`, `iovec`, `msghdr`, `mmsghdr`,
//! `siginfo_t`), read with [`ptrace::read_memory`].
//!
//! Every read may come back short or empty: a bad pointer is the traced
//! program's own mistake (the call fails with EFAULT, see `connect(2)`), and a
//! call the fault injector skips never had its pointers checked by the kernel.
//! So nothing here indexes bytes it has not checked, fixed-size reads are
//! `Option`s that are `None` unless complete, address arithmetic is checked,
//! and sums of tracee-supplied lengths saturate.

use super::ptrace::{self, Pid};

/// Size of `struct mmsghdr` on x86_64: a 56-byte `msghdr`, the `u32`
/// `msg_len` the kernel fills in, and padding.
const MMSGHDR_SIZE: u64 = 64;
/// Offset of `msg_len` in `struct mmsghdr`.
const MMSG_LEN_AT: u64 = 56;
/// Offset of `msg_iov` in `struct msghdr` (after `msg_name`, `msg_namelen`).
const MSG_IOV_AT: u64 = 16;
/// Offset of `si_pid` in `siginfo_t` (after `si_signo`, `si_errno`,
/// `si_code` and padding).
const SI_PID_AT: u64 = 16;
/// The kernel's UIO_MAXIOV: no call takes more iovecs or mmsghdrs, so no
/// read here is larger whatever count the tracee passed.
const MAX_VECTOR: u64 = 1024;
/// A `sockaddr` is at most `sockaddr_storage`'s 128 bytes.
const MAX_SOCKADDR: usize = 128;

/// Where a signal frame's saved general registers start: `rt_sigreturn(2)`
/// finds `struct ucontext` at the stack pointer it is entered with (the
/// handler's `ret` popped the frame's return address; see the kernel's
/// `arch/x86/kernel/signal_64.c`), and the registers are `uc_mcontext`'s
/// `gregs`, which glibc lays out as the kernel's `struct sigcontext`.
const SAVED_GREGS_AT: u64 = (std::mem::offset_of!(libc::ucontext_t, uc_mcontext)
    + std::mem::offset_of!(libc::mcontext_t, gregs)) as u64;

/// The registers of a signal frame that say what the interrupted code
/// resumes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SavedRegs {
    /// rax: an interrupted call's result (`-EINTR`), or its number again
    /// when the kernel rewound it to be restarted.
    pub(crate) rax: u64,
    /// rip: where the interrupted code resumes.
    pub(crate) rip: u64,
}

/// The address space of one traced thread.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Memory(Pid);

/// The fields of a `struct msghdr` the tracer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MsgHdr {
    /// `msg_name`: the peer address (may be null).
    pub(crate) name: u64,
    /// `msg_namelen` (a `socklen_t`).
    pub(crate) namelen: u32,
    /// `msg_iov`.
    pub(crate) iov: u64,
    /// `msg_iovlen`.
    pub(crate) iovlen: u64,
}

impl Memory {
    /// The memory of thread `tid`.
    pub(crate) fn of(tid: i32) -> Memory {
        Memory(Pid::from_raw(tid))
    }

    /// Up to `len` bytes at `addr`: short or empty where unmapped.
    pub(crate) fn bytes(&self, addr: u64, len: usize) -> Vec<u8> {
        ptrace::read_memory(self.0, addr, len)
    }

    /// `N` consecutive `u64`s, or `None` unless all could be read.
    pub(crate) fn u64s<const N: usize>(&self, addr: u64) -> Option<[u64; N]> {
        let raw = self.bytes(addr, 8 * N);
        let mut out = [0u64; N];
        for (slot, chunk) in out.iter_mut().zip(raw.chunks_exact(8)) {
            *slot = u64::from_ne_bytes(chunk.try_into().ok()?);
        }
        (raw.len() == 8 * N).then_some(out)
    }

    /// `N` consecutive `i32`s, or `None` unless all could be read.
    pub(crate) fn i32s<const N: usize>(&self, addr: u64) -> Option<[i32; N]> {
        let raw = self.bytes(addr, 4 * N);
        let mut out = [0i32; N];
        for (slot, chunk) in out.iter_mut().zip(raw.chunks_exact(4)) {
            *slot = i32::from_ne_bytes(chunk.try_into().ok()?);
        }
        (raw.len() == 4 * N).then_some(out)
    }

    /// The `struct sockaddr` of `len` bytes at `addr`, as bop writes
    /// addresses (`ip:port`, `[ip6]:port`, a unix path or `@abstract`).
    /// `None` for a null or unreadable pointer and for other families.
    pub(crate) fn sockaddr(&self, addr: u64, len: usize) -> Option<String> {
        if addr == 0 || len < 2 {
            return None;
        }
        decode_sockaddr(&self.bytes(addr, len.min(MAX_SOCKADDR)))
    }

    /// The `struct sockaddr` at `addr` whose length is the `socklen_t` at
    /// `len_at` (what recvfrom(2) and accept(2) write back).
    pub(crate) fn sockaddr_with_len_at(&self, addr: u64, len_at: u64) -> Option<String> {
        let [len] = self.i32s::<1>(len_at)?;
        self.sockaddr(addr, usize::try_from(len).ok()?)
    }

    /// The `struct msghdr` at `addr`.
    pub(crate) fn msghdr(&self, addr: u64) -> Option<MsgHdr> {
        let [name, namelen, iov, iovlen] = self.u64s::<4>(addr)?;
        Some(MsgHdr {
            name,
            // socklen_t is 32 bits; the word's upper half is padding.
            namelen: namelen as u32,
            iov,
            iovlen,
        })
    }

    /// The peer address a `msghdr` names (sendmsg's destination, the
    /// source recvmsg filled in).
    pub(crate) fn msghdr_name(&self, addr: u64) -> Option<String> {
        let hdr = self.msghdr(addr)?;
        self.sockaddr(hdr.name, hdr.namelen as usize)
    }

    /// The first `struct iovec` of an array: (base, length).
    pub(crate) fn first_iovec(&self, iov: u64) -> Option<(u64, u64)> {
        let [base, len] = self.u64s::<2>(iov)?;
        Some((base, len))
    }

    /// The total length of `count` iovecs at `iov` (what a vectored call
    /// asked to move); unreadable iovecs count as empty.
    pub(crate) fn iovec_total(&self, iov: u64, count: u64) -> u64 {
        let n = count.min(MAX_VECTOR) as usize;
        self.bytes(iov, 16 * n)
            .chunks_exact(16)
            .filter_map(|v| v.get(8..16)?.try_into().ok().map(u64::from_ne_bytes))
            .fold(0, u64::saturating_add)
    }

    /// The total length of the iovecs of the `msghdr` at `addr`.
    pub(crate) fn msghdr_total(&self, addr: u64) -> u64 {
        self.msghdr(addr)
            .map_or(0, |h| self.iovec_total(h.iov, h.iovlen))
    }

    /// The `msg_len` of the first `n` mmsghdrs at `vec` (what sendmmsg and
    /// recvmmsg report per datagram).
    pub(crate) fn mmsg_lens(&self, vec: u64, n: u64) -> Vec<u64> {
        let n = n.min(MAX_VECTOR);
        self.bytes(vec, (MMSGHDR_SIZE * n) as usize)
            .chunks_exact(MMSGHDR_SIZE as usize)
            .filter_map(|m| {
                let at = MMSG_LEN_AT as usize;
                m.get(at..at + 4)?.try_into().ok().map(u32::from_ne_bytes)
            })
            .map(u64::from)
            .collect()
    }

    /// Fills in each of the `vlen` mmsghdrs at `vec` as if its datagram had
    /// been sent whole (msg_len = its iovecs' total), for a dropped
    /// sendmmsg. Returns how many mmsghdrs that is (what sendmmsg returns).
    pub(crate) fn fill_mmsg_lens(&self, vec: u64, vlen: u64) -> u64 {
        let vlen = vlen.min(MAX_VECTOR);
        for k in 0..vlen {
            let Some(hdr) = vec.checked_add(MMSGHDR_SIZE * k) else {
                break;
            };
            let Some(iov) = hdr.checked_add(MSG_IOV_AT) else {
                break;
            };
            if let (Some([iov, n]), Some(len_at)) =
                (self.u64s::<2>(iov), hdr.checked_add(MMSG_LEN_AT))
            {
                let len = self.iovec_total(iov, n) as u32;
                ptrace::write_memory(self.0, len_at, &len.to_ne_bytes());
            }
        }
        vlen
    }

    /// The registers `rt_sigreturn(2)` entered with stack pointer `sp`
    /// restores (see [`SAVED_GREGS_AT`]).
    pub(crate) fn sigreturn_regs(&self, sp: u64) -> Option<SavedRegs> {
        let rax = sp.checked_add(SAVED_GREGS_AT + 8 * libc::REG_RAX as u64)?;
        let rip = sp.checked_add(SAVED_GREGS_AT + 8 * libc::REG_RIP as u64)?;
        let ([rax], [rip]) = (self.u64s::<1>(rax)?, self.u64s::<1>(rip)?);
        Some(SavedRegs { rax, rip })
    }

    /// The pid a successful waitid(2) wrote into the `siginfo_t` at `info`.
    pub(crate) fn siginfo_pid(&self, info: u64) -> Option<i32> {
        let [pid] = self.i32s::<1>(info.checked_add(SI_PID_AT)?)?;
        (pid > 0).then_some(pid)
    }
}

/// `[ip6]:port`, or `ip4:port` for an IPv4-mapped address
/// (`::ffff:a.b.c.d`). A dual-stack server (an `AF_INET6` socket with
/// `IPV6_V6ONLY=0`) sees its IPv4 clients through mapped addresses while
/// the clients see plain IPv4 ones; both name the same IPv4 endpoint on the
/// wire, so writing one form lets the two ends of a connection (and a
/// datagram's source and destination) match.
pub(crate) fn inet6(ip: [u8; 16], port: u16) -> String {
    let ip = std::net::Ipv6Addr::from(ip);
    match ip.to_ipv4_mapped() {
        Some(v4) => format!("{v4}:{port}"),
        None => format!("[{ip}]:{port}"),
    }
}

/// Decodes the bytes of a `struct sockaddr` (possibly short).
pub(crate) fn decode_sockaddr(raw: &[u8]) -> Option<String> {
    let family = i32::from(u16::from_ne_bytes([*raw.first()?, *raw.get(1)?]));
    let port = || raw.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]]));
    match family {
        libc::AF_INET => {
            let ip: [u8; 4] = raw.get(4..8)?.try_into().ok()?;
            Some(format!("{}:{}", std::net::Ipv4Addr::from(ip), port()?))
        }
        libc::AF_INET6 => {
            let ip: [u8; 16] = raw.get(8..24)?.try_into().ok()?;
            Some(inet6(ip, port()?))
        }
        libc::AF_UNIX => {
            let path = raw.get(2..)?;
            if let Some(abstract_name) = path.strip_prefix(&[0]) {
                return Some(format!("@{}", String::from_utf8_lossy(abstract_name)));
            }
            let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
            Some(String::from_utf8_lossy(&path[..end]).into_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(port: u16, ip: [u8; 4]) -> Vec<u8> {
        let mut b = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        b.extend_from_slice(&port.to_be_bytes());
        b.extend_from_slice(&ip);
        b.extend_from_slice(&[0; 8]);
        b
    }

    #[test]
    fn sockaddrs_decode_and_short_ones_are_none() {
        assert_eq!(
            decode_sockaddr(&inet(8080, [127, 0, 0, 1])).as_deref(),
            Some("127.0.0.1:8080")
        );
        let mut v6 = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        v6.extend_from_slice(&7u16.to_be_bytes());
        v6.extend_from_slice(&[0; 4]);
        v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        assert_eq!(decode_sockaddr(&v6).as_deref(), Some("[::1]:7"));
        let mapped = std::net::Ipv4Addr::LOCALHOST.to_ipv6_mapped().octets();
        assert_eq!(inet6(mapped, 9), "127.0.0.1:9", "mapped: the IPv4 form");
        let mut unix = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        unix.extend_from_slice(b"/tmp/s\0junk");
        assert_eq!(decode_sockaddr(&unix).as_deref(), Some("/tmp/s"));
        let mut abs = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        abs.extend_from_slice(b"\0name");
        assert_eq!(decode_sockaddr(&abs).as_deref(), Some("@name"));
        // What a failed or partial read of tracee memory gives.
        for short in [&[][..], &[2][..], &inet(80, [1, 2, 3, 4])[..7], &v6[..20]] {
            assert_eq!(decode_sockaddr(short), None, "{short:?}");
        }
    }

    #[test]
    fn bad_pointers_read_as_nothing() {
        let me = Memory::of(std::process::id() as i32);
        for bad in [0x10, u64::MAX - 7, u64::MAX] {
            assert_eq!(me.sockaddr(bad, 16), None);
            assert_eq!(me.sockaddr_with_len_at(bad, bad), None);
            assert_eq!(me.msghdr(bad), None);
            assert_eq!(me.first_iovec(bad), None);
            assert_eq!(me.iovec_total(bad, u64::MAX), 0);
            assert_eq!(me.msghdr_total(bad), 0);
            assert!(me.mmsg_lens(bad, u64::MAX).is_empty());
            assert_eq!(me.fill_mmsg_lens(bad, 3), 3);
            assert_eq!(me.siginfo_pid(bad), None);
            assert_eq!(me.sigreturn_regs(bad), None);
        }
    }

    #[test]
    fn reads_of_our_own_memory() {
        let me = Memory::of(std::process::id() as i32);
        let addr = inet(443, [10, 0, 0, 1]);
        let data = [7u8; 5];
        let iov = [data.as_ptr() as u64, 5, data.as_ptr() as u64, u64::MAX];
        assert_eq!(
            me.sockaddr(addr.as_ptr() as u64, addr.len()).as_deref(),
            Some("10.0.0.1:443")
        );
        let len = [addr.len() as i32];
        assert_eq!(
            me.sockaddr_with_len_at(addr.as_ptr() as u64, len.as_ptr() as u64)
                .as_deref(),
            Some("10.0.0.1:443")
        );
        assert_eq!(me.first_iovec(iov.as_ptr() as u64), Some((iov[0], 5)));
        assert_eq!(me.iovec_total(iov.as_ptr() as u64, 1), 5);
        assert_eq!(
            me.iovec_total(iov.as_ptr() as u64, 2),
            u64::MAX,
            "saturates"
        );
        let hdr = [
            addr.as_ptr() as u64,
            addr.len() as u64,
            iov.as_ptr() as u64,
            1,
        ];
        assert_eq!(me.msghdr_total(hdr.as_ptr() as u64), 5);
        assert_eq!(
            me.msghdr_name(hdr.as_ptr() as u64).as_deref(),
            Some("10.0.0.1:443")
        );
        assert_eq!(me.bytes(data.as_ptr() as u64, 3), vec![7, 7, 7]);
        // A signal frame as rt_sigreturn finds it at its stack pointer.
        let mut frame = [0u64; 64];
        let gregs = (SAVED_GREGS_AT / 8) as usize;
        frame[gregs + libc::REG_RAX as usize] = (-4i64) as u64;
        frame[gregs + libc::REG_RIP as usize] = 0x1002;
        assert_eq!(
            me.sigreturn_regs(frame.as_ptr() as u64),
            Some(SavedRegs {
                rax: (-4i64) as u64,
                rip: 0x1002
            })
        );
    }
}
