//! Which processes a plan could act on (docs/FASTPATH.md "Faults"): the
//! tracer lets every other process of a faulty run use the fast path,
//! whose calls never stop where the injector decides. Worked out once,
//! from the armed faults' locators, before the run starts.
//!
//! A fault acts at the entry of some process's calls, and some faults
//! start at an event (`after`), which must be observed when it happens,
//! not when a ring is drained. So a fault reaches:
//!
//! * a message (delay, drop) or a channel pattern (error): the processes
//!   at both ends of its direction, as the locator names them (the sender
//!   and the peer that owns the other end; a direction to an outside peer
//!   has only the sender). The receiver of a pipe or an eventfd is not in
//!   the locator (one-way channels are named by their sender alone): such
//!   a fault reaches every process;
//! * an event (error): that event's process;
//! * a process pattern (error), a crash, a partition's groups: those
//!   processes and their descendants, as the matching's `under` says; and
//!   the process of the event that starts a crash or a partition;
//! * jitter, and an error pattern bound to no process or channel: every
//!   process;
//! * a name that did not occur in the parent run (it never fires): none.
//!
//! A locator that cannot be taken apart into known processes reaches every
//! process: the safe answer, since reaching too far only costs speed.

use std::collections::HashSet;

use super::armed::{Armed, under};
use super::plan::Target;

/// The processes a plan could act on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Reach {
    /// Some fault could act on any process.
    everywhere: bool,
    /// Process locators reached exactly.
    exact: HashSet<String>,
    /// Process locators reached with their descendants.
    trees: HashSet<String>,
}

impl Reach {
    /// The reach of armed faults; `processes` are the parent run's process
    /// locators, to take locators apart with.
    pub(super) fn of(armed: &[Armed], processes: &HashSet<String>) -> Reach {
        let mut r = Reach::default();
        for a in armed {
            r.add(a, processes);
        }
        r
    }

    /// True when some fault could act on every process.
    pub(super) fn everywhere(&self) -> bool {
        self.everywhere
    }

    /// True when some fault could act on process locator `process`.
    pub(super) fn may_act_on(&self, process: &str) -> bool {
        self.everywhere
            || self.exact.contains(process)
            || self.trees.iter().any(|t| under(process, t))
    }

    fn add(&mut self, a: &Armed, procs: &HashSet<String>) {
        match a {
            Armed::Delay { target, .. } | Armed::Drop { target } | Armed::Error { target, .. } => {
                self.target(target, procs)
            }
            Armed::Crash {
                after: Some(Target::Never(_)),
                ..
            }
            | Armed::Partition {
                after: Some(Target::Never(_)),
                ..
            } => {}
            Armed::Crash { process, after, .. } => {
                self.trees.insert(process.clone());
                if let Some(t) = after {
                    self.target(t, procs);
                }
            }
            Armed::Partition { a, b, after, .. } => {
                self.trees.extend(a.iter().chain(b).cloned());
                if let Some(t) = after {
                    self.target(t, procs);
                }
            }
            Armed::Jitter { .. } => self.everywhere = true,
        }
    }

    fn target(&mut self, t: &Target, procs: &HashSet<String>) {
        match t {
            Target::Never(_) => {}
            // `connect:PROCESS->PEER#n` has a direction's form.
            Target::Connect(c) => self.direction(c, procs),
            Target::Message(m) | Target::Receive(m) => {
                let direction = m.rsplit_once('/').map_or(m.as_str(), |(d, _)| d);
                self.direction(direction, procs);
            }
            Target::Event(e) => match event_process(e).filter(|p| procs.contains(*p)) {
                Some(p) => {
                    self.exact.insert(p.to_string());
                }
                None => self.everywhere = true,
            },
            Target::Pattern {
                process: Some(p), ..
            } => {
                self.trees.insert(p.clone());
            }
            Target::Pattern {
                direction: Some(d), ..
            } => {
                for dir in d.split('|') {
                    self.direction(dir, procs);
                }
            }
            Target::Pattern { .. } => self.everywhere = true,
        }
    }

    /// Both ends of a channel direction `KIND:SENDER->PEER#n`.
    fn direction(&mut self, d: &str, procs: &HashSet<String>) {
        match direction_ends(d, procs) {
            Some((sender, peer)) => {
                self.exact.insert(sender.to_string());
                self.exact.extend(peer.map(str::to_string));
            }
            None => self.everywhere = true,
        }
    }
}

