//! Logical names of processes and threads (DESIGN.md "Logical names").
//!
//! Names must survive a rerun, so they are built from the causal structure
//! only: scenario node names, executable base names, and ordinals taken in
//! *program order* (the position of the creating `fork`/`clone` in its
//! thread), never from pids, tids or the recording order (`seq`) of
//! concurrent events, which changes from run to run.

use std::collections::HashMap;

use super::{basename, is_fork, is_thread_end};
use bop_model::Event;

/// A traced process (one thread group between its start and its end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// Logical name: the scenario node (`primary`), `exe#k` for a root
    /// without a node name, `parent/exe#k` for a child.
    pub name: String,
    /// Process id in this run (not stable across runs).
    pub pid: i32,
    /// Index of the parent process in [`super::CausalGraph::processes`].
    pub parent: Option<usize>,
    /// Scenario node name from the root's `start` event.
    pub node: Option<String>,
    /// Executable base name used for naming: the image after the first
    /// exec, else the one inherited from the parent at fork, else `proc`.
    pub exe: String,
    /// Indices of its threads, `t0` first, in ordinal order.
    pub threads: Vec<usize>,
    /// The `fork`/`clone` event that created it, if recorded.
    pub spawned_by: Option<usize>,
    /// Exit code, when it exited by `exit`/`exit_group`.
    pub exit: Option<i32>,
    /// Signal name, when it was killed.
    pub signal: Option<String>,
}

/// A traced thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    /// Logical name `process:tN`.
    pub name: String,
    /// Thread id in this run.
    pub tid: i32,
    /// Index of its process.
    pub process: usize,
    /// Rank in its process's threads ordered by `path` (`t0` first).
    pub ordinal: usize,
    /// Creation path: its creator's path plus its rank among the threads
    /// that creator started; empty for the process's first thread.
    pub path: Vec<usize>,
    /// Its events (indices into the log) in program order.
    pub events: Vec<usize>,
    /// The `fork`/`clone` event that created it, if recorded.
    pub spawned_by: Option<usize>,
}

/// Processes, threads, and each event's place in them.
#[derive(Clone, Debug)]
pub(crate) struct Names {
    pub(crate) processes: Vec<Process>,
    pub(crate) threads: Vec<Thread>,
    /// Per event: index of its thread (`u32`, as `position`: 4 bytes per
    /// event instead of 8, issue 16).
    thread_of: Vec<u32>,
    /// Per event: its position in its thread's program order.
    position: Vec<u32>,
    /// Event indices sorted by `seq`.
    pub(crate) order: Vec<usize>,
}

/// Scratch state of one process while scanning the log.
struct ProcScan {
    pid: i32,
    first_seq: u64,
    threads: Vec<usize>,
    alive: usize,
    /// Images it exec'd, as (seq, base name), in seq order.
    images: Vec<(u64, String)>,
    /// Scenario node name from its `start` event.
    node: Option<String>,
}

impl Names {
    /// Index of the thread of event `i`.
    pub(crate) fn thread_of(&self, i: usize) -> usize {
        self.thread_of[i] as usize
    }

    /// Position of event `i` in its thread's program order.
    pub(crate) fn position(&self, i: usize) -> usize {
        self.position[i] as usize
    }

    /// Splits the log into threads and processes and names them, in
    /// passes: split by tid and pid in seq order, find each thread's
    /// creating call, number threads, build the processes, then name
    /// executables, processes and threads.
    pub(crate) fn build(events: &[Event]) -> Names {
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| (events[i].seq, i));
        let mut split = Split::new(events);
        for &i in &order {
            split.event(i);
        }
        split.link_spawns();
        let ordered = split.thread_ordinals();
        let mut processes = split.processes(ordered);
        split.exe_names(&mut processes);
        split.process_names(&mut processes);
        split.thread_names(&processes);
        let Split {
            threads,
            thread_of,
            position,
            ..
        } = split;
        Names {
            processes,
            threads,
            thread_of,
            position,
            order,
        }
    }
}

/// The log split into threads and processes, before naming.
struct Split<'a> {
    events: &'a [Event],
    threads: Vec<Thread>,
    ended: Vec<bool>,
    /// Creating thread of each thread, from its `start` event.
    creator: Vec<Option<usize>>,
    procs: Vec<ProcScan>,
    /// The current thread and process of each tid and pid.
    cur_thread: HashMap<i32, usize>,
    cur_proc: HashMap<i32, usize>,
    thread_of: Vec<u32>,
    position: Vec<u32>,
}

