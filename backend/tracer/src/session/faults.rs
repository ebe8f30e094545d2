//! The fault injector's effects, applied by the tracer (DESIGN.md "Fault
//! semantics"): at a recorded call's entry the injector decides, here it is
//! done. A delay holds the thread in its seccomp stop; a drop or an error
//! makes the kernel skip the call and fakes its result at the return; a
//! crash with `kill` SIGKILLs the process at the event that triggers it.

use std::time::{Duration, Instant};

use super::super::TraceError;
use super::super::decode::{Buffer, Decoded};
use super::super::error::TraceeContext;
use super::super::memory::Memory;
use super::super::ptrace::{Errno, Pid, Signal, Stopped};
use super::Session;
use super::entry::Pending;
use bop_injector::{Action, Decision, Entry};
use bop_model::Event;

impl Session {
    /// Applies the fault plan at a recorded call's entry. Returns the
    /// tracee back when it is to be resumed now (`None`: it is held).
    pub(super) fn inject(
        &mut self,
        tracee: Stopped,
        tgid: i32,
        tid: i32,
        p: &mut Pending,
    ) -> Result<Option<Stopped>, TraceError> {
        let now_ms = self.now_ms();
        let Some(inj) = self.config.injector.as_mut() else {
            return Ok(Some(tracee));
        };
        let entry = Entry {
            pid: tgid,
            tid,
            call: p.name,
            endpoint: p.send_endpoint(),
            addr: p.event.detail.addr.as_deref(),
            now_ms,
        };
        let Some(Decision {
            action,
            label,
            fault,
        }) = inj.on_entry(&entry)
        else {
            return Ok(Some(tracee));
        };
        p.event.injected = Some(label.into());
        p.fault = Some(fault);
        let result = match action {
            Action::Hold(d) => {
                self.hold(tracee, d);
                return Ok(None);
            }
            Action::Drop => dropped_length(&Memory::of(tid), &p.call) as i64,
            Action::Fail(errno) => -i64::from(errno),
        };
        p.skip = Some(result);
        // ESRCH: the thread died meanwhile (a sibling's exit_group); its
        // exit report follows and the call never ran.
        match tracee.skip_syscall() {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => return Err(e).tracee("PTRACE_SETREGS", tid),
        }
        Ok(Some(tracee))
    }

    /// Keeps a thread in its stop for `d` (`None`: until the run ends); a
    /// timer thread wakes the loop when it is due.
    fn hold(&mut self, tracee: Stopped, d: Option<Duration>) {
        let until = d.map(|d| Instant::now() + d);
        if let Some(d) = d {
            let waker = self.waker.clone();
            std::thread::spawn(move || {
                std::thread::sleep(d);
                waker.wake();
            });
        }
        self.held.push((tracee, until));
    }

    /// Resumes held threads whose delay is over.
    pub(super) fn release_due(&mut self) -> Result<(), TraceError> {
        let now = Instant::now();
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(_, until)| until.is_some_and(|u| u <= now));
        self.held = keep;
        for (tracee, _) in due {
            self.resume(tracee, None)?;
        }
        Ok(())
    }

    /// Tells the injector of a written event; kills the processes of a
    /// crash fault with `kill` that it triggered.
    pub(super) fn injector_observe(&mut self, ev: &Event) {
        let now_ms = self.now_ms();
        let Some(inj) = self.config.injector.as_mut() else {
            return;
        };
        for process in inj.observe(ev, now_ms) {
            // Only live tracees: a pid seen earlier may belong to anyone now.
            for pid in inj.pids_of(&process) {
                if pid > 0 && self.tasks.values().any(|t| t.tgid == pid) {
                    let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
    }

    /// Writes the event of a call that ended with `ret` (`None`: never
    /// returned), telling the injector where the fault that acted on it
    /// fired.
    pub(super) fn emit_finished(
        &mut self,
        mut p: Pending,
        tgid: i32,
        tid: i32,
        ret: Option<i64>,
        end_ns: Option<u64>,
    ) -> Result<(), TraceError> {
        let fault = p.fault;
        let half = p.source.take();
        let peek = matches!(p.call, Decoded::Transfer { peek: true, .. });
        let ev = p.finish(tgid, tid, ret, end_ns);
        if let Some((fd, ep)) = half {
            // The input half of a transfer between two channels comes first:
            // it takes out the bytes the output half then puts in.
            self.emit(input_half(&ev, fd, ep, peek))?;
        }
        if let (Some(fault), Some(inj)) = (fault, self.config.injector.as_mut()) {
            inj.acted_on(
                fault,
                &Event {
                    seq: self.seq + 1,
                    ..ev.clone()
                },
            );
        }
        self.emit(ev)
    }
}

/// The input half of a transfer whose output half is `ev`: the same call on
/// the input's fd and channel end (EVENTS.md "Transfers").
fn input_half(ev: &Event, fd: i32, ep: bop_model::Endpoint, peek: bool) -> Event {
    let mut half = ev.clone();
    half.fd = Some(fd);
    half.endpoint = Some(ep.into());
    half.detail.input = true;
    half.detail.peek = peek;
    half.injected = None;
    half.data = None;
    half
}

/// The length a skipped (dropped) send reports: what the caller asked to
/// send, so it believes everything went out. A dropped sendmmsg also gets
/// every datagram's `msg_len` filled in.
fn dropped_length(mem: &Memory, call: &Decoded) -> u64 {
    let buf = match call {
        Decoded::Send { buf, .. } => buf,
        Decoded::Transfer { len, .. } => return *len,
        _ => return 0, // only sends are dropped
    };
    match *buf {
        Buffer::Flat { len, .. } => len,
        Buffer::Vector { iov, count } => mem.iovec_total(iov, count),
        Buffer::Msg { hdr } => mem.msghdr_total(hdr),
        Buffer::Mmsg { vec, vlen } => mem.fill_mmsg_lens(vec, vlen),
    }
}
