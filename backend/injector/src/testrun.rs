//! Test helpers: hand-written runs at the level fault plans are written in
//! (scenario nodes, connections between them, messages), recorded as events
//! the way the tracer records them, and replayed through an [`Injector`]
//! the way the tracer consults it.

use bop_model::{ChannelKind, Detail, Endpoint, Event, is_recorded_call};
use bop_tracker::CausalGraph;

use super::{Decision, Entry, Injector};

/// A run under construction: every call returns at once, 1 ms apart.
#[derive(Default)]
pub(crate) struct Run {
    events: Vec<Event>,
    /// Next fd of each process (0-2 are stdio).
    next_fd: Vec<(i32, i32)>,
    /// Listening processes and their ports.
    listening: Vec<(i32, u16)>,
    connections: u16,
}

/// One end of a channel: its process, fd and kernel identity.
#[derive(Clone, Debug)]
pub(crate) struct End {
    pub(crate) pid: i32,
    pub(crate) fd: i32,
    pub(crate) ep: Endpoint,
}

/// A channel between two processes.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    /// The end that connected (or sent first, for datagrams).
    pub(crate) a: End,
    /// The end that accepted.
    pub(crate) b: End,
    /// Index of the event that set it up (connect, or the first bind).
    pub(crate) at: usize,
}

impl Conn {
    fn ends(&self, from: i32) -> (&End, &End) {
        if self.a.pid == from {
            (&self.a, &self.b)
        } else {
            (&self.b, &self.a)
        }
    }
}

fn inet(kind: ChannelKind, local: String, peer: String) -> Endpoint {
    Endpoint {
        kind: Some(kind),
        stream: kind == ChannelKind::Tcp,
        local,
        peer: Some(peer),
        path: None,
    }
}

impl Run {
    /// Appends an event of `pid`'s main thread; returns its index.
    pub(crate) fn push(&mut self, pid: i32, call: &str, f: impl FnOnce(&mut Event)) -> usize {
        let i = self.events.len();
        let start_ns = 1_000_000 * i as u64;
        let mut ev = Event {
            seq: i as u64 + 1,
            pid,
            tid: pid,
            call: call.into(),
            ret: Some(0),
            start_ns,
            end_ns: Some(start_ns + 500_000),
            ..Event::default()
        };
        f(&mut ev);
        self.events.push(ev);
        i
    }

    /// Appends an event of thread `tid` of `pid`; returns its index.
    pub(crate) fn push_on(&mut self, pid: i32, tid: i32, call: &str) -> usize {
        self.push(pid, call, |e| e.tid = tid)
    }

    /// Thread `creator` of `pid` starts thread `tid`, recorded as the
    /// tracer does: the start while the creator is stopped in its clone,
    /// then the clone's exit.
    pub(crate) fn thread(&mut self, pid: i32, creator: i32, tid: i32) -> &mut Run {
        self.push(pid, "start", |e| {
            e.tid = tid;
            e.ret = None;
            e.detail.child = Some(creator);
            e.detail.thread = true;
        });
        self.push(pid, "clone", |e| {
            e.tid = creator;
            e.ret = Some(tid.into());
            e.detail.child = Some(tid);
        });
        self
    }

    /// Starts scenario node `name` as process `pid`.
    pub(crate) fn node(&mut self, pid: i32, name: &str) -> &mut Run {
        self.push(pid, "start", |e| e.detail.node = Some(name.into()));
        self
    }

    fn fd(&mut self, pid: i32) -> i32 {
        let at = match self.next_fd.iter().position(|(p, _)| *p == pid) {
            Some(at) => at,
            None => {
                self.next_fd.push((pid, 3));
                self.next_fd.len() - 1
            }
        };
        let fd = self.next_fd[at].1;
        self.next_fd[at].1 += 1;
        fd
    }

    /// `server`'s listening port, opening it (socket, bind, listen) the
    /// first time.
    fn port(&mut self, server: i32) -> u16 {
        if let Some((_, port)) = self.listening.iter().find(|(p, _)| *p == server) {
            return *port;
        }
        let port = 7000 + self.listening.len() as u16;
        self.listening.push((server, port));
        let fd = self.fd(server);
        let local = Endpoint {
            kind: Some(ChannelKind::Tcp),
            stream: true,
            local: format!("127.0.0.1:{port}"),
            peer: None,
            path: None,
        };
        self.push(server, "listen", |e| {
            e.fd = Some(fd);
            e.endpoint = Some(local.into());
        });
        port
    }

