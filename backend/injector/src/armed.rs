//! A planned fault armed for a run: its logical names translated into
//! locators through the parent run, plus the state it keeps while the run
//! goes (an error pattern's count, a crash's or a partition's start).

use std::time::Duration;

use bop_model::{ConnectMode, Fault, PlanError, planned_errno};

use super::plan::{Target, Translation};

/// One fault and its state during a run.
pub(super) enum Armed {
    Delay {
        target: Target,
        hold: Option<Duration>,
    },
    Drop {
        target: Target,
    },
    Error {
        target: Target,
        errno: i32,
        /// Calls the pattern matched so far.
        seen: usize,
    },
    Crash {
        process: String,
        /// The process's logical name, for labels.
        name: String,
        after: Option<Target>,
        kill: bool,
        /// Its triggering event has happened.
        active: bool,
    },
    Jitter {
        max_ms: u64,
        seed: u64,
    },
    Partition {
        a: Vec<String>,
        b: Vec<String>,
        after: Option<Target>,
        after_ms: Option<u64>,
        heal_ms: Option<u64>,
        connect: ConnectMode,
        /// When it started (ms into the run), once it has.
        since_ms: Option<u64>,
    },
}

impl Armed {
    /// Arms `fault`. Unknown process or channel names, and message or
    /// event names that cannot occur in the run, are errors; messages and
    /// events that could occur but did not arm a fault that never fires.
    pub(super) fn of(fault: &Fault, t: &Translation) -> Result<Armed, PlanError> {
        Ok(match fault {
            Fault::Delay { message, ms } => Armed::Delay {
                target: t.message(message)?,
                hold: ms.millis()?.map(Duration::from_millis),
            },
            Fault::Drop { message } => Armed::Drop {
                target: t.message(message)?,
            },
            Fault::Error {
                event: Some(e),
                errno,
                ..
            } => Armed::Error {
                target: t.event(e)?,
                errno: planned_errno(errno)?,
                seen: 0,
            },
            Fault::Error {
                connect: Some(c),
                errno,
                ..
            } => Armed::Error {
                target: t.connect(c)?,
                errno: planned_errno(errno)?,
                seen: 0,
            },
            Fault::Error {
                send: Some(m),
                errno,
                ..
            } => Armed::Error {
                target: t.message(m)?,
                errno: planned_errno(errno)?,
                seen: 0,
            },
            Fault::Error {
                receive: Some(m),
                errno,
                ..
            } => Armed::Error {
                target: t.receive(m)?,
                errno: planned_errno(errno)?,
                seen: 0,
            },
            Fault::Error {
                event: None,
                connect: None,
                send: None,
                receive: None,
                process,
                call,
                channel,
                nth,
                errno,
            } => Armed::Error {
                target: Target::Pattern {
                    process: process.as_deref().map(|p| t.process(p)).transpose()?,
                    call: call.clone(),
                    direction: channel.as_deref().map(|c| directions(c, t)).transpose()?,
                    nth: nth.unwrap_or(0),
                },
                errno: planned_errno(errno)?,
                seen: 0,
            },
            Fault::Crash {
                process,
                after,
                after_send,
                kill,
            } => Armed::Crash {
                process: t.process(process)?,
                name: process.clone(),
                after: start(after, after_send, t)?,
                kill: *kill,
                active: false,
            },
            Fault::Jitter { max_ms, seed } => Armed::Jitter {
                max_ms: *max_ms,
                seed: *seed,
            },
            Fault::Partition {
                groups,
                after,
                after_send,
                after_ms,
                heal_ms,
                connect,
            } => Armed::Partition {
                a: processes(&groups[0], t)?,
                b: processes(&groups[1], t)?,
                after: start(after, after_send, t)?,
                after_ms: *after_ms,
                heal_ms: *heal_ms,
                connect: *connect,
                since_ms: None,
            },
        })
    }

    /// What the record says until the fault fires.
    pub(super) fn unfired_effect(&self) -> String {
        match self {
            Armed::Delay {
                target: Target::Never(why),
                ..
            }
            | Armed::Drop {
                target: Target::Never(why),
            }
            | Armed::Error {
                target: Target::Never(why),
                ..
            }
            | Armed::Crash {
                after: Some(Target::Never(why)),
                ..
            }
            | Armed::Partition {
                after: Some(Target::Never(why)),
                ..
            } => format!("not fired: {why}"),
            Armed::Error {
                target: Target::Message(_),
                ..
            }
            | Armed::Crash {
                after: Some(Target::Message(_)),
                ..
            }
            | Armed::Partition {
                after: Some(Target::Message(_)),
                ..
            } => "not fired: its message was not sent".into(),
            Armed::Error {
                target: Target::Receive(_),
                ..
            } => "not fired: no receive began at its message's first byte".into(),
            Armed::Error {
                target: Target::Connect(_),
                ..
            } => "not fired: no connect opened its channel".into(),
            _ => "not fired: its event did not occur".into(),
        }
    }
}

/// What starts a crash or a partition: an event, or the send of a
/// message (whichever thread makes it).
fn start(
    after: &Option<String>,
    after_send: &Option<String>,
    t: &Translation,
) -> Result<Option<Target>, PlanError> {
    match (after, after_send) {
        (Some(e), _) => t.event(e).map(Some),
        (None, Some(m)) => t.message(m).map(Some),
        (None, None) => Ok(None),
    }
}

/// The direction locators of a channel, as a pattern matches them.
fn directions(channel: &str, t: &Translation) -> Result<String, PlanError> {
    Ok(t.channel(channel)?.join("|"))
}

/// The process locators of a partition group.
fn processes(names: &[String], t: &Translation) -> Result<Vec<String>, PlanError> {
    names.iter().map(|p| t.process(p)).collect()
}

/// A deterministic draw from a seed and a message locator (FNV-1a, then
/// splitmix64 finalization), so a jitter seed gives each message the same
/// delay whatever the interleaving.
pub(super) fn jitter(seed: u64, message: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325 ^ seed;
    for b in message.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d049bb133111eb);
    h ^ (h >> 31)
}

/// True when process locator `process` is `member` or one of its
/// descendants (children are `MEMBER:tN>k`), for partitions and kills.
pub(super) fn under(process: &str, member: &str) -> bool {
    process == member
        || process
            .strip_prefix(member)
            .is_some_and(|rest| rest.starts_with(":t") && rest.contains('>'))
}
