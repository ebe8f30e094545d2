//! Logical channel names (docs/EXPORT.md "Channels"; DESIGN.md "Logical
//! names"): the process behind each side, then `a->b#k` for connections
//! and flows, `pipe:creator#k` and `socketpair:creator#k` for what a
//! process made, with ordinals in canonical order (never the recording
//! order of concurrent events). A side no traced process used is named by
//! what stays the same from run to run (issue #13, item 8): the traced
//! process listening at its address, else the address with each port the
//! scenario allocated written `{port.NAME}`.

use std::collections::HashMap;

use super::Channel;
use super::discover::Scan;
use crate::names::Names;
use crate::{receives, sends};
use bop_model::{ChannelKind, Event};

/// Events acting on one channel, per side.
pub(super) type OnChannel = [Vec<usize>; 2];

/// Canonical order key of an event: (process name, thread path,
/// position). Used wherever a "first" must not depend on interleaving.
fn ckey(names: &Names, i: usize) -> (&str, &[usize], usize) {
    let t = &names.threads[names.thread_of(i)];
    (
        names.processes[t.process].name.as_str(),
        &t.path,
        names.position(i),
    )
}

/// The group a channel is counted in and its place in that group's order:
/// whether it was never accepted (those count after every connection
/// that was), then the canonical key of its creating event.
type Group = (String, (bool, String, Vec<usize>, usize));

/// Names every channel; `on[c]` are the events on channel `c` per side.
pub(super) fn name_channels(
    events: &[Event],
    names: &Names,
    scans: &[Scan],
    on: &[OnChannel],
) -> Vec<Channel> {
    let mut out: Vec<Channel> = Vec::with_capacity(scans.len());
    let mut groups: Vec<Group> = Vec::with_capacity(scans.len());
    let stable = Stable::of(events, names);
    for (s, on_c) in scans.iter().zip(on) {
        let processes = holders(events, names, s, on_c);
        let ends = [0, 1].map(|k| match processes[k] {
            Some(p) => names.processes[p].name.clone(),
            None => stable.listener(s, k).map_or_else(
                || stable.ports_in(&outside(s, k)),
                |p| names.processes[p].name.clone(),
            ),
        });
        let unaccepted = never_accepted(s, &processes, &stable);
        groups.push(group(events, names, s, on_c, &ends, unaccepted));
        out.push(Channel {
            name: String::new(),
            kind: s.kind,
            stream: s.stream,
            ends,
            processes,
            created_by: s.connect.or(s.accept).or(s.created_by),
        });
    }
    assign_names(&mut out, &groups);
    out
}

/// The process behind each side: the canonical first process that moved
/// data on it, else that did anything on it; for a connection, the
/// processes of its connect and accept.
fn holders(events: &[Event], names: &Names, s: &Scan, on: &OnChannel) -> [Option<usize>; 2] {
    let proc_of = |i: usize| names.threads[names.thread_of(i)].process;
    let holder = |k: usize| -> Option<usize> {
        let data = on[k]
            .iter()
            .copied()
            .filter(|&i| sends(&events[i]) || receives(&events[i]));
        let pick = data.min_by_key(|&i| ckey(names, i));
        let pick = pick.or_else(|| on[k].iter().copied().min_by_key(|&i| ckey(names, i)));
        pick.map(proc_of)
    };
    let mut processes = [holder(0), holder(1)];
    if matches!(s.kind, ChannelKind::Tcp | ChannelKind::Unix) && s.stream {
        // Connect and accept say exactly who holds each end.
        if let Some(i) = s.connect {
            processes[0] = Some(proc_of(i));
        }
        if let Some(i) = s.accept {
            processes[1] = Some(proc_of(i));
        }
    }
    processes
}

/// A connection to a traced listener that it never accepted: refused
/// (the listener was not up yet, or gone), or left in its backlog. Such
/// attempts depend on timing (a client retrying until its server is up
/// makes as many as the startup took), so they are counted after the
/// connections that were accepted, whose names then stay the same from
/// run to run (DESIGN "Logical names").
fn never_accepted(s: &Scan, processes: &[Option<usize>; 2], stable: &Stable) -> bool {
    matches!(s.kind, ChannelKind::Tcp | ChannelKind::Unix)
        && s.stream
        && s.connect.is_some()
        && s.accept.is_none()
        && processes[1].is_none()
        && stable.listener(s, 1).is_some()
}

/// What names an outside side stably: the scenario's ports (from the
/// nodes' `start` events) and who listens where.
struct Stable {
    /// Allocated port → `{port.NAME}`.
    ports: HashMap<u16, String>,
    /// (kind, port or unix path) → the canonical first traced process that
    /// bound or listened there.
    listeners: HashMap<(ChannelKind, String), usize>,
}

impl Stable {
    fn of(events: &[Event], names: &Names) -> Stable {
        let mut ports = HashMap::new();
        let mut listeners: HashMap<(ChannelKind, String), usize> = HashMap::new();
        let mut best: HashMap<(ChannelKind, String), (&str, &[usize], usize)> = HashMap::new();
        for (i, e) in events.iter().enumerate() {
            for (name, port) in &e.detail.ports {
                ports.insert(*port, format!("{{port.{name}}}"));
            }
            let bound = matches!(e.call.as_str(), "bind" | "listen") && e.ret == Some(0);
            let Some(key) = e.endpoint.as_deref().filter(|_| bound).and_then(place) else {
                continue;
            };
            let k = ckey(names, i);
            if best.get(&key).is_none_or(|b| k < *b) {
                best.insert(key.clone(), k);
                listeners.insert(key, names.threads[names.thread_of(i)].process);
            }
        }
        Stable { ports, listeners }
    }

