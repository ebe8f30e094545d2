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

use std::collections::{HashMap, HashSet};

use super::names::Names;
use super::{is_dropped, is_recv, is_send};
use bop_model::{ChannelKind, Endpoint, Event};

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
    pub recvs: Vec<usize>,
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
    pub(crate) event_channel: Vec<Option<usize>>,
    /// connect → accept pairs.
    pub(crate) connects: Vec<(usize, usize)>,
    /// Last close (or shutdown, or exit) of the write side → EOF read.
    pub(crate) eofs: Vec<(usize, usize)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Pipe(String),
    /// Kind and the two end addresses, sorted.
    Stream(ChannelKind, String, String),
    /// Kind, normalized source, normalized destination.
    Flow(ChannelKind, String, String),
}

/// Per-channel scratch state.
struct Scan {
    key: Key,
    kind: ChannelKind,
    stream: bool,
    socketpair: bool,
    /// Stream sockets: the address of side 0, once known.
    side0: Option<String>,
    /// Stream sockets: the first local address seen (fallback for side 0).
    first_local: Option<String>,
    connect: Option<usize>,
    accept: Option<usize>,
    created_by: Option<usize>,
    /// Display addresses of the two sides (for outside ends).
    addrs: [Option<String>; 2],
    path: Option<String>,
}

/// How an event's side of its channel is known before sides are resolved.
#[derive(Clone, Debug)]
enum Hint {
    /// The local address of a stream socket.
    Addr(String),
    Side(u8),
    /// A pipe fd used by a call that tells nothing (close, dup): look the
    /// fd up in the fd table.
    Unknown,
}

/// UDP ends are compared by port only: an unconnected socket bound to
/// `0.0.0.0:P` reports that as its local address while its peer sees
/// `127.0.0.1:P`. Ports are unique on the one traced machine.
fn flow_addr(kind: ChannelKind, a: &str) -> String {
    match kind {
        ChannelKind::Udp => match a.rsplit_once(':') {
            Some((_, port)) => format!("*:{port}"),
            None => a.to_string(),
        },
        _ => a.to_string(),
    }
}

fn is_datagram(ep: &Endpoint) -> bool {
    matches!(ep.kind, Some(ChannelKind::Udp))
        || (matches!(ep.kind, Some(ChannelKind::Unix)) && !ep.stream)
}

/// The channel key of a stream or pipe endpoint (`None` for datagram,
/// unconnected or unknown endpoints).
fn stream_key(ep: &Endpoint, fallback_peer: Option<&str>) -> Option<Key> {
    match ep.kind? {
        ChannelKind::Pipe => Some(Key::Pipe(ep.local.clone())),
        kind @ (ChannelKind::Tcp | ChannelKind::Unix) if ep.stream => {
            let peer = ep.peer.as_deref().or(fallback_peer)?;
            let (a, b) = if ep.local.as_str() <= peer {
                (ep.local.as_str(), peer)
            } else {
                (peer, ep.local.as_str())
            };
            Some(Key::Stream(kind, a.to_string(), b.to_string()))
        }
        _ => None,
    }
}

fn ok(e: &Event) -> bool {
    e.errno.is_none() && e.ret.is_some_and(|r| r >= 0)
}

/// Bytes moved by a data call.
fn moved(e: &Event) -> u64 {
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

struct Builder<'a> {
    events: &'a [Event],
    names: &'a Names,
    scans: Vec<Scan>,
    index: HashMap<Key, usize>,
    /// Per event: (channel, side hint).
    uses: Vec<Option<(usize, Hint)>>,
}

