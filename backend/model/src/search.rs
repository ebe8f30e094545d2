//! Searches (DESIGN.md "Search"): an automatic hunt for bugs over a
//! baseline's causal graph, stored under `STORE/searches/ID.json`. The
//! JSON of a [`Search`] is what `bop search --json` prints: `id`, `base`,
//! `runs` and `bugs` are the interface others rely on (issue 14); the other
//! fields say how the search went.

use serde::{Deserialize, Serialize};

use crate::FaultPlan;

/// The kinds of fault a search may try (`--faults`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Drop a message of the lineage.
    Drop,
    /// Delay a message forever, or past a racing delivery.
    Delay,
    /// Crash a process after one of its sends.
    Crash,
    /// Partition two processes after a message.
    Partition,
    /// Fail a connect, send or receive with an errno.
    Error,
}

impl FaultKind {
    /// Every kind, in the order `--faults` lists them.
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Drop,
        FaultKind::Delay,
        FaultKind::Crash,
        FaultKind::Partition,
        FaultKind::Error,
    ];

    /// Parses one name of `--faults`.
    pub fn parse(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The name `--faults` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Drop => "drop",
            FaultKind::Delay => "delay",
            FaultKind::Crash => "crash",
            FaultKind::Partition => "partition",
            FaultKind::Error => "error",
        }
    }
}

/// How a search runs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SearchParams {
    /// Reruns of candidates at most (baselines included; a failure found
    /// within it is still confirmed and minimised).
    pub budget: usize,
    /// Fault kinds to try.
    pub faults: Vec<FaultKind>,
    /// Largest fault set tried.
    pub max_faults: usize,
    /// Reruns confirming a failing fault set.
    pub confirm: usize,
    /// Runs at once.
    pub parallel: usize,
    /// Plain reruns recorded first.
    pub baselines: usize,
}

/// How often a fault set failed when rerun to confirm it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Confirmed {
    /// Reruns that failed in a trace class no baseline has.
    pub failed: usize,
    /// Reruns made.
    pub of: usize,
}

/// One bug: a minimal fault plan that makes the check fail.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Bug {
    /// The minimal plan, as `bop rerun --faults` reads it.
    pub plan: FaultPlan,
    /// Reruns made (baselines included) when its first failing run ended.
    pub runs_to_find: usize,
    /// The confirmation reruns.
    pub confirmed: Confirmed,
    /// The check's first line of output in the failing run.
    pub check: String,
    /// A failing run with `plan`.
    pub run: String,
    /// The run to rerun `plan` from, when not the search's base: a plan
    /// with a fault on a message only a rerun had (a retry) names it in
    /// that rerun's names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Other failing plans with the same check output (one bug, several ways in).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<FaultPlan>,
}

/// A stored search.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Search {
    /// Its id (reruns are `ID-k`).
    pub id: String,
    /// The run whose target is searched and whose names the plans use.
    pub base: String,
    /// Every rerun made: baselines, candidates, confirmations, minimisation.
    pub runs: usize,
    /// Bugs found, in the order they were found.
    pub bugs: Vec<Bug>,
    /// Parameters.
    pub params: SearchParams,
    /// Wall-clock start (ms since the epoch).
    pub started_ms: u64,
    /// Wall-clock end.
    #[serde(default)]
    pub ended_ms: Option<u64>,
    /// The baseline runs.
    #[serde(default)]
    pub baselines: Vec<String>,
    /// Baselines whose check failed (a flaky check when non-zero).
    #[serde(default)]
    pub baseline_failures: usize,
    /// Candidate faults: from the base run's graph, and those that
    /// passing reruns showed (a retry only a fault causes).
    #[serde(default)]
    pub candidates: usize,
    /// Supports known at the end (lineages of runs that passed).
    #[serde(default)]
    pub supports: usize,
    /// Why the search ended, as a sentence.
    #[serde(default)]
    pub ended: Option<String>,
}
