//! Messages and which receives consumed them, per channel and direction.
//! A stream is matched by byte ranges: each kept send occupies a range of
//! the direction's byte stream and each read takes the next range, so a
//! read spanning two messages and a message split over two reads are both
//! exact. Datagrams are matched first in, first out per flow.

use super::discover::Scan;
use super::naming::OnChannel;
use super::{Channel, Message, moved, ok, parts};
use crate::{is_dropped, receives, sends};
use bop_model::{CallPath, ChannelKind, Event};

/// How far ahead a datagram receive looks for a datagram of its size.
const DATAGRAM_LOOKAHEAD: usize = 64;

/// One direction of one channel, as messages are named in it.
struct Direction<'a> {
    channel: usize,
    name: &'a str,
    reverse: bool,
    /// Index of the direction's first message in the output.
    first: usize,
}

impl Direction<'_> {
    /// Appends the next message of this direction.
    fn push(&self, events: &[Event], send: usize, bytes: u64, messages: &mut Vec<Message>) {
        let ordinal = messages.len() - self.first;
        let r = if self.reverse { "r" } else { "" };
        messages.push(Message {
            name: format!("{}/{r}{ordinal}", self.name),
            channel: self.channel,
            reverse: self.reverse,
            ordinal,
            send,
            recvs: Default::default(),
            bytes,
            lost: false,
            dropped: is_dropped(&events[send]),
        });
    }
}

/// Every message of the log, per channel and direction in ordinal order.
pub(super) fn match_messages(
    events: &[Event],
    scans: &[Scan],
    channels: &[Channel],
    on: &[OnChannel],
) -> Vec<Message> {
    let mut messages: Vec<Message> = Vec::new();
    for (c, s) in scans.iter().enumerate() {
        // Pipes and datagram flows go one way, from side 0 to side 1.
        let one_way = matches!(s.kind, ChannelKind::Pipe | ChannelKind::Eventfd) || !s.stream;
        let directions: &[u8] = if one_way { &[0] } else { &[0, 1] };
        for &d in directions {
            let reader = if one_way { 1 } else { 1 - d };
            let data = |side: u8, is: fn(&Event) -> bool| -> Vec<usize> {
                on[c][usize::from(side)]
                    .iter()
                    .copied()
                    .filter(|&i| is(&events[i]) && ok(&events[i]) && moved(&events[i]) > 0)
                    .collect::<Vec<usize>>()
                    .pipe_in_kernel_order(events)
            };
            let (sent, recvd) = (data(d, sends), data(reader, receives));
            let dir = Direction {
                channel: c,
                name: &channels[c].name,
                reverse: d == 1,
                first: messages.len(),
            };
            if s.kind == ChannelKind::Eventfd {
                match_counter(events, &dir, &sent, &recvd, &mut messages);
            } else if s.stream {
                match_stream(events, &dir, &sent, &recvd, &mut messages);
            } else {
                match_datagrams(events, &dir, &sent, &recvd, &mut messages);
            }
            let receiver_traced = channels[c].processes[usize::from(reader)].is_some();
            for m in &mut messages[dir.first..] {
                m.recvs.dedup();
                m.lost = m.dropped || (receiver_traced && m.recvs.is_empty());
            }
        }
    }
    messages
}

/// The order in which a side's calls reached the kernel, as far as the
/// log can tell. Within one thread, recording order is program order. The
/// calls of several threads on one side (threads or processes sharing an
/// fd) are in recording order too, which on the ptrace path is the order
/// of their stops; the fast path (docs/FASTPATH.md) writes a thread's calls
/// when its ring is drained, which can be long after, so when the fast
/// path recorded any of them they are ordered by entry time instead (both
/// paths timestamp entry before the kernel acts, and in-process times are
/// exact). Never reorders one thread's calls: entry times grow with
/// program order.
trait KernelOrder {
    fn pipe_in_kernel_order(self, events: &[Event]) -> Self;
}

impl KernelOrder for Vec<usize> {
    fn pipe_in_kernel_order(mut self, events: &[Event]) -> Vec<usize> {
        let first = self.first().map(|&i| events[i].tid);
        let shared = self.iter().any(|&i| Some(events[i].tid) != first);
        let fast = self.iter().any(|&i| events[i].path == CallPath::Fast);
        if shared && fast {
            self.sort_by_key(|&i| (events[i].start_ns, events[i].seq));
        }
        self
    }
}

/// Byte ranges: each kept (not dropped) send occupies [a, b) of the
/// stream, and each read the next bytes of it.
fn match_stream(
    events: &[Event],
    dir: &Direction<'_>,
    sends: &[usize],
    recvs: &[usize],
    messages: &mut Vec<Message>,
) {
    let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
    let mut off = 0;
    for &i in sends {
        dir.push(events, i, moved(&events[i]), messages);
        let m = messages.len() - 1;
        if !messages[m].dropped {
            ranges.push((off, off + messages[m].bytes, m));
            off += messages[m].bytes;
        }
    }
    let (mut roff, mut j) = (0, 0);
    for &r in recvs {
        // A peek sees the next bytes but leaves them for the next receive.
        let (a, b) = (roff, roff + moved(&events[r]));
        if !events[r].detail.peek {
            roff = b;
        }
        while j < ranges.len() && ranges[j].1 <= a {
            j += 1;
        }
        let mut k = j;
        while k < ranges.len() && ranges[k].0 < b {
            messages[ranges[k].2].recvs.push(r);
            k += 1;
        }
    }
}

/// An eventfd: a read takes the whole counter (eventfd(2)), so it consumes
/// every kept write not consumed yet that entered before the read returned
/// (one entered later cannot have fed it: the tracer stamps entry before
/// the kernel acts). A read in `EFD_SEMAPHORE` mode takes one unit, which
/// this rule over-approximates by every pending write.
fn match_counter(
    events: &[Event],
    dir: &Direction<'_>,
    sends: &[usize],
    recvs: &[usize],
    messages: &mut Vec<Message>,
) {
    for &i in sends {
        dir.push(events, i, moved(&events[i]), messages);
    }
    let mut next = dir.first;
    for &r in recvs {
        let until = events[r].end_ns.unwrap_or(u64::MAX);
        while next < messages.len() {
            let m = &mut messages[next];
            if events[m.send].start_ns > until {
                break;
            }
            if !m.dropped {
                m.recvs.push(r);
            }
            next += 1;
        }
    }
}

/// Datagrams: FIFO per flow; a receive takes the next kept datagram of its
/// size (a nearer size mismatch was lost), else the next kept one
/// (truncated by a short buffer).
fn match_datagrams(
    events: &[Event],
    dir: &Direction<'_>,
    sends: &[usize],
    recvs: &[usize],
    messages: &mut Vec<Message>,
) {
    for &i in sends {
        for size in parts(&events[i]) {
            dir.push(events, i, size, messages);
        }
    }
    let mut next = dir.first;
    for &r in recvs {
        for size in parts(&events[r]) {
            let kept = (next..messages.len()).filter(|&m| !messages[m].dropped);
            let pick = kept
                .clone()
                .take(DATAGRAM_LOOKAHEAD)
                .find(|&m| messages[m].bytes == size)
                .or_else(|| kept.clone().next());
            if let Some(m) = pick {
                messages[m].recvs.push(r);
                // A peek leaves the datagram for the next receive.
                if !events[r].detail.peek {
                    next = m + 1;
                }
            }
        }
    }
}
