//! Reruns scheduled from the browser.
//!
//! `POST /api/runs/{id}/reruns` takes a [`FaultPlan`] (the injector's own
//! type, every kind of fault), checks it the way `bop rerun` will (its
//! [`FaultPlan::validate`], then a translation through the parent run's
//! events with [`Injector::new`], so a plan naming a process or channel
//! the parent run does not have is refused before anything runs), picks
//! the new run's id, writes the plan to `STORE/.bop-serve/plans/NEWID.json`
//! and starts
//!
//! ```text
//! BOP_EXE rerun PARENT --store STORE --id NEWID --faults PLANFILE
//! ```
//!
//! as a child process, never inside the server (DESIGN.md "Architecture":
//! a tracer crash or hang must not take the server down), supervised as
//! every child of the server is ([`super::child`]). At most
//! [`RerunConfig::max_concurrent`] children run at once (a semaphore; the
//! rest wait as `queued`); a child that outlives [`RerunConfig::timeout`]
//! gets SIGTERM, then SIGKILL, sent to its whole process group. Statuses
//! (queued / running / done / failed, with the tail of the child's stderr)
//! live in memory and are polled through `GET /api/reruns/{id}`.
//!
//! At most [`MAX_QUEUED`] reruns wait; beyond that a POST is answered 429
//! with `Retry-After`. On shutdown ([`Reruns::shutdown`]) queued reruns are
//! dropped, running ones get SIGTERM and [`KILL_GRACE`] to save themselves
//! as interrupted before SIGKILL, a run left claiming `running` is
//! recorded as interrupted by the server, and every plan file is removed.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::child;
use super::compares::Comparisons;
use super::error::ApiError;
use bop_injector::{Fault, FaultPlan, Injector};
use bop_model::{EndReason, Manifest, RunStatus, Verdict};
use bop_store::{Store, now_ms};

/// How many bytes of the child's stderr are kept.
const STDERR_TAIL: usize = 4096;
/// Time between SIGTERM and SIGKILL when a rerun is stopped.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// Most reruns waiting for a slot; more are refused with 429.
pub const MAX_QUEUED: usize = 16;
/// `Retry-After` of a 429: a rerun of a small run takes seconds.
const RETRY_AFTER_S: u64 = 5;
/// Most faults one plan may hold.
pub const MAX_FAULTS: usize = 64;
/// Longest finite delay (one day), in ms.
pub const MAX_DELAY_MS: u64 = 86_400_000;
/// `bop rerun`'s exit status when bop itself failed (cli.rs).
const BOP_FAILED: i32 = 125;

/// Checks what does not need the parent run: the plan's own
/// [`FaultPlan::validate`], plus the server's limits (at least one and at
/// most [`MAX_FAULTS`] faults, finite delays of 1 to [`MAX_DELAY_MS`] ms).
/// Message and event names are not checked: a name that does not occur
/// is legal and is recorded as not fired (DESIGN.md "Logical names").
pub fn check_plan(plan: &FaultPlan) -> Result<(), String> {
    if plan.faults.is_empty() {
        return Err("the fault plan has no faults".into());
    }
    if plan.faults.len() > MAX_FAULTS {
        return Err(format!(
            "the fault plan has {} faults; at most {MAX_FAULTS} are allowed",
            plan.faults.len()
        ));
    }
    plan.validate().map_err(|e| e.0)?;
    for (i, fault) in plan.faults.iter().enumerate() {
        if let Fault::Delay { ms, .. } = fault
            && let Ok(Some(ms)) = ms.millis()
            && !(1..=MAX_DELAY_MS).contains(&ms)
        {
            return Err(format!(
                "faults[{i}]: a delay must be 1 to {MAX_DELAY_MS} ms or \"inf\", not {ms}"
            ));
        }
    }
    Ok(())
}

/// Checks `plan` against run `parent` of `store` exactly as `bop rerun`
/// will: [`check_plan`], then the translation of its names through the
/// parent's events. Reads the parent's event log: call it off the async
/// workers.
pub(crate) fn check_against(store: &Store, parent: &str, plan: &FaultPlan) -> Result<(), ApiError> {
    check_plan(plan).map_err(ApiError::InvalidFaultPlan)?;
    let events = store.events(parent)?;
    Injector::new(plan, &events).map_err(|e| ApiError::InvalidFaultPlan(e.0))?;
    Ok(())
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
    /// The child's exit status (128+signal when killed by a signal). For a
    /// scenario it is the verdict (1 for fail), so a non-zero status does
    /// not make a rerun `failed`: recording the run does.
    pub exit_status: Option<i32>,
    /// The recorded run's verdict, once `done`.
    pub verdict: Option<Verdict>,
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
    /// Set by [`Reruns::shutdown`]: no rerun starts after it.
    closing: Arc<AtomicBool>,
    /// Where a finished rerun's comparison with its parent is computed.
    comparisons: Arc<Comparisons>,
}

