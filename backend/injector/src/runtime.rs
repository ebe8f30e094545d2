//! The injector as the tracer uses it during a run: asked at each traced
//! syscall entry whether a fault applies, told each recorded event.

use std::collections::HashMap;
use std::time::Duration;

use bop_model::{
    ChannelKind, ConnectMode, Endpoint, Event, Fault, FaultPlan, FaultRecord, Fired, PlanError,
    is_send, planned_errno,
};

use super::locator::Locator;
use super::plan::{Target, Translation};

/// What the tracer does to the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Hold the thread at the entry for this long (`None`: until the end).
    Hold(Option<Duration>),
    /// Skip the call; it "succeeds" with the full length of a send.
    Drop,
    /// Skip the call; it fails with this errno.
    Fail(i32),
}

enum Armed {
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
        seen: usize,
    },
    Crash {
        process: String,
        name: String,
        after: Option<Target>,
        kill: bool,
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
        since_ms: Option<u64>,
    },
}

/// The faults of one run and their state.
pub struct Injector {
    locator: Locator,
    armed: Vec<Armed>,
    records: Vec<FaultRecord>,
    /// Stream directions cut by a drop (and by which fault): every later
    /// message that way is dropped too, and counted on that fault.
    cut: HashMap<String, usize>,
    /// Crash faults with kill = true that just fired: (fault, process locator).
    kills: Vec<String>,
}

