//! Each traced call's arguments, decoded once at its seccomp stop (the idea
//! of reverie-syscalls): from the syscall number, the six argument
//! registers and the call's role in [`bop_model::CALLS`], into a
//! [`Decoded`] value. Everything after this boundary handles typed fields
//! and never looks at call names or raw registers again.
//!
//! A new call goes here: its number in `syscall`'s table, its role in the
//! model, and an arm in the `decode_*` function of that role (a new role is
//! a new arm of [`decode`], which the compiler asks for). Numbers are the
//! x86_64 ones, like the table's.
//!
//! Only addresses the tracer records at entry are read from tracee memory
//! here (connect/bind/sendto/sendmsg); pointers the kernel fills in are
//! kept and read at the call's return.

use bop_model::CallKind;

use super::memory::Memory;

/// A traced call's arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// socket: the new fd is the return value.
    Socket,
    /// eventfd, eventfd2: the new fd is the return value.
    Eventfd,
    /// socketpair, pipe, pipe2: the kernel writes two fds at `fds`.
    FdPair {
        /// Address of the `int[2]`.
        fds: u64,
    },
    /// bind.
    Bind {
        /// The socket.
        fd: i32,
        /// The address asked for (`None`: null or unreadable).
        addr: Option<String>,
    },
    /// connect.
    Connect {
        /// The socket.
        fd: i32,
        /// The address connected to (`None`: null or unreadable).
        addr: Option<String>,
    },
    /// listen.
    Listen {
        /// The socket.
        fd: i32,
    },
    /// accept, accept4: the new fd is the return value.
    Accept {
        /// The listening socket.
        fd: i32,
    },
    /// The write and send families.
    Send {
        /// Where the bytes go.
        fd: i32,
        /// The bytes.
        buf: Buffer,
        /// `MSG_*` flags (0 for the write family).
        flags: i32,
        /// sendto/sendmsg: the destination address, if one is given.
        dest: Option<String>,
    },
    /// The read and recv families.
    Recv {
        /// Where the bytes come from.
        fd: i32,
        /// Where they are written.
        buf: Buffer,
        /// `MSG_*` flags (0 for the read family): with `MSG_PEEK` the bytes
        /// stay in the channel, with `MSG_TRUNC` the return may exceed them.
        flags: i32,
        /// Where recvfrom/recvmsg write the source address.
        from: Source,
    },
    /// sendfile, splice, tee, copy_file_range: bytes from `input` to
    /// `output` inside the kernel.
    Transfer {
        /// Where the bytes come from.
        input: i32,
        /// Where they go.
        output: i32,
        /// How many bytes were asked for (a dropped transfer reports them).
        len: u64,
        /// tee: the bytes stay in `input` (like `MSG_PEEK`).
        peek: bool,
    },
    /// io_uring_setup, io_uring_enter: I/O bop cannot see.
    Unseen,
    /// shutdown.
    Shutdown {
        /// The socket.
        fd: i32,
        /// Which direction.
        how: Shut,
    },
    /// close.
    Close {
        /// The fd closed.
        fd: i32,
    },
    /// dup, dup2, dup3, fcntl(F_DUPFD / F_DUPFD_CLOEXEC).
    Dup {
        /// The fd copied.
        fd: i32,
        /// Which fd the copy gets.
        new: NewFd,
    },
    /// fork, vfork, clone, clone3: the child is reported by a ptrace event.
    Spawn,
    /// execve, execveat: the program is read from /proc at the exec event.
    Exec,
    /// exit, exit_group: never return (the exit report has the status).
    Exit,
    /// wait4, waitid.
    Wait {
        /// Where the reaped pid is found.
        reaped: Reaped,
    },
    /// poll & co and restart_syscall: where a thread blocks.
    Block,
    /// close_range: not recorded; forgets the cached fds in the range.
    CloseRange {
        /// The first fd closed.
        first: u32,
        /// The last fd closed.
        last: u32,
    },
    /// rt_sigreturn: not recorded (see `session::restart`).
    SigReturn,
    /// A call of a traced number whose arguments make it irrelevant
    /// (fcntl commands other than F_DUPFD*): not followed.
    Ignored,
}

