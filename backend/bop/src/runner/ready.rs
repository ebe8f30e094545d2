//! Waiting for a scenario node to be ready. Ready means the node itself
//! did it: a port counts only when a process of the node's own tree holds
//! the listening socket (a stranger on the port is not the node), a line
//! only in the node's own output. A node that ends first, or is not ready
//! in time, is reported in one sentence that says so.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bop_model::EndReason;
use bop_tracer::{Exit, Tracer};

use super::interrupt_flag;
use crate::scenario::{Prepared, ReadyWhen};

/// Why a node did not get ready: how the wait ended and the sentence.
#[derive(Debug)]
pub(super) struct NotReady {
    /// `Interrupted` (a signal to bop), `Timeout` (a ready timeout or the
    /// run's), or `Exited` (the node ended first).
    pub(super) ended_by: EndReason,
    /// "node 'a' ended (killed by signal 9) before it was ready; see …".
    pub(super) why: String,
}

/// Waits until node `n` (pid `pid`) is ready, if it has a readiness
/// condition. `outputs`: its stdout and stderr files.
pub(super) fn wait_ready(
    tracer: &Tracer,
    n: &Prepared,
    pid: i32,
    deadline: Instant,
    outputs: [&PathBuf; 2],
) -> Result<(), NotReady> {
    let Some((when, secs)) = &n.ready else {
        return Ok(());
    };
    let interrupted = interrupt_flag();
    let started = Instant::now();
    let own_limit = started + Duration::from_secs_f64(*secs);
    let until = own_limit.min(deadline);
    let err = outputs[1].display();
    loop {
        let ready = match when {
            ReadyWhen::Port(p) => tree_listens(pid, *p),
            ReadyWhen::Line(l) => outputs
                .iter()
                .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains(l.as_str()))),
            ReadyWhen::Delay(ms) => started.elapsed() >= Duration::from_millis(*ms),
        };
        if ready {
            return Ok(());
        }
        if let Some(exit) = tracer.wait_exit(pid, Some(Instant::now())) {
            return Err(NotReady {
                ended_by: EndReason::Exited,
                why: format!(
                    "node '{}' ended ({}) before it was ready; see {err}",
                    n.name,
                    describe_exit(exit),
                ),
            });
        }
        if interrupted.load(Ordering::SeqCst) {
            return Err(NotReady {
                ended_by: EndReason::Interrupted,
                why: format!(
                    "interrupted while waiting for node '{}' to be ready",
                    n.name
                ),
            });
        }
        if Instant::now() >= until {
            let cut = if until < own_limit {
                "the run's timeout"
            } else {
                "its ready timeout"
            };
            return Err(NotReady {
                ended_by: EndReason::Timeout,
                why: format!(
                    "node '{}' was not ready after {:.1} s ({cut}) of waiting for {when}; see {err}",
                    n.name,
                    started.elapsed().as_secs_f64(),
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(super) fn describe_exit(e: Exit) -> String {
    match e {
        Exit::Code(c) => format!("exit status {c}"),
        Exit::Signal(s) => format!("killed by signal {s}"),
    }
}

/// True when a process of the tree rooted at `root` holds a socket
/// listening on TCP `port` (IPv4 or IPv6).
fn tree_listens(root: i32, port: u16) -> bool {
    let sockets = listening_sockets(port);
    !sockets.is_empty() && tree(root).into_iter().any(|p| holds_any(p, &sockets))
}

/// Inodes of the sockets listening on `port`, from /proc/net/tcp*
/// (without connecting, so readiness leaves no trace in the run).
fn listening_sockets(port: u16) -> HashSet<String> {
    let want = format!(":{port:04X}");
    let mut inodes = HashSet::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(table) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in table.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 9 && cols[1].ends_with(&want) && cols[3] == "0A" {
                inodes.insert(format!("socket:[{}]", cols[9]));
            }
        }
    }
    inodes
}

/// `root` and every process descended from it, by parent pid.
fn tree(root: i32) -> Vec<i32> {
    let mut parents = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.filter_map(|e| e.ok()) {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            if let Some(ppid) = parent(pid) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    tree
}

/// The parent pid of `pid` (`/proc/PID/stat` field 4, after the command
/// name, which may hold spaces and parentheses).
fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// True when process `pid` has one of `sockets` open.
fn holds_any(pid: i32, sockets: &HashSet<String>) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| e.ok()).any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|l| l.to_str().is_some_and(|l| sockets.contains(l)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_counts_only_for_the_tree_that_holds_it() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id() as i32;
        assert!(tree_listens(me, port));
        // Our child does not inherit the (close-on-exec) listener.
        let stranger = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(!tree_listens(stranger.id() as i32, port));
        let mut stranger = stranger;
        let _ = stranger.kill();
        let _ = stranger.wait();
        drop(l);
        assert!(!tree_listens(me, port));
    }
}
