//! A synthetic event log shaped like a recorded scenario run, of any size.
//!
//! Recorded runs of 10^6 events are not something to commit, and the
//! property tests' simulator makes small random scripts, so the benchmark
//! plays a key-value service instead: a `client` node keeps a few
//! connections to a `primary`, which has worker threads, replicates half the
//! writes to two replicas and answers; servers poll (`epoll_wait`), retry
//! reads (`EAGAIN`), exchange UDP heartbeats, now and then fork a child that
//! execs and reports through a pipe, spawn short-lived threads, and the
//! client reconnects. The run ends like a scenario run: the client exits,
//! the runner kills the nodes. Every read takes bytes that were sent, so the
//! log is one a tracer could have recorded; the mix of calls (about a third
//! timing noise) follows the recorded bop-kv demo.

use bop_model::{ChannelKind, Endpoint, Event};

/// xorshift64*: deterministic, no dependency, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// One thread: (pid, tid).
#[derive(Clone, Copy)]
struct Task {
    pid: i32,
    tid: i32,
}

/// One end of a stream connection.
#[derive(Clone)]
struct End {
    task: Task,
    fd: i32,
    ep: Endpoint,
}

/// A TCP connection; side 0 connected, side 1 accepted.
struct Conn {
    ends: [End; 2],
}

/// A server node: its main thread (accepts, heartbeats) and its workers.
struct Node {
    main: Task,
    workers: Vec<Task>,
    port: u16,
    udp_fd: i32,
    next_fd: i32,
}

struct Synth {
    events: Vec<Event>,
    rng: Rng,
    ns: u64,
    next_pid: i32,
    next_port: u16,
    next_inode: u64,
    /// primary, replica1, replica2.
    servers: Vec<Node>,
    client: Task,
    client_fd: i32,
    /// Client connections to the primary, and the primary worker of each.
    clients: Vec<(Conn, Task)>,
    /// primary → replica k.
    replication: Vec<Conn>,
}

fn tcp(local: &str, peer: &str) -> Endpoint {
    Endpoint {
        kind: Some(ChannelKind::Tcp),
        stream: true,
        local: local.into(),
        peer: Some(peer.into()),
        path: None,
    }
}

fn udp(port: u16) -> Endpoint {
    Endpoint {
        kind: Some(ChannelKind::Udp),
        stream: false,
        local: format!("0.0.0.0:{port}"),
        peer: None,
        path: None,
    }
}

fn pipe(inode: u64) -> Endpoint {
    let id = format!("pipe:{inode}");
    Endpoint {
        kind: Some(ChannelKind::Pipe),
        stream: true,
        local: id.clone(),
        peer: Some(id),
        path: None,
    }
}

/// A log of about `target` events (a few more, to finish the last round
/// and the teardown); the same `seed` gives the same log.
pub(crate) fn log(target: usize, seed: u64) -> Vec<Event> {
    let mut s = Synth {
        events: Vec::with_capacity(target + 64),
        rng: Rng(seed | 1),
        ns: 0,
        next_pid: 1000,
        next_port: 40000,
        next_inode: 9000,
        servers: Vec::new(),
        client: Task { pid: 0, tid: 0 },
        client_fd: 3,
        clients: Vec::new(),
        replication: Vec::new(),
    };
    s.setup();
    while s.events.len() < target {
        s.round();
    }
    s.teardown();
    s.events
}

impl Synth {
    fn push(&mut self, t: Task, call: &str, f: impl FnOnce(&mut Event)) -> usize {
        self.ns += 1000 + 1000 * self.rng.below(40);
        let mut e = Event {
            seq: self.events.len() as u64 + 1,
            pid: t.pid,
            tid: t.tid,
            call: call.into(),
            ret: Some(0),
            start_ns: self.ns,
            end_ns: Some(self.ns + 500),
            ..Default::default()
        };
        f(&mut e);
        self.events.push(e);
        self.events.len() - 1
    }

    fn task(&mut self) -> Task {
        self.next_pid += 1;
        Task {
            pid: self.next_pid,
            tid: self.next_pid,
        }
    }

