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
    /// Creation ordinal within its process (`t0` is the main thread).
    pub ordinal: usize,
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
    /// Per event: index of its thread.
    pub(crate) thread_of: Vec<usize>,
    /// Per event: its position in its thread's program order.
    pub(crate) position: Vec<usize>,
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
}

impl Names {
    /// Splits the log into threads and processes and names them.
    pub(crate) fn build(events: &[Event]) -> Names {
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| (events[i].seq, i));

        let mut threads: Vec<Thread> = Vec::new();
        let mut ended: Vec<bool> = Vec::new();
        // Creating thread of each thread, from its `start` event.
        let mut creator: Vec<Option<usize>> = Vec::new();
        let mut procs: Vec<ProcScan> = Vec::new();
        let mut node: Vec<Option<String>> = Vec::new();
        let mut cur_thread: HashMap<i32, usize> = HashMap::new();
        let mut cur_proc: HashMap<i32, usize> = HashMap::new();
        let mut thread_of = vec![0; events.len()];
        let mut position = vec![0; events.len()];

        for &i in &order {
            let e = &events[i];
            let is_start = e.call == "start";
            let t = match cur_thread.get(&e.tid) {
                // A `start` on a tid that already has events, or any event
                // after the thread ended, is a new thread reusing the tid.
                Some(&t) if !ended[t] && (!is_start || threads[t].events.is_empty()) => t,
                _ => {
                    let alive = |p: usize| procs[p].alive > 0;
                    let p = match cur_proc.get(&e.pid) {
                        Some(&p) if (is_start && e.detail.thread) || (!is_start && alive(p)) => p,
                        _ => {
                            procs.push(ProcScan {
                                pid: e.pid,
                                first_seq: e.seq,
                                threads: Vec::new(),
                                alive: 0,
                                images: Vec::new(),
                            });
                            node.push(if is_start {
                                e.detail.node.clone()
                            } else {
                                None
                            });
                            cur_proc.insert(e.pid, procs.len() - 1);
                            procs.len() - 1
                        }
                    };
                    let t = threads.len();
                    threads.push(Thread {
                        name: String::new(),
                        tid: e.tid,
                        process: p,
                        ordinal: 0,
                        events: Vec::new(),
                        spawned_by: None,
                    });
                    ended.push(false);
                    creator.push(if is_start {
                        e.detail.child.and_then(|c| cur_thread.get(&c).copied())
                    } else {
                        None
                    });
                    procs[p].threads.push(t);
                    procs[p].alive += 1;
                    cur_thread.insert(e.tid, t);
                    t
                }
            };
            thread_of[i] = t;
            position[i] = threads[t].events.len();
            threads[t].events.push(i);
            let p = threads[t].process;
            let exec_ok = e.call == "exec" || (e.call == "execve" && e.ret == Some(0));
            if exec_ok {
                if let Some(exe) = &e.detail.exe {
                    procs[p].images.push((e.seq, basename(exe).to_string()));
                }
            }
            if is_thread_end(&e.call) && !ended[t] {
                ended[t] = true;
                procs[p].alive -= 1;
            }
        }

        // Fork-family events by (creating thread, new tid), so finding each
        // thread's creating call does not scan its creator's whole history.
        let mut forks: HashMap<(usize, i32), Vec<usize>> = HashMap::new();
        for (i, e) in events.iter().enumerate() {
            if let (true, Some(child)) = (is_fork(&e.call), e.detail.child) {
                forks.entry((thread_of[i], child)).or_default().push(i);
            }
        }
        // The creating fork/clone event of each thread: the creator's
        // fork-family event whose `detail.child` is this tid.
        for t in 0..threads.len() {
            let Some(c) = creator[t] else { continue };
            let tid = threads[t].tid;
            let start_seq = events[threads[t].events[0]].seq;
            let found = forks
                .get(&(c, tid))
                .into_iter()
                .flatten()
                .copied()
                .min_by_key(|&j| events[j].seq.abs_diff(start_seq));
            threads[t].spawned_by = found;
        }

        // Thread ordinals: t0 is the first thread; others are ordered by
        // (depth of creation, path of creating positions), which is creation
        // order whenever one thread creates the others, and never depends on
        // how concurrent creators interleave.
        let mut tkey: Vec<(usize, Vec<u64>)> = vec![(0, Vec::new()); threads.len()];
        for (p, ps) in procs.iter().enumerate() {
            for (k, &t) in ps.threads.iter().enumerate() {
                tkey[t] = if k == 0 {
                    (0, Vec::new())
                } else {
                    match (creator[t], threads[t].spawned_by) {
                        (Some(c), Some(f)) if threads[c].process == p => {
                            let (d, mut path) = tkey[c].clone();
                            path.push(position[f] as u64);
                            (d + 1, path)
                        }
                        _ => (usize::MAX, vec![events[threads[t].events[0]].seq]),
                    }
                };
            }
        }
        let mut processes: Vec<Process> = Vec::with_capacity(procs.len());
        for (p, ps) in procs.iter().enumerate() {
            let mut ts = ps.threads.clone();
            ts.sort_by(|&a, &b| tkey[a].cmp(&tkey[b]).then(a.cmp(&b)));
            for (k, &t) in ts.iter().enumerate() {
                threads[t].ordinal = k;
            }
            let lead = ps.threads[0];
            let parent = creator[lead]
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
                node: node[p].clone(),
                exe: String::new(),
                threads: ts,
                spawned_by: if parent.is_some() {
                    threads[lead].spawned_by
                } else {
                    None
                },
                exit,
                signal,
            });
        }

        // Executable names: first exec, else inherited at the fork point.
        // Parents have lower indices than their children (a child is first
        // seen after its parent), so one forward pass resolves inheritance.
        let mut inherited: Vec<String> = vec![String::new(); procs.len()];
        for p in 0..procs.len() {
            let inh = match processes[p].parent {
                Some(q) => {
                    let at = processes[p]
                        .spawned_by
                        .map_or(procs[p].first_seq, |f| events[f].seq);
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

        // Process names. Roots: node name, else `exe#k` by start order.
        // Children: `parent/exe#k`, k in the parent's program order.
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
        let child_key = |p: usize| -> (usize, usize, u64) {
            match processes[p].spawned_by {
                Some(f) => (threads[thread_of[f]].ordinal, position[f], 0),
                None => (usize::MAX, usize::MAX, procs[p].first_seq),
            }
        };
        let keys: Vec<(usize, usize, u64)> = (0..processes.len()).map(child_key).collect();
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
        for t in &mut threads {
            t.name = format!("{}:t{}", processes[t.process].name, t.ordinal);
        }
        Names {
            processes,
            threads,
            thread_of,
            position,
            order,
        }
    }
}
