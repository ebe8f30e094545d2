//! Searches started from the browser (issue 14, DESIGN.md "Search").
//!
//! `POST /api/searches` checks its body (the base run exists and has
//! events; the budget, fault kinds and the CLI's other options within
//! bounds), picks the search's id
//! and starts
//!
//! ```text
//! BOP_EXE search BASE --store STORE --id ID --budget N --faults KINDS --max-faults K
//!     --confirm C --baselines B --parallel P --json
//! ```
//!
//! as a child process in its own process group, supervised like a rerun
//! ([`super::child`]): a tracer crash or hang never takes the server
//! down. At most [`SearchConfig::max_concurrent`] searches run at once (a
//! semaphore; the others wait as `queued`), at most [`MAX_QUEUED`] wait
//! (more are answered 429), and one that outlives
//! [`SearchConfig::timeout`] is stopped.
//!
//! Progress is not kept here: `bop search` saves its record
//! (`STORE/searches/ID.json`) after every batch of reruns, and
//! `GET /api/searches/{id}` reads it, adding only what the server alone
//! knows (queued, running, stopped by a user, how the child ended).
//!
//! Stopping (`POST /api/searches/{id}/stop`, or the server shutting down)
//! sends SIGTERM to the child's whole group: its reruns save themselves as
//! interrupted and `bop search` saves its record as ended "interrupted";
//! after [`KILL_GRACE`] the group gets SIGKILL. A record left without an
//! end is then finished by the server ([`finish_record`]), so a search is
//! never shown running after its process is gone.

pub(crate) mod api;
mod request;

pub(crate) use request::{Params, SearchRequest};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::child;
use super::error::ApiError;
use bop_model::{Bug, FaultKind, Search};
use bop_store::{Store, now_ms};

/// How many bytes of the child's stderr (its progress lines) are kept.
const STDERR_TAIL: usize = 8192;
/// Progress lines returned with a status.
const LOG_LINES: usize = 30;
/// Time between SIGTERM and SIGKILL when a search is stopped: its reruns
/// need a moment to save themselves.
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(10);
/// Most searches waiting for a slot; more are refused with 429.
pub const MAX_QUEUED: usize = 4;
/// `Retry-After` of a 429: a small search takes a minute.
const RETRY_AFTER_S: u64 = 30;
/// What `ended` says of a search its process stopped (bop search's word).
const INTERRUPTED: &str = "interrupted";

/// How searches are run.
#[derive(Clone, Debug)]
pub struct SearchConfig {
    /// The `bop` executable (`bop search ...`).
    pub bop_exe: PathBuf,
    /// Searches allowed to run at once; the rest are queued.
    pub max_concurrent: usize,
    /// Reruns each search makes at once (`--parallel`).
    pub parallel: usize,
    /// A search still running after this is stopped.
    pub timeout: Duration,
}

impl SearchConfig {
    /// Defaults: one search at a time, two reruns at once, an hour each.
    pub fn new(bop_exe: PathBuf) -> SearchConfig {
        SearchConfig {
            bop_exe,
            max_concurrent: 1,
            parallel: 2,
            timeout: Duration::from_secs(3600),
        }
    }
}

/// Where a search is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SearchState {
    /// Waiting for a free slot.
    Queued,
    /// `bop search` is running.
    Running,
    /// It ended on its own (budget spent, or no support can be cut).
    Done,
    /// It could not start, failed, or its process died without an end.
    Failed,
    /// A user, a timeout or the server stopping ended it.
    Stopped,
}

/// What `GET /api/searches/{id}` returns.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SearchStatus {
    /// The search's id.
    pub id: String,
    /// The base run.
    pub base: String,
    /// Where it is.
    pub state: SearchState,
    /// Reruns made so far (baselines and confirmations included; may end
    /// a little above `budget`, see docs/SEARCH.md).
    pub runs_done: usize,
    /// The budget asked for.
    pub budget: usize,
    /// Bugs found so far, as `bop search --json` prints them.
    pub bugs: Vec<Bug>,
    /// Fault kinds tried.
    pub faults: Vec<FaultKind>,
    /// Largest fault set tried.
    pub max_faults: usize,
    /// The baseline runs recorded so far.
    pub baselines: Vec<String>,
    /// Candidate faults derived from the base run.
    pub candidates: usize,
    /// Supports known so far.
    pub supports: usize,
    /// When it was asked for or started (ms since the epoch).
    pub started_ms: u64,
    /// When it ended.
    pub ended_ms: Option<u64>,
    /// Why it ended, as bop search says it.
    pub ended: Option<String>,
    /// Why it failed or was stopped, in one sentence.
    pub detail: Option<String>,
    /// The last progress lines of the child (searches this server started).
    pub log: Vec<String>,
}

