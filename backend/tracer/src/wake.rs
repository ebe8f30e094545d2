//! Waking the tracer thread out of its blocking `waitpid`.
//!
//! A no-op SIGUSR2 handler installed without `SA_RESTART` makes `waitpid`
//! return `EINTR` when the signal is sent to the tracer thread (tgkill).
//! A signal sent just before the tracer blocks would be lost, so the waker
//! re-sends until the tracer acknowledges the request's generation; the
//! tracer acknowledges at the top of each loop turn, before it reads its
//! queue.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use super::TraceError;

extern "C" fn nothing(_: libc::c_int) {}

/// Wakes one tracer thread.
pub(super) struct Waker {
    tid: i32,
    requested: AtomicU64,
    handled: AtomicU64,
}

impl Waker {
    /// Sets up waking for the calling thread (the tracer).
    pub(super) fn for_current_thread() -> Result<Waker, TraceError> {
        let action = SigAction::new(
            SigHandler::Handler(nothing),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler does nothing, so it is async-signal-safe.
        unsafe { sigaction(Signal::SIGUSR2, &action) }
            .map_err(|e| TraceError::Setup(format!("cannot install the wake-up handler: {e}")))?;
        let tid = nix::unistd::gettid().as_raw();
        Ok(Waker {
            tid,
            requested: AtomicU64::new(0),
            handled: AtomicU64::new(0),
        })
    }

    /// Called by the tracer before it looks at its queue.
    pub(super) fn acknowledge(&self) {
        self.handled
            .store(self.requested.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Interrupts the tracer and returns once it has seen the request (or
    /// after a bounded time, if it has exited).
    pub(super) fn wake(&self) {
        let generation = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        for _ in 0..2000 {
            // SAFETY: tgkill only sends a signal.
            let r =
                unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), self.tid, libc::SIGUSR2) };
            if r != 0 {
                return; // the tracer thread is gone
            }
            std::thread::sleep(Duration::from_micros(500));
            if self.handled.load(Ordering::SeqCst) >= generation {
                return;
            }
        }
    }
}
