//! Channels, their two ends, and the matching of sends to receives.
//!
//! Kernel identities come from the event log (EVENTS.md "Endpoints"): a TCP
//! or unix stream connection is the unordered pair of its ends' addresses
//! (the two ends report mirrored `local`/`peer`), a pipe is its inode, and a
//! datagram flow is a directed (source, destination) pair. Each channel has
//! side 0 (the initiator: the connecting end, the first end of a
//! socketpair, the sender of a flow, the write end of a pipe) and side 1.
//! Bytes sent by side `d` form direction `d`; reads by the other side drain
//! it. Messages are matched to reads by byte ranges, so a read spanning two
//! messages and a message split over two reads are both exact.
//!
//! The analysis runs as passes, each in its own module:
//! 1. [`discover`]: the channels, and what each event acted on;
//! 2. [`ends`]: each event's side, fds followed through fork, dup and exec,
//!    what closes each side, and close → EOF edges;
//! 3. [`naming`]: the processes behind each side and the logical names;
//! 4. [`matching`]: messages and the receives that consumed them.

mod discover;
mod ends;
mod matching;
mod naming;

use crate::names::Names;
use bop_model::{ChannelKind, Event};

/// One communication object: a stream connection, a datagram flow, a pipe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    /// Logical name (docs/EXPORT.md "Channels"): `client->primary#0`,
    /// `pipe:sh#0#1`, `socketpair:primary#0`, `client->127.0.0.1:6379#0`.
    pub name: String,
    /// tcp, udp, unix or pipe.
    pub kind: ChannelKind,
    /// Byte stream (TCP, unix stream, pipe) or datagrams.
    pub stream: bool,
    /// Names of side 0 (initiator / sender / writer) and side 1: the process
    /// that used that side, or its address when no traced process did.
    pub ends: [String; 2],
    /// Indices of the processes behind `ends`, `None` for an outside end.
    pub processes: [Option<usize>; 2],
    /// The event that created it (`connect`, `accept`, `pipe`,
    /// `socketpair`), if recorded.
    pub created_by: Option<usize>,
}

/// The bytes of one send-family call (one datagram for datagram channels).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Logical name: `channel/k` from side 0, `channel/rk` from side 1.
    pub name: String,
    /// Index of its channel.
    pub channel: usize,
    /// True when sent by side 1 (the reverse direction).
    pub reverse: bool,
    /// Ordinal among the channel's messages in that direction.
    pub ordinal: usize,
    /// The send event.
    pub send: usize,
    /// The receive events that consumed any of its bytes, in order.
    pub recvs: crate::Recvs,
    /// Bytes sent.
    pub bytes: u64,
    /// Never received although its receiving end was traced, or dropped.
    pub lost: bool,
    /// The fault injector dropped it.
    pub dropped: bool,
}

/// Result of the channel analysis of one log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Analysis {
    pub(crate) channels: Vec<Channel>,
    pub(crate) messages: Vec<Message>,
    /// Per event: the channel it acted on (for accept: the new connection).
    /// `u32::MAX` for none: 4 bytes instead of 16 per event.
    pub(crate) event_channel: Vec<u32>,
    /// connect → accept pairs.
    pub(crate) connects: Vec<(usize, usize)>,
    /// Last close (or shutdown, or exit) of the write side → EOF read.
    pub(crate) eofs: Vec<(usize, usize)>,
}

/// True when the call succeeded.
fn ok(e: &Event) -> bool {
    e.errno.is_none() && e.ret.is_some_and(|r| r >= 0)
}

/// Bytes moved by a data call: `bytes`, else its return value. The one
/// place that says how many bytes a send put in or a receive took out.
pub(crate) fn moved(e: &Event) -> u64 {
    e.bytes
        .unwrap_or_else(|| e.ret.map_or(0, |r| r.max(0) as u64))
}

/// Datagram sizes of a data call (`detail.parts` for the mmsg calls).
fn parts(e: &Event) -> Vec<u64> {
    if e.detail.parts.is_empty() {
        vec![moved(e)]
    } else {
        e.detail.parts.clone()
    }
}

/// Runs the channel analysis over a log already split into threads.
pub(crate) fn analyze(events: &[Event], names: &Names) -> Analysis {
    let (scans, uses) = discover::discover(events, names);
    let ends = ends::follow(events, names, &scans, &uses);
    // Events acting on each channel, per side.
    let mut on: Vec<naming::OnChannel> = vec![[Vec::new(), Vec::new()]; scans.len()];
    let mut event_channel = vec![u32::MAX; events.len()];
    for &i in &names.order {
        if let Some((c, _)) = uses[i] {
            event_channel[i] = u32::try_from(c).expect("fewer than 2^32 channels");
        }
        if let Some((c, s)) = ends.side[i] {
            on[c][usize::from(s)].push(i);
        }
    }
    let channels = naming::name_channels(events, names, &scans, &on);
    let messages = matching::match_messages(events, &scans, &channels, &on);
    let connects = scans
        .iter()
        .filter_map(|s| Some((s.connect?, s.accept?)))
        .collect();
    Analysis {
        channels,
        messages,
        event_channel,
        connects,
        eofs: ends.eofs,
    }
}