/// The bytes of a data call, as its arguments lay them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Buffer {
    /// One buffer (read, write, pread64, pwrite64, sendto, recvfrom).
    Flat {
        /// Its address.
        addr: u64,
        /// Its length.
        len: u64,
    },
    /// An iovec array (readv, writev).
    Vector {
        /// The array.
        iov: u64,
        /// How many iovecs.
        count: u64,
    },
    /// A `struct msghdr` (sendmsg, recvmsg).
    Msg {
        /// Its address.
        hdr: u64,
    },
    /// An array of `struct mmsghdr` (sendmmsg, recvmmsg).
    Mmsg {
        /// The array.
        vec: u64,
        /// How many.
        vlen: u64,
    },
}

/// Where a receive call writes the address of the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// Nowhere (read family, recvmmsg).
    None,
    /// recvfrom: a `sockaddr` and the address of its `socklen_t`.
    Sockaddr {
        /// The `sockaddr`.
        addr: u64,
        /// The length the kernel writes back.
        len_at: u64,
    },
    /// recvmsg: the `msg_name` of this `msghdr`.
    MsgName {
        /// The `msghdr`.
        hdr: u64,
    },
}

/// shutdown's `how`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shut {
    /// SHUT_RD.
    Read,
    /// SHUT_WR.
    Write,
    /// SHUT_RDWR (and anything else: the kernel refuses it).
    Both,
}

/// Which fd a dup creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NewFd {
    /// The lowest free one, returned (dup, fcntl).
    Returned,
    /// The one asked for (dup2, dup3).
    Given(i32),
}

/// Where a wait call reports the reaped child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reaped {
    /// wait4: the return value.
    Returned,
    /// waitid: `si_pid` of the `siginfo_t` at this address.
    Siginfo {
        /// The `siginfo_t`.
        info: u64,
    },
}

impl Shut {
    /// How the event log spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Shut::Read => "rd",
            Shut::Write => "wr",
            Shut::Both => "rdwr",
        }
    }
}

impl Decoded {
    /// The fd the call acts on, recorded as the event's `fd`.
    pub(crate) fn fd(&self) -> Option<i32> {
        match *self {
            Decoded::Bind { fd, .. }
            | Decoded::Connect { fd, .. }
            | Decoded::Listen { fd }
            | Decoded::Accept { fd }
            | Decoded::Send { fd, .. }
            | Decoded::Recv { fd, .. }
            | Decoded::Shutdown { fd, .. }
            | Decoded::Close { fd }
            | Decoded::Dup { fd, .. } => Some(fd),
            // The output when it is a channel; entry settles it.
            Decoded::Transfer { output, .. } => Some(output),
            Decoded::Socket
            | Decoded::Eventfd
            | Decoded::Unseen
            | Decoded::FdPair { .. }
            | Decoded::Spawn
            | Decoded::Exec
            | Decoded::Exit
            | Decoded::Wait { .. }
            | Decoded::Block
            | Decoded::CloseRange { .. }
            | Decoded::SigReturn
            | Decoded::Ignored => None,
        }
    }
}

/// fds are C `int`s: the lower half of the register.
fn fd(reg: u64) -> i32 {
    reg as i32
}

/// Decodes the arguments of call `nr`, whose role is `kind`.
pub(crate) fn decode(nr: u64, args: [u64; 6], kind: CallKind, mem: &Memory) -> Decoded {
    let nr = nr as i64;
    match kind {
        CallKind::Create => decode_create(nr, args),
        CallKind::Setup => decode_setup(nr, args, mem),
        CallKind::Send => decode_send(nr, args, mem),
        CallKind::Recv => decode_recv(nr, args),
        CallKind::Transfer => decode_transfer(nr, args),
        CallKind::Unseen => Decoded::Unseen,
        CallKind::Teardown => decode_teardown(nr, args),
        CallKind::Dup => decode_dup(nr, args),
        CallKind::Spawn => Decoded::Spawn,
        CallKind::Exec => Decoded::Exec,
        CallKind::Exit => Decoded::Exit,
        CallKind::Wait => decode_wait(nr, args),
        CallKind::Block => Decoded::Block,
        CallKind::CloseRange => Decoded::CloseRange {
            first: args[0] as u32,
            last: args[1] as u32,
        },
        CallKind::SigReturn => Decoded::SigReturn,
    }
}

fn decode_create(nr: i64, args: [u64; 6]) -> Decoded {
    match nr {
        libc::SYS_socket => Decoded::Socket,
        libc::SYS_socketpair => Decoded::FdPair { fds: args[3] },
        libc::SYS_eventfd | libc::SYS_eventfd2 => Decoded::Eventfd,
        _ => Decoded::FdPair { fds: args[0] }, // pipe, pipe2
    }
}