impl fmt::Debug for Reruns {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("Reruns")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Reruns {
    pub(crate) fn new(config: RerunConfig, store: Store, comparisons: Arc<Comparisons>) -> Reruns {
        let slots = Arc::new(Semaphore::new(config.max_concurrent.max(1)));
        Reruns {
            config,
            store,
            slots,
            records: Arc::default(),
            closing: Arc::default(),
            comparisons,
        }
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn plans_dir(&self) -> PathBuf {
        self.store.root().join(".bop-serve").join("plans")
    }

    /// Refuses a rerun when the queue is full or the server is stopping.
    fn check_room(&self) -> Result<(), ApiError> {
        room(&self.records(), self.closing.load(Ordering::SeqCst))
    }

    /// Checks `plan` against run `parent` ([`check_against`]), queues the
    /// rerun and returns the new run's id. Nothing is written or started
    /// when the plan is refused.
    pub(crate) async fn start(&self, parent: &str, plan: FaultPlan) -> Result<String, ApiError> {
        self.check_room()?;
        let plan = {
            let (store, parent) = (self.store.clone(), parent.to_string());
            tokio::task::spawn_blocking(move || {
                check_against(&store, &parent, &plan).map(|()| plan)
            })
            .await
            .map_err(|e| ApiError::Internal(format!("plan check failed: {e}")))??
        };
        let id = Store::new_id();
        let dir = self.plans_dir();
        let plan_file = dir.join(format!("{id}.json"));
        let text = serde_json::to_vec_pretty(&plan)
            .map_err(|e| ApiError::Internal(format!("the plan does not serialize: {e}")))?;
        if let Err(e) =
            std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&plan_file, text))
        {
            // A full disk leaves an empty or partial plan: remove it.
            let _ = std::fs::remove_file(&plan_file);
            return Err(ApiError::Internal(format!(
                "cannot write {}: {e}",
                plan_file.display()
            )));
        }
        let status = RerunStatus {
            id: id.clone(),
            parent: parent.to_string(),
            state: RerunState::Queued,
            plan,
            created_ms: now_ms(),
            started_ms: None,
            ended_ms: None,
            exit_status: None,
            verdict: None,
            detail: None,
            stderr_tail: String::new(),
        };
        {
            // Checked again under the lock: requests race between the
            // first check and here.
            let mut records = self.records();
            if let Err(e) = room(&records, self.closing.load(Ordering::SeqCst)) {
                drop(records);
                let _ = std::fs::remove_file(&plan_file);
                return Err(e);
            }
            records.insert(id.clone(), Record { status, pgid: None });
        }
        let job = Job {
            id: id.clone(),
            parent: parent.to_string(),
            plan_file,
            config: self.config.clone(),
            store: self.store.clone(),
            slots: self.slots.clone(),
            records: self.records.clone(),
            comparisons: self.comparisons.clone(),
        };
        tokio::spawn(job.run());
        Ok(id)
    }

