//! Recorded events and channel ends: the raw facts the tracer writes into a
//! run's event log (docs/EVENTS.md). Logical names are derived later by the
//! tracker, because they depend on the whole run.

use serde::{Deserialize, Serialize};

/// One traced system call or lifecycle point of one thread.
///
/// Raw facts only (pids, fds, kernel identities of channel ends); logical
/// names are derived by the tracker because they depend on the whole run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Event {
    /// Recording order over the whole run (the order the tracer saw the
    /// events complete); unique and increasing.
    pub seq: u64,
    /// Thread-group id (process id) at the time of the event.
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// System call name (`write`, `recvfrom`, ...) or a lifecycle point:
    /// `start` (first event of a new thread), `exec`, `exit` (thread ended
    /// normally), `killed` (thread ended by a signal).
    pub call: String,
    /// The file descriptor the call acts on, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// Return value; `None` when the call never returned before the run
    /// ended (a blocked `accept` in a node that was stopped, say).
    #[serde(default)]
    pub ret: Option<i64>,
    /// Error name (`ECONNREFUSED`) when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    /// Bytes moved by a data call (send/recv/read/write families).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Nanoseconds since the run started, at syscall entry.
    pub start_ns: u64,
    /// Nanoseconds since the run started, at syscall return.
    #[serde(default)]
    pub end_ns: Option<u64>,
    /// The channel end the fd referred to, as the kernel identifies it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
    /// Call-specific details.
    #[serde(default, skip_serializing_if = "Detail::is_empty")]
    pub detail: Detail,
    /// First bytes of the message, hex-encoded (only with `--capture-bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Set when the fault injector changed this event (what it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected: Option<String>,
    /// Which path recorded the call: a ptrace stop (the default, omitted
    /// from the log) or the preloaded library in the process (`fast`).
    /// Both give the same facts; only timing precision and cost differ.
    #[serde(default, skip_serializing_if = "CallPath::is_ptrace")]
    pub path: CallPath,
}

/// How a call was recorded (DESIGN.md "Fast path").
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[serde(rename_all = "lowercase")]
pub enum CallPath {
    /// The tracer stopped the thread under ptrace (lifecycle points too).
    #[default]
    Ptrace,
    /// The preloaded library recorded it in the process's shared ring.
    Fast,
}

impl CallPath {
    /// True for [`CallPath::Ptrace`], which the log leaves out.
    pub fn is_ptrace(&self) -> bool {
        *self == CallPath::Ptrace
    }
}

/// Call-specific facts; every field is optional so the log stays compact.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Detail {
    /// fork/vfork/clone: the new pid (process) or tid (thread);
    /// wait4/waitid: the reaped pid; `start`: the creating thread's tid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<i32>,
    /// `start`: true when the new task is a thread of an existing process.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thread: bool,
    /// recv family: true with `MSG_PEEK`, whose bytes stay in the channel
    /// (the next receive gets them again), so byte accounting skips them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub peek: bool,
    /// New fds created by the call: accept/dup/socket → one, pipe/socketpair → two.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fds: Vec<i32>,
    /// Endpoints of the new fds (same order as `fds`) when they are channels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_endpoints: Vec<Endpoint>,
    /// Socket address argument: connect/bind/sendto destination, or the
    /// source returned by recvfrom/recvmsg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// exec: the executable path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// exec: the argument vector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// exit: the exit code; exit_group/exit: the argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    /// killed: the signal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// shutdown: `rd`, `wr` or `rdwr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
    /// accept/accept4: the pid of the traced process at the other end of
    /// the new connection (found from the kernel at accept time), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_pid: Option<i32>,
    /// `start` of a root process: its scenario node name (`primary`,
    /// `client`), which becomes its logical name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// sendmmsg/recvmmsg: the byte count of each datagram.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<u64>,
    /// Transfer calls (sendfile, splice, tee, copy_file_range): this event
    /// is the input half, which took bytes out of `endpoint` (a receive);
    /// without it, the output half, which put them in (a send).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub input: bool,
    /// `start` of a scenario node: the TCP ports the scenario allocated, by
    /// name, so that an address nobody traced is named `{port.NAME}` the
    /// same way in every run.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub ports: std::collections::BTreeMap<String, u16>,
}

impl Detail {
    /// True when no field is set (so the log omits it).
    pub fn is_empty(&self) -> bool {
        *self == Detail::default()
    }
}

/// Kind of a communication channel.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// TCP stream (IPv4 or IPv6).
    Tcp,
    /// UDP datagrams.
    Udp,
    /// Unix-domain socket, stream or datagram.
    Unix,
    /// Anonymous or named pipe.
    Pipe,
    /// An eventfd counter: each write is a message, a read consumes every
    /// write that came before it (a wakeup handing work to another thread).
    Eventfd,
}

impl ChannelKind {
    /// The lower-case name used in logs and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Tcp => "tcp",
            ChannelKind::Udp => "udp",
            ChannelKind::Unix => "unix",
            ChannelKind::Pipe => "pipe",
            ChannelKind::Eventfd => "eventfd",
        }
    }
}

/// One end of a channel as the kernel identifies it, so both ends of one
/// connection can be matched without guessing.
///
/// * TCP/UDP: `local`/`peer` are `ip:port` (IPv6 in brackets).
/// * Unix: `local`/`peer` are `unix:INODE` of the socket and of its peer
///   (from sock_diag); `path` is the bound or connected path if any.
/// * Pipe: `local` and `peer` are both `pipe:INODE`: a write feeds the
///   pipe, a read drains it.
/// * Eventfd: `local` and `peer` are both `eventfd:ID` (the kernel's
///   `eventfd-id` from fdinfo: all eventfds share one inode).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Endpoint {
    /// Channel kind.
    pub kind: Option<ChannelKind>,
    /// True for byte streams (TCP, unix stream, pipes), false for datagrams.
    pub stream: bool,
    /// This end's identity.
    pub local: String,
    /// The other end's identity, if connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// Unix socket path, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}
