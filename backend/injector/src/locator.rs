//! Run-independent locators for processes, channels, messages and events,
//! computed incrementally from events in recording order.
//!
//! Logical names (the tracker's) are computed over a whole run, but the
//! injector must recognise "the fourth message from client to primary"
//! at the entry of a send, before the run is over. So a fault plan written
//! in logical names is first translated, through the parent run, into these
//! locators, which the injector can compute online with the same code that
//! computed them over the parent: same program behaviour, same locator.
//!
//! * process: scenario node name (or `root#k`), then for a child
//!   `PARENT-THREAD>k` (k-th process its creating thread started);
//! * thread: `PROCESS:tPATH`, the tracker's rule (DESIGN.md "Logical
//!   names"): t0 the first, `t3` the third thread t0 started, `t3.1` the
//!   first t3 started, `txK` the K-th whose creator is unknown, so a
//!   thread's locator depends only on its own creation history;
//! * channel direction: `KIND:SENDER->PEER#n` (n-th distinct channel the
//!   sender used towards that peer), the peer being the process that owns
//!   the other end's address or inode, or `ext`;
//! * message: `DIRECTION/m` (m-th send-family call in that direction);
//! * event: `THREAD/CALL/m` (m-th recorded call of that name in the thread);
//! * connect: `connect:PROCESS->PEER#n` (n-th connect the process made to
//!   the peer that listens at the address);
//! * the receive of a message: no locator of its own, but a position in
//!   its direction's stream. The receiver has taken so many bytes
//!   (datagrams) from its end, the sender has put so many before each
//!   message: a receive on a stream takes a message's first bytes when
//!   every byte before the message is taken and not all of its own.
//!   Counted by the receiver's own calls, so it is the same position
//!   whichever thread makes the receive and however many times it finds
//!   nothing yet (`EAGAIN` before Go's netpoller wakes it).

use std::collections::HashMap;

use bop_model::{ChannelKind, Endpoint, Event, receives, sends};

/// Incremental locator state of one run.
#[derive(Default, Debug, Clone)]
pub struct Locator {
    proc_key: HashMap<i32, String>,
    thread_key: HashMap<i32, String>,
    /// Process locator of each tid's thread.
    proc_of_thread: HashMap<i32, String>,
    /// Threads started so far, per creating thread locator.
    threads_made: HashMap<String, usize>,
    /// Threads with an unknown creator so far, per process locator.
    orphan_threads: HashMap<String, usize>,
    children_of_thread: HashMap<i32, usize>,
    roots: usize,
    owner: HashMap<String, String>,
    port_owner: HashMap<String, String>,
    directions: HashMap<(String, String), String>,
    direction_count: HashMap<String, usize>,
    messages: HashMap<String, usize>,
    event_count: HashMap<(String, String), usize>,
    /// The direction each kernel key (`local|peer` of the sender's end)
    /// was given, to find the direction a receive takes from.
    by_kernel: HashMap<String, String>,
    /// Per direction: where each message ends in its stream (bytes, or
    /// datagrams), in order.
    sent_ends: HashMap<String, Vec<u64>>,
    /// Per receiving end (`local|peer`): bytes (datagrams) taken so far.
    taken: HashMap<String, u64>,
    /// Connects made so far, per `PROCESS->PEER`.
    connects: HashMap<String, usize>,
}

fn port_of(addr: &str) -> Option<&str> {
    addr.rsplit_once(':').map(|(_, p)| p)
}

impl Locator {
    /// The process locator of a pid seen so far.
    pub fn process(&self, pid: i32) -> Option<&str> {
        self.proc_key.get(&pid).map(String::as_str)
    }

    /// The thread locator of a tid seen so far.
    pub fn thread(&self, tid: i32) -> Option<&str> {
        self.thread_key.get(&tid).map(String::as_str)
    }

    /// The process owning the other end of a channel, as far as known.
    pub fn peer(&self, kind: Option<ChannelKind>, peer: Option<&str>) -> String {
        let Some(peer) = peer else {
            return "ext".into();
        };
        if let Some(o) = self.owner.get(peer) {
            return o.clone();
        }
        if matches!(kind, Some(ChannelKind::Tcp) | Some(ChannelKind::Udp)) {
            if let Some(o) = port_of(peer).and_then(|p| self.port_owner.get(p)) {
                return o.clone();
            }
        }
        "ext".into()
    }

