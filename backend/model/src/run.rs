//! Runs as the store keeps them: the manifest, its status, the verdict and
//! why the recording ended.

use serde::{Deserialize, Serialize};

use crate::fault::FaultRecord;

/// Lifecycle of a run as the store reports it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The tracer is still recording.
    Running,
    /// The run finished and was recorded completely.
    Done,
    /// The tracer itself failed; the log holds what was recorded until then.
    Failed,
    /// Never written by a recorder: how a reader shows a run whose
    /// manifest says `running` but whose recorder is gone (killed,
    /// terminal lost, disk full), so it will never end on its own.
    Abandoned,
}

/// Verdict of a run (DESIGN.md: from the check command or the client's exit status).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The check (or the target) exited 0.
    Pass,
    /// The check (or the target) exited non-zero or was killed.
    Fail,
    /// Not known: the run timed out, was interrupted or is still running.
    Unknown,
}

impl Verdict {
    /// The word used in logs, the API and the CLI: `pass`, `fail`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the recording ended.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The target exited by itself.
    Exited,
    /// The run timeout killed the tree.
    Timeout,
    /// Ctrl-C (SIGINT/SIGTERM to bop) killed the tree.
    Interrupted,
    /// The tracer failed; see the manifest's `error`.
    TracerError,
}

/// What was run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Target {
    /// One command line.
    Command {
        /// Program and arguments.
        argv: Vec<String>,
        /// Working directory.
        cwd: String,
    },
    /// A scenario file, kept verbatim so reruns need nothing else.
    Scenario {
        /// Where it was read from (for messages only).
        path: String,
        /// The file's text.
        text: String,
        /// Working directory it was run from.
        cwd: String,
    },
}

/// Counts shown in run lists.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Recorded events.
    pub events: u64,
    /// Processes seen.
    pub processes: u64,
    /// Threads seen (including each process's main thread).
    pub threads: u64,
}

/// `manifest.json` of a run: everything about it except the event log.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    /// Schema version ([`crate::EVENT_SCHEMA`]).
    pub schema: u32,
    /// Run id (also its directory name).
    pub id: String,
    /// What was run.
    pub target: Target,
    /// Human-readable one-line description of the target.
    pub command: String,
    /// Wall-clock start, milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// Wall-clock end, when finished.
    #[serde(default)]
    pub ended_ms: Option<u64>,
    /// running / done / failed.
    pub status: RunStatus,
    /// Why the recording ended, when it has.
    #[serde(default)]
    pub ended_by: Option<EndReason>,
    /// Exit status of the target as a shell reports it (128+signal if killed).
    #[serde(default)]
    pub exit_status: Option<i32>,
    /// pass / fail / unknown.
    pub verdict: Verdict,
    /// Canonical hash of the causal structure (set by the tracker).
    #[serde(default)]
    pub trace_class: Option<String>,
    /// The run this one reruns, if any.
    #[serde(default)]
    pub parent: Option<String>,
    /// The fault plan and what each fault did (filled by the injector).
    #[serde(default)]
    pub faults: Vec<FaultRecord>,
    /// Event, process and thread counts.
    #[serde(default)]
    pub counts: Counts,
    /// Bytes of payload captured per message (0 = none).
    #[serde(default)]
    pub capture_bytes: usize,
    /// What went wrong when `status` is `failed`.
    #[serde(default)]
    pub error: Option<String>,
    /// Why the verdict is `unknown` (or how a run that ended early ended),
    /// in one sentence: "node 'a' never got ready: ...", "the check was
    /// killed after 2 s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The process recording the run, so that a run left `running` by a
    /// recorder that is gone can be told from a live one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorder: Option<Recorder>,
    /// The TCP ports a scenario allocated, by name (`{port.NAME}`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub ports: std::collections::BTreeMap<String, u16>,
    /// Processes that did I/O bop could not see (io_uring): their graph
    /// is partial, and the run says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unseen: Vec<Unseen>,
    /// Whether the run could record calls in process (DESIGN.md "Fast
    /// path"), and which processes did. Reruns inherit `enabled`.
    #[serde(default)]
    pub fast_path: FastPathUse,
}

impl Manifest {
    /// A run just started: running, not judged, nothing recorded. Every
    /// other field starts empty, so code and tests that make manifests
    /// name only what they set, and a new field touches none of them.
    pub fn new(
        id: impl Into<String>,
        target: Target,
        command: impl Into<String>,
        started_ms: u64,
    ) -> Manifest {
        Manifest {
            schema: crate::EVENT_SCHEMA,
            id: id.into(),
            target,
            command: command.into(),
            started_ms,
            ended_ms: None,
            status: RunStatus::Running,
            ended_by: None,
            exit_status: None,
            verdict: Verdict::Unknown,
            trace_class: None,
            parent: None,
            faults: Vec::new(),
            counts: Counts::default(),
            capture_bytes: 0,
            error: None,
            reason: None,
            recorder: None,
            ports: Default::default(),
            unseen: Vec::new(),
            fast_path: FastPathUse::default(),
        }
    }
}

/// A process that did I/O the tracer could not see.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Unseen {
    /// The process's logical name.
    pub process: String,
    /// The calls that did it (`io_uring_setup`, `io_uring_enter`).
    pub calls: Vec<String>,
    /// How many such calls it made.
    pub count: u64,
}

/// The fast path of one run (docs/FASTPATH.md). A manifest written before
/// the fast path existed loads as enabled, used by no process.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FastPathUse {
    /// False when the run was recorded with `--no-fast-path`: every call
    /// stopped under ptrace. Reruns of the run record the same way.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Why no process could use it although it was enabled (the preload
    /// library was not found next to `bop`), in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Logical names of the processes with at least one call recorded on
    /// the fast path; every other process was traced under ptrace only
    /// (static and Go programs, `--no-fast-path`, calls a fault could act on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<String>,
}

fn enabled() -> bool {
    true
}

impl Default for FastPathUse {
    fn default() -> FastPathUse {
        FastPathUse {
            enabled: true,
            unavailable: None,
            processes: Vec::new(),
        }
    }
}

/// The recorder of a run: a pid alone can be reused, its start time with it
/// names one process.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorder {
    /// Its process id.
    pub pid: u32,
    /// Its start time, in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start_ticks: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_from_before_the_fast_path_loads_as_enabled() {
        let m: Manifest = serde_json::from_value(serde_json::json!({
            "schema": 1, "id": "p", "target": {"type": "command", "argv": ["x"], "cwd": "/"},
            "command": "x", "started_ms": 0, "status": "done", "verdict": "unknown"
        }))
        .expect("manifest");
        assert_eq!(m.fast_path, FastPathUse::default());
        assert!(m.fast_path.enabled);
        let off: FastPathUse = serde_json::from_str(r#"{"enabled":false}"#).expect("off");
        assert!(!off.enabled && off.processes.is_empty());
    }
}