/// One search this server started.
struct Job {
    params: Params,
    state: SearchState,
    created_ms: u64,
    detail: Option<String>,
    pgid: Option<i32>,
    /// Set by a stop request, so the end is reported `stopped`.
    stop_requested: bool,
    stderr: Arc<Mutex<Vec<u8>>>,
}

type Jobs = Arc<Mutex<HashMap<String, Job>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The searches this server started.
pub(crate) struct Searches {
    config: SearchConfig,
    store: Store,
    slots: Arc<Semaphore>,
    jobs: Jobs,
    closing: Arc<AtomicBool>,
}

impl std::fmt::Debug for Searches {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("Searches")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Searches {
    pub(crate) fn new(config: SearchConfig, store: Store) -> Searches {
        Searches {
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            config,
            store,
            jobs: Arc::default(),
            closing: Arc::default(),
        }
    }

    /// Refuses a search when the server is stopping (503) or
    /// [`MAX_QUEUED`] wait already (429).
    fn room(&self, jobs: &HashMap<String, Job>) -> Result<(), ApiError> {
        if self.closing.load(Ordering::SeqCst) {
            return Err(child::shutting_down());
        }
        let queued = jobs
            .values()
            .filter(|j| j.state == SearchState::Queued)
            .count();
        if queued >= MAX_QUEUED {
            return Err(ApiError::TooManySearches {
                detail: format!(
                    "{queued} searches are already waiting (at most {MAX_QUEUED}); try again when one has finished"
                ),
                retry_after_s: RETRY_AFTER_S,
            });
        }
        Ok(())
    }

    /// Checks the request against the store and queues the search; returns
    /// its id. Nothing is written or started when it is refused.
    pub(crate) async fn start(&self, request: SearchRequest) -> Result<String, ApiError> {
        let params = request.check()?;
        self.room(&lock(&self.jobs))?;
        {
            let (store, base) = (self.store.clone(), params.base.clone());
            tokio::task::spawn_blocking(move || check_base(&store, &base))
                .await
                .map_err(|e| ApiError::Internal(format!("base check failed: {e}")))??;
        }
        let id = format!("s{}", Store::new_id());
        {
            let mut jobs = lock(&self.jobs);
            // Checked again under the lock: requests race to here.
            self.room(&jobs)?;
            jobs.insert(
                id.clone(),
                Job {
                    params: params.clone(),
                    state: SearchState::Queued,
                    created_ms: now_ms(),
                    detail: None,
                    pgid: None,
                    stop_requested: false,
                    stderr: Arc::default(),
                },
            );
        }
        let runner = Runner {
            id: id.clone(),
            params,
            config: self.config.clone(),
            store: self.store.clone(),
            slots: self.slots.clone(),
            jobs: self.jobs.clone(),
        };
        tokio::spawn(runner.run());
        Ok(id)
    }