/// A deterministic draw from a seed and a message locator (FNV-1a, then
/// splitmix64 finalization).
fn jitter(seed: u64, message: &str) -> u64 {
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
fn under(process: &str, member: &str) -> bool {
    process == member
        || process
            .strip_prefix(member)
            .is_some_and(|rest| rest.starts_with(":t") && rest.contains('>'))
}

impl Injector {
    /// Translates `plan` through the parent run's events. Unknown process
    /// or channel names are errors; unknown messages and events are kept
    /// and recorded as not fired.
    pub fn new(plan: &FaultPlan, parent: &[Event]) -> Result<Injector, PlanError> {
        plan.validate()?;
        let t = Translation::of(parent);
        let mut armed = Vec::new();
        let mut records = Vec::new();
        for f in &plan.faults {
            let a = match f {
                Fault::Delay { message, ms } => Armed::Delay {
                    target: t.message(message),
                    hold: ms.millis()?.map(Duration::from_millis),
                },
                Fault::Drop { message } => Armed::Drop {
                    target: t.message(message),
                },
                Fault::Error {
                    event,
                    process,
                    call,
                    channel,
                    nth,
                    errno,
                } => {
                    let target = match event {
                        Some(e) => t.event(e),
                        None => Target::Pattern {
                            process: process.as_deref().map(|p| t.process(p)).transpose()?,
                            call: call.clone(),
                            direction: channel
                                .as_deref()
                                .map(|c| t.channel(c))
                                .transpose()?
                                .map(|d| d.join("|")),
                            nth: nth.unwrap_or(0),
                        },
                    };
                    Armed::Error {
                        target,
                        errno: planned_errno(errno)?,
                        seen: 0,
                    }
                }
                Fault::Crash {
                    process,
                    after,
                    kill,
                } => Armed::Crash {
                    process: t.process(process)?,
                    name: process.clone(),
                    after: after.as_deref().map(|e| t.event(e)),
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
                    after_ms,
                    heal_ms,
                    connect,
                } => Armed::Partition {
                    a: groups[0]
                        .iter()
                        .map(|p| t.process(p))
                        .collect::<Result<_, _>>()?,
                    b: groups[1]
                        .iter()
                        .map(|p| t.process(p))
                        .collect::<Result<_, _>>()?,
                    after: after.as_deref().map(|e| t.event(e)),
                    after_ms: *after_ms,
                    heal_ms: *heal_ms,
                    connect: *connect,
                    since_ms: None,
                },
            };
            let effect = match &a {
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
                } => format!("not fired: {why}"),
                Armed::Crash {
                    after: Some(Target::Never(why)),
                    ..
                }
                | Armed::Partition {
                    after: Some(Target::Never(why)),
                    ..
                } => {
                    format!("not fired: {why}")
                }
                _ => "not fired: its event did not occur".into(),
            };
            records.push(FaultRecord {
                fault: f.clone(),
                fired: false,
                at: None,
                effect,
                count: 0,
            });
            armed.push(a);
        }
        Ok(Injector {
            locator: Locator::default(),
            armed,
            records,
            cut: HashMap::new(),
            kills: Vec::new(),
        })
    }

    fn fire(&mut self, i: usize, effect: String, pid: i32, tid: i32, call: &str, at_ms: u64) {
        let r = &mut self.records[i];
        if !r.fired {
            r.fired = true;
            r.effect = effect;
            r.at = Some(Fired {
                event: None,
                seq: None,
                pid,
                tid,
                call: call.to_string(),
                at_ms,
            });
        }
        r.count += 1;
    }

    /// When partition `i` heals (ms into the run), if it is active and heals.
    fn heal_at(&self, i: usize) -> Option<u64> {
        match &self.armed[i] {
            Armed::Partition {
                since_ms: Some(since),
                heal_ms: Some(h),
                ..
            } => Some(since + h),
            _ => None,
        }
    }

    fn partition_active(&mut self, i: usize, now_ms: u64, pid: i32, tid: i32, call: &str) -> bool {
        let Armed::Partition {
            after,
            after_ms,
            heal_ms,
            since_ms,
            ..
        } = &mut self.armed[i]
        else {
            return false;
        };
        if since_ms.is_none() && after.is_none() && now_ms >= after_ms.unwrap_or(0) {
            // A timed partition starts at its time, not at the first call
            // that crosses it, so heal_ms counts from there.
            *since_ms = Some(after_ms.unwrap_or(0));
        }
        let Some(since) = *since_ms else { return false };
        let healed = heal_ms.is_some_and(|h| now_ms >= since + h);
        if !healed && !self.records[i].fired {
            self.fire(i, "partitioned".into(), pid, tid, call, now_ms);
            self.records[i].count = 0;
        }
        !healed
    }

    /// Asked at a traced call's entry. Returns the action and a label for
    /// the event's `injected` field (starting with `drop` for dropped sends).
    #[allow(clippy::too_many_arguments)]
    pub fn on_entry(
        &mut self,
        pid: i32,
        tid: i32,
        call: &str,
        endpoint: Option<&Endpoint>,
        addr: Option<&str>,
        now_ms: u64,
    ) -> Option<(Action, String, usize)> {
        if self.armed.is_empty() {
            return None;
        }
        let send = is_send(call) && endpoint.is_some();
        let (message, direction) = match (send, endpoint) {
            (true, Some(ep)) => (
                self.locator.peek_message(pid, ep, addr),
                self.locator.peek_direction(pid, ep, addr),
            ),
            _ => (None, None),
        };
        let event = self.locator.peek_event(tid, call);
        let process = self.locator.process(pid).map(str::to_string);
        if let Some(&fault) = direction.as_ref().and_then(|d| self.cut.get(d)) {
            self.records[fault].count += 1;
            return Some((
                Action::Drop,
                "drop (stream cut by an earlier drop)".into(),
                fault,
            ));
        }
        for i in 0..self.armed.len() {
            let decision = match &mut self.armed[i] {
                Armed::Delay {
                    target: Target::Message(m),
                    hold,
                } if message.as_deref() == Some(m) && !self.records[i].fired => {
                    let label = hold.map_or("delay inf".to_string(), |h| {
                        format!("delay {} ms", h.as_millis())
                    });
                    Some((Action::Hold(*hold), label))
                }
                Armed::Drop {
                    target: Target::Message(m),
                } if message.as_deref() == Some(m) && !self.records[i].fired => {
                    if let (Some(d), Some(ep)) = (&direction, endpoint) {
                        if ep.stream {
                            self.cut.insert(d.clone(), i);
                        }
                    }
                    Some((Action::Drop, "drop".to_string()))
                }
                Armed::Error {
                    target,
                    errno,
                    seen,
                } if !self.records[i].fired => {
                    let hit = match target {
                        Target::Event(e) => event.as_deref() == Some(e.as_str()),
                        Target::Pattern {
                            process: p,
                            call: c,
                            direction: d,
                            nth,
                        } => {
                            let ok = p
                                .as_ref()
                                .is_none_or(|p| process.as_deref().is_some_and(|x| under(x, p)))
                                && c.as_ref().is_none_or(|c| c == call)
                                && d.as_ref().is_none_or(|d| {
                                    direction
                                        .as_ref()
                                        .is_some_and(|x| d.split('|').any(|y| y == x))
                                });
                            if ok {
                                *seen += 1;
                            }
                            ok && *seen == *nth + 1
                        }
                        _ => false,
                    };
                    hit.then(|| {
                        (
                            Action::Fail(*errno),
                            format!("error {}", bop_model::errno_name(*errno)),
                        )
                    })
                }
                Armed::Crash {
                    process: p,
                    name,
                    active: true,
                    kill: false,
                    ..
                } if send && process.as_deref().is_some_and(|x| under(x, p)) => {
                    Some((Action::Drop, format!("drop (crash of {name})")))
                }
                Armed::Jitter { max_ms, seed } => match &message {
                    Some(m) => {
                        let d = jitter(*seed, m) % (*max_ms + 1);
                        (d > 0).then(|| {
                            (
                                Action::Hold(Some(Duration::from_millis(d))),
                                format!("jitter {d} ms"),
                            )
                        })
                    }
                    None => None,
                },
                Armed::Partition { .. } => {
                    let crosses = |s: &str, o: &str, a: &[String], b: &[String]| {
                        (a.iter().any(|g| under(s, g)) && b.iter().any(|g| under(o, g)))
                            || (b.iter().any(|g| under(s, g)) && a.iter().any(|g| under(o, g)))
                    };
                    let (kind, peer) = match (endpoint, call) {
                        (_, "connect") => (Some(ChannelKind::Tcp), addr),
                        (Some(ep), _) if send => (ep.kind, ep.peer.as_deref().or(addr)),
                        _ => (None, None),
                    };
                    let other = peer.map(|p| self.locator.peer(kind, Some(p)));
                    let Armed::Partition { a, b, connect, .. } = &self.armed[i] else {
                        unreachable!()
                    };
                    let crossing = match (&process, &other) {
                        (Some(s), Some(o)) => crosses(s, o, a, b),
                        _ => false,
                    };
                    let connect = *connect;
                    if crossing && self.partition_active(i, now_ms, pid, tid, call) {
                        if call == "connect" {
                            match connect {
                                ConnectMode::Refuse => Some((
                                    Action::Fail(libc::ECONNREFUSED),
                                    "error ECONNREFUSED (partition)".into(),
                                )),
                                ConnectMode::Timeout => Some((
                                    Action::Fail(libc::ETIMEDOUT),
                                    "error ETIMEDOUT (partition)".into(),
                                )),
                                ConnectMode::Hang => {
                                    // Until the partition heals (or the run ends).
                                    let until_heal = self
                                        .heal_at(i)
                                        .map(|h| Duration::from_millis(h.saturating_sub(now_ms)));
                                    Some((Action::Hold(until_heal), "hang (partition)".into()))
                                }
                            }
                        } else {
                            Some((Action::Drop, "drop (partition)".into()))
                        }
                    } else {
                        None
                    }
                }
                _ => None,
            };
            if let Some((action, label)) = decision {
                if !matches!(self.armed[i], Armed::Partition { .. }) {
                    self.fire(i, label.clone(), pid, tid, call, now_ms);
                } else {
                    self.records[i].count += 1;
                }
                return Some((action, label, i));
            }
        }
        None
    }

    /// Told every recorded event, in recording order. Returns process
    /// locators to SIGKILL (crash faults with `kill = true`).
    pub fn observe(&mut self, ev: &Event, now_ms: u64) -> Vec<String> {
        let (event, _) = self.locator.observe(ev);
        if self.armed.is_empty() {
            return vec![];
        }
        let mut fired = vec![];
        for (i, a) in self.armed.iter_mut().enumerate() {
            match a {
                Armed::Crash {
                    process,
                    name,
                    after,
                    kill,
                    active,
                } if !*active => {
                    let now = match after {
                        None => self
                            .locator
                            .process(ev.pid)
                            .is_some_and(|x| under(x, process)),
                        Some(Target::Event(e)) => event.as_deref() == Some(e.as_str()),
                        _ => false,
                    };
                    if now {
                        *active = true;
                        if *kill {
                            self.kills.push(process.clone());
                        }
                        let effect = if *kill {
                            format!("killed {name}")
                        } else {
                            format!("{name} crashed: its messages are no longer delivered")
                        };
                        fired.push((i, effect));
                    }
                }
                Armed::Partition {
                    after: Some(Target::Event(e)),
                    since_ms,
                    ..
                } if since_ms.is_none() && event.as_deref() == Some(e.as_str()) => {
                    *since_ms = Some(now_ms);
                    fired.push((i, "partitioned".into()));
                }
                _ => {}
            }
        }
        for (i, effect) in fired {
            self.fire(i, effect, ev.pid, ev.tid, &ev.call, now_ms);
            let r = &mut self.records[i];
            r.count = 0;
            if let Some(at) = &mut r.at {
                at.seq = Some(ev.seq);
            }
        }
        std::mem::take(&mut self.kills)
    }

    /// Notes the recorded event of a call the injector acted on.
    pub fn acted_on(&mut self, fault: usize, ev: &Event) {
        if let Some(at) = self.records.get_mut(fault).and_then(|r| r.at.as_mut()) {
            if at.seq.is_none() && at.tid == ev.tid {
                at.seq = Some(ev.seq);
            }
        }
    }

    /// Pids the crash fault names (to kill), from locators.
    pub fn pids_of(&self, process: &str) -> Vec<i32> {
        self.locator.pids_under(process)
    }

    /// What each fault did.
    pub fn records(&self) -> Vec<FaultRecord> {
        self.records.clone()
    }
}
