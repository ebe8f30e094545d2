//! Which processes of a run with a fault plan use the fast path
//! (docs/FASTPATH.md "Faults"): the library of such a run is gated, and a
//! process takes the fast path only once its pid is in the shared table.
//! A process is admitted at its start event, once the injector has named
//! it, when no fault of the plan could act on it
//! ([`bop_injector::Injector::may_act_on`]); before that, and for every
//! process a fault could act on, each call stops as without the fast path.
//! It leaves the table when it has ended, so a reused pid starts unadmitted.

use super::Session;
use bop_model::Event;

impl Session {
    /// After event `ev` was written and the injector told of it: a new
    /// process the plan cannot act on is admitted to the fast path.
    pub(super) fn admit(&mut self, ev: &Event) {
        if ev.call != "start" || ev.detail.thread {
            return;
        }
        let (Some(fast), Some(inj)) = (self.fast.as_mut(), self.config.injector.as_ref()) else {
            return;
        };
        if !inj.may_act_on(ev.pid) {
            // A full table leaves it on ptrace: slower, never wrong.
            fast.admit(ev.pid);
        }
    }

    /// Process `tgid` has ended: its entry is free again.
    pub(super) fn dismiss(&mut self, tgid: i32) {
        if let Some(fast) = self.fast.as_mut() {
            fast.dismiss(tgid);
        }
    }
}