    /// The status of search `id`: the stored record with what this server
    /// knows of its process. Reads the store: call it off the async workers.
    pub(crate) fn status(&self, id: &str) -> Result<SearchStatus, ApiError> {
        let record = match self.store.searches().load::<Search>(id) {
            Ok(s) => Some(s),
            Err(bop_store::StoreError::NoRecord { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let jobs = lock(&self.jobs);
        match (jobs.get(id), record) {
            (Some(job), record) => Ok(owned_status(id, job, record.as_ref())),
            (None, Some(record)) => Ok(stored_status(&self.store, &record)),
            (None, None) => Err(ApiError::NotFound(format!("no search '{id}'"))),
        }
    }

    /// Every stored search and every queued one, newest first.
    pub(crate) fn list(&self) -> Vec<SearchStatus> {
        let records = self.store.searches().list::<Search>();
        let mut all: Vec<SearchStatus> = {
            let jobs = lock(&self.jobs);
            let mut all: Vec<SearchStatus> = records
                .iter()
                .map(|r| match jobs.get(&r.id) {
                    Some(job) => owned_status(&r.id, job, Some(r)),
                    None => stored_status(&self.store, r),
                })
                .collect();
            for (id, job) in jobs.iter() {
                if !records.iter().any(|r| &r.id == id) {
                    all.push(owned_status(id, job, None));
                }
            }
            all
        };
        all.sort_by(|a, b| {
            b.started_ms
                .cmp(&a.started_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        all
    }

    /// Why run `run` must not be deleted now, if a live search needs it:
    /// it is the base of a queued or running search (which reads its
    /// events and reruns it), or one of the runs a running search records
    /// and reads back (`ID-k`, `ID-base`). Searches this server started,
    /// and stored ones still running (`bop search` on the command line).
    /// Reads the store: call it off the async workers.
    pub(crate) fn holding(&self, run: &str) -> Option<String> {
        let owns = |id: &str| {
            run.strip_prefix(id)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|k| {
                    k == "base" || (!k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
                })
        };
        let why = |id: &str, base: &str| {
            if base == run {
                Some(format!(
                    "run '{run}' is the base of search '{id}', which is still going; stop it or wait for it to end"
                ))
            } else if owns(id) {
                Some(format!(
                    "run '{run}' belongs to search '{id}', which is still going; stop it or wait for it to end"
                ))
            } else {
                None
            }
        };
        let live = |state: SearchState| matches!(state, SearchState::Queued | SearchState::Running);
        let owned: Vec<(String, String)> = lock(&self.jobs)
            .iter()
            .filter(|(_, j)| live(j.state))
            .map(|(id, j)| (id.clone(), j.params.base.clone()))
            .collect();
        if let Some(reason) = owned.iter().find_map(|(id, base)| why(id, base)) {
            return Some(reason);
        }
        self.store
            .searches()
            .list::<Search>()
            .iter()
            .filter(|r| r.ended_ms.is_none())
            .filter(|r| live(stored_status(&self.store, r).state))
            .find_map(|r| why(&r.id, &r.base))
    }

    /// Stops search `id`: a queued one is stopped at once and never starts,
    /// a running one gets
    /// SIGTERM (then SIGKILL after [`KILL_GRACE`], by its runner).
    pub(crate) fn stop(&self, id: &str) -> Result<(), ApiError> {
        let mut jobs = lock(&self.jobs);
        let Some(job) = jobs.get_mut(id) else {
            return Err(ApiError::NotFound(format!(
                "no search '{id}' was started by this server"
            )));
        };
        match job.state {
            SearchState::Queued => {
                // Its runner sees this when it gets a slot, and gives up.
                job.stop_requested = true;
                job.state = SearchState::Stopped;
                job.detail = Some("stopped before it started".into());
                Ok(())
            }
            SearchState::Running => {
                job.stop_requested = true;
                if let Some(pgid) = job.pgid {
                    child::signal_group(pgid, Signal::SIGTERM, true);
                }
                Ok(())
            }
            state => Err(ApiError::Conflict(format!(
                "search '{id}' has already ended ({})",
                state_name(state)
            ))),
        }
    }

    fn running(&self) -> usize {
        lock(&self.jobs)
            .values()
            .filter(|j| j.state == SearchState::Running)
            .count()
    }

    /// Server shutdown: no new searches, queued ones never start, running
    /// ones are stopped (SIGTERM, then SIGKILL), and every record left
    /// without an end is finished as stopped.
    pub(crate) async fn shutdown(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.slots.close();
        let groups: Vec<i32> = {
            let mut jobs = lock(&self.jobs);
            jobs.values_mut()
                .filter_map(|j| {
                    j.stop_requested = true;
                    j.pgid
                })
                .collect()
        };
        for pgid in &groups {
            child::signal_group(*pgid, Signal::SIGTERM, true);
        }
        child::wait_while(|| self.running(), KILL_GRACE + Duration::from_secs(3)).await;
        let ids: Vec<String> = lock(&self.jobs).keys().cloned().collect();
        for id in ids {
            finish_record(&self.store, &id, "bop serve stopped");
        }
    }
}

fn state_name(state: SearchState) -> &'static str {
    match state {
        SearchState::Queued => "queued",
        SearchState::Running => "running",
        SearchState::Done => "done",
        SearchState::Failed => "failed",
        SearchState::Stopped => "stopped",
    }
}

/// The base run must exist and have a readable event log (its graph is
/// what the search derives candidates from).
fn check_base(store: &Store, base: &str) -> Result<(), ApiError> {
    let manifest = store.manifest(base)?;
    if manifest.status == bop_model::RunStatus::Running {
        return Err(ApiError::Conflict(format!(
            "run '{base}' is still being recorded; search it once it has ended"
        )));
    }
    store.events(base)?;
    Ok(())
}

/// The last [`LOG_LINES`] lines of a child's stderr.
fn log_lines(stderr: &Mutex<Vec<u8>>) -> Vec<String> {
    let text = String::from_utf8_lossy(&lock(stderr)).into_owned();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let skip = lines.len().saturating_sub(LOG_LINES);
    lines[skip..].iter().map(|l| l.to_string()).collect()
}

/// The status of a search this server started.
fn owned_status(id: &str, job: &Job, record: Option<&Search>) -> SearchStatus {
    let mut status = match record {
        Some(r) => from_record(r),
        None => SearchStatus {
            id: id.to_string(),
            base: job.params.base.clone(),
            state: SearchState::Queued,
            runs_done: 0,
            budget: job.params.budget,
            bugs: vec![],
            faults: job.params.faults.clone(),
            max_faults: job.params.max_faults,
            baselines: vec![],
            candidates: 0,
            supports: 0,
            started_ms: job.created_ms,
            ended_ms: None,
            ended: None,
            detail: None,
            log: vec![],
        },
    };
    status.state = job.state;
    status.detail = job.detail.clone();
    status.log = log_lines(&job.stderr);
    status
}

fn from_record(r: &Search) -> SearchStatus {
    let state = match (&r.ended_ms, r.ended.as_deref()) {
        (None, _) => SearchState::Running,
        (Some(_), Some(INTERRUPTED)) => SearchState::Stopped,
        (Some(_), Some(e)) if e.starts_with("stopped") => SearchState::Stopped,
        (Some(_), Some(e)) if e.starts_with("failed") => SearchState::Failed,
        (Some(_), _) => SearchState::Done,
    };
    SearchStatus {
        id: r.id.clone(),
        base: r.base.clone(),
        state,
        runs_done: r.runs,
        budget: r.params.budget,
        bugs: r.bugs.clone(),
        faults: r.params.faults.clone(),
        max_faults: r.params.max_faults,
        baselines: r.baselines.clone(),
        candidates: r.candidates,
        supports: r.supports,
        started_ms: r.started_ms,
        ended_ms: r.ended_ms,
        ended: r.ended.clone(),
        detail: None,
        log: vec![],
    }
}

/// The status of a stored search this server did not start (the CLI, or
/// an earlier server). One without an end is running only while one of
/// its reruns is being recorded; otherwise its process is gone.
fn stored_status(store: &Store, r: &Search) -> SearchStatus {
    let mut status = from_record(r);
    if status.state == SearchState::Running {
        let live = (0..=r.runs + r.params.parallel).any(|k| {
            store
                .is_recording(&format!("{}-{k}", r.id))
                .unwrap_or(false)
        });
        if !live {
            status.state = SearchState::Failed;
            status.detail =
                Some("the search's process ended without saving how the search ended".into());
        }
    }
    status
}

/// Gives a stored record whose process is gone an end, so that it is never
/// read as running: `ended` becomes "stopped: WHY" (or "failed: WHY").
fn finish_record(store: &Store, id: &str, why: &str) {
    let Ok(mut record) = store.searches().load::<Search>(id) else {
        return;
    };
    if record.ended_ms.is_none() {
        record.ended_ms = Some(now_ms());
        record.ended = Some(why.to_string());
        if let Err(e) = store.searches().save(&record) {
            tracing::error!(%id, "cannot record the end of the search: {e}");
        }
    }
}

/// One search on its way through the queue.
struct Runner {
    id: String,
    params: Params,
    config: SearchConfig,
    store: Store,
    slots: Arc<Semaphore>,
    jobs: Jobs,
}

impl Runner {
    fn update<T>(&self, f: impl FnOnce(&mut Job) -> T) -> Option<T> {
        lock(&self.jobs).get_mut(&self.id).map(f)
    }

    fn stop_requested(&self) -> bool {
        self.update(|j| j.stop_requested).unwrap_or(true)
    }

    async fn run(self) {
        let slot = self.slots.clone().acquire_owned().await;
        if slot.is_err() || self.stop_requested() {
            self.update(|j| {
                j.state = SearchState::Stopped;
                j.detail
                    .get_or_insert_with(|| "stopped before it started".into());
            });
            return;
        }
        self.update(|j| j.state = SearchState::Running);
        let (code, detail) = self.execute().await;
        let stopped = self.stop_requested();
        let why = if stopped {
            "stopped: a user or the server stopped it"
        } else {
            "failed: bop search ended without saving how the search ended"
        };
        let (store, id, why) = (self.store.clone(), self.id.clone(), why.to_string());
        // Whether bop search saved its own end, before the server adds one.
        let saved_end = tokio::task::spawn_blocking(move || {
            let saved = store
                .searches()
                .load::<Search>(&id)
                .is_ok_and(|r| r.ended_ms.is_some());
            finish_record(&store, &id, &why);
            saved
        })
        .await
        .unwrap_or(false);
        let (state, detail) = outcome(code, detail, stopped, saved_end);
        tracing::info!(id = %self.id, ?code, ?state, "search ended");
        self.update(|j| {
            j.pgid = None;
            j.state = state;
            j.detail = detail;
        });
    }

    /// Runs the child; returns its exit status and a failure sentence when
    /// it could not run or outlived the timeout.
    async fn execute(&self) -> (Option<i32>, Option<String>) {
        let kinds: Vec<&str> = self.params.faults.iter().map(|k| k.as_str()).collect();
        let parallel = self.params.parallel.unwrap_or(self.config.parallel).max(1);
        let root = self.store.root().display().to_string();
        let args = [
            "search",
            &self.params.base,
            "--store",
            &root,
            "--id",
            &self.id,
            "--budget",
            &self.params.budget.to_string(),
            "--faults",
            &kinds.join(","),
            "--max-faults",
            &self.params.max_faults.to_string(),
            "--confirm",
            &self.params.confirm.to_string(),
            "--baselines",
            &self.params.baselines.to_string(),
            "--parallel",
            &parallel.to_string(),
            "--json",
        ];
        let Some(tail) = self.update(|j| j.stderr.clone()) else {
            return (
                None,
                Some("the search was forgotten before it started".into()),
            );
        };
        let running =
            match child::spawn("bop search", &self.config.bop_exe, args, tail, STDERR_TAIL) {
                Ok(running) => running,
                Err(detail) => return (None, Some(detail)),
            };
        let pgid = running.pgid();
        self.update(|j| j.pgid = pgid);
        let timeout = self.config.timeout;
        let ended = running
            .supervise(
                timeout,
                KILL_GRACE,
                || self.stop_requested(),
                || {
                    self.update(|j| j.stop_requested = true);
                },
            )
            .await;
        let detail = ended.error.or_else(|| {
            ended.timed_out.then(|| {
                format!(
                    "bop search did not finish within {} s and was stopped",
                    timeout.as_secs()
                )
            })
        });
        (ended.code, detail)
    }
}

/// How a finished child ended: `bop search` exits 0 (no bug) or 1 (bugs)
/// after saving its end, 2 on an error.
fn outcome(
    code: Option<i32>,
    detail: Option<String>,
    stopped: bool,
    saved_end: bool,
) -> (SearchState, Option<String>) {
    if stopped {
        let detail = detail.unwrap_or_else(|| "stopped on request".into());
        return (SearchState::Stopped, Some(detail));
    }
    if let Some(detail) = detail {
        return (SearchState::Failed, Some(detail));
    }
    match code {
        Some(0 | 1) if saved_end => (SearchState::Done, None),
        Some(0 | 1) => (
            SearchState::Failed,
            Some("bop search exited without saving the search".into()),
        ),
        Some(c) if c > 128 => (
            SearchState::Failed,
            Some(format!("bop search was killed by signal {}", c - 128)),
        ),
        Some(c) => (
            SearchState::Failed,
            Some(format!(
                "bop search failed with exit status {c} (its last lines are in the log)"
            )),
        ),
        None => (
            SearchState::Failed,
            Some("bop search ended without an exit status".into()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_is_done_only_when_bop_search_saved_it() {
        let record = |ended: Option<&str>| Search {
            id: "s".into(),
            base: "b".into(),
            runs: 3,
            bugs: vec![],
            params: bop_model::SearchParams {
                budget: 3,
                faults: vec![FaultKind::Drop],
                max_faults: 1,
                confirm: 3,
                parallel: 1,
                baselines: 1,
            },
            started_ms: 1,
            ended_ms: ended.map(|_| 2),
            baselines: vec![],
            baseline_failures: 0,
            candidates: 0,
            supports: 0,
            ended: ended.map(str::to_string),
        };
        let spent = record(Some("the budget of 3 reruns is spent"));
        assert_eq!(outcome(Some(1), None, false, true).0, SearchState::Done);
        assert_eq!(from_record(&spent).state, SearchState::Done);
        let finished = record(Some("failed: bop search ended without saving"));
        assert_eq!(outcome(Some(0), None, false, false).0, SearchState::Failed);
        assert_eq!(from_record(&finished).state, SearchState::Failed);
        assert_eq!(outcome(Some(2), None, false, true).0, SearchState::Failed);
        assert_eq!(
            outcome(Some(137), None, false, false).0,
            SearchState::Failed
        );
        assert_eq!(outcome(Some(0), None, true, true).0, SearchState::Stopped);
        assert_eq!(
            from_record(&record(Some(INTERRUPTED))).state,
            SearchState::Stopped
        );
        assert_eq!(from_record(&record(None)).state, SearchState::Running);
    }
}
