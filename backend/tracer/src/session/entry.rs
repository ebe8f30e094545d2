//! A traced call's entry (its seccomp stop), in steps: settle a call that a
//! signal interrupted before (`restart`), decode the arguments once
//! ([`decode`]), do the fd bookkeeping the call needs now, let the fault
//! injector act (`faults`), and resume the thread to the call's return, or
//! hold it there.

use super::super::TraceError;
use super::super::channel::FdTarget;
use super::super::decode::{Decoded, decode};
use super::super::memory::Memory;
use super::super::ptrace::{Stopped, UserRegs};
use super::super::syscall::{self, Call};
use super::Session;
use bop_model::{Endpoint, Event};

/// A call between its seccomp stop and its return.
pub(super) struct Pending {
    /// Syscall number and raw arguments: a restarted call is recognised by
    /// them (see `restart`).
    pub(super) nr: u64,
    pub(super) args: [u64; 6],
    /// The address after its `syscall` instruction: where the thread
    /// resumes if the program sees the call's result, 2 bytes past where
    /// it resumes if the kernel restarts it (see `restart`).
    pub(super) ip: u64,
    /// The call's name as strace spells it.
    pub(super) name: &'static str,
    /// The arguments, decoded.
    pub(super) call: Decoded,
    /// The event as far as it is known at entry (call, fd, endpoint,
    /// details, what the injector did); completed at the return.
    pub(super) event: Event,
    /// False for calls followed only for bookkeeping (dup of a file fd).
    pub(super) record: bool,
    /// The fault that acted on the call, if any.
    pub(super) fault: Option<usize>,
    /// The call was skipped; this is the result the tracee gets.
    pub(super) skip: Option<i64>,
    /// A transfer between two channels: the input's fd and channel end,
    /// written as the input half before the event (EVENTS.md "Transfers").
    pub(super) source: Option<(i32, Endpoint)>,
}

impl Pending {
    fn new(
        (nr, args, ip): (u64, [u64; 6], u64),
        call: Call,
        decoded: Decoded,
        start_ns: u64,
    ) -> Pending {
        let event = Event {
            call: call.name.into(),
            fd: decoded.fd(),
            start_ns,
            ..Event::default()
        };
        Pending {
            nr,
            args,
            ip,
            name: call.name,
            call: decoded,
            event,
            record: true,
            fault: None,
            skip: None,
            source: None,
        }
    }

    /// The event of the call ending with `ret` (`None`: it never returned)
    /// in thread `tid` of `tgid` (a thread that exec'd has a new tid).
    pub(super) fn finish(
        mut self,
        tgid: i32,
        tid: i32,
        ret: Option<i64>,
        end_ns: Option<u64>,
    ) -> Event {
        self.event.pid = tgid;
        self.event.tid = tid;
        self.event.ret = ret;
        self.event.errno = ret
            .filter(|r| (-4095..0).contains(r))
            .map(|r| bop_model::errno_name(-r as i32).into());
        self.event.end_ns = end_ns;
        self.event
    }

    /// The channel end the call acts on, as seen at entry.
    pub(super) fn endpoint(&self) -> Option<&Endpoint> {
        self.event.endpoint.as_deref()
    }

    /// The channel end a send-like call puts bytes into, where the fault
    /// injector may act: none for a transfer's input half, and none for a
    /// transfer whose input is a channel too, since skipping it would leave
    /// the bytes in that input (a drop cannot be done honestly there).
    pub(super) fn send_endpoint(&self) -> Option<&Endpoint> {
        match self.call {
            Decoded::Transfer { .. } if self.event.detail.input || self.source.is_some() => None,
            _ => self.endpoint(),
        }
    }
}