    fn start(&mut self, node: &str, exe: &str) -> Task {
        let t = self.task();
        self.push(t, "start", |e| e.detail.node = Some(node.into()));
        self.push(t, "exec", |e| {
            e.detail.exe = Some(exe.into());
            e.detail.argv = vec![exe.into(), node.into()];
        });
        t
    }

    /// A `clone` of a thread of `parent`'s process; returns the new thread.
    fn thread(&mut self, parent: Task) -> Task {
        self.next_pid += 1;
        let t = Task {
            pid: parent.pid,
            tid: self.next_pid,
        };
        self.push(parent, "clone", |e| {
            e.detail.child = Some(t.tid);
            e.ret = Some(t.tid.into());
        });
        self.push(t, "start", |e| {
            e.detail.child = Some(parent.tid);
            e.detail.thread = true;
        });
        t
    }

    fn setup(&mut self) {
        for (k, name) in ["primary", "replica1", "replica2"].into_iter().enumerate() {
            let main = self.start(name, "/usr/bin/kvd");
            let port = 7000 + k as u16;
            let listen = tcp(&format!("127.0.0.1:{port}"), "0.0.0.0:0");
            self.push(main, "socket", |e| e.ret = Some(3));
            self.push(main, "bind", |e| e.fd = Some(3));
            self.push(main, "listen", |e| {
                e.fd = Some(3);
                e.endpoint = Some(
                    Endpoint {
                        peer: None,
                        ..listen
                    }
                    .into(),
                );
            });
            let udp_port = 8000 + k as u16;
            self.push(main, "bind", |e| {
                e.fd = Some(4);
                e.endpoint = Some(udp(udp_port).into());
            });
            let workers = (0..2).map(|_| self.thread(main)).collect();
            self.servers.push(Node {
                main,
                workers,
                port,
                udp_fd: 4,
                next_fd: 5,
            });
        }
        for r in 1..3 {
            let w = self.servers[0].workers[r - 1];
            let c = self.connect(w, 0, r);
            self.replication.push(c);
        }
        self.client = self.start("client", "/usr/bin/kvc");
        for k in 0..4 {
            let c = self.connect(self.client, usize::MAX, 0);
            let w = self.servers[0].workers[k % 2];
            self.clients.push((c, w));
        }
    }

    /// `from` (a task of server `from_node`, or the client for
    /// `usize::MAX`) connects to server `to`, whose main thread accepts.
    fn connect(&mut self, from: Task, from_node: usize, to: usize) -> Conn {
        self.next_port += 1;
        let (la, lb) = (
            format!("127.0.0.1:{}", self.next_port),
            format!("127.0.0.1:{}", self.servers[to].port),
        );
        let fa = if from_node == usize::MAX {
            self.client_fd += 1;
            self.client_fd
        } else {
            self.servers[from_node].next_fd += 1;
            self.servers[from_node].next_fd
        };
        self.servers[to].next_fd += 1;
        let fb = self.servers[to].next_fd;
        let (ea, eb) = (tcp(&la, &lb), tcp(&lb, &la));
        let main = self.servers[to].main;
        self.push(from, "connect", |e| {
            e.fd = Some(fa);
            e.endpoint = Some(ea.clone().into());
            e.detail.addr = Some(lb.clone());
        });
        self.push(main, "epoll_wait", |e| e.ret = Some(1));
        self.push(main, "accept4", |e| {
            e.fd = Some(3);
            e.ret = Some(fb.into());
            e.detail.fds = vec![fb];
            e.detail.new_endpoints = vec![eb.clone()];
        });
        Conn {
            ends: [
                End {
                    task: from,
                    fd: fa,
                    ep: ea,
                },
                End {
                    task: main,
                    fd: fb,
                    ep: eb,
                },
            ],
        }
    }

    /// A data call of `end`'s task on its fd.
    fn data(&mut self, end: &End, call: &str, bytes: u64) -> usize {
        self.data_as(end.task, end, call, bytes)
    }

