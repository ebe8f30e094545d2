//! fd bookkeeping: what each fd of each traced process refers to, asked of
//! the kernel once ([`Resolver`]) and cached until a call changes the fd.
//!
//! Threads share their process's table. A fork copies it, an exec keeps the
//! fds that survive it (close-on-exec ones are gone), and close,
//! close_range and dup keep it true in between. Only final identities are
//! cached: a socket's ends change while it is being set up (bind, connect,
//! the first send of an unbound datagram socket), so those are re-read.
//!
//! A cached end must outlive exec: a unix socket's peer is only known while
//! the peer is open, so an exec'd program whose first call on an inherited
//! socket is seen after the other end closed (always so for a read of the
//! end of file, and for fast-path calls drained late) would otherwise
//! resolve it without a peer, off its channel.

use std::collections::HashMap;

use bop_model::Endpoint;

use super::channel::{self, FdTarget, Resolver};

/// The fd tables of every traced process.
#[derive(Default)]
pub(crate) struct Fds {
    tables: HashMap<i32, HashMap<i32, Cached>>,
    resolver: Resolver,
}

/// What an fd was resolved to, and the identity of the open file it was
/// resolved from ([`channel::link`]), which says after an exec whether the
/// fd still refers to it.
#[derive(Clone, Debug)]
struct Cached {
    target: FdTarget,
    link: String,
}

impl Fds {
    /// What `fd` of process `tgid` refers to (asked through thread `tid`),
    /// from the cache if it is there.
    pub(crate) fn target(&mut self, tgid: i32, tid: i32, fd: i32) -> FdTarget {
        if let Some(c) = self.tables.get(&tgid).and_then(|m| m.get(&fd)) {
            return c.target.clone();
        }
        let Some(link) = channel::link(tid, fd) else {
            return FdTarget::Closed;
        };
        let target = self.resolver.resolve_link(tgid, tid, fd, &link);
        if cacheable(&target) {
            let cached = Cached {
                target: target.clone(),
                link,
            };
            self.tables.entry(tgid).or_default().insert(fd, cached);
        }
        target
    }

    /// The channel end `fd` is now, asked of the kernel afresh (after a
    /// call that may have changed it).
    pub(crate) fn refreshed(&mut self, tgid: i32, tid: i32, fd: i32) -> Option<Endpoint> {
        self.forget(tgid, fd);
        match self.target(tgid, tid, fd) {
            FdTarget::Channel(ep) => Some(ep),
            _ => None,
        }
    }

    /// What `fd` refers to, from the kernel, leaving the cache alone (for
    /// a socket another thread is still connecting).
    pub(crate) fn uncached(&mut self, tgid: i32, tid: i32, fd: i32) -> FdTarget {
        self.resolver.resolve(tgid, tid, fd)
    }

    /// `fd` changed or closed.
    pub(crate) fn forget(&mut self, tgid: i32, fd: i32) {
        if let Some(m) = self.tables.get_mut(&tgid) {
            m.remove(&fd);
        }
    }

    /// close_range(first, last) (or its CLOEXEC form: re-resolving is
    /// harmless).
    pub(crate) fn forget_range(&mut self, tgid: i32, first: u32, last: u32) {
        if let Some(m) = self.tables.get_mut(&tgid) {
            m.retain(|fd, _| !(i64::from(first)..=i64::from(last)).contains(&i64::from(*fd)));
        }
    }

    /// `new` became a copy of `old` (dup family).
    pub(crate) fn copy(&mut self, tgid: i32, old: i32, new: i32) {
        let t = self.tables.get(&tgid).and_then(|m| m.get(&old)).cloned();
        let m = self.tables.entry(tgid).or_default();
        match t {
            Some(t) => m.insert(new, t),
            None => m.remove(&new),
        };
    }

    /// A new process `child` starts with a copy of `parent`'s fds.
    pub(crate) fn fork(&mut self, parent: i32, child: i32) {
        let copy = self.tables.get(&parent).cloned().unwrap_or_default();
        self.tables.insert(child, copy);
    }

    /// Process `tgid` exec'd (its thread `tid` is stopped at the exec
    /// event, when the kernel has closed the close-on-exec fds): the fds
    /// still open on the same file keep what they were resolved to.
    pub(crate) fn exec(&mut self, tgid: i32, tid: i32) {
        if let Some(m) = self.tables.get_mut(&tgid) {
            m.retain(|fd, c| channel::link(tid, *fd).is_some_and(|l| l == c.link));
        }
    }

    /// Process `tgid` is gone.
    pub(crate) fn process_ended(&mut self, tgid: i32) {
        self.tables.remove(&tgid);
        self.resolver.forget(tgid);
    }

    /// A process that has a cached channel end whose local address is
    /// `local`.
    pub(crate) fn owner_of(&self, local: &str) -> Option<i32> {
        self.tables.iter().find_map(|(tgid, fds)| {
            fds.values()
                .any(|c| matches!(&c.target, FdTarget::Channel(ep) if ep.local == local))
                .then_some(*tgid)
        })
    }
}

/// Endpoints change while a socket is being set up (bind, connect); cache
/// only those that are final.
fn cacheable(t: &FdTarget) -> bool {
    match t {
        FdTarget::Closed | FdTarget::Unknown => false,
        FdTarget::Other => true,
        FdTarget::Channel(ep) => {
            let bound = !ep.local.ends_with(":0");
            bound && (ep.peer.is_some() || !ep.stream)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    #[test]
    fn the_cache_follows_dup_close_range_and_fork() {
        let me = std::process::id() as i32;
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let mut fds = Fds::default();
        let FdTarget::Channel(ep) = fds.target(me, me, fd) else {
            panic!("a socketpair end is a channel")
        };
        assert_eq!(fds.owner_of(&ep.local), Some(me));
        // A made-up fd number that the kernel says is closed: only the
        // cache can say it is a copy.
        fds.copy(me, fd, 999);
        assert_eq!(fds.target(me, me, 999), FdTarget::Channel(ep.clone()));
        fds.forget_range(me, 998, 1000);
        assert_eq!(fds.target(me, me, 999), FdTarget::Closed);
        fds.fork(me, -1);
        assert!(fds.owner_of(&ep.local).is_some(), "both own it");
        fds.process_ended(me);
        assert_eq!(fds.owner_of(&ep.local), Some(-1));
        fds.process_ended(-1);
        assert_eq!(fds.owner_of(&ep.local), None);
        assert_eq!(fds.refreshed(me, me, fd), Some(ep));
    }

    /// An exec'd program's first call on a unix socket it inherited can
    /// come after the other end closed, when the kernel no longer says who
    /// the peer was: the end resolved before the exec is what it is.
    #[test]
    fn an_exec_keeps_the_ends_of_the_fds_that_survive_it() {
        let me = std::process::id() as i32;
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (cloexec, _) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut fds = Fds::default();
        let FdTarget::Channel(ep) = fds.target(me, me, a.as_raw_fd()) else {
            panic!("a socketpair end is a channel")
        };
        assert!(ep.peer.is_some(), "{ep:?}");
        let FdTarget::Channel(gone) = fds.target(me, me, cloexec.as_raw_fd()) else {
            panic!("a socketpair end is a channel")
        };
        // What exec does to a close-on-exec fd, and the peer closing.
        drop((cloexec, b));
        fds.exec(me, me);
        assert_eq!(fds.target(me, me, a.as_raw_fd()), FdTarget::Channel(ep));
        assert_eq!(fds.owner_of(&gone.local), None, "a closed fd is forgotten");
    }
}