    fn direction_key(ep: &Endpoint, addr: Option<&str>) -> (String, Option<String>) {
        let peer = if one_way(ep) {
            None
        } else {
            ep.peer.clone().or(addr.map(str::to_string))
        };
        (ep.local.clone(), peer)
    }

    /// The channel-direction locator a send by `pid` on `ep` (to `addr`)
    /// has, assigning it if this is the first send (when `assign`).
    fn direction(
        &mut self,
        pid: i32,
        ep: &Endpoint,
        addr: Option<&str>,
        assign: bool,
    ) -> Option<String> {
        let sender = self.proc_key.get(&pid)?.clone();
        let (local, peer) = Self::direction_key(ep, addr);
        let kernel = format!("{local}|{}", peer.as_deref().unwrap_or(""));
        if let Some(d) = self.directions.get(&(sender.clone(), kernel.clone())) {
            return Some(d.clone());
        }
        let kind = ep.kind.map_or("?", |k| k.as_str());
        let peer_key = if one_way(ep) {
            kind.to_string()
        } else {
            self.peer(ep.kind, peer.as_deref())
        };
        let base = format!("{kind}:{sender}->{peer_key}");
        let n = self.direction_count.get(&base).copied().unwrap_or(0);
        let d = format!("{base}#{n}");
        if assign {
            self.direction_count.insert(base, n + 1);
            self.directions.insert((sender, kernel.clone()), d.clone());
            self.by_kernel.insert(kernel, d.clone());
        }
        Some(d)
    }

    /// The direction a receive by `pid` on `ep` takes from: the one the
    /// sender's first send gave it, else (nothing sent that way yet) the
    /// one that first send would get now, from the sender's locator. `None`
    /// for one-way channels and ends without a peer.
    fn incoming(&self, pid: i32, ep: &Endpoint) -> Option<String> {
        let peer = ep.peer.as_deref().filter(|_| !one_way(ep))?;
        let kernel = format!("{peer}|{}", ep.local);
        if let Some(d) = self.by_kernel.get(&kernel) {
            return Some(d.clone());
        }
        let sender = self.peer(ep.kind, Some(peer));
        let receiver = self.proc_key.get(&pid)?;
        if sender == "ext" {
            return None;
        }
        // The sender names its peer by who owns this end: the receiver.
        let own = self.peer(ep.kind, Some(&ep.local));
        let to = if own == "ext" { receiver.clone() } else { own };
        let base = format!("{}:{sender}->{to}", ep.kind.map_or("?", |k| k.as_str()));
        let n = self.direction_count.get(&base).copied().unwrap_or(0);
        Some(format!("{base}#{n}"))
    }