    /// `client` connects to `server`, which accepts: a TCP connection.
    pub(crate) fn connect(&mut self, client: i32, server: i32) -> Conn {
        let port = self.port(server);
        self.connections += 1;
        let (c, s) = (
            format!("127.0.0.1:{}", 40000 + self.connections),
            format!("127.0.0.1:{port}"),
        );
        let a = End {
            pid: client,
            fd: self.fd(client),
            ep: inet(ChannelKind::Tcp, c.clone(), s.clone()),
        };
        let b = End {
            pid: server,
            fd: self.fd(server),
            ep: inet(ChannelKind::Tcp, s.clone(), c),
        };
        let at = self.push(client, "connect", |e| {
            e.fd = Some(a.fd);
            e.endpoint = Some(a.ep.clone().into());
            e.detail.addr = Some(s);
        });
        self.push(server, "accept4", |e| {
            e.fd = Some(3);
            e.ret = Some(b.fd.into());
            e.detail = Detail {
                fds: vec![b.fd],
                new_endpoints: vec![b.ep.clone()],
                peer_pid: Some(client),
                ..Detail::default()
            }
            .into();
        });
        Conn { a, b, at }
    }

    /// A connected UDP flow between `a` and `b` (each bound and connected).
    pub(crate) fn datagrams(&mut self, a: i32, b: i32) -> Conn {
        self.connections += 1;
        let n = self.connections;
        let (la, lb) = (
            format!("127.0.0.1:{}", 50000 + n),
            format!("127.0.0.1:{}", 51000 + n),
        );
        let end = |run: &mut Run, pid, local: &String, peer: &String| End {
            pid,
            fd: run.fd(pid),
            ep: inet(ChannelKind::Udp, local.clone(), peer.clone()),
        };
        let conn = Conn {
            a: end(self, a, &la, &lb),
            b: end(self, b, &lb, &la),
            at: self.events.len(),
        };
        for end in [&conn.a, &conn.b] {
            self.push(end.pid, "bind", |e| {
                e.fd = Some(end.fd);
                e.endpoint = Some(end.ep.clone().into());
            });
        }
        conn
    }

    /// `from` sends `n` bytes on its end of `conn` and the other end reads
    /// them. Returns the index of the send.
    pub(crate) fn send(&mut self, conn: &Conn, from: i32, n: u64) -> usize {
        let (me, peer) = conn.ends(from);
        let (me, peer) = (me.clone(), peer.clone());
        let stream = me.ep.stream;
        let (send, recv) = if stream {
            ("write", "read")
        } else {
            ("sendto", "recvfrom")
        };
        let data = |end: End| {
            move |e: &mut Event| {
                e.fd = Some(end.fd);
                e.endpoint = Some(end.ep.into());
                e.ret = Some(n as i64);
                e.bytes = Some(n);
            }
        };
        let i = self.push(from, send, data(me));
        self.push(peer.pid, recv, data(peer));
        i
    }

    /// Moves event `i` to thread `tid` of its process.
    pub(crate) fn retid(&mut self, i: usize, tid: i32) {
        self.events[i].tid = tid;
    }

    /// The recorded events.
    pub(crate) fn events(&self) -> &[Event] {
        &self.events
    }

    /// The logical name the tracker gives event `i` (what a plan names).
    pub(crate) fn event_name(&self, i: usize) -> String {
        CausalGraph::build(&self.events).event_name(i)
    }

    /// The logical name of the message sent by event `i`.
    pub(crate) fn message_name(&self, i: usize) -> String {
        let graph = CausalGraph::build(&self.events);
        let m = graph.messages().iter().find(|m| m.send == i);
        m.map(|m| m.name.clone())
            .unwrap_or_else(|| panic!("event {i} sent no message"))
    }
}

/// Replays `events` through `inj` as the tracer consults it: every recorded
/// call is asked about at its entry (a decision marks its event, as the
/// tracer's `injected`), then every event is observed in order. Returns the
/// decisions by event index, and the process locators a kill fault named.
pub(crate) fn replay(inj: &mut Injector, events: &[Event]) -> (Vec<Option<Decision>>, Vec<String>) {
    let mut decisions = Vec::new();
    let mut kills = Vec::new();
    for ev in events {
        let mut ev = ev.clone();
        let now_ms = ev.start_ns / 1_000_000;
        let decision = is_recorded_call(&ev.call)
            .then(|| {
                inj.on_entry(&Entry {
                    pid: ev.pid,
                    tid: ev.tid,
                    call: &ev.call,
                    endpoint: ev.endpoint.as_deref(),
                    addr: ev.detail.addr.as_deref(),
                    now_ms,
                })
            })
            .flatten();
        if let Some(d) = &decision {
            ev.injected = Some(d.label.clone().into());
            inj.acted_on(d.fault, &ev);
        }
        kills.extend(inj.observe(&ev, now_ms));
        decisions.push(decision);
    }
    (decisions, kills)
}
