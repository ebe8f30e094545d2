//! Which run a plan is rerun from. A fault plan is written in one run's
//! names and translated through that run (DESIGN.md "Logical names": a
//! name the parent lacks never fires), but a search's faults come from
//! several: the base's candidates, and those a rerun showed first (a retry,
//! a fail-over). A plan is rerun from where its last learned fault came
//! from, unless that run lacks a name another fault of the plan needs (the
//! message a fault of the plan itself kept from being sent there, say):
//! then from the first run seen that has every one, if any.

use std::collections::{HashMap, HashSet};

use bop_model::{Fault, FaultPlan};
use bop_tracker::CausalGraph;

/// Where learned faults come from, and the names of the runs seen.
#[derive(Default)]
pub(super) struct Origins {
    learned: HashMap<String, String>,
    /// Each run seen (the base first, then reruns in the order they were
    /// learned from) and its message, channel and event names.
    runs: Vec<(String, HashSet<String>)>,
}

impl Origins {
    /// What a fault is called here: a delay by its message, whatever its
    /// length, since minimising shrinks it.
    fn key(f: &Fault) -> String {
        match f {
            Fault::Delay { message, .. } => format!("delay {message}"),
            other => other.to_string(),
        }
    }

    pub(super) fn learned(&mut self, f: &Fault, run: &str) {
        self.learned
            .entry(Self::key(f))
            .or_insert_with(|| run.to_string());
    }

    /// Notes the names run `run` has: its messages and channels, and the
    /// events its candidate faults name (every event name of a big run
    /// would cost more than the rare event-named fault is worth).
    pub(super) fn seen<'f>(
        &mut self,
        run: &str,
        g: &CausalGraph<'_>,
        faults: impl Iterator<Item = &'f Fault>,
    ) {
        let mut names: HashSet<String> = g.messages().iter().map(|m| m.name.clone()).collect();
        names.extend(g.channels().iter().map(|c| c.name.clone()));
        for f in faults {
            names.extend(needed(f).into_iter().map(String::from));
        }
        self.runs.push((run.to_string(), names));
    }

    /// The run to rerun `plan` from (`None`: the base).
    pub(super) fn parent<'a>(&'a self, plan: &FaultPlan) -> Option<&'a str> {
        let learned = plan
            .faults
            .iter()
            .rev()
            .find_map(|f| self.learned.get(&Self::key(f)).map(String::as_str));
        let has_all = |names: &HashSet<String>| {
            plan.faults
                .iter()
                .flat_map(needed)
                .all(|n| names.contains(n))
        };
        let names_of = |run: Option<&str>| match run {
            Some(r) => self.runs.iter().find(|(x, _)| x == r),
            None => self.runs.first(),
        };
        if names_of(learned).is_none_or(|(_, names)| has_all(names)) {
            return learned;
        }
        let Some((run, _)) = self.runs.iter().find(|(_, names)| has_all(names)) else {
            return learned;
        };
        match self.runs.first() {
            Some((base, _)) if base == run => None,
            _ => Some(run),
        }
    }
}

/// The names a fault needs its parent run to have.
fn needed(f: &Fault) -> Vec<&str> {
    let names = match f {
        Fault::Delay { message, .. } | Fault::Drop { message } => vec![Some(message)],
        Fault::Error {
            event,
            connect,
            send,
            receive,
            channel,
            ..
        } => vec![
            event.as_ref(),
            connect.as_ref(),
            send.as_ref(),
            receive.as_ref(),
            channel.as_ref(),
        ],
        Fault::Crash {
            after, after_send, ..
        }
        | Fault::Partition {
            after, after_send, ..
        } => vec![after.as_ref(), after_send.as_ref()],
        Fault::Jitter { .. } => vec![],
    };
    names.into_iter().flatten().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use bop_model::Ms;

    use super::*;

    fn drop(m: &str) -> Fault {
        Fault::Drop { message: m.into() }
    }

    #[test]
    fn a_plan_with_a_learned_fault_reruns_from_where_it_was_learned() {
        let mut o = Origins::default();
        o.learned(&drop("p->b#1/0"), "s-3");
        o.learned(&drop("p->b#1/0"), "s-9");
        o.learned(
            &Fault::Delay {
                message: "p->b#2/0".into(),
                ms: Ms::N(80),
            },
            "s-5",
        );
        let plan = |faults: Vec<Fault>| FaultPlan { faults };
        assert_eq!(o.parent(&plan(vec![drop("p->b#0/0")])), None);
        // The first run that showed it, not a later one.
        assert_eq!(
            o.parent(&plan(vec![drop("p->b#0/0"), drop("p->b#1/0")])),
            Some("s-3")
        );
        // A shrunk delay is the same learned fault.
        let shrunk = Fault::Delay {
            message: "p->b#2/0".into(),
            ms: Ms::N(12),
        };
        assert_eq!(o.parent(&plan(vec![shrunk])), Some("s-5"));
    }

    #[test]
    fn a_plan_is_rerun_from_a_run_that_has_every_name_it_needs() {
        let fixture = |jsonl: &str| -> Vec<bop_model::Event> {
            jsonl
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let events = fixture(include_str!("fixtures/demo.events.jsonl"));
        let g = CausalGraph::build(&events);
        let mut o = Origins::default();
        o.seen("base", &g, std::iter::empty());
        // Learned from s-3, whose graph lacks the base's messages (a fault
        // kept them from being sent there): no run has both names, so the
        // learned fault's run it is.
        o.runs
            .push(("s-3".into(), ["elsewhere->primary#0/0".to_string()].into()));
        o.learned(&drop("elsewhere->primary#0/0"), "s-3");
        let plan = |faults: Vec<Fault>| FaultPlan { faults };
        let both = plan(vec![
            drop("primary->replica#0/0"),
            drop("elsewhere->primary#0/0"),
        ]);
        assert_eq!(o.parent(&both), Some("s-3"));
        // A run seen later has both: that one.
        o.runs.push((
            "s-7".into(),
            ["primary->replica#0/0", "elsewhere->primary#0/0"]
                .map(String::from)
                .into(),
        ));
        assert_eq!(o.parent(&both), Some("s-7"));
        // The base has every name of a plan of base faults.
        assert_eq!(o.parent(&plan(vec![drop("primary->replica#0/0")])), None);
        // A learned fault whose run lacks a base fault's name, while the
        // base has both names: the base.
        o.learned(&drop("client->primary#0/1"), "s-7");
        let mixed = plan(vec![
            drop("client->primary#0/0"),
            drop("client->primary#0/1"),
        ]);
        assert_eq!(o.parent(&mixed), None);
    }
}
