//! Unix stream connects that return before the server accepts.
//!
//! Until accept(2) the kernel's end of such a connection is an embryo
//! socket with no inode, so sock_diag names no peer and the connecting end
//! cannot say which connection it is on. The accepted end will have an
//! inode the connecting end must carry too, or the two halves of one
//! connection look like two. So the connecting thread is kept in its
//! connect's return stop (nothing it does later can be written before its
//! connect) until a traced accept gives the connection its inode, and then
//! its connect is written, with the peer, before that accept. A thread is
//! kept at most [`WAIT`]: a server that accepts later (or a thread that
//! accepts its own connection) only costs that delay, and the connect is
//! then written with no peer, re-resolved at each later call on the fd.

use std::time::{Duration, Instant};

use super::super::TraceError;
use super::super::decode::Decoded;
use super::super::ptrace::Stopped;
use super::Session;
use super::entry::Pending;
use bop_model::ChannelKind;

/// The longest a connecting thread waits for its connection's accept.
pub(super) const WAIT: Duration = Duration::from_secs(2);

/// How often a kept connect is looked at again while it waits.
const STEP: Duration = Duration::from_millis(10);

/// A connecting thread kept in its connect's return stop; its call stays
/// the task's pending call (so an accept can find who connected).
pub(super) struct Unaccepted {
    tracee: Stopped,
    tid: i32,
    ret: i64,
    end_ns: u64,
    until: Instant,
}

/// True for a successful unix stream connect whose peer is unknown.
pub(super) fn awaits_accept(p: &Pending, ret: i64) -> bool {
    matches!(p.call, Decoded::Connect { .. })
        && ret == 0
        && p.endpoint()
            .is_some_and(|ep| ep.kind == Some(ChannelKind::Unix) && ep.stream && ep.peer.is_none())
}

impl Session {
    /// Keeps `tracee` (whose connect returned `ret`; `p` is its call) until
    /// its connection is accepted.
    pub(super) fn await_accept(&mut self, tracee: Stopped, p: Pending, ret: i64, end_ns: u64) {
        let tid = tracee.pid().as_raw();
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.pending = Some(p);
        }
        // The loop looks again at each wake: a server bop does not trace
        // accepts with no stop to tell, so it is polled every STEP.
        let waker = self.waker.clone();
        std::thread::spawn(move || {
            for _ in 0..WAIT.as_millis() / STEP.as_millis() {
                std::thread::sleep(STEP);
                waker.wake();
            }
        });
        self.unaccepted.push(Unaccepted {
            tracee,
            tid,
            ret,
            end_ns,
            until: Instant::now() + WAIT,
        });
    }

    /// Writes and resumes the kept connects whose peer is known now (after
    /// an accept), and with `now`, those whose wait is over anyway.
    pub(super) fn release_unaccepted(&mut self, now: Option<Instant>) -> Result<(), TraceError> {
        for u in std::mem::take(&mut self.unaccepted) {
            // A thread that died meanwhile had its connect written as a
            // call that never returned.
            let Some((tgid, Some(mut p))) = self
                .tasks
                .get_mut(&u.tid)
                .map(|t| (t.tgid, t.pending.take()))
            else {
                continue;
            };
            let fd = p.event.fd.unwrap_or(-1);
            let ep = self.fds.refreshed(tgid, u.tid, fd);
            let known = ep.as_ref().is_some_and(|ep| ep.peer.is_some());
            let waited = now.is_some_and(|n| u.until <= n);
            if !known && !waited {
                if let Some(t) = self.tasks.get_mut(&u.tid) {
                    t.pending = Some(p);
                }
                self.unaccepted.push(u);
                continue;
            }
            if let Some(ep) = ep {
                p.event.endpoint = Some(ep.into());
            }
            self.emit_finished(p, tgid, u.tid, Some(u.ret), Some(u.end_ns))?;
            self.resume(u.tracee, None)?;
        }
        Ok(())
    }
}
