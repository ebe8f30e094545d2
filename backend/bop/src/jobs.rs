//! Reruns in child processes, several at once: how explorations (and
//! searches) record many runs of one baseline.
//!
//! Each job is a child `bop rerun` (the same binary), like the server's
//! reruns: a tracer that crashes or hangs takes only its own run down, and
//! runs in parallel need no shared tracer state. A child reports nothing
//! but its run in the store, so a job's result is that run's manifest.
//!
//! Stopping: [`run_jobs`] starts no job once `stop` is set and returns
//! when the running ones have ended; their runs are kept. Running children
//! are not signalled: a Ctrl-C at the terminal reaches them too (they are
//! in our process group), and each saves its run as `interrupted`; a stop
//! set any other way lets them finish.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use bop_injector::FaultPlan;
use bop_model::Manifest;
use bop_store::Store;

/// One child run: the `bop` arguments that record the run `run`.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    /// The id of the run the child records.
    pub(crate) run: String,
    /// `bop`'s arguments.
    pub(crate) args: Vec<String>,
}

impl Job {
    /// `bop rerun -q --no-index BASE --id RUN FAULTS...`, where `faults`
    /// are `bop rerun`'s fault flags (`--drop M`, `--delay M=MS`, ...). A
    /// search or exploration opens few of its reruns, so their window
    /// indexes are left to the server that opens one.
    pub(crate) fn rerun(base: &str, run: &str, faults: Vec<String>) -> Job {
        let mut args = vec![
            "rerun".to_string(),
            "-q".into(),
            "--no-index".into(),
            base.to_string(),
            "--id".into(),
            run.to_string(),
        ];
        args.extend(faults);
        Job {
            run: run.to_string(),
            args,
        }
    }

    /// A rerun of `base` as `run` with `plan`, handed to the child as the
    /// JSON file `file` (what `bop rerun --faults` reads).
    pub(crate) fn rerun_with_plan(
        base: &str,
        run: &str,
        plan: &FaultPlan,
        file: &Path,
    ) -> Result<Job, PlanFileError> {
        let written = serde_json::to_vec(plan)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(file, json));
        written.map_err(|source| PlanFileError {
            path: file.to_path_buf(),
            source,
        })?;
        let faults = vec!["--faults".into(), file.display().to_string()];
        Ok(Job::rerun(base, run, faults))
    }
}

/// A plan file for a child could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub(crate) struct PlanFileError {
    /// The file.
    pub(crate) path: PathBuf,
    /// Why.
    pub(crate) source: std::io::Error,
}

/// A job that ran to its end.
#[derive(Clone, Debug)]
pub(crate) struct Finished {
    /// The run it was to record.
    pub(crate) run: String,
    /// That run's manifest; `None` when the child recorded nothing (it
    /// could not start, or refused its arguments).
    pub(crate) manifest: Option<Manifest>,
}

/// Runs `jobs` in order, `parallel` children at a time, with `BOP_STORE`
/// set to `store` and no stdin or output. Calls `done(k, job)` as each
/// ends (`k`: how many have ended, this one included), from the thread
/// that waited for it. Returns the jobs that ran, in the order they
/// ended; jobs not started because of `stop` are absent.
pub(crate) fn run_jobs(
    bop: &Path,
    store: &Store,
    jobs: Vec<Job>,
    parallel: usize,
    stop: &AtomicBool,
    done: &(dyn Fn(usize, &Finished) + Sync),
) -> Vec<Finished> {
    let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
    let finished = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..parallel.max(1) {
            scope.spawn(|| {
                while let Some(job) = next(&queue, stop) {
                    let f = run_one(bop, store, job);
                    let mut all = lock(&finished);
                    all.push(f.clone());
                    let k = all.len();
                    drop(all);
                    done(k, &f);
                }
            });
        }
    });
    finished
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The next job to start, unless stopped.
fn next(queue: &Mutex<VecDeque<Job>>, stop: &AtomicBool) -> Option<Job> {
    if stop.load(Ordering::SeqCst) {
        return None;
    }
    lock(queue).pop_front()
}

