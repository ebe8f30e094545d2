//! Pass 2 of the channel analysis, in seq order: resolve which side of its
//! channel each event was on, follow fds through pipe creation, accept,
//! dup, fork and exec, and collect what closes each side (close of an fd,
//! shutdown for writing, exec of close-on-exec fds, the death of a process
//! still holding it), so that each end-of-file read gets its close → EOF
//! edge.
//!
//! Only the write sides that some reader saw end are followed, which keeps
//! fork-heavy runs (every child inheriting every fd) cheap.

use std::collections::{HashMap, HashSet};

use super::discover::{Hint, Scan, Uses};
use super::ok;
use crate::names::Names;
use crate::{is_thread_end, receives, sends};
use bop_model::{ChannelKind, Event};

/// One side of one channel: (channel, side).
type End = (usize, u8);

/// What pass 2 learns.
pub(super) struct Ends {
    /// Per event: its channel and side, once resolved.
    pub(super) side: Vec<Option<End>>,
    /// close → EOF read pairs.
    pub(super) eofs: Vec<(usize, usize)>,
}

/// True when `e` read the end of file of a stream (a read of 0 bytes).
fn is_eof_read(e: &Event, s: &Scan) -> bool {
    receives(e) && e.ret == Some(0) && e.errno.is_none() && s.stream
}

/// The side that writes what side `reader` reads: the other one, except
/// on a pipe, where side 0 is the write end whoever reads.
fn writer_of(s: &Scan, reader: u8) -> u8 {
    if matches!(s.kind, ChannelKind::Pipe | ChannelKind::Eventfd) {
        0
    } else {
        1 - reader
    }
}

/// Follows the log's fds; see the module docs.
pub(super) fn follow(events: &[Event], names: &Names, scans: &[Scan], uses: &Uses) -> Ends {
    let mut w = Walk {
        events,
        names,
        scans,
        uses,
        wanted: wanted(events, scans, uses),
        side: vec![None; events.len()],
        fdt: vec![HashMap::new(); names.processes.len()],
        closes: HashMap::new(),
        pipe_writers: HashSet::new(),
        eof_reads: Vec::new(),
        proc_end: process_ends(events, names),
        seen_proc: vec![false; names.processes.len()],
    };
    for &i in &names.order {
        w.step(i);
    }
    let eofs = pair_eofs(events, &w.eof_reads, &w.closes);
    Ends { side: w.side, eofs }
}

/// Write sides that some reader saw end (an EOF read).
fn wanted(events: &[Event], scans: &[Scan], uses: &Uses) -> HashSet<End> {
    let mut wanted = HashSet::new();
    for (i, u) in uses.iter().enumerate() {
        let Some((c, hint)) = u else {
            continue;
        };
        let s = &scans[*c];
        if !is_eof_read(&events[i], s) {
            continue;
        }
        let side = match hint {
            Hint::Side(k) => *k,
            Hint::Addr(a) => s.side_of(a),
            Hint::Unknown => continue,
        };
        wanted.insert((*c, writer_of(s, side)));
    }
    wanted
}

/// The event at which each process ends (its last event, if every thread
/// of it ended), mapped to the process.
fn process_ends(events: &[Event], names: &Names) -> HashMap<usize, usize> {
    let mut proc_end = HashMap::new();
    for (p, pr) in names.processes.iter().enumerate() {
        let last = pr
            .threads
            .iter()
            .filter_map(|&t| names.threads[t].events.last().copied())
            .max_by_key(|&j| events[j].seq);
        let all_ended = pr.threads.iter().all(|&t| {
            names.threads[t]
                .events
                .last()
                .is_some_and(|&j| is_thread_end(&events[j].call))
        });
        if let (Some(j), true) = (last, all_ended) {
            proc_end.insert(j, p);
        }
    }
    proc_end
}

/// EOF: the last close of the write side that began before the read
/// returned (a close entered after the read returned cannot have caused
/// it: the tracer timestamps entry before the kernel acts).
fn pair_eofs(
    events: &[Event],
    eof_reads: &[(usize, End)],
    closes: &HashMap<End, Vec<usize>>,
) -> Vec<(usize, usize)> {
    let mut eofs = Vec::new();
    for &(r, end) in eof_reads {
        let until = events[r].end_ns.unwrap_or(u64::MAX);
        let best = closes
            .get(&end)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&j| j != r && events[j].start_ns <= until)
            .max_by_key(|&j| (events[j].start_ns, events[j].seq));
        if let Some(j) = best {
            eofs.push((j, r));
        }
    }
    eofs
}

/// The walk's state.
struct Walk<'a> {
    events: &'a [Event],
    names: &'a Names,
    scans: &'a [Scan],
    uses: &'a Uses,
    wanted: HashSet<End>,
    side: Vec<Option<End>>,
    /// Per process: the followed fds and the end each refers to.
    fdt: Vec<HashMap<i32, End>>,
    /// Per end: the events that closed an fd of it.
    closes: HashMap<End, Vec<usize>>,
    /// (process, pipe) where the process wrote the pipe.
    pipe_writers: HashSet<(usize, usize)>,
    /// EOF reads: (read, the write side whose close it saw).
    eof_reads: Vec<(usize, End)>,
    proc_end: HashMap<usize, usize>,
    seen_proc: Vec<bool>,
}