    /// The directions of the channel a receive by `pid` on `ep` is on that
    /// have carried a message: the one it takes from, and its own.
    pub fn receive_directions(&self, pid: i32, ep: &Endpoint) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(peer) = ep.peer.as_deref().filter(|_| !one_way(ep)) {
            out.extend(self.by_kernel.get(&format!("{peer}|{}", ep.local)).cloned());
        }
        let own = Self::direction_key(ep, None);
        let kernel = format!("{}|{}", own.0, own.1.as_deref().unwrap_or(""));
        if let Some(p) = self.proc_key.get(&pid) {
            out.extend(self.directions.get(&(p.clone(), kernel)).cloned());
        }
        out
    }

    /// True when a receive by `pid` on `ep` now would take the first bytes
    /// of the message with locator `message` (`DIRECTION/k`): it takes
    /// from that direction, every byte (datagram) sent before the message
    /// is taken, and none of the message's own.
    pub fn takes_first(&self, pid: i32, ep: &Endpoint, message: &str) -> bool {
        let Some((direction, k)) = message.rsplit_once('/') else {
            return false;
        };
        let Ok(k) = k.parse::<usize>() else {
            return false;
        };
        if self.incoming(pid, ep).as_deref() != Some(direction) {
            return false;
        }
        let peer = ep.peer.as_deref().unwrap_or("");
        let taken = self
            .taken
            .get(&format!("{}|{peer}", ep.local))
            .copied()
            .unwrap_or(0);
        let ends = self.sent_ends.get(direction).map_or(&[][..], Vec::as_slice);
        let start = match k.checked_sub(1) {
            None => 0,
            Some(j) => match ends.get(j) {
                Some(&e) => e,
                None => return false,
            },
        };
        match ends.get(k) {
            Some(&end) => start <= taken && taken < end,
            // Not sent yet (as far as seen): the next bytes are its.
            None => taken == start,
        }
    }

    /// Notes what a send put into its direction's stream and a receive
    /// took from its end (a dropped or failed send put nothing).
    fn account(&mut self, ev: &Event, ep: &Endpoint, message: Option<&str>) {
        let units = match ev.bytes.filter(|&b| b > 0 && ev.errno.is_none()) {
            None => 0,
            Some(b) if ep.stream => b,
            Some(_) => 1,
        };
        if let Some(m) = message {
            let dropped = ev
                .injected
                .as_deref()
                .is_some_and(|i| i.starts_with("drop"));
            let d = m.rsplit_once('/').map_or(m, |(d, _)| d);
            let ends = self.sent_ends.entry(d.to_string()).or_default();
            let last = ends.last().copied().unwrap_or(0);
            ends.push(last + if dropped { 0 } else { units });
        } else if receives(ev) && !ev.detail.peek && units > 0 {
            let peer = ep.peer.as_deref().unwrap_or("");
            *self
                .taken
                .entry(format!("{}|{peer}", ep.local))
                .or_default() += units;
        }
    }

    /// The message locator the next send by `pid` on `ep` would have.
    pub fn peek_message(&mut self, pid: i32, ep: &Endpoint, addr: Option<&str>) -> Option<String> {
        let d = self.direction(pid, ep, addr, false)?;
        let m = self.messages.get(&d).copied().unwrap_or(0);
        Some(format!("{d}/{m}"))
    }

    /// The channel-direction locator of a send (without assigning it).
    pub fn peek_direction(
        &mut self,
        pid: i32,
        ep: &Endpoint,
        addr: Option<&str>,
    ) -> Option<String> {
        self.direction(pid, ep, addr, false)
    }

    /// The connect locator a connect by `pid` to `addr` has before it is
    /// observed (two at once from one process get the same one).
    pub fn peek_connect(&self, pid: i32, addr: &str) -> Option<String> {
        let base = self.connect_base(pid, addr)?;
        let n = self.connects.get(&base).copied().unwrap_or(0);
        Some(format!("connect:{base}#{n}"))
    }

    fn connect_base(&self, pid: i32, addr: &str) -> Option<String> {
        let from = self.proc_key.get(&pid)?;
        let to = self.peer(Some(ChannelKind::Tcp), Some(addr));
        Some(format!("{from}->{to}"))
    }

    /// Counts a connect that started a connection attempt (not a repeat
    /// of one under way, nor one a signal cut short).
    fn count_connect(&mut self, ev: &Event) {
        let repeat = matches!(ev.errno.as_deref(), Some("EALREADY" | "EISCONN" | "EINTR"));
        if let (false, Some(addr)) = (repeat, ev.detail.addr.as_deref()) {
            if let Some(base) = self.connect_base(ev.pid, addr) {
                *self.connects.entry(base).or_default() += 1;
            }
        }
    }

    /// The event locator the next `call` of thread `tid` would have.
    pub fn peek_event(&self, tid: i32, call: &str) -> Option<String> {
        let t = self.thread_key.get(&tid)?;
        let m = self
            .event_count
            .get(&(t.clone(), call.to_string()))
            .copied()
            .unwrap_or(0);
        Some(format!("{t}/{call}/{m}"))
    }

    /// Feeds one recorded event (in recording order). Returns its event
    /// locator and, for a send, its message locator.
    pub fn observe(&mut self, ev: &Event) -> (Option<String>, Option<String>) {
        if ev.call == "start" {
            self.start(ev);
        }
        let Some(proc_key) = self.proc_key.get(&ev.pid).cloned() else {
            return (None, None);
        };
        self.note_owners(ev, &proc_key);
        let event = self.thread_key.get(&ev.tid).cloned().map(|t| {
            let n = self
                .event_count
                .entry((t.clone(), ev.call.to_string()))
                .or_default();
            let loc = format!("{t}/{}/{n}", ev.call);
            *n += 1;
            loc
        });
        let message = match (&ev.endpoint, sends(ev)) {
            (Some(ep), true) => self
                .direction(ev.pid, ep, ev.detail.addr.as_deref(), true)
                .map(|d| {
                    let m = self.messages.entry(d.clone()).or_default();
                    let loc = format!("{d}/{m}");
                    *m += 1;
                    loc
                }),
            _ => None,
        };
        if let Some(ep) = &ev.endpoint {
            self.account(ev, ep, message.as_deref());
        }
        if ev.call == "connect" {
            self.count_connect(ev);
        }
        (event, message)
    }

    /// A new thread: its locator, and for a new process the process's.
    fn start(&mut self, ev: &Event) {
        let (proc_key, key) = if ev.detail.thread {
            let p = self
                .proc_key
                .get(&ev.pid)
                .cloned()
                .unwrap_or_else(|| format!("pid{}", ev.pid));
            let key = self.thread_locator(&p, ev.detail.child);
            (p, key)
        } else {
            let p = self.new_process(ev);
            self.proc_key.insert(ev.pid, p.clone());
            let key = format!("{p}:t0");
            (p, key)
        };
        self.proc_of_thread.insert(ev.tid, proc_key);
        self.thread_key.insert(ev.tid, key);
    }

    /// The locator of a new thread of process `p` started by `creator`:
    /// the creator's path plus its rank among the threads it started, or
    /// `txK` when the creator is unknown or in another process.
    fn thread_locator(&mut self, p: &str, creator: Option<i32>) -> String {
        let known = creator
            .filter(|c| self.proc_of_thread.get(c).is_some_and(|q| q == p))
            .and_then(|c| self.thread_key.get(&c).cloned());
        match known {
            Some(c) => {
                let n = self.threads_made.entry(c.clone()).or_default();
                *n += 1;
                match c.strip_suffix(":t0") {
                    Some(proc) => format!("{proc}:t{n}"),
                    None => format!("{c}.{n}"),
                }
            }
            None => {
                let n = self.orphan_threads.entry(p.to_string()).or_default();
                *n += 1;
                format!("{p}:tx{}", *n - 1)
            }
        }
    }

    /// The locator of a new process: its node name, else its creating
    /// thread's and its rank among that thread's children, else a root.
    fn new_process(&mut self, ev: &Event) -> String {
        match (ev.detail.node.as_ref(), ev.detail.child) {
            (Some(node), _) => node.clone(),
            (None, Some(parent_tid)) => {
                let parent = self
                    .thread_key
                    .get(&parent_tid)
                    .cloned()
                    .unwrap_or_else(|| format!("tid{parent_tid}"));
                let n = self.children_of_thread.entry(parent_tid).or_default();
                let k = format!("{parent}>{n}");
                *n += 1;
                k
            }
            (None, None) => {
                self.roots += 1;
                format!("root#{}", self.roots - 1)
            }
        }
    }

    /// Who owns which address or inode, for naming peers: the first
    /// process seen with it as its own end.
    fn note_owners(&mut self, ev: &Event, proc_key: &str) {
        let mut own = |addr: &str| {
            self.owner
                .entry(addr.to_string())
                .or_insert_with(|| proc_key.to_string());
        };
        if let Some(ep) = &ev.endpoint {
            own(&ep.local);
        }
        for ep in &ev.detail.new_endpoints {
            own(&ep.local);
        }
        if let Some(ep) = &ev.endpoint {
            if matches!(ev.call.as_str(), "bind" | "listen") {
                if let Some(p) = port_of(&ep.local) {
                    self.port_owner
                        .entry(p.to_string())
                        .or_insert_with(|| proc_key.to_string());
                }
            }
        }
        // An accepted connection's other end belongs to the connecting
        // process (known from the kernel at accept time), so the accepting
        // side's names do not depend on which stop the tracer handled first.
        if let (Some(peer_pid), Some(ep)) = (ev.detail.peer_pid, ev.detail.new_endpoints.first()) {
            if let (Some(peer), Some(key)) = (&ep.peer, self.proc_key.get(&peer_pid).cloned()) {
                self.owner.entry(peer.clone()).or_insert(key);
            }
        }
    }
}

impl Locator {
    /// Pids whose process locator is `process` or below it.
    pub fn pids_under(&self, process: &str) -> Vec<i32> {
        self.proc_key
            .iter()
            .filter(|(_, k)| {
                *k == process
                    || k.strip_prefix(process)
                        .is_some_and(|r| r.starts_with(":t") && r.contains('>'))
            })
            .map(|(p, _)| *p)
            .collect()
    }
}
/// Pipes and eventfds: one kernel object both ends share, written one way
/// (its message directions are named by the sender alone).
fn one_way(ep: &Endpoint) -> bool {
    matches!(ep.kind, Some(ChannelKind::Pipe | ChannelKind::Eventfd))
}