    fn data_as(&mut self, t: Task, end: &End, call: &str, bytes: u64) -> usize {
        let (fd, ep) = (end.fd, end.ep.clone());
        self.push(t, call, |e| {
            e.fd = Some(fd);
            e.endpoint = Some(ep.into());
            e.bytes = Some(bytes);
            e.ret = Some(bytes as i64);
        })
    }

    /// `t` waits for readiness, sometimes after a read that found nothing.
    fn wait(&mut self, t: Task, end: &End) {
        if self.rng.below(5) == 0 {
            let (fd, ep) = (end.fd, end.ep.clone());
            self.push(t, "read", |e| {
                e.fd = Some(fd);
                e.endpoint = Some(ep.into());
                e.errno = Some("EAGAIN".into());
                e.ret = Some(-1);
            });
        }
        self.push(t, "epoll_wait", |e| e.ret = Some(1));
    }

    /// `t` reads `n` bytes from `end`, in one or two calls.
    fn read_all(&mut self, t: Task, end: &End, n: u64) {
        if n > 1 && self.rng.below(3) == 0 {
            let k = 1 + self.rng.below(n - 1);
            self.data_as(t, end, "read", k);
            self.data_as(t, end, "read", n - k);
        } else {
            self.data_as(t, end, "read", n);
        }
    }

    fn round(&mut self) {
        match self.rng.below(1000) {
            0..=3 => self.reconnect(),
            4..=6 => self.fork_child(),
            7..=9 => self.short_thread(),
            10..=29 => self.heartbeat(),
            _ => self.request(),
        }
    }

    /// One request on a client connection: the primary's worker reads it,
    /// maybe replicates it and waits for the ack, and answers.
    fn request(&mut self) {
        let k = self.rng.below(self.clients.len() as u64) as usize;
        let (cl, sv) = {
            let (c, _) = &self.clients[k];
            (c.ends[0].clone(), c.ends[1].clone())
        };
        let worker = self.clients[k].1;
        let req = 8 + self.rng.below(200);
        self.data(&cl, "write", req);
        self.wait(worker, &sv);
        self.read_all(worker, &sv, req);
        if self.rng.below(2) == 0 {
            let r = self.rng.below(2) as usize;
            let (pa, rb) = {
                let c = &self.replication[r];
                (c.ends[0].clone(), c.ends[1].clone())
            };
            self.data_as(worker, &pa, "write", req);
            let rmain = self.servers[r + 1].main;
            self.wait(rmain, &rb);
            self.read_all(rmain, &rb, req);
            self.data_as(rmain, &rb, "write", 2);
            self.wait(worker, &pa);
            self.data_as(worker, &pa, "read", 2);
        }
        let reply = 2 + self.rng.below(60);
        self.data_as(worker, &sv, "write", reply);
        self.push(cl.task, "poll", |e| e.ret = Some(1));
        self.read_all(cl.task, &cl, reply);
    }

    /// The client closes a connection (the worker reads end of file and
    /// closes its side) and opens a new one.
    fn reconnect(&mut self) {
        let k = self.rng.below(self.clients.len() as u64) as usize;
        let (cl, sv) = {
            let (c, _) = &self.clients[k];
            (c.ends[0].clone(), c.ends[1].clone())
        };
        let worker = self.clients[k].1;
        let (fd, ep) = (cl.fd, cl.ep.clone());
        self.push(cl.task, "close", |e| {
            e.fd = Some(fd);
            e.endpoint = Some(ep.into());
        });
        self.wait(worker, &sv);
        self.data_as(worker, &sv, "read", 0);
        let (fd, ep) = (sv.fd, sv.ep.clone());
        self.push(worker, "close", |e| {
            e.fd = Some(fd);
            e.endpoint = Some(ep.into());
        });
        let c = self.connect(self.client, usize::MAX, 0);
        self.clients[k].0 = c;
    }