impl Session {
    pub(super) fn syscall_entry(
        &mut self,
        tracee: Stopped,
        nr: u64,
        args: [u64; 6],
        at: UserRegs,
    ) -> Result<(), TraceError> {
        let tid = tracee.pid().as_raw();
        if self.settle_interrupted(tid, nr, args, at)? {
            return self.resume(tracee, None);
        }
        let (Some(call), Some(tgid)) = (syscall::lookup(nr), self.tgid_of(tid)) else {
            return self.resume(tracee, None);
        };
        let decoded = decode(nr, args, call.kind, &Memory::of(tid));
        let pending = Pending::new((nr, args, at.ip), call, decoded, self.now());
        let Some(mut pending) = self.prepare(tgid, tid, pending) else {
            return self.resume(tracee, None);
        };
        let tracee = if pending.record {
            self.inject(tracee, tgid, tid, &mut pending)?
        } else {
            Some(tracee)
        };
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.pending = Some(pending);
        }
        match tracee {
            Some(tracee) => self.resume(tracee, None),
            None => Ok(()), // held by a delay fault
        }
    }

    /// The bookkeeping a call needs at its entry. Returns the call if it is
    /// followed to its return, `None` if it is done with here.
    fn prepare(&mut self, tgid: i32, tid: i32, mut p: Pending) -> Option<Pending> {
        match &p.call {
            Decoded::Exit => {
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.exiting = Some((p.name, p.event.start_ns));
                }
                return None;
            }
            Decoded::SigReturn | Decoded::Ignored => return None,
            Decoded::CloseRange { first, last } => {
                self.fds.forget_range(tgid, *first, *last);
                return None;
            }
            Decoded::Send { fd, dest, .. } => {
                p.event.endpoint = Some(self.channel(tgid, tid, *fd)?.into());
                p.event.detail.addr = dest.clone();
            }
            Decoded::Recv { fd, .. } => {
                p.event.endpoint = Some(self.channel(tgid, tid, *fd)?.into())
            }
            &Decoded::Transfer {
                input,
                output,
                peek,
                ..
            } => {
                let from = self.channel(tgid, tid, input);
                match (self.channel(tgid, tid, output), from) {
                    (None, None) => return None,
                    (Some(to), from) => {
                        p.event.endpoint = Some(to.into());
                        p.source = from.map(|ep| (input, ep));
                    }
                    (None, Some(from)) => {
                        p.event.fd = Some(input);
                        p.event.endpoint = Some(from.into());
                        p.event.detail.input = true;
                        p.event.detail.peek = peek;
                    }
                }
            }
            Decoded::Shutdown { fd, how } => {
                p.event.detail.how = Some(how.as_str().into());
                p.event.endpoint = Some(self.channel(tgid, tid, *fd)?.into());
            }
            Decoded::Close { fd } => {
                let target = self.fds.target(tgid, tid, *fd);
                self.fds.forget(tgid, *fd);
                let FdTarget::Channel(ep) = target else {
                    return None;
                };
                p.event.endpoint = Some(ep.into());
            }
            Decoded::Dup { fd, .. } => match self.fds.target(tgid, tid, *fd) {
                FdTarget::Channel(ep) => p.event.endpoint = Some(ep.into()),
                _ => p.record = false,
            },
            Decoded::Bind { addr, .. } | Decoded::Connect { addr, .. } => {
                p.event.detail.addr = addr.clone();
            }
            Decoded::Socket
            | Decoded::Eventfd
            | Decoded::Unseen
            | Decoded::FdPair { .. }
            | Decoded::Listen { .. }
            | Decoded::Accept { .. }
            | Decoded::Spawn
            | Decoded::Exec
            | Decoded::Wait { .. }
            | Decoded::Block => {}
        }
        Some(p)
    }

    /// The channel end `fd` refers to; `None` for anything else (the call
    /// is then not recorded).
    pub(super) fn channel(&mut self, tgid: i32, tid: i32, fd: i32) -> Option<Endpoint> {
        match self.fds.target(tgid, tid, fd) {
            FdTarget::Channel(ep) => Some(ep),
            _ => None,
        }
    }
}