impl Builder<'_> {
    fn channel(&mut self, key: Key, kind: ChannelKind, stream: bool) -> usize {
        if let Some(&c) = self.index.get(&key) {
            return c;
        }
        self.scans.push(Scan {
            key: key.clone(),
            kind,
            stream,
            socketpair: false,
            side0: None,
            first_local: None,
            connect: None,
            accept: None,
            created_by: None,
            addrs: [None, None],
            path: None,
        });
        self.index.insert(key, self.scans.len() - 1);
        self.scans.len() - 1
    }

    /// Notes a stream socket endpoint on channel `c`.
    fn saw_stream(&mut self, c: usize, ep: &Endpoint) {
        let s = &mut self.scans[c];
        if s.first_local.is_none() {
            s.first_local = Some(ep.local.clone());
        }
        if s.path.is_none() {
            s.path.clone_from(&ep.path);
        }
    }

    /// Pass 1: discover channels and what each event acted on.
    fn discover(&mut self) {
        let events = self.events;
        for &i in &self.names.order {
            let e = &events[i];
            let good = ok(e);
            match e.call.as_str() {
                "pipe" | "pipe2" if good => {
                    if let Some(ep) = e.detail.new_endpoints.first() {
                        let c = self.channel(Key::Pipe(ep.local.clone()), ChannelKind::Pipe, true);
                        self.scans[c].created_by.get_or_insert(i);
                        self.uses[i] = Some((c, Hint::Side(0)));
                    }
                }
                "socketpair" if good => {
                    if let Some(ep) = e.detail.new_endpoints.first() {
                        if let (Some(key), Some(kind)) = (stream_key(ep, None), ep.kind) {
                            let c = self.channel(key, kind, true);
                            self.saw_stream(c, ep);
                            let s = &mut self.scans[c];
                            s.socketpair = true;
                            s.side0 = Some(ep.local.clone());
                            s.created_by.get_or_insert(i);
                            self.uses[i] = Some((c, Hint::Side(0)));
                        }
                    }
                }
                "accept" | "accept4" if good => {
                    if let Some(ep) = e.detail.new_endpoints.first() {
                        if let (Some(key), Some(kind)) = (stream_key(ep, None), ep.kind) {
                            let c = self.channel(key, kind, true);
                            self.saw_stream(c, ep);
                            let s = &mut self.scans[c];
                            if s.side0.is_none() {
                                s.side0.clone_from(&ep.peer);
                            }
                            s.accept.get_or_insert(i);
                            s.addrs[1] = Some(ep.local.clone());
                            s.addrs[0].clone_from(&ep.peer);
                            self.uses[i] = Some((c, Hint::Addr(ep.local.clone())));
                        }
                    }
                }
                "connect" if good || e.errno.as_deref() == Some("EINPROGRESS") => {
                    if let Some(ep) = &e.endpoint {
                        if let (Some(key), Some(kind)) =
                            (stream_key(ep, e.detail.addr.as_deref()), ep.kind)
                        {
                            let c = self.channel(key, kind, true);
                            self.saw_stream(c, ep);
                            let s = &mut self.scans[c];
                            // The connecting end is side 0, whatever was seen first.
                            s.side0 = Some(ep.local.clone());
                            s.connect.get_or_insert(i);
                            s.addrs[0] = Some(ep.local.clone());
                            s.addrs[1] = ep.peer.clone().or_else(|| e.detail.addr.clone());
                            self.uses[i] = Some((c, Hint::Addr(ep.local.clone())));
                        }
                    }
                }
                // A failed connect made no connection (whatever its fd shows).
                "connect" => {}
                _ => self.discover_generic(i),
            }
        }
    }

    fn discover_generic(&mut self, i: usize) {
        let e = &self.events[i];
        let Some(ep) = &e.endpoint else { return };
        let Some(kind) = ep.kind else { return };
        let send = is_send(&e.call);
        let recv = is_recv(&e.call);
        if is_datagram(ep) {
            if !send && !recv {
                return;
            }
            let other = e.detail.addr.clone().or_else(|| ep.peer.clone());
            let Some(other) = other else { return };
            let (src, dst) = if send {
                (&ep.local, &other)
            } else {
                (&other, &ep.local)
            };
            let key = Key::Flow(kind, flow_addr(kind, src), flow_addr(kind, dst));
            let c = self.channel(key, kind, false);
            let s = &mut self.scans[c];
            s.addrs[0].get_or_insert_with(|| src.clone());
            s.addrs[1].get_or_insert_with(|| dst.clone());
            self.uses[i] = Some((c, Hint::Side(if send { 0 } else { 1 })));
            return;
        }
        let Some(key) = stream_key(ep, None) else {
            return;
        };
        let c = self.channel(key, kind, true);
        let hint = if kind == ChannelKind::Pipe {
            if send {
                Hint::Side(0)
            } else if recv {
                Hint::Side(1)
            } else {
                Hint::Unknown
            }
        } else {
            self.saw_stream(c, ep);
            Hint::Addr(ep.local.clone())
        };
        self.uses[i] = Some((c, hint));
    }
}