    /// A server's main thread runs a helper: pipe, fork, the child execs,
    /// writes a report and exits; the parent reads it, reads end of file
    /// and reaps the child.
    fn fork_child(&mut self) {
        let s = self.rng.below(self.servers.len() as u64) as usize;
        let main = self.servers[s].main;
        self.next_inode += 1;
        let pe = pipe(self.next_inode);
        let r = self.servers[s].next_fd + 1;
        let w = r + 1;
        self.servers[s].next_fd += 2;
        let child = self.task();
        let eps = vec![pe.clone(), pe.clone()];
        self.push(main, "pipe2", |e| {
            e.detail.fds = vec![r, w];
            e.detail.new_endpoints = eps;
        });
        self.push(main, "fork", |e| {
            e.detail.child = Some(child.pid);
            e.ret = Some(child.pid.into());
        });
        self.push(child, "start", |e| e.detail.child = Some(main.tid));
        let (rd, wr) = (
            End {
                task: main,
                fd: r,
                ep: pe.clone(),
            },
            End {
                task: child,
                fd: w,
                ep: pe,
            },
        );
        self.push(child, "close", |e| {
            e.fd = Some(r);
            e.endpoint = Some(rd.ep.clone().into());
        });
        self.push(child, "exec", |e| {
            e.detail.exe = Some("/bin/sh".into());
            e.detail.argv = vec!["sh".into(), "-c".into(), "report".into()];
        });
        let n = 1 + self.rng.below(100);
        self.data(&wr, "write", n);
        self.push(child, "exit_group", |e| {
            e.detail.status = Some(0);
            e.ret = None;
        });
        self.push(main, "close", |e| {
            e.fd = Some(w);
            e.endpoint = Some(wr.ep.clone().into());
        });
        self.read_all(main, &rd, n);
        self.data(&rd, "read", 0);
        self.push(main, "wait4", |e| {
            e.detail.child = Some(child.pid);
            e.ret = Some(child.pid.into());
        });
    }

    /// A replica runs a short-lived thread that polls a few times and ends.
    fn short_thread(&mut self) {
        let s = 1 + self.rng.below(2) as usize;
        let main = self.servers[s].main;
        let t = self.thread(main);
        for _ in 0..1 + self.rng.below(3) {
            self.push(t, "poll", |e| e.ret = Some(0));
        }
        self.push(t, "exit", |e| {
            e.detail.status = Some(0);
            e.ret = None;
        });
    }

    /// One server sends a 16-byte UDP heartbeat to another.
    fn heartbeat(&mut self) {
        let a = self.rng.below(3) as usize;
        let b = (a + 1 + self.rng.below(2) as usize) % 3;
        let (ta, tb) = (self.servers[a].main, self.servers[b].main);
        let (pa, pb) = (8000 + a as u16, 8000 + b as u16);
        let (fa, fb) = (self.servers[a].udp_fd, self.servers[b].udp_fd);
        self.push(ta, "sendto", |e| {
            e.fd = Some(fa);
            e.endpoint = Some(udp(pa).into());
            e.detail.addr = Some(format!("127.0.0.1:{pb}"));
            e.bytes = Some(16);
            e.ret = Some(16);
        });
        self.push(tb, "epoll_wait", |e| e.ret = Some(1));
        self.push(tb, "recvfrom", |e| {
            e.fd = Some(fb);
            e.endpoint = Some(udp(pb).into());
            e.detail.addr = Some(format!("127.0.0.1:{pa}"));
            e.bytes = Some(16);
            e.ret = Some(16);
        });
    }

    /// The client exits; the runner kills every server thread (SIGTERM).
    fn teardown(&mut self) {
        self.push(self.client, "exit_group", |e| {
            e.detail.status = Some(0);
            e.ret = None;
        });
        let tasks: Vec<Task> = self
            .servers
            .iter()
            .flat_map(|n| std::iter::once(n.main).chain(n.workers.iter().copied()))
            .collect();
        for t in tasks {
            self.push(t, "killed", |e| {
                e.detail.signal = Some("SIGTERM".into());
                e.ret = None;
            });
        }
    }
}
