//! Recorded events and channel ends: the raw facts the tracer writes into a
//! run's event log (docs/EVENTS.md). Logical names are derived later by the
//! tracker, because they depend on the whole run.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Name;

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
    pub call: Name,
    /// The file descriptor the call acts on, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// Return value; `None` when the call never returned before the run
    /// ended (a blocked `accept` in a node that was stopped, say).
    #[serde(default)]
    pub ret: Option<i64>,
    /// Error name (`ECONNREFUSED`) when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<Name>,
    /// Bytes moved by a data call (send/recv/read/write families).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Nanoseconds since the run started, at syscall entry.
    pub start_ns: u64,
    /// Nanoseconds since the run started, at syscall return.
    #[serde(default)]
    pub end_ns: Option<u64>,
    /// The channel end the fd referred to, as the kernel identifies it;
    /// shared, because a channel's events all name the same end (a reader
    /// of a log may hand every event of one end the same copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Arc<Endpoint>>,
    /// Call-specific details.
    #[serde(default, skip_serializing_if = "DetailBox::is_empty")]
    pub detail: DetailBox,
    /// First bytes of the message, hex-encoded (only with `--capture-bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<str>>,
    /// Set when the fault injector changed this event (what it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected: Option<Box<str>>,
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

/// An event's [`Detail`], allocated only when it has a field set.
///
/// Most events have none, and a `Detail` held inline is ~300 bytes, half of
/// an event in memory: at 10^6 events that alone was more than recording a
/// run may use (issue 16, docs/PERFORMANCE.md). Reading an empty one sees
/// [`Detail::default`]; the first mutable access allocates it. Equality,
/// `Debug` and the JSON form are those of the `Detail` it holds, so an
/// empty box equals an allocated empty `Detail`.
#[derive(Clone, Default)]
pub struct DetailBox(Option<Box<Detail>>);

/// What an empty [`DetailBox`] reads as.
static NO_DETAIL: Detail = Detail {
    child: None,
    thread: false,
    peek: false,
    fds: Vec::new(),
    new_endpoints: Vec::new(),
    addr: None,
    exe: None,
    argv: Vec::new(),
    status: None,
    signal: None,
    how: None,
    peer_pid: None,
    node: None,
    parts: Vec::new(),
    input: false,
    ports: std::collections::BTreeMap::new(),
};

impl DetailBox {
    /// True when no field is set (so the log omits it).
    pub fn is_empty(&self) -> bool {
        self.0.as_deref().is_none_or(Detail::is_empty)
    }
}

impl std::ops::Deref for DetailBox {
    type Target = Detail;
    fn deref(&self) -> &Detail {
        self.0.as_deref().unwrap_or(&NO_DETAIL)
    }
}

impl std::ops::DerefMut for DetailBox {
    fn deref_mut(&mut self) -> &mut Detail {
        self.0.get_or_insert_with(Box::default)
    }
}

impl From<Detail> for DetailBox {
    fn from(d: Detail) -> DetailBox {
        DetailBox((!d.is_empty()).then(|| Box::new(d)))
    }
}

impl PartialEq for DetailBox {
    fn eq(&self, other: &DetailBox) -> bool {
        **self == **other
    }
}

impl Eq for DetailBox {}

impl std::fmt::Debug for DetailBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl Serialize for DetailBox {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for DetailBox {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DetailBox, D::Error> {
        Detail::deserialize(d).map(DetailBox::from)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Recording 10^6 events in 300 MB (issue 16) needs events without a
    /// detail to stay small in memory: the log format and equality must
    /// not see the box.
    #[test]
    fn empty_detail_is_not_allocated_and_reads_as_default() {
        let line = r#"{"seq":1,"pid":2,"tid":2,"call":"read","ret":3,"start_ns":4,"end_ns":5}"#;
        let e: Event = serde_json::from_str(line).expect("parses");
        assert!(e.detail.0.is_none(), "an empty detail was allocated");
        assert_eq!(*e.detail, Detail::default());
        assert_eq!(e.detail, DetailBox(Some(Box::default())));
        assert_eq!(serde_json::to_string(&e).expect("encodes"), line);
        let mut f = e.clone();
        f.detail.child = Some(7);
        let back: Event =
            serde_json::from_str(&serde_json::to_string(&f).expect("encodes")).expect("parses");
        assert_eq!(back.detail.child, Some(7));
        assert_ne!(back, e);
    }

    /// What one event costs in memory (issue 16: 10^6 events recorded in
    /// 300 MB). The call and errno are interned names, the endpoint is
    /// shared, the rare strings are boxed: 168 bytes here was 272 with
    /// `String`s and an inline `Endpoint`. Grow an event only knowing that
    /// a million of them are held while a run's graph and index are built.
    #[test]
    fn an_event_stays_small_in_memory() {
        use std::mem::size_of;
        assert_eq!(size_of::<Name>(), 16);
        assert_eq!(size_of::<Option<Name>>(), 16);
        assert_eq!(size_of::<Option<Arc<Endpoint>>>(), 8);
        assert_eq!(size_of::<Option<Box<str>>>(), 16);
        assert_eq!(size_of::<DetailBox>(), 8);
        assert!(
            size_of::<Event>() <= 168,
            "Event is {} bytes",
            size_of::<Event>()
        );
    }
}
