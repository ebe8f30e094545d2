//! Pass 1 of the channel analysis: find every channel in the log by its
//! kernel identity, and for each event the channel it acted on with a hint
//! of which side it was on. Sides are settled at the end, once every
//! connect and accept has said which address is the initiator's.

use std::collections::HashMap;

use super::ok;
use crate::names::Names;
use crate::{receives, sends};
use bop_model::{ChannelKind, Endpoint, Event};

/// The kernel identity of a channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Pipe(String),
    /// Kind and the two end addresses, sorted.
    Stream(ChannelKind, String, String),
    /// Kind, normalized source, normalized destination.
    Flow(ChannelKind, String, String),
}

/// What the log says about one channel, gathered while scanning.
pub(super) struct Scan {
    pub(super) key: Key,
    pub(super) kind: ChannelKind,
    pub(super) stream: bool,
    pub(super) socketpair: bool,
    /// Stream sockets: the address of side 0, once known.
    pub(super) side0: Option<String>,
    /// Stream sockets: the first local address seen (fallback for side 0).
    first_local: Option<String>,
    pub(super) connect: Option<usize>,
    pub(super) accept: Option<usize>,
    pub(super) created_by: Option<usize>,
    /// Display addresses of the two sides (for outside ends).
    pub(super) addrs: [Option<String>; 2],
    pub(super) path: Option<String>,
}

impl Scan {
    /// The side of a stream socket whose local address is `local`.
    pub(super) fn side_of(&self, local: &str) -> u8 {
        u8::from(self.side0.as_deref() != Some(local))
    }
}

/// How an event's side of its channel is known before sides are resolved.
#[derive(Clone, Debug)]
pub(super) enum Hint {
    /// The local address of a stream socket.
    Addr(String),
    Side(u8),
    /// A pipe fd used by a call that tells nothing (close, dup): look the
    /// fd up in the fd table.
    Unknown,
}

/// Per event: the channel it acted on and the hint of its side.
pub(super) type Uses = Vec<Option<(usize, Hint)>>;

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
        ChannelKind::Pipe | ChannelKind::Eventfd => Some(Key::Pipe(ep.local.clone())),
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

/// Finds the channels of a log (in seq order) and what each event acted
/// on.
pub(super) fn discover(events: &[Event], names: &Names) -> (Vec<Scan>, Uses) {
    let mut b = Builder {
        events,
        scans: Vec::new(),
        index: HashMap::new(),
        uses: vec![None; events.len()],
    };
    for &i in &names.order {
        b.event(i);
    }
    for s in &mut b.scans {
        settle(s);
    }
    (b.scans, b.uses)
}

/// Side 0 of a stream socket nobody connected: the first local address
/// seen. Display addresses default to the key's.
fn settle(s: &mut Scan) {
    if matches!(s.kind, ChannelKind::Tcp | ChannelKind::Unix) && s.stream && s.side0.is_none() {
        s.side0.clone_from(&s.first_local);
    }
    if let (Key::Stream(_, x, y), Some(s0)) = (&s.key, &s.side0) {
        s.addrs[0].get_or_insert_with(|| s0.clone());
        s.addrs[1].get_or_insert_with(|| if x == s0 { y.clone() } else { x.clone() });
    }
}

struct Builder<'a> {
    events: &'a [Event],
    scans: Vec<Scan>,
    index: HashMap<Key, usize>,
    uses: Uses,
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

    /// The stream channel of a new or connected endpoint, noted.
    fn stream_channel(&mut self, ep: &Endpoint, fallback_peer: Option<&str>) -> Option<usize> {
        let (key, kind) = (stream_key(ep, fallback_peer)?, ep.kind?);
        let c = self.channel(key, kind, true);
        self.saw_stream(c, ep);
        Some(c)
    }

    fn event(&mut self, i: usize) {
        let e = &self.events[i];
        let good = ok(e);
        match e.call.as_str() {
            "pipe" | "pipe2" if good => self.pipe(i, ChannelKind::Pipe),
            "eventfd" | "eventfd2" if good => self.pipe(i, ChannelKind::Eventfd),
            "socketpair" if good => self.socketpair(i),
            "accept" | "accept4" if good => self.accept(i),
            "connect" if good || e.errno.as_deref() == Some("EINPROGRESS") => self.connect(i),
            // A failed connect made no connection (whatever its fd shows).
            "connect" => {}
            _ => self.generic(i),
        }
    }

    /// A new pipe or eventfd: one kernel object, written by side 0.
    fn pipe(&mut self, i: usize, kind: ChannelKind) {
        if let Some(ep) = self.events[i].detail.new_endpoints.first() {
            let stream = kind == ChannelKind::Pipe;
            let c = self.channel(Key::Pipe(ep.local.clone()), kind, stream);
            self.scans[c].created_by.get_or_insert(i);
            self.uses[i] = Some((c, Hint::Side(0)));
        }
    }

    fn socketpair(&mut self, i: usize) {
        let Some(ep) = self.events[i].detail.new_endpoints.first() else {
            return;
        };
        if let Some(c) = self.stream_channel(ep, None) {
            let s = &mut self.scans[c];
            s.socketpair = true;
            s.side0 = Some(ep.local.clone());
            s.created_by.get_or_insert(i);
            self.uses[i] = Some((c, Hint::Side(0)));
        }
    }

    fn accept(&mut self, i: usize) {
        let Some(ep) = self.events[i].detail.new_endpoints.first() else {
            return;
        };
        if let Some(c) = self.stream_channel(ep, None) {
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

    fn connect(&mut self, i: usize) {
        let e = &self.events[i];
        let Some(ep) = &e.endpoint else {
            return;
        };
        if let Some(c) = self.stream_channel(ep, e.detail.addr.as_deref()) {
            let s = &mut self.scans[c];
            // The connecting end is side 0, whatever was seen first.
            s.side0 = Some(ep.local.clone());
            s.connect.get_or_insert(i);
            s.addrs[0] = Some(ep.local.clone());
            s.addrs[1] = ep.peer.clone().or_else(|| e.detail.addr.clone());
            self.uses[i] = Some((c, Hint::Addr(ep.local.clone())));
        }
    }

    /// Any other call on an fd with an endpoint: a datagram send or
    /// receive names its flow; anything on a stream or pipe names its
    /// channel.
    fn generic(&mut self, i: usize) {
        let e = &self.events[i];
        let Some(ep) = &e.endpoint else { return };
        let Some(kind) = ep.kind else { return };
        let send = sends(e);
        let recv = receives(e);
        if is_datagram(ep) {
            if send || recv {
                self.datagram(i, ep, kind, send);
            }
            return;
        }
        let Some(key) = stream_key(ep, None) else {
            return;
        };
        let one_way = matches!(kind, ChannelKind::Pipe | ChannelKind::Eventfd);
        let c = self.channel(key, kind, kind != ChannelKind::Eventfd);
        let hint = if one_way {
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

    /// A datagram sent (side 0) or received (side 1) on the flow from its
    /// source to its destination.
    fn datagram(&mut self, i: usize, ep: &Endpoint, kind: ChannelKind, send: bool) {
        let e = &self.events[i];
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
    }
}