fn run_one(bop: &Path, store: &Store, job: Job) -> Finished {
    let status = std::process::Command::new(bop)
        .args(&job.args)
        .env("BOP_STORE", store.root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    // The exit status is the run's verdict or bop's failure; the manifest
    // says which, when there is one.
    let manifest = status.ok().and_then(|_| store.manifest(&job.run).ok());
    Finished {
        run: job.run,
        manifest,
    }
}

/// A panic in a `done` callback must not lose the other jobs' results.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bop_model::{RunStatus, Target, Verdict};

    /// Jobs run by `/bin/sh` instead of `bop`: a job records its run by
    /// moving a staged manifest into place, except `none*`, which records
    /// nothing.
    fn shell_jobs(store: &Store, runs: &[&str]) -> Vec<Job> {
        runs.iter()
            .map(|run| {
                let manifest = Manifest {
                    ended_ms: Some(1),
                    status: RunStatus::Done,
                    exit_status: Some(0),
                    verdict: Verdict::Pass,
                    ..Manifest::new(
                        *run,
                        Target::Command {
                            argv: vec!["true".into()],
                            cwd: "/".into(),
                        },
                        "true",
                        0,
                    )
                };
                let staged = store.root().join(format!("{run}.staged"));
                std::fs::write(&staged, serde_json::to_vec(&manifest).unwrap()).unwrap();
                let script = if run.starts_with("none") {
                    "true".to_string()
                } else {
                    format!("mkdir \"$BOP_STORE/{run}\" && mv \"$BOP_STORE/{run}.staged\" \"$BOP_STORE/{run}/manifest.json\"")
                };
                Job {
                    run: run.to_string(),
                    args: vec!["-c".into(), script],
                }
            })
            .collect()
    }

    #[test]
    fn every_job_reports_its_run_or_that_it_recorded_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let jobs = shell_jobs(&store, &["a", "none1", "b", "c"]);
        let seen = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        let done = run_jobs(Path::new("/bin/sh"), &store, jobs, 3, &stop, &|k, _| {
            lock(&seen).push(k)
        });
        let mut runs: Vec<(&str, Option<&str>)> = done
            .iter()
            .map(|f| (f.run.as_str(), f.manifest.as_ref().map(|m| m.id.as_str())))
            .collect();
        runs.sort();
        assert_eq!(
            runs,
            [
                ("a", Some("a")),
                ("b", Some("b")),
                ("c", Some("c")),
                ("none1", None)
            ]
        );
        let mut counts = seen.into_inner().unwrap();
        counts.sort();
        assert_eq!(counts, [1, 2, 3, 4], "k counts the jobs ended so far");
    }

    #[test]
    fn a_stop_starts_no_more_jobs_and_keeps_the_finished_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let jobs = shell_jobs(&store, &["a", "b", "c"]);
        let stop = AtomicBool::new(false);
        let done = run_jobs(Path::new("/bin/sh"), &store, jobs, 1, &stop, &|_, _| {
            stop.store(true, Ordering::SeqCst)
        });
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!(done[0].run, "a", "jobs start in order");
        assert!(store.manifest("a").is_ok());
        assert!(store.manifest("b").is_err(), "b never started");
    }

    #[test]
    fn a_rerun_job_hands_its_plan_over_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let plan = FaultPlan {
            faults: vec![bop_injector::Fault::Drop {
                message: "a->b#0/0".into(),
            }],
        };
        let file = dir.path().join("p.json");
        let job = Job::rerun_with_plan("base", "r1", &plan, &file).unwrap();
        assert_eq!(job.run, "r1");
        let file_arg = file.display().to_string();
        assert_eq!(
            job.args,
            [
                "rerun",
                "-q",
                "--no-index",
                "base",
                "--id",
                "r1",
                "--faults",
                file_arg.as_str()
            ]
        );
        let back = FaultPlan::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(back, plan);
        let missing = Job::rerun_with_plan("base", "r1", &plan, &dir.path().join("no/p.json"));
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .starts_with("cannot write ")
        );
    }
}
