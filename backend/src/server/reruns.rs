//! Reruns scheduled from the browser.
//!
//! `POST /api/runs/{id}/reruns` validates a fault plan, picks the new run's
//! id, writes the plan to `STORE/.bop-serve/plans/NEWID.json` and starts
//!
//! ```text
//! BOP_EXE rerun PARENT --store STORE --id NEWID --faults PLANFILE
//! ```
//!
//! as a child process, never inside the server (DESIGN.md "Architecture":
//! a tracer crash or hang must not take the server down). At most
//! [`RerunConfig::max_concurrent`] children run at once (a semaphore; the
//! rest wait as `queued`); a child that outlives [`RerunConfig::timeout`]
//! gets SIGTERM, then SIGKILL, sent to its whole process group. Statuses
//! (queued / running / done / failed, with the tail of the child's stderr)
//! live in memory and are polled through `GET /api/reruns/{id}`.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use super::error::ApiError;
use crate::store::{Store, now_ms};

/// How many bytes of the child's stderr are kept.
const STDERR_TAIL: usize = 4096;
/// Time between SIGTERM and SIGKILL when a rerun is stopped.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// Most faults one plan may hold.
const MAX_FAULTS: usize = 64;
/// Longest finite delay (one day), in ms.
const MAX_DELAY_MS: u64 = 86_400_000;

/// A fault plan as the API accepts it and as the plan file passed to
/// `bop rerun --faults` holds it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// The faults, applied together.
    pub faults: Vec<PlannedFault>,
}

/// One fault on one message, named logically (`client->primary#0/3`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum PlannedFault {
    /// Hold the send of `message` for `ms` milliseconds (or forever).
    Delay {
        /// Logical message name.
        message: String,
        /// How long.
        ms: DelayMs,
    },
    /// The send of `message` succeeds but its bytes never arrive.
    Drop {
        /// Logical message name.
        message: String,
    },
}

impl PlannedFault {
    /// The message the fault acts on.
    pub fn message(&self) -> &str {
        match self {
            PlannedFault::Delay { message, .. } | PlannedFault::Drop { message } => message,
        }
    }
}

/// A delay: a number of milliseconds, or `"inf"` (until the run ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelayMs {
    /// That many milliseconds.
    Ms(u64),
    /// Until the run ends.
    Forever,
}

impl Serialize for DelayMs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DelayMs::Ms(ms) => s.serialize_u64(*ms),
            DelayMs::Forever => s.serialize_str("inf"),
        }
    }
}