/// Runs the channel analysis over a log already split into threads.
pub(crate) fn analyze(events: &[Event], names: &Names) -> Analysis {
    let mut b = Builder {
        events,
        names,
        scans: Vec::new(),
        index: HashMap::new(),
        uses: vec![None; events.len()],
    };
    b.discover();
    for s in &mut b.scans {
        if s.kind != ChannelKind::Pipe && s.stream && s.side0.is_none() {
            s.side0.clone_from(&s.first_local);
        }
        if let (Key::Stream(_, x, y), Some(s0)) = (&s.key, &s.side0) {
            s.addrs[0].get_or_insert_with(|| s0.clone());
            s.addrs[1].get_or_insert_with(|| if x == s0 { y.clone() } else { x.clone() });
        }
    }
    let Builder { scans, uses, .. } = b;

    // Write sides that some reader saw end (an EOF read). Only their fds are
    // followed below, which keeps fork-heavy runs (every child inheriting
    // every fd) cheap.
    let mut wanted: HashSet<(usize, u8)> = HashSet::new();
    for (i, u) in uses.iter().enumerate() {
        let (Some((c, hint)), e) = (u, &events[i]) else {
            continue;
        };
        let s = &scans[*c];
        if !(is_recv(&e.call) && e.ret == Some(0) && e.errno.is_none() && s.stream) {
            continue;
        }
        let side = match hint {
            Hint::Side(k) => *k,
            Hint::Addr(a) => u8::from(s.side0.as_deref() != Some(a.as_str())),
            Hint::Unknown => continue,
        };
        wanted.insert((
            *c,
            if s.kind == ChannelKind::Pipe {
                0
            } else {
                1 - side
            },
        ));
    }

    // Pass 2, in seq order: resolve sides, follow fds through pipe creation,
    // dup and fork, and collect what closes each side (close of an fd,
    // shutdown for writing, the death of a process still holding it).
    let procs = &names.processes;
    let proc_of = |i: usize| names.threads[names.thread_of[i]].process;
    let mut side: Vec<Option<(usize, u8)>> = vec![None; events.len()];
    let mut fdt: Vec<HashMap<i32, (usize, u8)>> = vec![HashMap::new(); procs.len()];
    let mut closes: HashMap<(usize, u8), Vec<usize>> = HashMap::new();
    let mut pipe_writers: HashSet<(usize, usize)> = HashSet::new();
    let mut eof_reads: Vec<(usize, usize, u8)> = Vec::new();
    // The event at which each process ends (its last event, if an end).
    let mut proc_end: HashMap<usize, usize> = HashMap::new();
    for (p, pr) in procs.iter().enumerate() {
        let last = pr
            .threads
            .iter()
            .filter_map(|&t| names.threads[t].events.last().copied())
            .max_by_key(|&j| events[j].seq);
        let all_ended = pr.threads.iter().all(|&t| {
            names.threads[t]
                .events
                .last()
                .is_some_and(|&j| super::is_thread_end(&events[j].call))
        });
        if let (Some(j), true) = (last, all_ended) {
            proc_end.insert(j, p);
        }
    }
    let mut seen_proc = vec![false; procs.len()];
    for &i in &names.order {
        let e = &events[i];
        let p = proc_of(i);
        if !seen_proc[p] {
            seen_proc[p] = true;
            // A child inherits its parent's fds at fork.
            if let Some(q) = procs[p].parent {
                let inherited = fdt[q].clone();
                fdt[p].extend(inherited);
            }
        }
        let resolved = uses[i].as_ref().and_then(|(c, hint)| {
            let s = &scans[*c];
            match hint {
                Hint::Side(k) => Some((*c, *k)),
                Hint::Addr(a) => Some((*c, u8::from(s.side0.as_deref() != Some(a.as_str())))),
                Hint::Unknown => {
                    e.fd.and_then(|fd| fdt[p].get(&fd).copied())
                        .filter(|(cc, _)| cc == c)
                }
            }
        });
        side[i] = resolved;
        let good = ok(e);
        match e.call.as_str() {
            "pipe" | "pipe2" if good => {
                if let (Some(&(c, _)), [r, w, ..]) = (uses[i].as_ref(), e.detail.fds.as_slice()) {
                    for (fd, end) in [(*r, (c, 1)), (*w, (c, 0))] {
                        if wanted.contains(&end) {
                            fdt[p].insert(fd, end);
                        }
                    }
                }
            }
            "socketpair" | "accept" | "accept4" if good => {
                for (fd, ep) in e.detail.fds.iter().zip(&e.detail.new_endpoints) {
                    if let Some(&(c, _)) = uses[i].as_ref() {
                        let s = u8::from(scans[c].side0.as_deref() != Some(ep.local.as_str()));
                        if wanted.contains(&(c, s)) {
                            fdt[p].insert(*fd, (c, s));
                        }
                    }
                }
            }
            "dup" | "dup2" | "dup3" | "fcntl" if good => {
                let new = e
                    .detail
                    .fds
                    .first()
                    .copied()
                    .or_else(|| e.ret.map(|r| r as i32));
                let old = e.fd.and_then(|fd| fdt[p].get(&fd).copied()).or(resolved);
                if let (Some(new), Some(end)) = (new, old.filter(|end| wanted.contains(end))) {
                    fdt[p].insert(new, end);
                }
            }
            // Exec closes close-on-exec fds. The log does not say which
            // fds had O_CLOEXEC; Rust, Go, Python and modern C libraries set
            // it on every socket and pipe they make, while stdio (0-2) is
            // passed on by dup2, which clears it. So fds above 2 count as
            // closed by the exec.
            "exec" => {
                let gone: Vec<i32> = fdt[p].keys().copied().filter(|&fd| fd > 2).collect();
                for fd in gone {
                    if let Some(end) = fdt[p].remove(&fd) {
                        closes.entry(end).or_default().push(i);
                    }
                }
            }
            "close" => {
                let held = e.fd.and_then(|fd| fdt[p].remove(&fd));
                let end = held.or(resolved);
                match end {
                    Some(end) => closes.entry(end).or_default().push(i),
                    None => {
                        // A pipe fd of unknown side: if this process wrote
                        // the pipe, count it as a close of the write side.
                        if let Some((c, _)) = uses[i].as_ref() {
                            if pipe_writers.contains(&(p, *c)) {
                                closes.entry((*c, 0)).or_default().push(i);
                            }
                        }
                    }
                }
            }
            "shutdown" => {
                if let (Some(end), Some("wr" | "rdwr")) = (resolved, e.detail.how.as_deref()) {
                    closes.entry(end).or_default().push(i);
                }
            }
            _ => {
                if let (Some(fd), Some(end)) = (e.fd, resolved) {
                    if wanted.contains(&end) {
                        fdt[p].insert(fd, end);
                    }
                }
            }
        }
        if let Some((c, s)) = resolved {
            if scans[c].kind == ChannelKind::Pipe && s == 0 && is_send(&e.call) {
                pipe_writers.insert((p, c));
            }
            let eof = is_recv(&e.call) && e.ret == Some(0) && e.errno.is_none() && scans[c].stream;
            if eof {
                let w = if scans[c].kind == ChannelKind::Pipe {
                    0
                } else {
                    1 - s
                };
                eof_reads.push((i, c, w));
            }
        }
        if let Some(&q) = proc_end.get(&i) {
            for (_, end) in fdt[q].drain() {
                closes.entry(end).or_default().push(i);
            }
        }
    }

    // EOF: the last close of the write side that began before the read
    // returned (a close entered after the read returned cannot have caused
    // it: the tracer timestamps entry before the kernel acts).
    let mut eofs = Vec::new();
    for (r, c, w) in eof_reads {
        let until = events[r].end_ns.unwrap_or(u64::MAX);
        let best = closes
            .get(&(c, w))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&j| j != r && events[j].start_ns <= until)
            .max_by_key(|&j| (events[j].start_ns, events[j].seq));
        if let Some(j) = best {
            eofs.push((j, r));
        }
    }

    // Events acting on each channel, per side.
    let mut on: Vec<[Vec<usize>; 2]> = vec![[Vec::new(), Vec::new()]; scans.len()];
    let mut event_channel = vec![None; events.len()];
    for &i in &names.order {
        if let Some((c, _)) = uses[i] {
            event_channel[i] = Some(c);
        }
        if let Some((c, s)) = side[i] {
            on[c][usize::from(s)].push(i);
        }
    }

    let channels = name_channels(events, names, &scans, &on);
    let messages = match_messages(events, &scans, &channels, &on);
    let connects = scans
        .iter()
        .filter_map(|s| Some((s.connect?, s.accept?)))
        .collect();
    Analysis {
        channels,
        messages,
        event_channel,
        connects,
        eofs,
    }
}