/// The sender and the peer process of direction locator
/// `KIND:SENDER->PEER#n` (the peer `None`: outside, `ext`), or `None`
/// when its ends are not known processes or its receiver is not named (a
/// one-way channel's peer is its kind).
fn direction_ends<'a>(d: &'a str, procs: &HashSet<String>) -> Option<(&'a str, Option<&'a str>)> {
    let (_kind, rest) = d.split_once(':')?;
    let (ends, _n) = rest.rsplit_once('#')?;
    // A process locator may hold `->` only in a scenario node's name; try
    // every split.
    let mut at = 0;
    while let Some(i) = ends[at..].find("->") {
        let (sender, peer) = (&ends[..at + i], &ends[at + i + 2..]);
        if procs.contains(sender) {
            if procs.contains(peer) {
                return Some((sender, Some(peer)));
            }
            if peer == "ext" {
                return Some((sender, None));
            }
        }
        at += i + 2;
    }
    None
}

/// The process of event locator `PROCESS:tPATH/CALL/m`.
fn event_process(e: &str) -> Option<&str> {
    let mut parts = e.rsplitn(3, '/');
    let (_m, _call, thread) = (parts.next()?, parts.next()?, parts.next()?);
    thread.rsplit_once(":t").map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn procs() -> HashSet<String> {
        [
            "root#0",
            "root#0:t0>0",
            "root#0:t0>1",
            "root#0:t0>0:t0>0",
            "server",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn reach(targets: &[Target]) -> Reach {
        let armed: Vec<Armed> = targets
            .iter()
            .map(|t| Armed::Drop { target: t.clone() })
            .collect();
        Reach::of(&armed, &procs())
    }

    #[test]
    fn a_message_reaches_both_ends_of_its_direction_only() {
        let r = reach(&[Target::Message("unix:root#0:t0>0->root#0:t0>1#0/2".into())]);
        assert!(!r.everywhere());
        assert!(r.may_act_on("root#0:t0>0") && r.may_act_on("root#0:t0>1"));
        assert!(!r.may_act_on("root#0"), "not the parent");
        assert!(!r.may_act_on("root#0:t0>0:t0>0"), "not the sender's child");
        assert!(!r.may_act_on("server"));
    }

    #[test]
    fn a_message_to_an_outside_peer_reaches_its_sender() {
        let r = reach(&[Target::Message("tcp:server->ext#1/0".into())]);
        assert!(r.may_act_on("server") && !r.may_act_on("root#0") && !r.everywhere());
    }

    #[test]
    fn a_pipe_message_or_an_unknown_sender_reaches_everyone() {
        assert!(reach(&[Target::Message("pipe:root#0->pipe#0/0".into())]).everywhere());
        assert!(reach(&[Target::Message("unix:nosuch->server#0/0".into())]).everywhere());
        assert!(reach(&[Target::Message("garbage".into())]).everywhere());
    }

    #[test]
    fn an_event_reaches_its_process() {
        let r = reach(&[Target::Event("root#0:t0>1:t2.1/write/3".into())]);
        assert!(r.may_act_on("root#0:t0>1") && !r.may_act_on("root#0") && !r.everywhere());
    }

    #[test]
    fn patterns_reach_their_process_tree_their_channel_or_everyone() {
        let pattern = |process: Option<&str>, direction: Option<&str>| Target::Pattern {
            process: process.map(str::to_string),
            call: Some("write".into()),
            direction: direction.map(str::to_string),
            nth: 0,
        };
        let r = reach(&[pattern(Some("root#0:t0>0"), None)]);
        assert!(r.may_act_on("root#0:t0>0") && r.may_act_on("root#0:t0>0:t0>0"));
        assert!(!r.may_act_on("root#0") && !r.may_act_on("root#0:t0>1"));
        let r = reach(&[pattern(
            None,
            Some("unix:root#0->server#0|unix:server->root#0#0"),
        )]);
        assert!(r.may_act_on("root#0") && r.may_act_on("server") && !r.may_act_on("root#0:t0>1"));
        assert!(reach(&[pattern(None, None)]).everywhere());
    }

    #[test]
    fn a_fault_that_never_fires_reaches_no_one() {
        let r = reach(&[Target::Never("did not occur".into())]);
        assert_eq!(r, Reach::default());
        assert!(!r.may_act_on("root#0"));
    }

    #[test]
    fn crashes_partitions_and_jitter() {
        let crash = Armed::Crash {
            process: "root#0:t0>0".into(),
            name: "a".into(),
            after: Some(Target::Event("server:t0/accept/0".into())),
            kill: false,
            active: false,
        };
        let r = Reach::of(&[crash], &procs());
        assert!(r.may_act_on("root#0:t0>0:t0>0"), "the crashed tree");
        assert!(r.may_act_on("server"), "the process of its trigger");
        assert!(!r.may_act_on("root#0"));
        let jitter = Armed::Jitter { max_ms: 3, seed: 1 };
        assert!(Reach::of(&[jitter], &procs()).everywhere());
    }
}