fn decode_setup(nr: i64, args: [u64; 6], mem: &Memory) -> Decoded {
    let fd = fd(args[0]);
    let addr = || mem.sockaddr(args[1], args[2] as usize);
    match nr {
        libc::SYS_bind => Decoded::Bind { fd, addr: addr() },
        libc::SYS_connect => Decoded::Connect { fd, addr: addr() },
        libc::SYS_listen => Decoded::Listen { fd },
        _ => Decoded::Accept { fd }, // accept, accept4
    }
}

fn decode_send(nr: i64, args: [u64; 6], mem: &Memory) -> Decoded {
    let fd = fd(args[0]);
    let flat = Buffer::Flat {
        addr: args[1],
        len: args[2],
    };
    let (buf, flags, dest) = match nr {
        libc::SYS_writev => (
            Buffer::Vector {
                iov: args[1],
                count: args[2],
            },
            0,
            None,
        ),
        libc::SYS_sendto => (
            flat,
            args[3] as i32,
            mem.sockaddr(args[4], args[5] as usize),
        ),
        libc::SYS_sendmsg => (
            Buffer::Msg { hdr: args[1] },
            args[2] as i32,
            mem.msghdr_name(args[1]),
        ),
        libc::SYS_sendmmsg => (
            Buffer::Mmsg {
                vec: args[1],
                vlen: args[2],
            },
            args[3] as i32,
            None,
        ),
        _ => (flat, 0, None), // write, pwrite64
    };
    Decoded::Send {
        fd,
        buf,
        flags,
        dest,
    }
}

fn decode_recv(nr: i64, args: [u64; 6]) -> Decoded {
    let fd = fd(args[0]);
    let flat = Buffer::Flat {
        addr: args[1],
        len: args[2],
    };
    let (buf, flags, from) = match nr {
        libc::SYS_readv => (
            Buffer::Vector {
                iov: args[1],
                count: args[2],
            },
            0,
            Source::None,
        ),
        libc::SYS_recvfrom => (
            flat,
            args[3] as i32,
            Source::Sockaddr {
                addr: args[4],
                len_at: args[5],
            },
        ),
        libc::SYS_recvmsg => (
            Buffer::Msg { hdr: args[1] },
            args[2] as i32,
            Source::MsgName { hdr: args[1] },
        ),
        libc::SYS_recvmmsg => (
            Buffer::Mmsg {
                vec: args[1],
                vlen: args[2],
            },
            args[3] as i32,
            Source::None,
        ),
        _ => (flat, 0, Source::None), // read, pread64
    };
    Decoded::Recv {
        fd,
        buf,
        flags,
        from,
    }
}

/// The argument order of each transfer call (sendfile(2), splice(2),
/// tee(2), copy_file_range(2)).
fn decode_transfer(nr: i64, args: [u64; 6]) -> Decoded {
    let (input, output, len) = match nr {
        libc::SYS_sendfile => (args[1], args[0], args[3]),
        libc::SYS_tee => (args[0], args[1], args[2]),
        _ => (args[0], args[2], args[4]), // splice, copy_file_range
    };
    Decoded::Transfer {
        input: fd(input),
        output: fd(output),
        len,
        peek: nr == libc::SYS_tee,
    }
}

fn decode_teardown(nr: i64, args: [u64; 6]) -> Decoded {
    let fd = fd(args[0]);
    match nr {
        libc::SYS_shutdown => {
            let how = match args[1] as i32 {
                libc::SHUT_RD => Shut::Read,
                libc::SHUT_WR => Shut::Write,
                _ => Shut::Both,
            };
            Decoded::Shutdown { fd, how }
        }
        _ => Decoded::Close { fd },
    }
}

fn decode_dup(nr: i64, args: [u64; 6]) -> Decoded {
    let fd = fd(args[0]);
    let new = match nr {
        libc::SYS_dup2 | libc::SYS_dup3 => NewFd::Given(self::fd(args[1])),
        libc::SYS_fcntl if !matches!(args[1] as i32, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) => {
            return Decoded::Ignored;
        }
        _ => NewFd::Returned, // dup, fcntl(F_DUPFD*)
    };
    Decoded::Dup { fd, new }
}

