//! A traced call's return (its syscall-exit stop), in steps: the faked
//! result of a call the injector skipped, an interruption by a signal
//! (`restart`), then what the return tells, by decoded call: new fds and
//! their channel ends, a socket's ends after setup, the bytes moved and
//! from where, the reaped child. Then the event is written.

use super::super::TraceError;
use super::super::channel::FdTarget;
use super::super::decode::{Buffer, Decoded, NewFd, Reaped, Source};
use super::super::error::TraceeContext;
use super::super::memory::Memory;
use super::super::ptrace::{Errno, Stopped};
use super::Session;
use super::restart;
use super::unaccepted;
use bop_model::{Detail, Endpoint, Event};

impl Session {
    pub(super) fn syscall_exit(&mut self, tracee: Stopped, ret: i64) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        let Some((tgid, Some(mut p))) =
            self.tasks.get_mut(&tid).map(|t| (t.tgid, t.pending.take()))
        else {
            return self.resume(tracee, None);
        };
        let ret = match p.skip {
            Some(fake) => {
                // ESRCH: the thread died meanwhile; its exit report follows.
                match tracee.set_return(fake) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => return Err(e).tracee("PTRACE_SETREGS", tid),
                }
                fake
            }
            None => ret,
        };
        if restart::interrupted(ret) {
            self.stash_interrupted(tid, p);
            return self.resume(tracee, None);
        }
        let end_ns = self.now();
        self.complete(tgid, tid, ret, &p.call, &mut p.event);
        if p.record && unaccepted::awaits_accept(&p, ret) {
            self.await_accept(tracee, p, ret, end_ns);
            return Ok(());
        }
        if matches!(p.call, Decoded::Accept { .. }) && ret >= 0 {
            // The connects this accept completes are written before it.
            self.release_unaccepted(None)?;
        }
        if p.record {
            self.emit_finished(p, tgid, tid, Some(ret), Some(end_ns))?;
        }
        self.resume(tracee, None)
    }

    /// What the return of `call` tells, into its event.
    fn complete(&mut self, tgid: i32, tid: i32, ret: i64, call: &Decoded, ev: &mut Event) {
        let ok = ret >= 0;
        let mem = Memory::of(tid);
        match *call {
            Decoded::Socket | Decoded::Eventfd if ok => {
                self.new_fds(tgid, tid, &[ret as i32], &mut ev.detail)
            }
            Decoded::FdPair { fds } if ok => {
                let fds = mem.i32s::<2>(fds).map_or_else(Vec::new, Vec::from);
                self.new_fds(tgid, tid, &fds, &mut ev.detail);
            }
            // A socket's ends change with each setup call, failed or not.
            Decoded::Bind { fd, .. } | Decoded::Connect { fd, .. } | Decoded::Listen { fd } => {
                self.refresh_endpoint(tgid, tid, fd, ev)
            }
            Decoded::Accept { fd } => {
                self.refresh_endpoint(tgid, tid, fd, ev);
                if ok {
                    self.accepted(tgid, tid, ret as i32, ev);
                }
            }
            Decoded::Send { fd, buf, .. } if ok => {
                self.moved(tgid, tid, (fd, buf, Source::None), ret, ev)
            }
            Decoded::Recv {
                fd,
                buf,
                from,
                flags,
            } if ok => {
                ev.detail.peek = flags & libc::MSG_PEEK != 0;
                self.moved(tgid, tid, (fd, buf, from), ret, ev)
            }
            // Bytes moved by the kernel from fd to fd: nothing to read back.
            Decoded::Transfer { .. } if ok => ev.bytes = Some(ret as u64),
            // Another thread may have re-cached the fd between close's
            // entry and its return.
            Decoded::Close { fd } => self.fds.forget(tgid, fd),
            Decoded::Dup { fd, new } if ok => {
                let new = match new {
                    NewFd::Given(n) => n,
                    NewFd::Returned => ret as i32,
                };
                self.fds.copy(tgid, fd, new);
                ev.detail.fds = vec![new];
            }
            Decoded::Wait { reaped } if ok => {
                ev.detail.child = match reaped {
                    Reaped::Returned => (ret > 0).then_some(ret as i32),
                    Reaped::Siginfo { info } => mem.siginfo_pid(info),
                }
            }
            // Failed, or nothing to learn from the return (listed, so that
            // a new call is a compile error here until it is thought about).
            Decoded::Socket
            | Decoded::Eventfd
            | Decoded::Unseen
            | Decoded::Transfer { .. }
            | Decoded::FdPair { .. }
            | Decoded::Send { .. }
            | Decoded::Recv { .. }
            | Decoded::Shutdown { .. }
            | Decoded::Dup { .. }
            | Decoded::Wait { .. }
            | Decoded::Spawn
            | Decoded::Exec
            | Decoded::Block
            | Decoded::Exit
            | Decoded::CloseRange { .. }
            | Decoded::SigReturn
            | Decoded::Ignored => {}
        }
    }

    /// The event's endpoint is `fd`'s channel end as the kernel has it now.
    fn refresh_endpoint(&mut self, tgid: i32, tid: i32, fd: i32, ev: &mut Event) {
        if let Some(ep) = self.fds.refreshed(tgid, tid, fd) {
            ev.endpoint = Some(ep.into());
        }
    }

    /// A new connection: its fd, its ends, and the traced process that
    /// connected, if any.
    fn accepted(&mut self, tgid: i32, tid: i32, fd: i32, ev: &mut Event) {
        self.new_fds(tgid, tid, &[fd], &mut ev.detail);
        ev.detail.peer_pid = ev
            .detail
            .new_endpoints
            .first()
            .cloned()
            .and_then(|ep| self.connector_of(&ep));
    }

    /// A data call moved `ret` bytes: byte counts (per datagram for the
    /// mmsg calls), the source address of a receive, captured bytes.
    fn moved(
        &mut self,
        tgid: i32,
        tid: i32,
        (fd, buf, from): (i32, Buffer, Source),
        ret: i64,
        ev: &mut Event,
    ) {
        // An unbound datagram socket is bound by its first send: the
        // endpoint seen at entry said `:0`.
        if ev
            .endpoint
            .as_ref()
            .is_some_and(|ep| ep.local.ends_with(":0"))
        {
            self.refresh_endpoint(tgid, tid, fd, ev);
        }
        let mem = Memory::of(tid);
        let mut bytes = ret as u64;
        if let Buffer::Mmsg { vec, .. } = buf {
            ev.detail.parts = mem.mmsg_lens(vec, ret as u64);
            bytes = ev.detail.parts.iter().sum();
        }
        let source = match from {
            Source::None => None,
            Source::Sockaddr { addr, len_at } => mem.sockaddr_with_len_at(addr, len_at),
            Source::MsgName { hdr } => mem.msghdr_name(hdr),
        };
        if source.is_some() {
            ev.detail.addr = source;
        }
        ev.bytes = Some(bytes);
        if self.config.capture_bytes > 0 && bytes > 0 {
            ev.data = capture(&mem, buf, (bytes as usize).min(self.config.capture_bytes))
                .map(String::into_boxed_str);
        }
    }

    /// Records new fds (and their endpoints) in the detail and the cache.
    fn new_fds(&mut self, tgid: i32, tid: i32, fds: &[i32], detail: &mut Detail) {
        detail.fds = fds.to_vec();
        for &fd in fds {
            if let Some(ep) = self.fds.refreshed(tgid, tid, fd) {
                detail.new_endpoints.push(ep);
            }
        }
    }

    /// The traced process at the other end of a just-accepted connection,
    /// from the kernel: a task whose connect is still pending (its return not
    /// handled yet) or already done, whose socket's local address is this
    /// connection's peer. Lets logical names of the accepting side not depend
    /// on the order in which the tracer happens to handle the two stops.
    fn connector_of(&mut self, accepted: &Endpoint) -> Option<i32> {
        let peer = accepted.peer.as_deref()?;
        if let Some(tgid) = self.fds.owner_of(peer) {
            return Some(tgid);
        }
        let connecting: Vec<(i32, i32, i32)> = self
            .tasks
            .iter()
            .filter_map(|(tid, t)| match t.current_call()?.call {
                Decoded::Connect { fd, .. } => Some((t.tgid, *tid, fd)),
                _ => None,
            })
            .collect();
        connecting
            .into_iter()
            .find_map(|(tgid, tid, fd)| match self.fds.uncached(tgid, tid, fd) {
                FdTarget::Channel(ep) if ep.local == peer => Some(tgid),
                _ => None,
            })
    }
}

/// The first `n` bytes a data call moved, hex-encoded. Vectored calls: the
/// first iovec only, never past its end; the mmsg calls: none.
fn capture(mem: &Memory, buf: Buffer, n: usize) -> Option<String> {
    let clip = |(base, len): (u64, u64)| (base, n.min(len as usize));
    let (addr, n) = match buf {
        Buffer::Flat { addr, .. } => (addr, n),
        Buffer::Vector { iov, .. } => clip(mem.first_iovec(iov)?),
        Buffer::Msg { hdr } => clip(mem.first_iovec(mem.msghdr(hdr)?.iov)?),
        Buffer::Mmsg { .. } => return None,
    };
    let bytes = mem.bytes(addr, n);
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