impl Walk<'_> {
    fn step(&mut self, i: usize) {
        let p = self.names.threads[self.names.thread_of(i)].process;
        if !self.seen_proc[p] {
            self.seen_proc[p] = true;
            // A child inherits its parent's fds at fork.
            if let Some(q) = self.names.processes[p].parent {
                let inherited = self.fdt[q].clone();
                self.fdt[p].extend(inherited);
            }
        }
        let resolved = self.resolve(i, p);
        self.side[i] = resolved;
        self.track_fds(i, p, resolved);
        if let Some(end) = resolved {
            self.note_data(i, p, end);
        }
        if let Some(&q) = self.proc_end.get(&i) {
            for (_, end) in self.fdt[q].drain() {
                self.closes.entry(end).or_default().push(i);
            }
        }
    }

    /// The channel and side of event `i` of process `p`.
    fn resolve(&self, i: usize, p: usize) -> Option<End> {
        let (c, hint) = self.uses[i].as_ref()?;
        match hint {
            Hint::Side(k) => Some((*c, *k)),
            Hint::Addr(a) => Some((*c, self.scans[*c].side_of(a))),
            Hint::Unknown => self.events[i]
                .fd
                .and_then(|fd| self.fdt[p].get(&fd).copied())
                .filter(|(cc, _)| cc == c),
        }
    }

    /// Follows `fd` in process `p` if it refers to a wanted end.
    fn hold(&mut self, p: usize, fd: i32, end: End) {
        if self.wanted.contains(&end) {
            self.fdt[p].insert(fd, end);
        }
    }

    fn closed(&mut self, end: End, i: usize) {
        self.closes.entry(end).or_default().push(i);
    }

    /// What event `i` does to the fd table of process `p`.
    fn track_fds(&mut self, i: usize, p: usize, resolved: Option<End>) {
        let e = &self.events[i];
        let good = ok(e);
        match e.call.as_str() {
            "pipe" | "pipe2" if good => {
                if let (Some(&(c, _)), [r, w, ..]) =
                    (self.uses[i].as_ref(), e.detail.fds.as_slice())
                {
                    self.hold(p, *r, (c, 1));
                    self.hold(p, *w, (c, 0));
                }
            }
            "socketpair" | "accept" | "accept4" if good => {
                for (fd, ep) in e.detail.fds.iter().zip(&e.detail.new_endpoints) {
                    if let Some(&(c, _)) = self.uses[i].as_ref() {
                        let s = self.scans[c].side_of(&ep.local);
                        self.hold(p, *fd, (c, s));
                    }
                }
            }
            "dup" | "dup2" | "dup3" | "fcntl" if good => self.dup(i, p, resolved),
            "exec" => self.exec(i, p),
            "close" => self.close(i, p, resolved),
            "shutdown" => {
                if let (Some(end), Some("wr" | "rdwr")) = (resolved, e.detail.how.as_deref()) {
                    self.closed(end, i);
                }
            }
            _ => {
                if let (Some(fd), Some(end)) = (e.fd, resolved) {
                    self.hold(p, fd, end);
                }
            }
        }
    }

    /// The new fd refers to what the old one did.
    fn dup(&mut self, i: usize, p: usize, resolved: Option<End>) {
        let e = &self.events[i];
        let new = e
            .detail
            .fds
            .first()
            .copied()
            .or_else(|| e.ret.map(|r| r as i32));
        let old =
            e.fd.and_then(|fd| self.fdt[p].get(&fd).copied())
                .or(resolved);
        if let (Some(new), Some(end)) = (new, old) {
            self.hold(p, new, end);
        }
    }

    /// Exec closes close-on-exec fds. The log does not say which fds had
    /// O_CLOEXEC; Rust, Go, Python and modern C libraries set it on every
    /// socket and pipe they make, while stdio (0-2) is passed on by dup2,
    /// which clears it. So fds above 2 count as closed by the exec.
    fn exec(&mut self, i: usize, p: usize) {
        let gone: Vec<i32> = self.fdt[p].keys().copied().filter(|&fd| fd > 2).collect();
        for fd in gone {
            if let Some(end) = self.fdt[p].remove(&fd) {
                self.closed(end, i);
            }
        }
    }

    fn close(&mut self, i: usize, p: usize, resolved: Option<End>) {
        let held = self.events[i].fd.and_then(|fd| self.fdt[p].remove(&fd));
        match held.or(resolved) {
            Some(end) => self.closed(end, i),
            None => {
                // A pipe fd of unknown side: if this process wrote the
                // pipe, count it as a close of the write side.
                if let Some((c, _)) = self.uses[i].as_ref() {
                    if self.pipe_writers.contains(&(p, *c)) {
                        self.closed((*c, 0), i);
                    }
                }
            }
        }
    }

    /// Data calls: who wrote each pipe, and which reads saw an end of file.
    fn note_data(&mut self, i: usize, p: usize, (c, s): End) {
        let e = &self.events[i];
        let scan = &self.scans[c];
        if matches!(scan.kind, ChannelKind::Pipe | ChannelKind::Eventfd) && s == 0 && sends(e) {
            self.pipe_writers.insert((p, c));
        }
        if is_eof_read(e, scan) {
            self.eof_reads.push((i, (c, writer_of(scan, s))));
        }
    }
}
