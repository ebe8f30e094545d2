//! Test helpers: terse builders for hand-written event logs.

use bop_model::{ChannelKind, Endpoint, Event, Manifest, RunStatus, Target, Verdict};

/// A new event of `pid`/`tid` that returned 0.
pub(crate) fn ev(pid: i32, tid: i32, call: &str) -> Event {
    Event {
        pid,
        tid,
        call: call.into(),
        ret: Some(0),
        ..Default::default()
    }
}

/// Builder methods on events, so logs read like strace output.
pub(crate) trait Ev: Sized {
    fn fd(self, fd: i32) -> Self;
    fn ret(self, r: Option<i64>) -> Self;
    fn ep(self, ep: Endpoint) -> Self;
    fn bytes(self, n: u64) -> Self;
    fn child(self, c: i32) -> Self;
    fn node(self, n: &str) -> Self;
    fn exe(self, path: &str) -> Self;
    fn errno(self, e: &str) -> Self;
    fn fds(self, fds: &[i32], eps: impl IntoIterator<Item = Endpoint>) -> Self;
    fn addr(self, a: &str) -> Self;
    fn status(self, s: i32) -> Self;
    fn how(self, h: &str) -> Self;
    fn thread(self) -> Self;
    fn peek(self) -> Self;
    fn parts(self, p: &[u64]) -> Self;
    fn injected(self, s: &str) -> Self;
}

impl Ev for Event {
    fn fd(mut self, fd: i32) -> Self {
        self.fd = Some(fd);
        self
    }
    fn ret(mut self, r: Option<i64>) -> Self {
        self.ret = r;
        self
    }
    fn ep(mut self, ep: Endpoint) -> Self {
        self.endpoint = Some(ep.into());
        self
    }
    fn bytes(mut self, n: u64) -> Self {
        self.bytes = Some(n);
        self.ret = Some(n as i64);
        self
    }
    fn child(mut self, c: i32) -> Self {
        self.detail.child = Some(c);
        if matches!(
            self.call.as_str(),
            "fork" | "clone" | "vfork" | "clone3" | "wait4"
        ) {
            self.ret = Some(c.into());
        }
        self
    }
    fn node(mut self, n: &str) -> Self {
        self.detail.node = Some(n.to_string());
        self
    }
    fn exe(mut self, path: &str) -> Self {
        self.detail.exe = Some(path.to_string());
        self.detail.argv = vec![path.to_string()];
        self
    }
    fn errno(mut self, e: &str) -> Self {
        self.errno = Some(e.into());
        self.ret = Some(-1);
        self
    }
    fn fds(mut self, fds: &[i32], eps: impl IntoIterator<Item = Endpoint>) -> Self {
        self.detail.fds = fds.to_vec();
        self.detail.new_endpoints = eps.into_iter().collect();
        self
    }
    fn addr(mut self, a: &str) -> Self {
        self.detail.addr = Some(a.to_string());
        self
    }
    fn status(mut self, s: i32) -> Self {
        self.detail.status = Some(s);
        self.ret = None;
        self
    }
    fn how(mut self, h: &str) -> Self {
        self.detail.how = Some(h.to_string());
        self
    }
    fn thread(mut self) -> Self {
        self.detail.thread = true;
        self
    }
    fn peek(mut self) -> Self {
        self.detail.peek = true;
        self
    }
    fn parts(mut self, p: &[u64]) -> Self {
        self.detail.parts = p.to_vec();
        self
    }
    fn injected(mut self, s: &str) -> Self {
        self.injected = Some(s.into());
        self
    }
}

/// A log under construction: `push` stamps seq and times in push order.
#[derive(Default)]
pub(crate) struct Log {
    pub(crate) events: Vec<Event>,
}

impl Log {
    /// Appends an event (seq = index, 1 µs apart); returns its index.
    pub(crate) fn push(&mut self, mut e: Event) -> usize {
        let i = self.events.len();
        e.seq = i as u64;
        e.start_ns = 1000 * i as u64;
        if e.end_ns.is_none() && e.ret.is_some() {
            e.end_ns = Some(e.start_ns + 500);
        }
        self.events.push(e);
        i
    }
}

