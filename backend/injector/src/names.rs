//! Which message and event names could exist in a run at all.
//!
//! A plan may name a message or event that did not occur in the parent
//! run: it is legal and recorded as not fired (DESIGN.md "Logical names"),
//! because a rerun may well behave differently. But a name that does not
//! have the form of one (`""`, `////`), or that puts it between processes
//! the run does not have (`nosuch->other#0/0`, `nosuch:t0/5:connect`),
//! can never fire in any rerun of this target: it is a typo, refused before
//! anything runs, with the forms and the run's processes in the sentence.
//!
//! The forms are the tracker's (backend/tracker/src/channels/naming.rs and
//! DESIGN.md): a channel is `A->B#K` (a connection or flow; a side no
//! traced process holds is named by its address: `unix:PATH`, an IP, an
//! `IP:PORT`, `outside`, `?`), `pipe:P#K`, `socketpair:P#K` or
//! `pipe:P/fdN`, any of them possibly with a `~N` suffix; a message is
//! `CHANNEL/N` or `CHANNEL/rN`; an event is `THREAD/N:CALL` with
//! `THREAD` = `PROCESS:tPATH` (`t0`, `t2.1`, `tx0`).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use bop_model::PlanError;

/// The processes and channels of a run, to judge names by.
#[derive(Default)]
pub(super) struct Known {
    pub(super) processes: HashSet<String>,
    pub(super) channels: HashSet<String>,
}

impl Known {
    /// Refuses a message name that cannot exist in a rerun of this run.
    pub(super) fn message(&self, name: &str) -> Result<(), PlanError> {
        let form = "CHANNEL/N or CHANNEL/rN, e.g. client->server#0/3";
        let Some((channel, ordinal)) = name.rsplit_once('/') else {
            return Err(self.malformed("message", name, form));
        };
        let ordinal = ordinal.strip_prefix('r').unwrap_or(ordinal);
        if !digits(ordinal) {
            return Err(self.malformed("message", name, form));
        }
        if self.channels.contains(channel) {
            return Ok(());
        }
        match self.channel_sides(channel) {
            None => Err(self.malformed("message", name, form)),
            Some(sides) if self.possible(&sides) => Ok(()),
            Some(sides) => Err(self.unknown("message", name, &sides)),
        }
    }

    /// Refuses an event name that cannot exist in a rerun of this run.
    pub(super) fn event(&self, name: &str) -> Result<(), PlanError> {
        let form = "THREAD/N:CALL, e.g. client:t0/5:connect";
        let parsed = name.rsplit_once(':').and_then(|(rest, call)| {
            let (thread, n) = rest.rsplit_once('/')?;
            let (process, path) = thread.rsplit_once(":t")?;
            let call_ok =
                !call.is_empty() && call.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            (call_ok && digits(n) && thread_path(path) && !process.is_empty()).then_some(process)
        });
        match parsed {
            None => Err(self.malformed("event", name, form)),
            Some(p) if self.processes.contains(p) => Ok(()),
            Some(p) => Err(self.unknown("event", name, &[p])),
        }
    }

    /// A channel between these sides can occur: each is a process of the
    /// run or an outside name, and at least one is a process.
    fn possible(&self, sides: &[&str]) -> bool {
        let process = |s: &&str| self.processes.contains(*s);
        sides.iter().any(process) && sides.iter().all(|s| process(s) || outside(s))
    }

    /// The process-or-outside names at the sides of a channel name of one
    /// of the tracker's forms, or `None` when it has none of them.
    fn channel_sides<'a>(&self, channel: &'a str) -> Option<Vec<&'a str>> {
        let channel = match channel.rsplit_once('~') {
            Some((c, n)) if digits(n) => c,
            _ => channel,
        };
        for kind in ["pipe:", "socketpair:"] {
            if let Some(rest) = channel.strip_prefix(kind) {
                let creator = match rest.rsplit_once('#') {
                    Some((p, k)) if digits(k) => p,
                    _ if kind == "pipe:" => {
                        let (p, fd) = rest.rsplit_once("/fd")?;
                        digits(fd).then_some(p)?
                    }
                    _ => return None,
                };
                return (!creator.is_empty()).then(|| vec![creator]);
            }
        }
        let (ends, k) = channel.rsplit_once('#')?;
        if !digits(k) {
            return None;
        }
        // A side may itself hold `->` (a unix path): any split whose two
        // sides are each a process or an outside name will do.
        let mut at = 0;
        while let Some(i) = ends[at..].find("->") {
            let (a, b) = (&ends[..at + i], &ends[at + i + 2..]);
            let side = |s: &str| self.processes.contains(s) || outside(s);
            if side(a) && side(b) {
                return Some(vec![a, b]);
            }
            at += i + 2;
        }
        // Well formed, but a side is neither: report both as named.
        let (a, b) = ends.split_once("->")?;
        (!a.is_empty() && !b.is_empty()).then(|| vec![a, b])
    }

    fn malformed(&self, what: &str, name: &str, form: &str) -> PlanError {
        let a = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        PlanError(format!("'{name}' is not {a} {what} name ({form})"))
    }

    fn unknown(&self, what: &str, name: &str, sides: &[&str]) -> PlanError {
        let mut known: Vec<&str> = self.processes.iter().map(String::as_str).collect();
        known.sort();
        let missing: Vec<String> = sides
            .iter()
            .filter(|s| !self.processes.contains(**s) && !outside(s))
            .map(|s| format!("'{s}'"))
            .collect();
        let missing = if missing.is_empty() {
            "none of its processes".to_string()
        } else {
            format!("no process {}", missing.join(" or "))
        };
        PlanError(format!(
            "{what} '{name}' cannot occur in a rerun: {missing} in the run (processes: {})",
            known.join(", ")
        ))
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A thread's path after `:t`: `0`, `2.1`, or `x3`.
fn thread_path(path: &str) -> bool {
    match path.strip_prefix('x') {
        Some(n) => digits(n),
        None => path.split('.').all(digits),
    }
}

/// How the tracker names a side of a channel no traced process holds.
fn outside(s: &str) -> bool {
    s == "outside"
        || s == "?"
        || s.strip_prefix("unix:").is_some_and(|p| !p.is_empty())
        || s.parse::<IpAddr>().is_ok()
        || s.parse::<SocketAddr>().is_ok()
}