    /// The traced process listening where side `k` of `s` is, if any. An
    /// initiator's address is its own (ephemeral), never a listener's.
    fn listener(&self, s: &Scan, k: usize) -> Option<usize> {
        if k == 0 && s.stream {
            return None;
        }
        let key = match s.kind {
            ChannelKind::Unix => (ChannelKind::Unix, s.path.clone()?),
            kind => (kind, port_of(s.addrs[k].as_deref()?)?.to_string()),
        };
        self.listeners.get(&key).copied()
    }

    /// `name` with every allocated port (a whole number in it) written
    /// `{port.NAME}`.
    fn ports_in(&self, name: &str) -> String {
        if self.ports.is_empty() {
            return name.to_string();
        }
        let mut out = String::with_capacity(name.len());
        let mut digits = String::new();
        let flush = |digits: &mut String, out: &mut String| {
            let p = digits.parse::<u16>().ok().and_then(|p| self.ports.get(&p));
            out.push_str(p.map_or(digits.as_str(), String::as_str));
            digits.clear();
        };
        for c in name.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else {
                flush(&mut digits, &mut out);
                out.push(c);
            }
        }
        flush(&mut digits, &mut out);
        out
    }
}

/// Where a bound or listening endpoint is reachable: its port (IP
/// addresses differ between a wildcard bind and the peer's view), or its
/// unix path.
fn place(ep: &bop_model::Endpoint) -> Option<(ChannelKind, String)> {
    match ep.kind? {
        ChannelKind::Unix => Some((ChannelKind::Unix, ep.path.clone()?)),
        kind @ (ChannelKind::Tcp | ChannelKind::Udp) => {
            Some((kind, port_of(&ep.local)?.to_string()))
        }
        _ => None,
    }
}

/// The port of `ip:port` (`[v6]:port`), if it has one.
fn port_of(addr: &str) -> Option<&str> {
    addr.rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// The name of side `k` when no traced process holds it.
fn outside(s: &Scan, k: usize) -> String {
    let addr = s.addrs[k].clone().unwrap_or_else(|| "?".to_string());
    match s.kind {
        ChannelKind::Pipe | ChannelKind::Eventfd => "outside".to_string(),
        ChannelKind::Unix => format!("unix:{}", s.path.as_deref().unwrap_or("?")),
        // An outside TCP client's port is ephemeral: name it by IP.
        ChannelKind::Tcp if k == 0 => addr
            .rsplit_once(':')
            .map_or(addr.clone(), |(ip, _)| ip.to_string()),
        _ => addr,
    }
}

/// The group of a channel (`pipe:creator`, `socketpair:creator`, `a->b`,
/// or a pipe of unknown origin named by its first fd) and its order key.
fn group(
    events: &[Event],
    names: &Names,
    s: &Scan,
    on: &OnChannel,
    ends: &[String; 2],
    unaccepted: bool,
) -> Group {
    let proc_of = |i: usize| names.threads[names.thread_of(i)].process;
    let all = || on[0].iter().chain(&on[1]).copied();
    let (group, order) = if let Some(i) = s
        .created_by
        .filter(|_| matches!(s.kind, ChannelKind::Pipe | ChannelKind::Eventfd) || s.socketpair)
    {
        let kind = match s.kind {
            _ if s.socketpair => "socketpair",
            ChannelKind::Eventfd => "eventfd",
            _ => "pipe",
        };
        (
            format!("{kind}:{}", names.processes[proc_of(i)].name),
            ckey(names, i),
        )
    } else if matches!(s.kind, ChannelKind::Pipe | ChannelKind::Eventfd) {
        let min = all()
            .filter_map(|i| Some((names.processes[proc_of(i)].name.clone(), events[i].fd?)))
            .min()
            .unwrap_or_else(|| ("?".to_string(), -1));
        (format!("pipe:{}/fd{}", min.0, min.1), ("", &[][..], 0))
    } else {
        let created = s
            .connect
            .or(s.accept)
            .or_else(|| all().min_by_key(|&i| ckey(names, i)));
        (
            format!("{}->{}", ends[0], ends[1]),
            created.map_or(("", &[][..], 0), |i| ckey(names, i)),
        )
    };
    (
        group,
        (unaccepted, order.0.to_string(), order.1.to_vec(), order.2),
    )
}

/// `group#k` by order within each group (a pipe named by its fd keeps
/// that name), then `~n` suffixes where inherited pipes would share one.
fn assign_names(out: &mut [Channel], groups: &[Group]) {
    let mut idx: Vec<usize> = (0..out.len()).collect();
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
    let mut seen: HashMap<String, usize> = HashMap::new();
    for &c in &idx {
        let n = seen.entry(out[c].name.clone()).or_insert(0);
        if *n > 0 {
            out[c].name = format!("{}~{n}", out[c].name);
        }
        *n += 1;
    }
}