/// A connection: client `c` connects its fd 3 from `ce` to the address
/// `ce` names as peer, and server `s` accepts it on its fd 3 as fd 4 with
/// end `se`. Returns the indices of the connect and the accept.
pub(crate) fn connection(
    log: &mut Log,
    (c, s): (i32, i32),
    (ce, se): (&Endpoint, &Endpoint),
) -> (usize, usize) {
    let to = ce.peer.clone().unwrap_or_default();
    let connect = log.push(ev(c, c, "connect").fd(3).ep(ce.clone()).addr(&to));
    let accept = log.push(
        ev(s, s, "accept4")
            .fd(3)
            .ret(Some(4))
            .fds(&[4], [se.clone()]),
    );
    (connect, accept)
}

/// A TCP endpoint.
pub(crate) fn tcp(local: &str, peer: &str) -> Endpoint {
    Endpoint {
        kind: Some(ChannelKind::Tcp),
        stream: true,
        local: local.into(),
        peer: Some(peer.into()),
        path: None,
    }
}

/// A unix stream endpoint (inodes as numbers).
pub(crate) fn unix(local: u64, peer: u64) -> Endpoint {
    Endpoint {
        kind: Some(ChannelKind::Unix),
        stream: true,
        local: format!("unix:{local}"),
        peer: Some(format!("unix:{peer}")),
        path: None,
    }
}

/// A pipe endpoint.
pub(crate) fn pipe(inode: u64) -> Endpoint {
    let id = format!("pipe:{inode}");
    Endpoint {
        kind: Some(ChannelKind::Pipe),
        stream: true,
        local: id.clone(),
        peer: Some(id),
        path: None,
    }
}

/// A UDP endpoint, connected or not.
pub(crate) fn udp(local: &str, peer: Option<&str>) -> Endpoint {
    Endpoint {
        kind: Some(ChannelKind::Udp),
        stream: false,
        local: local.into(),
        peer: peer.map(Into::into),
        path: None,
    }
}

/// Two clients send one message each to primary, which reads `first`'s
/// connection first.
pub(crate) fn two_clients(first: usize, client_order_swapped: bool) -> Vec<Event> {
    let mut l = Log::default();
    l.push(ev(9, 9, "start").node("primary"));
    let mut eps = Vec::new();
    for k in 0..2 {
        let pid = 1 + k;
        l.push(ev(pid, pid, "start").node(&format!("c{k}")));
        let (c, s) = (
            tcp(&format!("127.0.0.1:{}", 100 + k), "127.0.0.1:7"),
            tcp("127.0.0.1:7", &format!("127.0.0.1:{}", 100 + k)),
        );
        l.push(ev(pid, pid, "connect").fd(3).ep(c.clone()));
        l.push(
            ev(9, 9, "accept")
                .fd(3)
                .ret(Some(i64::from(4 + k)))
                .fds(&[4 + k], [s.clone()]),
        );
        eps.push((pid, c, s));
    }
    let writes: Vec<usize> = if client_order_swapped {
        vec![1, 0]
    } else {
        vec![0, 1]
    };
    for k in writes {
        let (pid, c, _) = &eps[k];
        l.push(ev(*pid, *pid, "write").fd(3).ep(c.clone()).bytes(4));
    }
    for k in [first, 1 - first] {
        l.push(ev(9, 9, "epoll_wait").ret(Some(1)));
        l.push(
            ev(9, 9, "read")
                .fd(4 + k as i32)
                .ep(eps[k].2.clone())
                .bytes(4),
        );
    }
    l.events
}

/// A finished, passing run's manifest for hand-written logs.
pub(crate) fn manifest(id: &str) -> Manifest {
    Manifest {
        schema: 1,
        ended_ms: Some(1),
        status: RunStatus::Done,
        exit_status: Some(0),
        verdict: Verdict::Pass,
        ..Manifest::new(
            id,
            Target::Command {
                argv: vec!["demo".into()],
                cwd: "/".into(),
            },
            "demo",
            0,
        )
    }
}