impl<'de> Deserialize<'de> for DelayMs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DelayMs, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DelayMs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number of milliseconds or \"inf\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DelayMs, E> {
                Ok(DelayMs::Ms(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DelayMs, E> {
                if v == "inf" {
                    Ok(DelayMs::Forever)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl FaultPlan {
    /// Checks what serde cannot: a non-empty plan, well-formed message
    /// names, sane delays, one fault per message.
    pub fn validate(&self) -> Result<(), String> {
        if self.faults.is_empty() {
            return Err("the fault plan has no faults".into());
        }
        if self.faults.len() > MAX_FAULTS {
            return Err(format!(
                "the fault plan has {} faults; at most {MAX_FAULTS} are allowed",
                self.faults.len()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, fault) in self.faults.iter().enumerate() {
            let message = fault.message();
            if !is_message_name(message) {
                return Err(format!(
                    "faults[{i}]: '{message}' is not a message name (expected FROM->TO#CHANNEL/ORDINAL, e.g. client->primary#0/3)"
                ));
            }
            if !seen.insert(message) {
                return Err(format!(
                    "faults[{i}]: message '{message}' already has a fault in this plan"
                ));
            }
            if let PlannedFault::Delay {
                ms: DelayMs::Ms(ms),
                ..
            } = fault
                && !(1..=MAX_DELAY_MS).contains(ms)
            {
                return Err(format!(
                    "faults[{i}]: a delay must be 1 to {MAX_DELAY_MS} ms or \"inf\", not {ms}"
                ));
            }
        }
        Ok(())
    }
}

/// `FROM->TO#N/M` with non-empty printable ends and decimal N, M.
fn is_message_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if name.len() > 256 || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    let Some((channel, ordinal)) = name.rsplit_once('/') else {
        return false;
    };
    let Some((ends, n)) = channel.rsplit_once('#') else {
        return false;
    };
    let Some((from, to)) = ends.split_once("->") else {
        return false;
    };
    digits(ordinal) && digits(n) && !from.is_empty() && !to.is_empty()
}

/// How reruns are run.
#[derive(Clone, Debug)]
pub struct RerunConfig {
    /// The `bop` executable (`bop rerun ...`).
    pub bop_exe: PathBuf,
    /// Reruns allowed to run at once; the rest are queued.
    pub max_concurrent: usize,
    /// A rerun still running after this is killed and reported failed.
    pub timeout: Duration,
}

impl RerunConfig {
    /// Defaults: two at once, ten minutes each.
    pub fn new(bop_exe: PathBuf) -> RerunConfig {
        RerunConfig {
            bop_exe,
            max_concurrent: 2,
            timeout: Duration::from_secs(600),
        }
    }
}

/// Where a rerun is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RerunState {
    /// Waiting for a free slot.
    Queued,
    /// `bop rerun` is running.
    Running,
    /// It finished and the run is in the store.
    Done,
    /// It could not start, failed, timed out or recorded nothing.
    Failed,
}

/// What `GET /api/reruns/{id}` returns.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RerunStatus {
    /// The new run's id.
    pub id: String,
    /// The run it reruns.
    pub parent: String,
    /// Where it is.
    pub state: RerunState,
    /// The fault plan.
    pub plan: FaultPlan,
    /// When it was requested (ms since the epoch).
    pub created_ms: u64,
    /// When the child started.
    pub started_ms: Option<u64>,
    /// When it ended.
    pub ended_ms: Option<u64>,
    /// The child's exit status (128+signal when killed by a signal).
    pub exit_status: Option<i32>,
    /// Why it failed, in one sentence.
    pub detail: Option<String>,
    /// The last bytes the child wrote to stderr.
    pub stderr_tail: String,
}

struct Record {
    status: RerunStatus,
    /// Process group of the running child, to signal it as a whole.
    pgid: Option<i32>,
}

/// The reruns this server started.
pub(crate) struct Reruns {
    config: RerunConfig,
    store: Store,
    slots: Arc<Semaphore>,
    records: Arc<Mutex<HashMap<String, Record>>>,
}

impl fmt::Debug for Reruns {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("Reruns")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Reruns {
    pub(crate) fn new(config: RerunConfig, store: Store) -> Reruns {
        let slots = Arc::new(Semaphore::new(config.max_concurrent.max(1)));
        Reruns {
            config,
            store,
            slots,
            records: Arc::default(),
        }
    }

    /// Queues a rerun of `parent` (which must exist) and returns its id.
    /// Must be called inside the tokio runtime.
    pub(crate) fn start(&self, parent: &str, plan: FaultPlan) -> Result<String, ApiError> {
        plan.validate().map_err(ApiError::InvalidFaultPlan)?;
        self.store.run(parent)?;
        let id = Store::new_id();
        let dir = self.store.root().join(".bop-serve").join("plans");
        let plan_file = dir.join(format!("{id}.json"));
        let text = serde_json::to_vec_pretty(&plan).expect("plan serializes");
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&plan_file, text))
            .map_err(|e| {
                ApiError::Internal(format!("cannot write {}: {e}", plan_file.display()))
            })?;
        let status = RerunStatus {
            id: id.clone(),
            parent: parent.to_string(),
            state: RerunState::Queued,
            plan,
            created_ms: now_ms(),
            started_ms: None,
            ended_ms: None,
            exit_status: None,
            detail: None,
            stderr_tail: String::new(),
        };
        self.records
            .lock()
            .unwrap()
            .insert(id.clone(), Record { status, pgid: None });
        let job = Job {
            id: id.clone(),
            parent: parent.to_string(),
            plan_file,
            config: self.config.clone(),
            store: self.store.clone(),
            slots: self.slots.clone(),
            records: self.records.clone(),
        };
        tokio::spawn(job.run());
        Ok(id)
    }

    /// The status of one rerun.
    pub(crate) fn status(&self, id: &str) -> Option<RerunStatus> {
        self.records
            .lock()
            .unwrap()
            .get(id)
            .map(|r| r.status.clone())
    }

    /// Every rerun, newest first.
    pub(crate) fn list(&self) -> Vec<RerunStatus> {
        let mut all: Vec<_> = self
            .records
            .lock()
            .unwrap()
            .values()
            .map(|r| r.status.clone())
            .collect();
        all.sort_by(|a, b| {
            b.created_ms
                .cmp(&a.created_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        all
    }

    /// True while a rerun is about to write, or writing, run `id`.
    pub(crate) fn is_active(&self, id: &str) -> bool {
        self.records
            .lock()
            .unwrap()
            .get(id)
            .is_some_and(|r| matches!(r.status.state, RerunState::Queued | RerunState::Running))
    }

    /// Sends SIGTERM to every running rerun's process group (server shutdown).
    pub(crate) fn terminate_all(&self) {
        for record in self.records.lock().unwrap().values() {
            if let Some(pgid) = record.pgid {
                let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
            }
        }
    }
}

/// One rerun on its way through the queue.
struct Job {
    id: String,
    parent: String,
    plan_file: PathBuf,
    config: RerunConfig,
    store: Store,
    slots: Arc<Semaphore>,
    records: Arc<Mutex<HashMap<String, Record>>>,
}

impl Job {
    fn update(&self, f: impl FnOnce(&mut Record)) {
        if let Some(r) = self.records.lock().unwrap().get_mut(&self.id) {
            f(r);
        }
    }

    async fn run(self) {
        let Ok(_slot) = self.slots.clone().acquire_owned().await else {
            return;
        };
        self.update(|r| {
            r.status.state = RerunState::Running;
            r.status.started_ms = Some(now_ms());
        });
        let (exit_status, detail, stderr_tail) = self.execute().await;
        let _ = std::fs::remove_file(&self.plan_file);
        let recorded = self.store.run(&self.id).is_ok();
        let detail = match (exit_status, detail) {
            (_, Some(detail)) => Some(detail),
            (Some(0), None) if recorded => None,
            (Some(0), None) => Some(format!(
                "bop rerun exited 0 but recorded no run '{}'",
                self.id
            )),
            (Some(code), None) if code > 128 => {
                Some(format!("bop rerun was killed by signal {}", code - 128))
            }
            (Some(code), None) => Some(format!("bop rerun failed with exit status {code}")),
            (None, None) => Some("bop rerun ended without an exit status".into()),
        };
        tracing::info!(id = %self.id, parent = %self.parent, ?exit_status, ?detail, "rerun ended");
        self.update(|r| {
            r.pgid = None;
            r.status.state = if detail.is_none() {
                RerunState::Done
            } else {
                RerunState::Failed
            };
            r.status.ended_ms = Some(now_ms());
            r.status.exit_status = exit_status;
            r.status.detail = detail;
            r.status.stderr_tail = stderr_tail;
        });
    }

    /// Runs the child; returns its exit status, a failure sentence when it
    /// could not run or was killed, and its stderr tail.
    async fn execute(&self) -> (Option<i32>, Option<String>, String) {
        let exe = &self.config.bop_exe;
        let mut command = tokio::process::Command::new(exe);
        command
            .arg("rerun")
            .arg(&self.parent)
            .arg("--store")
            .arg(self.store.root())
            .arg("--id")
            .arg(&self.id)
            .arg("--faults")
            .arg(&self.plan_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout or shutdown can signal
            // `bop rerun` and anything it spawned in one go (killpg(2)).
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                return (
                    None,
                    Some(format!("cannot start {}: {e}", exe.display())),
                    String::new(),
                );
            }
        };
        let pgid = child.id().map(|p| p as i32);
        self.update(|r| r.pgid = pgid);
        let tail = Arc::new(Mutex::new(Vec::<u8>::new()));
        let reader = child.stderr.take().map(|mut stderr| {
            let tail = tail.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = stderr.read(&mut buf).await {
                    let mut t = tail.lock().unwrap();
                    t.extend_from_slice(&buf[..n]);
                    let excess = t.len().saturating_sub(STDERR_TAIL);
                    t.drain(..excess);
                }
            })
        });
        let (status, detail) = match tokio::time::timeout(self.config.timeout, child.wait()).await {
            Ok(Ok(status)) => (Some(status), None),
            Ok(Err(e)) => (None, Some(format!("cannot wait for bop rerun: {e}"))),
            Err(_) => {
                let signal = |sig| {
                    if let Some(pgid) = pgid {
                        let _ = killpg(Pid::from_raw(pgid), sig);
                    }
                };
                signal(Signal::SIGTERM);
                let status = match tokio::time::timeout(KILL_GRACE, child.wait()).await {
                    Ok(Ok(status)) => Some(status),
                    _ => {
                        signal(Signal::SIGKILL);
                        child.wait().await.ok()
                    }
                };
                (
                    status,
                    Some(format!(
                        "bop rerun did not finish within {} s and was killed",
                        self.config.timeout.as_secs_f64()
                    )),
                )
            }
        };
        // Processes the child left behind could hold the pipe open: read
        // what is there, but do not wait for them.
        if let Some(reader) = reader
            && tokio::time::timeout(Duration::from_secs(1), reader)
                .await
                .is_err()
        {
            tracing::warn!(id = %self.id, "stderr of bop rerun still open after it exited");
        }
        let code = status.map(|s| {
            use std::os::unix::process::ExitStatusExt;
            s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
        });
        let tail = String::from_utf8_lossy(&tail.lock().unwrap()).into_owned();
        (code, detail, tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> Result<FaultPlan, String> {
        let plan: FaultPlan = serde_json::from_str(json).map_err(|e| e.to_string())?;
        plan.validate()?;
        Ok(plan)
    }

    #[test]
    fn plans_parse_and_round_trip() {
        let text = r#"{"faults":[{"kind":"delay","message":"client->primary#0/3","ms":500},
            {"kind":"delay","message":"a->b#1/0","ms":"inf"},{"kind":"drop","message":"primary/sh#0->replica#2/10"}]}"#;
        let p = plan(text).unwrap();
        assert_eq!(
            p.faults[1],
            PlannedFault::Delay {
                message: "a->b#1/0".into(),
                ms: DelayMs::Forever
            }
        );
        let again: FaultPlan = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn bad_plans_are_refused_with_a_reason() {
        for (json, expect) in [
            (r#"{"faults":[]}"#, "no faults"),
            (
                r#"{"faults":[{"kind":"delay","message":"a->b#0/1","ms":-5}]}"#,
                "milliseconds",
            ),
            (
                r#"{"faults":[{"kind":"delay","message":"a->b#0/1","ms":"forever"}]}"#,
                "milliseconds",
            ),
            (
                r#"{"faults":[{"kind":"delay","message":"a->b#0/1","ms":0}]}"#,
                "1 to",
            ),
            (
                r#"{"faults":[{"kind":"delay","message":"a->b#0/1"}]}"#,
                "missing field `ms`",
            ),
            (
                r#"{"faults":[{"kind":"crash","message":"a->b#0/1"}]}"#,
                "unknown variant",
            ),
            (
                r#"{"faults":[{"kind":"drop","message":"a->b#0/1","extra":1}]}"#,
                "unknown field",
            ),
            (
                r#"{"faults":[{"kind":"drop","message":"nonsense"}]}"#,
                "not a message name",
            ),
            (
                r#"{"faults":[{"kind":"drop","message":"a->b#x/1"}]}"#,
                "not a message name",
            ),
            (
                r#"{"faults":[{"kind":"drop","message":"a->b#0/1"},{"kind":"drop","message":"a->b#0/1"}]}"#,
                "already",
            ),
            (r#"{"faults":[],"x":1}"#, "unknown field"),
        ] {
            let err = plan(json).unwrap_err();
            assert!(err.contains(expect), "{json}: {err}");
        }
    }
}