    /// The status of one rerun.
    pub(crate) fn status(&self, id: &str) -> Option<RerunStatus> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .map(|r| r.status.clone())
    }

    /// Every rerun, newest first.
    pub(crate) fn list(&self) -> Vec<RerunStatus> {
        let mut all: Vec<_> = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .is_some_and(|r| matches!(r.status.state, RerunState::Queued | RerunState::Running))
    }

    /// How many reruns of run `parent` are queued or running.
    pub(crate) fn active_children(&self, parent: &str) -> usize {
        self.records()
            .values()
            .filter(|r| r.status.parent == parent)
            .filter(|r| matches!(r.status.state, RerunState::Queued | RerunState::Running))
            .count()
    }

    /// Signals every running `bop rerun` (its pid is its process group's
    /// id): only the leader, so that it can stop its tree and save the run
    /// itself, or the whole group when it had its chance.
    fn signal_running(&self, signal: Signal, whole_group: bool) -> usize {
        let records = self.records();
        let groups: Vec<i32> = records.values().filter_map(|r| r.pgid).collect();
        for pgid in &groups {
            child::signal_group(*pgid, signal, whole_group);
        }
        groups.len()
    }

    fn running(&self) -> usize {
        self.records()
            .values()
            .filter(|r| r.status.state == RerunState::Running)
            .count()
    }

    /// Waits up to `limit` for every running rerun to end.
    async fn wait_running(&self, limit: Duration) {
        child::wait_while(|| self.running(), limit).await;
    }

    /// Server shutdown: no new reruns, queued ones are dropped, running
    /// ones get SIGTERM and [`KILL_GRACE`] to record themselves as
    /// interrupted, then SIGKILL. A run still claiming `running` after that
    /// is recorded as interrupted here, and every plan file is removed.
    pub(crate) async fn shutdown(&self) {
        self.closing.store(true, Ordering::SeqCst);
        // Queued jobs wake up with a closed semaphore and give up.
        self.slots.close();
        if self.signal_running(Signal::SIGTERM, false) > 0 {
            // The job reads the child's stderr for up to 1 s after it exits.
            self.wait_running(KILL_GRACE + Duration::from_secs(2)).await;
            if self.signal_running(Signal::SIGKILL, true) > 0 {
                self.wait_running(Duration::from_secs(3)).await;
            }
        }
        let ids: Vec<String> = self.records().keys().cloned().collect();
        for id in &ids {
            let _ = std::fs::remove_file(self.plans_dir().join(format!("{id}.json")));
            mark_interrupted(&self.store, id);
        }
        let _ = std::fs::remove_dir(self.plans_dir());
    }
}

/// Refuses a new rerun when [`MAX_QUEUED`] wait already (429) or the
/// server is stopping (503).
fn room(records: &HashMap<String, Record>, closing: bool) -> Result<(), ApiError> {
    if closing {
        return Err(child::shutting_down());
    }
    let queued = records
        .values()
        .filter(|r| r.status.state == RerunState::Queued)
        .count();
    if queued >= MAX_QUEUED {
        return Err(ApiError::TooManyReruns {
            detail: format!(
                "{queued} reruns are already waiting (at most {MAX_QUEUED}); try again when some have finished"
            ),
            retry_after_s: RETRY_AFTER_S,
        });
    }
    Ok(())
}

/// Records run `id` as interrupted when its recorder died without saying
/// so (killed after the grace period): it must not claim to be running.
fn mark_interrupted(store: &Store, id: &str) {
    let Ok(run) = store.run(id) else {
        return;
    };
    match run.manifest() {
        Ok(mut m) if m.status == RunStatus::Running && !store.is_recording(id).unwrap_or(true) => {
            m.status = RunStatus::Failed;
            m.ended_by = Some(EndReason::Interrupted);
            m.ended_ms = Some(now_ms());
            m.error = Some("bop serve stopped and its rerun did not save the run in time".into());
            if let Err(e) = run.write_manifest(&m) {
                tracing::error!(%id, "cannot record the interrupted rerun: {e}");
            }
        }
        _ => {}
    }
}