/// Canonical order key of an event: (process name, thread ordinal,
/// position). Used wherever a "first" must not depend on interleaving.
fn ckey(names: &Names, i: usize) -> (&str, usize, usize) {
    let t = &names.threads[names.thread_of[i]];
    (
        names.processes[t.process].name.as_str(),
        t.ordinal,
        names.position[i],
    )
}

fn name_channels(
    events: &[Event],
    names: &Names,
    scans: &[Scan],
    on: &[[Vec<usize>; 2]],
) -> Vec<Channel> {
    let proc_of = |i: usize| names.threads[names.thread_of[i]].process;
    let mut out: Vec<Channel> = Vec::with_capacity(scans.len());
    // Group key and order key of each channel, for the ordinals.
    let mut groups: Vec<(String, (String, usize, usize))> = Vec::with_capacity(scans.len());
    for (c, s) in scans.iter().enumerate() {
        // The process behind each side: the canonical first process that
        // moved data on it, else that did anything on it.
        let holder = |k: usize| -> Option<usize> {
            let data = on[c][k]
                .iter()
                .copied()
                .filter(|&i| is_send(&events[i].call) || is_recv(&events[i].call));
            let pick = data.min_by_key(|&i| ckey(names, i));
            let pick = pick.or_else(|| on[c][k].iter().copied().min_by_key(|&i| ckey(names, i)));
            pick.map(proc_of)
        };
        let mut processes = [holder(0), holder(1)];
        if s.kind != ChannelKind::Pipe && s.stream {
            // Connect and accept say exactly who holds each end.
            if let Some(i) = s.connect {
                processes[0] = Some(proc_of(i));
            }
            if let Some(i) = s.accept {
                processes[1] = Some(proc_of(i));
            }
        }
        let outside = |k: usize| -> String {
            let addr = s.addrs[k].clone().unwrap_or_else(|| "?".to_string());
            match s.kind {
                ChannelKind::Pipe => "outside".to_string(),
                ChannelKind::Unix => format!("unix:{}", s.path.as_deref().unwrap_or("?")),
                // An outside TCP client's port is ephemeral: name it by IP.
                ChannelKind::Tcp if k == 0 => addr
                    .rsplit_once(':')
                    .map_or(addr.clone(), |(ip, _)| ip.to_string()),
                _ => addr,
            }
        };
        let ends = [0, 1].map(|k| match processes[k] {
            Some(p) => names.processes[p].name.clone(),
            None => outside(k),
        });
        let all = || on[c][0].iter().chain(&on[c][1]).copied();
        let (group, order) = if let Some(i) = s
            .created_by
            .filter(|_| s.kind == ChannelKind::Pipe || s.socketpair)
        {
            let kind = if s.socketpair { "socketpair" } else { "pipe" };
            (
                format!("{kind}:{}", names.processes[proc_of(i)].name),
                ckey(names, i),
            )
        } else if s.kind == ChannelKind::Pipe {
            let min = all()
                .filter_map(|i| Some((names.processes[proc_of(i)].name.clone(), events[i].fd?)))
                .min()
                .unwrap_or_else(|| ("?".to_string(), -1));
            (format!("pipe:{}/fd{}", min.0, min.1), ("", 0, 0))
        } else {
            let created = s
                .connect
                .or(s.accept)
                .or_else(|| all().min_by_key(|&i| ckey(names, i)));
            (
                format!("{}->{}", ends[0], ends[1]),
                created.map_or(("", 0, 0), |i| ckey(names, i)),
            )
        };
        groups.push((group, (order.0.to_string(), order.1, order.2)));
        out.push(Channel {
            name: String::new(),
            kind: s.kind,
            stream: s.stream,
            ends,
            processes,
            created_by: s.connect.or(s.accept).or(s.created_by),
        });
    }
    let mut idx: Vec<usize> = (0..scans.len()).collect();
    idx.sort_by(|&a, &b| groups[a].cmp(&groups[b]).then(a.cmp(&b)));
    let mut count: HashMap<&str, usize> = HashMap::new();
    for &c in &idx {
        let g = groups[c].0.as_str();
        if g.starts_with("pipe:") && g.contains("/fd") {
            out[c].name = g.to_string();
            continue;
        }
        let k = count.entry(g).or_insert(0);
        out[c].name = format!("{g}#{k}");
        *k += 1;
    }
    // Inherited pipes could share a name in odd logs; keep names unique.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for &c in &idx {
        let n = seen.entry(out[c].name.clone()).or_insert(0);
        if *n > 0 {
            out[c].name = format!("{}~{n}", out[c].name);
        }
        *n += 1;
    }
    out
}

