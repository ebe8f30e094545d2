//! Explorations (DESIGN.md "exploration", "sweep"): many runs of one target
//! grouped by trace class, or one rerun per message of a baseline with one
//! fixed fault. What is stored under `STORE/explorations/ID.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Verdict;

/// What a sweep does to each message.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase", tag = "fault")]
pub enum Sweep {
    /// Drop it.
    Drop,
    /// Delay it by `ms`.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
}

/// How an exploration runs.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Params {
    /// The baseline run every run reruns.
    pub base: String,
    /// Runs to record (class exploration).
    pub runs: usize,
    /// Random delay at each send, up to this many ms.
    pub jitter_ms: Option<u64>,
    /// Seed of the jitter (run k uses seed + k).
    pub seed: u64,
    /// Single-fault sweep instead of class exploration.
    pub sweep: Option<Sweep>,
    /// Only messages on these channels (sweep).
    pub channels: Vec<String>,
    /// At most this many runs (sweep).
    pub max_runs: usize,
    /// Runs at once.
    pub parallel: usize,
}

/// One trace class of an exploration.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Class {
    /// The class hash.
    pub class: String,
    /// Runs in it.
    pub count: usize,
    /// Their verdicts.
    pub verdicts: BTreeMap<String, usize>,
    /// The first run of the class.
    pub representative: String,
    /// All its runs.
    pub runs: Vec<String>,
    /// Structure lines (logical names) this class has and the most common
    /// class lacks, and the reverse (at most 8 each).
    pub only_here: Vec<String>,
    /// See `only_here`.
    pub missing_here: Vec<String>,
}

/// One message of a sweep and what faulting it did.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Probe {
    /// The message (baseline's logical name).
    pub message: String,
    /// Its channel.
    pub channel: String,
    /// The rerun.
    pub run: Option<String>,
    /// Its verdict.
    pub verdict: Option<Verdict>,
    /// True when the verdict differs from the baseline's.
    pub flipped: bool,
    /// Whether the fault fired.
    pub fired: bool,
}

/// A stored exploration.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Exploration {
    /// Its id.
    pub id: String,
    /// classes | sweep.
    pub kind: String,
    /// Parameters.
    pub params: Params,
    /// Baseline verdict.
    pub base_verdict: Verdict,
    /// Wall-clock start and end (ms since epoch).
    pub started_ms: u64,
    /// End.
    pub ended_ms: Option<u64>,
    /// False when stopped early (Ctrl-C) or some runs failed to record.
    pub complete: bool,
    /// Class histogram, most common first.
    pub classes: Vec<Class>,
    /// Sweep results.
    pub probes: Vec<Probe>,
}