fn decode_wait(nr: i64, args: [u64; 6]) -> Decoded {
    let reaped = match nr {
        libc::SYS_waitid => Reaped::Siginfo { info: args[2] },
        _ => Reaped::Returned, // wait4
    };
    Decoded::Wait { reaped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(nr: i64, args: [u64; 6]) -> Decoded {
        let call = super::super::syscall::lookup(nr as u64).unwrap();
        decode(
            nr as u64,
            args,
            call.kind,
            &Memory::of(std::process::id() as i32),
        )
    }

    #[test]
    fn every_traced_number_decodes_by_its_role() {
        for nr in super::super::syscall::traced_numbers() {
            let d = of(nr, [3, 0, 0, 0, 0, 0]);
            let kind = super::super::syscall::lookup(nr as u64).unwrap().kind;
            let fits = match kind {
                CallKind::Create => matches!(
                    d,
                    Decoded::Socket | Decoded::Eventfd | Decoded::FdPair { .. }
                ),
                CallKind::Transfer => matches!(d, Decoded::Transfer { .. }),
                CallKind::Unseen => d == Decoded::Unseen,
                CallKind::Setup => d.fd() == Some(3),
                CallKind::Send => matches!(d, Decoded::Send { fd: 3, .. }),
                CallKind::Recv => matches!(d, Decoded::Recv { fd: 3, .. }),
                CallKind::Teardown => matches!(d, Decoded::Shutdown { .. } | Decoded::Close { .. }),
                // fcntl(3, F_DUPFD) is 0 in the second register.
                CallKind::Dup => matches!(d, Decoded::Dup { fd: 3, .. }),
                CallKind::Spawn => d == Decoded::Spawn,
                CallKind::Exec => d == Decoded::Exec,
                CallKind::Exit => d == Decoded::Exit,
                CallKind::Wait => matches!(d, Decoded::Wait { .. }),
                CallKind::Block => d == Decoded::Block,
                CallKind::CloseRange => matches!(d, Decoded::CloseRange { .. }),
                CallKind::SigReturn => d == Decoded::SigReturn,
            };
            assert!(fits, "{nr}: {kind:?} decoded as {d:?}");
        }
    }

    #[test]
    fn arguments_land_in_their_fields() {
        assert_eq!(
            of(libc::SYS_dup2, [4, 9, 0, 0, 0, 0]),
            Decoded::Dup {
                fd: 4,
                new: NewFd::Given(9)
            }
        );
        assert_eq!(
            of(libc::SYS_fcntl, [4, libc::F_GETFL as u64, 0, 0, 0, 0]),
            Decoded::Ignored
        );
        assert_eq!(
            of(libc::SYS_shutdown, [5, libc::SHUT_WR as u64, 0, 0, 0, 0]),
            Decoded::Shutdown {
                fd: 5,
                how: Shut::Write
            }
        );
        assert_eq!(
            of(libc::SYS_pipe2, [0x1000, 0, 0, 0, 0, 0]),
            Decoded::FdPair { fds: 0x1000 }
        );
        assert_eq!(
            of(libc::SYS_socketpair, [1, 1, 0, 0x2000, 0, 0]),
            Decoded::FdPair { fds: 0x2000 }
        );
        let Decoded::Recv { buf, from, .. } = of(libc::SYS_recvfrom, [3, 0x10, 64, 0, 0x20, 0x30])
        else {
            panic!()
        };
        assert_eq!(
            buf,
            Buffer::Flat {
                addr: 0x10,
                len: 64
            }
        );
        assert_eq!(
            from,
            Source::Sockaddr {
                addr: 0x20,
                len_at: 0x30
            }
        );
        assert_eq!(
            of(libc::SYS_waitid, [0, 0, 0x40, 0, 0, 0]),
            Decoded::Wait {
                reaped: Reaped::Siginfo { info: 0x40 }
            }
        );
        assert_eq!(
            of(libc::SYS_sendfile, [7, 8, 0, 100, 0, 0]),
            Decoded::Transfer {
                input: 8,
                output: 7,
                len: 100,
                peek: false
            }
        );
        assert_eq!(
            of(libc::SYS_splice, [3, 0, 4, 0, 65536, 0]),
            Decoded::Transfer {
                input: 3,
                output: 4,
                len: 65536,
                peek: false
            }
        );
        assert_eq!(
            of(libc::SYS_tee, [3, 4, 9, 0, 0, 0]),
            Decoded::Transfer {
                input: 3,
                output: 4,
                len: 9,
                peek: true
            }
        );
        // A bad address pointer is no address, whatever the call.
        assert_eq!(
            of(libc::SYS_connect, [3, 0x10, 16, 0, 0, 0]),
            Decoded::Connect { fd: 3, addr: None }
        );
        let Decoded::Send { dest, .. } = of(libc::SYS_sendmsg, [3, u64::MAX - 7, 0, 0, 0, 0])
        else {
            panic!()
        };
        assert_eq!(dest, None);
    }
}