fn match_messages(
    events: &[Event],
    scans: &[Scan],
    channels: &[Channel],
    on: &[[Vec<usize>; 2]],
) -> Vec<Message> {
    let mut messages: Vec<Message> = Vec::new();
    for (c, s) in scans.iter().enumerate() {
        let pipe = s.kind == ChannelKind::Pipe;
        let directions: &[u8] = if pipe || !s.stream { &[0] } else { &[0, 1] };
        for &d in directions {
            let reader = if pipe || !s.stream { 1 } else { 1 - d };
            let receiver_traced = channels[c].processes[usize::from(reader)].is_some();
            let sends: Vec<usize> = on[c][usize::from(d)]
                .iter()
                .copied()
                .filter(|&i| is_send(&events[i].call) && ok(&events[i]) && moved(&events[i]) > 0)
                .collect();
            let recvs: Vec<usize> = on[c][usize::from(reader)]
                .iter()
                .copied()
                .filter(|&i| is_recv(&events[i].call) && ok(&events[i]) && moved(&events[i]) > 0)
                .collect();
            let first = messages.len();
            let push = |send: usize, bytes: u64, messages: &mut Vec<Message>| {
                let ordinal = messages.len() - first;
                let r = if d == 1 { "r" } else { "" };
                messages.push(Message {
                    name: format!("{}/{r}{ordinal}", channels[c].name),
                    channel: c,
                    reverse: d == 1,
                    ordinal,
                    send,
                    recvs: Vec::new(),
                    bytes,
                    lost: false,
                    dropped: is_dropped(&events[send]),
                });
            };
            if s.stream {
                // Byte ranges: each kept send occupies [a, b) of the stream.
                let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
                let mut off = 0;
                for &i in &sends {
                    push(i, moved(&events[i]), &mut messages);
                    let m = messages.len() - 1;
                    if !messages[m].dropped {
                        ranges.push((off, off + messages[m].bytes, m));
                        off += messages[m].bytes;
                    }
                }
                let (mut roff, mut j) = (0, 0);
                for &r in &recvs {
                    let (a, b) = (roff, roff + moved(&events[r]));
                    roff = b;
                    while j < ranges.len() && ranges[j].1 <= a {
                        j += 1;
                    }
                    let mut k = j;
                    while k < ranges.len() && ranges[k].0 < b {
                        messages[ranges[k].2].recvs.push(r);
                        k += 1;
                    }
                }
            } else {
                // Datagrams: FIFO per flow; a receive takes the next kept
                // datagram of its size (a nearer size mismatch was lost),
                // else the next kept one (truncated by a short buffer).
                for &i in &sends {
                    for size in parts(&events[i]) {
                        push(i, size, &mut messages);
                    }
                }
                let mut next = first;
                for &r in &recvs {
                    for size in parts(&events[r]) {
                        let kept = (next..messages.len()).filter(|&m| !messages[m].dropped);
                        let pick = kept
                            .clone()
                            .take(64)
                            .find(|&m| messages[m].bytes == size)
                            .or_else(|| kept.clone().next());
                        if let Some(m) = pick {
                            messages[m].recvs.push(r);
                            next = m + 1;
                        }
                    }
                }
            }
            for m in &mut messages[first..] {
                m.recvs.dedup();
                m.lost = m.dropped || (receiver_traced && m.recvs.is_empty());
            }
        }
    }
    messages
}