impl<'a> Split<'a> {
    fn new(events: &'a [Event]) -> Split<'a> {
        Split {
            events,
            threads: Vec::new(),
            ended: Vec::new(),
            creator: Vec::new(),
            procs: Vec::new(),
            cur_thread: HashMap::new(),
            cur_proc: HashMap::new(),
            thread_of: vec![0; events.len()],
            position: vec![0; events.len()],
        }
    }

    /// Adds event `i` (in seq order) to its thread.
    fn event(&mut self, i: usize) {
        let e = &self.events[i];
        let t = self.thread_for(i);
        self.thread_of[i] = u32::try_from(t).expect("fewer than 2^32 threads");
        self.position[i] =
            u32::try_from(self.threads[t].events.len()).expect("fewer than 2^32 events");
        self.threads[t].events.push(i);
        let p = self.threads[t].process;
        let exec_ok = e.call == "exec" || (e.call == "execve" && e.ret == Some(0));
        if exec_ok {
            if let Some(exe) = &e.detail.exe {
                self.procs[p]
                    .images
                    .push((e.seq, basename(exe).to_string()));
            }
        }
        if is_thread_end(&e.call) && !self.ended[t] {
            self.ended[t] = true;
            self.procs[p].alive -= 1;
        }
    }

    /// The thread of event `i`: its tid's current thread, unless the event
    /// starts a new one. A `start` on a tid that already has events, or
    /// any event after the thread ended, is a new thread reusing the tid.
    fn thread_for(&mut self, i: usize) -> usize {
        let e = &self.events[i];
        let is_start = e.call == "start";
        match self.cur_thread.get(&e.tid) {
            Some(&t) if !self.ended[t] && (!is_start || self.threads[t].events.is_empty()) => t,
            _ => self.new_thread(i),
        }
    }

    fn new_thread(&mut self, i: usize) -> usize {
        let e = &self.events[i];
        let is_start = e.call == "start";
        let p = self.process_for(i);
        let t = self.threads.len();
        self.threads.push(Thread {
            name: String::new(),
            tid: e.tid,
            process: p,
            ordinal: 0,
            path: Vec::new(),
            events: Vec::new(),
            spawned_by: None,
        });
        self.ended.push(false);
        self.creator.push(if is_start {
            e.detail
                .child
                .and_then(|c| self.cur_thread.get(&c).copied())
        } else {
            None
        });
        self.procs[p].threads.push(t);
        self.procs[p].alive += 1;
        self.cur_thread.insert(e.tid, t);
        t
    }

    /// The process of a new thread starting at event `i`: its pid's
    /// current process if the thread joins it (a thread `start`, or any
    /// event while the process lives), else a new process.
    fn process_for(&mut self, i: usize) -> usize {
        let e = &self.events[i];
        let is_start = e.call == "start";
        let alive = |p: usize| self.procs[p].alive > 0;
        match self.cur_proc.get(&e.pid) {
            Some(&p) if (is_start && e.detail.thread) || (!is_start && alive(p)) => p,
            _ => {
                self.procs.push(ProcScan {
                    pid: e.pid,
                    first_seq: e.seq,
                    threads: Vec::new(),
                    alive: 0,
                    images: Vec::new(),
                    node: if is_start {
                        e.detail.node.clone()
                    } else {
                        None
                    },
                });
                self.cur_proc.insert(e.pid, self.procs.len() - 1);
                self.procs.len() - 1
            }
        }
    }

    /// The creating fork/clone event of each thread: the creator's
    /// fork-family event whose `detail.child` is this tid.
    fn link_spawns(&mut self) {
        let events = self.events;
        // Fork-family events by (creating thread, new tid), so finding each
        // thread's creating call does not scan its creator's whole history.
        let mut forks: HashMap<(usize, i32), Vec<usize>> = HashMap::new();
        for (i, e) in events.iter().enumerate() {
            if let (true, Some(child)) = (is_fork(&e.call), e.detail.child) {
                forks
                    .entry((self.thread_of[i] as usize, child))
                    .or_default()
                    .push(i);
            }
        }
        for t in 0..self.threads.len() {
            let Some(c) = self.creator[t] else { continue };
            let tid = self.threads[t].tid;
            let start_seq = events[self.threads[t].events[0]].seq;
            let found = forks
                .get(&(c, tid))
                .into_iter()
                .flatten()
                .copied()
                .min_by_key(|&j| events[j].seq.abs_diff(start_seq));
            self.threads[t].spawned_by = found;
        }
    }

    /// Thread paths and ordinals. A thread's path is its creator's path
    /// plus its rank among the threads that creator started (1-based), so
    /// it depends only on the thread's own creation history and a prefix
    /// of a run gives every thread the path the whole run gives it. The
    /// rank is counted in `start` order, which is the creator's program
    /// order: the tracer records a new thread's `start` while its creator
    /// is still stopped in the creating `clone`. Threads whose creator is
    /// unknown get `[MAX, k]`, k in start order. Ordinals are ranks in
    /// path order. Returns each process's threads in ordinal order.
    fn thread_ordinals(&mut self) -> Vec<Vec<usize>> {
        let mut made: Vec<usize> = vec![0; self.threads.len()];
        for (p, ps) in self.procs.iter().enumerate() {
            let mut orphans = 0;
            for &t in ps.threads.iter().skip(1) {
                let path = match self.creator[t].filter(|&c| self.threads[c].process == p) {
                    Some(c) if c < t => {
                        made[c] += 1;
                        let mut path = self.threads[c].path.clone();
                        path.push(made[c]);
                        path
                    }
                    _ => {
                        orphans += 1;
                        vec![usize::MAX, orphans - 1]
                    }
                };
                self.threads[t].path = path;
            }
        }
        let mut ordered = Vec::with_capacity(self.procs.len());
        for ps in &self.procs {
            let mut ts = ps.threads.clone();
            ts.sort_by(|&a, &b| {
                self.threads[a]
                    .path
                    .cmp(&self.threads[b].path)
                    .then(a.cmp(&b))
            });
            for (k, &t) in ts.iter().enumerate() {
                self.threads[t].ordinal = k;
            }
            ordered.push(ts);
        }
        ordered
    }

    /// The processes (unnamed), with their threads in ordinal order.
    fn processes(&self, ordered: Vec<Vec<usize>>) -> Vec<Process> {
        let (events, threads) = (self.events, &self.threads);
        let mut processes: Vec<Process> = Vec::with_capacity(self.procs.len());
        for ((p, ps), ts) in self.procs.iter().enumerate().zip(ordered) {
            let lead = ps.threads[0];
            let parent = self.creator[lead]
                .map(|c| threads[c].process)
                .filter(|&q| q != p);
            // Exit status: the last thread-ending event of the process.
            let last_end = ps
                .threads
                .iter()
                .flat_map(|&t| threads[t].events.last().copied())
                .filter(|&j| is_thread_end(&events[j].call))
                .max_by_key(|&j| events[j].seq);
            let (exit, signal) = match last_end {
                Some(j) if events[j].call == "killed" => (None, events[j].detail.signal.clone()),
                Some(j) => (events[j].detail.status, None),
                None => (None, None),
            };
            processes.push(Process {
                name: String::new(),
                pid: ps.pid,
                parent,
                node: ps.node.clone(),
                exe: String::new(),
                threads: ts,
                spawned_by: parent.and(threads[lead].spawned_by),
                exit,
                signal,
            });
        }
        processes
    }

    /// Executable names: first exec, else inherited at the fork point.
    /// Parents have lower indices than their children (a child is first
    /// seen after its parent), so one forward pass resolves inheritance.
    fn exe_names(&self, processes: &mut [Process]) {
        let procs = &self.procs;
        let mut inherited: Vec<String> = vec![String::new(); procs.len()];
        for p in 0..procs.len() {
            let inh = match processes[p].parent {
                Some(q) => {
                    let at = processes[p]
                        .spawned_by
                        .map_or(procs[p].first_seq, |f| self.events[f].seq);
                    match procs[q].images.iter().rev().find(|(s, _)| *s < at) {
                        Some((_, exe)) => exe.clone(),
                        None => inherited[q].clone(),
                    }
                }
                None => "proc".to_string(),
            };
            processes[p].exe = procs[p]
                .images
                .first()
                .map_or_else(|| inh.clone(), |(_, e)| e.clone());
            inherited[p] = inh;
        }
    }

    /// Thread names: `process:t` and the thread's path (`t0` for the
    /// first thread, `t3` for the third its creator t0 started, `t3.1` for
    /// the first t3 started, `tx0` for the first with an unknown creator).
    fn thread_names(&mut self, processes: &[Process]) {
        for t in &mut self.threads {
            t.name = format!("{}:{}", processes[t.process].name, path_name(&t.path));
        }
    }

    /// Process names. Roots: node name, else `exe#k` by start order.
    /// Children: `parent/exe#k`, k in the parent's program order.
    fn process_names(&self, processes: &mut [Process]) {
        let mut root_count: HashMap<String, usize> = HashMap::new();
        for pr in processes.iter_mut().filter(|pr| pr.parent.is_none()) {
            pr.name = match &pr.node {
                Some(n) => n.clone(),
                None => {
                    let k = root_count.entry(pr.exe.clone()).or_insert(0);
                    *k += 1;
                    format!("{}#{}", pr.exe, *k - 1)
                }
            };
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); processes.len()];
        for (p, pr) in processes.iter().enumerate() {
            if let Some(q) = pr.parent {
                children[q].push(p);
            }
        }
        let child_key = |p: usize| -> (bool, &[usize], usize, u64) {
            match processes[p].spawned_by {
                Some(f) => (
                    false,
                    &self.threads[self.thread_of[f] as usize].path,
                    self.position[f] as usize,
                    0,
                ),
                None => (true, &[], usize::MAX, self.procs[p].first_seq),
            }
        };
        let keys: Vec<_> = (0..processes.len()).map(child_key).collect();
        for q in 0..processes.len() {
            let mut cs = children[q].clone();
            cs.sort_by_key(|&c| (keys[c], c));
            let mut count: HashMap<String, usize> = HashMap::new();
            for c in cs {
                let exe = processes[c].exe.clone();
                let k = count.entry(exe.clone()).or_insert(0);
                processes[c].name = format!("{}/{exe}#{}", processes[q].name, *k);
                *k += 1;
            }
        }
    }
}

/// The thread part of a thread name, from its creation path.
pub(crate) fn path_name(path: &[usize]) -> String {
    match path {
        [] => "t0".to_string(),
        [usize::MAX, k] => format!("tx{k}"),
        _ => {
            let ranks: Vec<String> = path.iter().map(usize::to_string).collect();
            format!("t{}", ranks.join("."))
        }
    }
}