/// Whether a finished child recorded the rerun: the run's verdict, or why
/// the rerun failed. `detail` is a failure the watcher saw itself (could
/// not start, timed out). The child's exit status alone does not decide:
/// `bop rerun` exits with the target's status or the scenario's verdict
/// (1 for fail), and 125 when bop itself failed.
fn outcome(
    id: &str,
    exit_status: Option<i32>,
    detail: Option<String>,
    recorded: Option<&Manifest>,
) -> Result<Verdict, String> {
    if let Some(detail) = detail {
        return Err(detail);
    }
    match (exit_status, recorded) {
        (_, Some(m)) if m.error.is_some() => Err(format!(
            "bop rerun recorded run '{id}' but tracing failed: {}",
            m.error.as_deref().unwrap_or_default()
        )),
        // A target killed by a signal (a crash fault with kill) makes
        // `bop rerun` exit 128+signal too: the manifest tells them apart.
        (Some(code), Some(m)) if code != BOP_FAILED && m.status == RunStatus::Done => Ok(m.verdict),
        (Some(code), _) if code > 128 => {
            Err(format!("bop rerun was killed by signal {}", code - 128))
        }
        (Some(0), None) => Err(format!("bop rerun exited 0 but recorded no run '{id}'")),
        (Some(0), Some(m)) => Err(format!(
            "bop rerun exited 0 but run '{id}' is marked {:?}",
            m.status
        )),
        (Some(code), _) => Err(format!("bop rerun failed with exit status {code}")),
        (None, _) => Err("bop rerun ended without an exit status".into()),
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
    comparisons: Arc<Comparisons>,
}

impl Job {
    fn update(&self, f: impl FnOnce(&mut Record)) {
        if let Some(r) = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&self.id)
        {
            f(r);
        }
    }

    async fn run(self) {
        let Ok(_slot) = self.slots.clone().acquire_owned().await else {
            // The server is stopping: this rerun never starts.
            let _ = std::fs::remove_file(&self.plan_file);
            self.update(|r| {
                r.status.state = RerunState::Failed;
                r.status.ended_ms = Some(now_ms());
                r.status.detail = Some("the server stopped before this rerun started".into());
            });
            return;
        };
        self.update(|r| {
            r.status.state = RerunState::Running;
            r.status.started_ms = Some(now_ms());
        });
        let (exit_status, detail, stderr_tail) = self.execute().await;
        let _ = std::fs::remove_file(&self.plan_file);
        let recorded = self.store.manifest(&self.id).ok();
        let outcome = outcome(&self.id, exit_status, detail, recorded.as_ref());
        tracing::info!(id = %self.id, parent = %self.parent, ?exit_status, ?outcome, "rerun ended");
        if outcome.is_ok() {
            // The rerun's next page is its comparison with the parent: it
            // is computed now, in the background under the build permits
            // as any comparison, and kept, so that page finds it ready.
            let (c, store) = (self.comparisons.clone(), self.store.clone());
            let (parent, id) = (self.parent.clone(), self.id.clone());
            tokio::spawn(async move { c.prepare(&store, &parent, &id).await });
        }
        self.update(|r| {
            r.pgid = None;
            r.status.ended_ms = Some(now_ms());
            r.status.exit_status = exit_status;
            r.status.stderr_tail = stderr_tail;
            match outcome {
                Ok(verdict) => {
                    r.status.state = RerunState::Done;
                    r.status.verdict = Some(verdict);
                }
                Err(detail) => {
                    r.status.state = RerunState::Failed;
                    r.status.detail = Some(detail);
                }
            }
        });
    }

    /// Runs the child; returns its exit status, a failure sentence when it
    /// could not run or was killed, and its stderr tail.
    async fn execute(&self) -> (Option<i32>, Option<String>, String) {
        let tail = child::Tail::default();
        let args = [
            "rerun".as_ref(),
            self.parent.as_ref(),
            "--store".as_ref(),
            self.store.root().as_os_str(),
            "--id".as_ref(),
            self.id.as_ref(),
            "--faults".as_ref(),
            self.plan_file.as_os_str(),
        ];
        let spawned = child::spawn::<_, &std::ffi::OsStr>(
            "bop rerun",
            &self.config.bop_exe,
            args,
            tail.clone(),
            STDERR_TAIL,
        );
        let running = match spawned {
            Ok(running) => running,
            Err(detail) => return (None, Some(detail), String::new()),
        };
        let pgid = running.pgid();
        self.update(|r| r.pgid = pgid);
        let ended = running
            .supervise(self.config.timeout, KILL_GRACE, || false, || {})
            .await;
        let detail = ended.error.or_else(|| {
            ended.timed_out.then(|| {
                format!(
                    "bop rerun did not finish within {} s and was killed",
                    self.config.timeout.as_secs_f64()
                )
            })
        });
        (ended.code, detail, child::tail_text(&tail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bop_injector::Ms;

    fn plan(json: &str) -> Result<FaultPlan, String> {
        let plan: FaultPlan = serde_json::from_str(json).map_err(|e| e.to_string())?;
        check_plan(&plan)?;
        Ok(plan)
    }

    #[test]
    fn every_kind_parses_and_round_trips() {
        let text = r#"{"faults":[{"kind":"delay","message":"client->primary#0/3","ms":500},
            {"kind":"delay","message":"a->b#1/r0","ms":"inf"},
            {"kind":"drop","message":"primary/sh#0->replica#2/10"},
            {"kind":"error","event":"client:t0/5:connect","errno":"ECONNREFUSED"},
            {"kind":"crash","process":"primary","after":"primary:t1/3:sendto","kill":true},
            {"kind":"partition","groups":[["primary"],["replica"]],"after_ms":100,"connect":"hang"}]}"#;
        let p = plan(text).unwrap();
        assert_eq!(
            p.faults[1],
            Fault::Delay {
                message: "a->b#1/r0".into(),
                ms: Ms::Word("inf".into())
            }
        );
        let again: FaultPlan = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(again, p);
        // The plan file handed to `bop rerun --faults` is read back the same.
        let file = serde_json::to_string_pretty(&p).unwrap();
        assert_eq!(FaultPlan::parse(&file).unwrap(), p);
    }

    #[test]
    fn bad_plans_are_refused_with_a_reason() {
        for (json, expect) in [
            (r#"{"faults":[]}"#, "no faults"),
            (r#"{}"#, "no faults"),
            (
                r#"{"faults":[{"kind":"delay","message":"a->b#0/1","ms":-5}]}"#,
                "did not match any variant",
            ),
            (
                r#"{"faults":[{"kind":"delay","message":"a->b#0/1","ms":"forever"}]}"#,
                "not a duration",
            ),
            (
                r#"{"faults":[{"kind":"delay","message":"a->b#0/1","ms":0}]}"#,
                "a delay of 0 ms does nothing",
            ),
            (
                r#"{"faults":[{"kind":"delay","message":"a->b#0/1"}]}"#,
                "missing field `ms`",
            ),
            (
                r#"{"faults":[{"kind":"explode","message":"a->b#0/1"}]}"#,
                "unknown variant",
            ),
            (
                r#"{"faults":[{"kind":"drop","message":"a->b#0/1","extra":1}]}"#,
                "unknown field",
            ),
            (
                r#"{"faults":[{"kind":"error","errno":"ENOTANERRNO","call":"connect"}]}"#,
                "unknown errno",
            ),
            (
                r#"{"faults":[{"kind":"error","errno":"EPIPE"}]}"#,
                "needs an event or a pattern",
            ),
            (
                r#"{"faults":[{"kind":"partition","groups":[[],["b"]]}]}"#,
                "two non-empty groups",
            ),
            (r#"{"faults":[],"x":1}"#, "unknown field"),
        ] {
            let err = plan(json).unwrap_err();
            assert!(err.contains(expect), "{json}: {err}");
        }
        let many = FaultPlan {
            faults: vec![
                Fault::Drop {
                    message: "a->b#0/0".into()
                };
                MAX_FAULTS + 1
            ],
        };
        assert!(check_plan(&many).unwrap_err().contains("at most"));
    }

    fn manifest(status: RunStatus, verdict: Verdict, error: Option<&str>) -> Manifest {
        Manifest {
            schema: 1,
            ended_ms: Some(2),
            status,
            exit_status: Some(1),
            verdict,
            error: error.map(str::to_string),
            ..Manifest::new(
                "n",
                bop_model::Target::Command {
                    argv: vec!["c".into()],
                    cwd: "/".into(),
                },
                "c",
                1,
            )
        }
    }

    #[test]
    fn a_recorded_run_is_done_whatever_its_verdict() {
        let done_fail = manifest(RunStatus::Done, Verdict::Fail, None);
        assert_eq!(
            outcome("n", Some(1), None, Some(&done_fail)),
            Ok(Verdict::Fail)
        );
        assert_eq!(
            outcome("n", Some(137), None, Some(&done_fail)),
            Ok(Verdict::Fail)
        );
        let pass = manifest(RunStatus::Done, Verdict::Pass, None);
        assert_eq!(outcome("n", Some(0), None, Some(&pass)), Ok(Verdict::Pass));
        for (exit, detail, m, expect) in [
            (Some(125), None, Some(&pass), "exit status 125"),
            (Some(3), None, None, "exit status 3"),
            (Some(0), None, None, "recorded no run"),
            (Some(143), None, None, "signal 15"),
            (None, None, None, "without an exit status"),
            (
                Some(0),
                Some("timed out".to_string()),
                Some(&pass),
                "timed out",
            ),
        ] {
            let err = outcome("n", exit, detail, m).unwrap_err();
            assert!(err.contains(expect), "{exit:?}: {err}");
        }
        let broken = manifest(RunStatus::Failed, Verdict::Unknown, Some("ptrace: ESRCH"));
        assert!(
            outcome("n", Some(125), None, Some(&broken))
                .unwrap_err()
                .contains("ptrace: ESRCH")
        );
        let running = manifest(RunStatus::Running, Verdict::Unknown, None);
        assert!(
            outcome("n", Some(0), None, Some(&running))
                .unwrap_err()
                .contains("marked Running")
        );
    }
}
