//! The injector as the tracer uses it during a run: asked at each traced
//! syscall entry whether a fault applies (`matching`), told each recorded
//! event (which may trigger crashes and partitions), and keeping the record
//! of what each fault did.

use std::collections::HashMap;

use bop_model::{Event, FaultPlan, FaultRecord, Fired, PlanError};

use super::armed::{Armed, under};
use super::locator::Locator;
use super::plan::{Target, Translation};
use super::reach::Reach;

/// The locators of an observed event: what starts crashes and partitions.
struct At<'a> {
    event: Option<&'a str>,
    /// For a send, its message.
    message: Option<&'a str>,
    process: Option<&'a str>,
}

/// The faults of one run and their state.
pub struct Injector {
    pub(super) locator: Locator,
    pub(super) armed: Vec<Armed>,
    pub(super) records: Vec<FaultRecord>,
    /// Stream directions cut by a drop (and by which fault): every later
    /// message that way is dropped too, and counted on that fault.
    pub(super) cut: HashMap<String, usize>,
    /// The processes the plan could act on.
    reach: Reach,
}

impl Injector {
    /// Translates `plan` through the parent run's events. Unknown process
    /// or channel names are errors; unknown messages and events are kept
    /// and recorded as not fired.
    pub fn new(plan: &FaultPlan, parent: &[Event]) -> Result<Injector, PlanError> {
        plan.validate()?;
        let t = Translation::of(parent);
        let armed = plan
            .faults
            .iter()
            .map(|f| Armed::of(f, &t))
            .collect::<Result<Vec<_>, _>>()?;
        let records = plan
            .faults
            .iter()
            .zip(&armed)
            .map(|(f, a)| FaultRecord {
                fault: f.clone(),
                fired: false,
                at: None,
                effect: a.unfired_effect(),
                count: 0,
            })
            .collect();
        Ok(Injector {
            locator: Locator::default(),
            reach: Reach::of(&armed, &t.process_locators()),
            armed,
            records,
            cut: HashMap::new(),
        })
    }

    /// Counts a call on fault `i`; the first one fires it, there.
    pub(super) fn fire(
        &mut self,
        i: usize,
        effect: String,
        pid: i32,
        tid: i32,
        call: &str,
        at_ms: u64,
    ) {
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

    /// Told every recorded event, in recording order. Returns process
    /// locators to SIGKILL (crash faults with `kill = true`).
    pub fn observe(&mut self, ev: &Event, now_ms: u64) -> Vec<String> {
        let (event, message) = self.locator.observe(ev);
        if self.armed.is_empty() {
            return vec![];
        }
        let process = self.locator.process(ev.pid).map(str::to_string);
        let mut kills = vec![];
        for i in 0..self.armed.len() {
            let at = At {
                event: event.as_deref(),
                message: message.as_deref(),
                process: process.as_deref(),
            };
            let Some(effect) = self.triggered(i, &at, now_ms, &mut kills) else {
                continue;
            };
            self.fire(i, effect, ev.pid, ev.tid, &ev.call, now_ms);
            let r = &mut self.records[i];
            r.count = 0;
            if let Some(at) = &mut r.at {
                at.seq = Some(ev.seq);
            }
        }
        kills
    }

    /// Whether the event `at` starts crash or partition `i` (a crash
    /// without `after` starts at the process's first event); its effect if
    /// so. A crash with `kill` adds its process to `kills`.
    fn triggered(
        &mut self,
        i: usize,
        at: &At<'_>,
        now_ms: u64,
        kills: &mut Vec<String>,
    ) -> Option<String> {
        let process = at.process;
        let is = |t: &Target| match t {
            Target::Event(e) => Some(e.as_str()) == at.event,
            Target::Message(m) => Some(m.as_str()) == at.message,
            _ => false,
        };
        match &mut self.armed[i] {
            Armed::Crash {
                process: p,
                name,
                after,
                kill,
                active: active @ false,
            } => {
                let now = match after {
                    None => process.is_some_and(|x| under(x, p)),
                    Some(t) => is(t),
                };
                if !now {
                    return None;
                }
                *active = true;
                if *kill {
                    kills.push(p.clone());
                    Some(format!("killed {name}"))
                } else {
                    Some(format!(
                        "{name} crashed: its messages are no longer delivered"
                    ))
                }
            }
            Armed::Partition {
                after: Some(t),
                since_ms: since @ None,
                ..
            } if is(t) => {
                *since = Some(now_ms);
                Some("partitioned".into())
            }
            _ => None,
        }
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

    /// True when some fault could act on any process: no process of the
    /// run can be left to the fast path.
    pub fn acts_everywhere(&self) -> bool {
        self.reach.everywhere()
    }

    /// True when some fault could act on the calls of process `pid`, or
    /// its locator is not known yet (it has not started): such a process
    /// stays where every call stops (docs/FASTPATH.md "Faults").
    pub fn may_act_on(&self, pid: i32) -> bool {
        self.locator
            .process(pid)
            .is_none_or(|p| self.reach.may_act_on(p))
    }

    /// What each fault did.
    pub fn records(&self) -> Vec<FaultRecord> {
        self.records.clone()
    }
}
