//! The fast path's records become events (docs/FASTPATH.md): at every
//! report about a thread, the rings of its whole process are drained first
//! (its threads share the fd table, and close/dup/exec always stop, so each
//! fd still means what it meant in the call); every ring is drained on a
//! timer tick, and a thread's ring once more when it ends (a call it died
//! in becomes an event that never returned, as on the ptrace path).
//!
//! A drained call becomes the event the ptrace path would have written for
//! it: same call name, fd, channel end, result, bytes, peek flag, peer
//! address and captured bytes, with `path: fast`. An fd that is not a channel (a file)
//! is not recorded, as on the ptrace path. A wait call (poll & co) is a
//! blocking point with no fd; one that a signal's handler follows is
//! written at the signal's stop, where the ptrace path has it
//! ([`Session::settle_fast_wait`]).

use std::fmt::Write as _;

use super::super::TraceError;
use super::super::fast::FastCall;
use super::super::ptrace::Stopped;
use super::super::ring;
use super::super::syscall;
use super::Session;
use super::restart;
use bop_model::{CallPath, Event};

impl Session {
    /// Drains the rings of every traced thread of process `tgid`.
    pub(super) fn drain_process(&mut self, tgid: i32) -> Result<(), TraceError> {
        if self.fast.is_none() {
            return Ok(());
        }
        let mut tids: Vec<i32> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.tgid == tgid)
            .map(|(tid, _)| *tid)
            .collect();
        tids.sort_unstable();
        for tid in tids {
            self.drain_thread(tgid, tid, false)?;
        }
        Ok(())
    }

    /// Drains every ring (the periodic tick).
    pub(super) fn drain_all(&mut self) -> Result<(), TraceError> {
        let Some(fast) = self.fast.as_mut() else {
            return Ok(());
        };
        for tid in fast.threads() {
            if let Some(tgid) = self.tgid_of(tid) {
                self.drain_thread(tgid, tid, false)?;
            }
        }
        Ok(())
    }

    /// Writes the calls in thread `tid`'s ring as events; `dead`: the
    /// thread has ended (or exec replaced its image), so its ring is
    /// drained to the end and freed.
    pub(super) fn drain_thread(
        &mut self,
        tgid: i32,
        tid: i32,
        dead: bool,
    ) -> Result<(), TraceError> {
        let Some(fast) = self.fast.as_mut() else {
            return Ok(());
        };
        let calls = fast.drain(tid, dead);
        if dead {
            fast.release(tid);
        }
        self.write_fast(tgid, tid, calls)
    }

    /// Writes drained calls of thread `tid` as events, in their order.
    fn write_fast(&mut self, tgid: i32, tid: i32, calls: Vec<FastCall>) -> Result<(), TraceError> {
        if let Some(first) = calls.first() {
            // A call a signal interrupted before these came: the program
            // saw EINTR and went on (see `restart`).
            self.settle_before(tid, first.start_ns)?;
        }
        for call in calls {
            if let Some(ev) = self.fast_event(tgid, tid, call) {
                self.emit(ev)?;
            }
        }
        Ok(())
    }

    /// At a signal-delivery stop of thread `tid` (its process's rings just
    /// drained): a wait call it is making on the fast path has returned,
    /// and the handler about to run may make calls of its own; the ptrace
    /// path writes the wait call at its exit stop, before those, so it is
    /// written now, with the result the thread's registers hold.
    ///
    /// Only when the thread stopped right after the stub's `syscall` with
    /// that call's number: then the kernel has finished the call. An
    /// `ERESTART*` result is left to the library, as the ptrace path
    /// leaves it to `restart`: the handling of the signal decides whether
    /// the program sees EINTR (after the handler) or the call goes on.
    pub(super) fn settle_fast_wait(&mut self, tracee: &Stopped) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        let (Some(tgid), Some(fast)) = (self.tgid_of(tid), self.fast.as_mut()) else {
            return Ok(());
        };
        let Some(nr) = fast.wait_in_progress(tid) else {
            return Ok(());
        };
        let Ok(last) = tracee.last_call() else {
            return Ok(()); // gone: its exit report drains the ring
        };
        if last.ip != ring::STUB_RETURN
            || last.nr != u64::from(nr)
            || restart::interrupted(last.ret)
        {
            return Ok(());
        }
        let end_ns = self.now();
        let Some(fast) = self.fast.as_mut() else {
            return Ok(());
        };
        let call = fast.take_wait(tid, last.ret, end_ns);
        self.write_fast(tgid, tid, call.into_iter().collect())
    }

    /// The event of one drained call; `None` when its fd is no channel.
    fn fast_event(&mut self, tgid: i32, tid: i32, c: FastCall) -> Option<Event> {
        let call = syscall::lookup(c.nr)?;
        let mut ev = Event {
            pid: tgid,
            tid,
            call: call.name.into(),
            ret: c.ret,
            errno: c
                .ret
                .filter(|r| (-4095..0).contains(r))
                .map(|r| bop_model::errno_name(-r as i32).into()),
            start_ns: c.start_ns,
            end_ns: c.end_ns,
            path: CallPath::Fast,
            ..Event::default()
        };
        if call.kind == syscall::Kind::Block {
            // A wait call: a blocking point, with no fd, channel or bytes,
            // as the ptrace path writes it (EVENTS.md "Blocking points").
            return Some(ev);
        }
        ev.fd = Some(c.fd);
        ev.endpoint = Some(self.channel(tgid, tid, c.fd)?.into());
        let ok = c.ret.filter(|r| *r >= 0);
        let recv = [libc::SYS_recvfrom, libc::SYS_recvmsg].contains(&(c.nr as i64));
        // A send's destination is known at entry (the ptrace path records
        // it whatever the result), a receive's source only on success.
        if !recv || ok.is_some() {
            ev.detail.addr = c.addr;
        }
        if let Some(n) = ok {
            ev.detail.peek = recv && c.flags & libc::MSG_PEEK as u32 != 0;
            // An unbound datagram socket is bound by its first send.
            if ev
                .endpoint
                .as_ref()
                .is_some_and(|ep| ep.local.ends_with(":0"))
            {
                if let Some(ep) = self.fds.refreshed(tgid, tid, c.fd) {
                    ev.endpoint = Some(ep.into());
                }
            }
            ev.bytes = Some(n as u64);
            if !c.data.is_empty() {
                let mut hex = String::with_capacity(c.data.len() * 2);
                for b in &c.data {
                    let _ = write!(hex, "{b:02x}");
                }
                ev.data = Some(hex.into());
            }
        }
        Some(ev)
    }
}
