//! A faulty run and its baseline (DESIGN.md "baseline"): a fault plan is
//! written in the logical names of a plain run of the same target, so that
//! run must exist before the faulty one starts.
//!
//! One way to get there for every subcommand: [`Baseline::ensure`] gives
//! the baseline, recorded now or already in the store, and
//! [`record_faulty`] records a faulty run on top of it. `bop run --faults`
//! records the baseline first (as `ID-base`), `bop rerun RUN` uses RUN;
//! `bop explore` (and `bop search`) ensure one for RUN_OR_SCENARIO and
//! make their faulty runs as child `bop rerun`s of it (`jobs`), which come
//! back here.

use bop_injector::FaultPlan;
use bop_model::Manifest;
use bop_store::{Store, StoreError};

use crate::runner::{self, NewRun, RunError, RunSpec};

/// Errors of recording a baseline and a faulty run.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Recording either run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The store refused (reading a run, removing a baseline).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Ctrl-C came while the baseline was recorded.
    #[error("interrupted after the baseline {0}; the faulty run was not started")]
    Interrupted(String),
}

/// Where a faulty run's logical names come from.
#[derive(Clone, Debug)]
// One per command, never in a collection: boxing would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum Baseline {
    /// A run already in the store (`bop rerun RUN`, `bop explore RUN`).
    Recorded(Manifest),
    /// A plain run of this target, recorded first with this id (generated
    /// when absent) if anything needs its names.
    Record {
        /// The target, recorded without faults.
        spec: RunSpec,
        /// Its id.
        id: Option<String>,
    },
}

impl Baseline {
    /// The baseline's manifest: the recorded run, or a plain run of the
    /// target recorded now (quiet). `recorded` is told about a run
    /// recorded here. A run recorded here is kept whatever its verdict or
    /// end (an interrupted one too): what to do with it is the caller's.
    pub fn ensure(
        self,
        store: &Store,
        recorded: &dyn Fn(&Manifest),
    ) -> Result<Manifest, BaselineError> {
        match self {
            Baseline::Recorded(m) => Ok(m),
            Baseline::Record { spec, id } => {
                let run = NewRun {
                    id,
                    ..NewRun::default()
                };
                let m = runner::record(store, &spec.quiet(), &run)?;
                recorded(&m);
                Ok(m)
            }
        }
    }

    /// RUN_OR_SCENARIO as `bop explore` and `bop search` take it: an
    /// existing file is a target to record as `base_id` (a `*.toml` file is
    /// a scenario, like `bop run FILE`, quiet and without our stdin), and
    /// anything else must be a recorded run. `fast_path` false records a
    /// baseline under ptrace only; a recorded run keeps its own setting, so
    /// asking for no fast path on a run that used it is an error.
    pub fn of_run_or_scenario(
        store: &Store,
        arg: &str,
        base_id: String,
        fast_path: bool,
    ) -> Result<Baseline, BaselineError> {
        if std::path::Path::new(arg).is_file() {
            let mut spec = RunSpec::from_command_line(&[arg.to_string()])?;
            spec.stdin = bop_tracer::Stdin::Null;
            spec.fast_path = fast_path;
            return Ok(Baseline::Record {
                spec,
                id: Some(base_id),
            });
        }
        let m = store.manifest(arg)?;
        if !fast_path && m.fast_path.enabled {
            return Err(RunError::Invalid(format!(
                "--no-fast-path: run {arg} was recorded with the fast path and its reruns \
                 record the same way; record a run with `bop run --no-fast-path` first"
            ))
            .into());
        }
        Ok(Baseline::Recorded(m))
    }
}

/// A run to record in a baseline's names.
#[derive(Clone, Debug)]
pub struct FaultyRun {
    /// The target: the baseline's, with this run's own timeout and output.
    pub spec: RunSpec,
    /// Its id, generated when absent.
    pub id: Option<String>,
    /// Its faults; `None` or an empty plan injects nothing.
    pub plan: Option<FaultPlan>,
}

/// What [`record_faulty`] recorded or used.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The baseline, the faulty run's parent (absent when its plan needs
    /// no names and none was given).
    pub baseline: Option<Manifest>,
    /// The faulty run.
    pub run: Manifest,
}

/// Records `faulty` in the names of `baseline`, recording the baseline
/// first when it is a [`Baseline::Record`] and the plan needs names (a
/// plan of jitter only needs none: then the faulty run has no parent). A
/// [`Baseline::Recorded`] is always the parent, even of a run without
/// faults. `recorded_baseline` is told about a baseline recorded here.
///
/// Ctrl-C during the baseline keeps it and starts no faulty run
/// ([`BaselineError::Interrupted`]). When the plan names something the
/// baseline never did, the faulty run is refused before it starts, and a
/// baseline recorded here is removed again: it was only the means to
/// check the plan.
pub fn record_faulty(
    store: &Store,
    baseline: Baseline,
    faulty: FaultyRun,
    recorded_baseline: &dyn Fn(&Manifest),
) -> Result<Recorded, BaselineError> {
    let plan = faulty.plan.filter(|p| !p.faults.is_empty());
    let is_new = matches!(baseline, Baseline::Record { .. });
    let needs_names = plan.as_ref().is_some_and(|p| !p.needs_no_parent());
    let base = match baseline {
        Baseline::Record { .. } if !needs_names => None,
        baseline => Some(baseline.ensure(store, recorded_baseline)?),
    };
    let recorded_here = base.as_ref().filter(|_| is_new).map(|b| b.id.clone());
    if let Some(id) = &recorded_here {
        if runner::interrupt_flag().load(std::sync::atomic::Ordering::SeqCst) {
            return Err(BaselineError::Interrupted(id.clone()));
        }
    }
    let run = NewRun {
        id: faulty.id,
        parent: base.as_ref().map(|b| b.id.clone()),
        plan,
    };
    match runner::record(store, &faulty.spec, &run) {
        Ok(run) => Ok(Recorded {
            baseline: base,
            run,
        }),
        Err(e @ RunError::Plan(_)) => {
            if let Some(id) = &recorded_here {
                store.delete(id)?;
            }
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bop_injector::Fault;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn ids(store: &Store) -> Vec<String> {
        let mut ids: Vec<String> = store.list().unwrap().into_iter().map(|m| m.id).collect();
        ids.sort();
        ids
    }

    fn true_spec() -> RunSpec {
        RunSpec::from_command_line(&["/bin/true".to_string()]).unwrap()
    }

    fn faulty(id: &str, faults: Vec<Fault>) -> FaultyRun {
        FaultyRun {
            spec: true_spec(),
            id: Some(id.into()),
            plan: Some(FaultPlan { faults }),
        }
    }

    fn record_base(id: &str) -> Baseline {
        Baseline::Record {
            spec: true_spec(),
            id: Some(id.into()),
        }
    }

    #[test]
    fn a_plan_in_logical_names_gets_a_baseline_first() {
        let (_dir, store) = store();
        let told = std::sync::Mutex::new(vec![]);
        // Names the baseline's only process, so it needs the baseline.
        let crash = Fault::Crash {
            process: "true#0".into(),
            after: None,
            after_send: None,
            kill: false,
        };
        let r = record_faulty(
            &store,
            record_base("f-base"),
            faulty("f", vec![crash]),
            &|m| told.lock().unwrap().push(m.id.clone()),
        )
        .unwrap();
        assert_eq!(r.baseline.map(|b| b.id).as_deref(), Some("f-base"));
        assert_eq!(r.run.parent.as_deref(), Some("f-base"));
        assert_eq!(told.into_inner().unwrap(), ["f-base"]);
        assert_eq!(ids(&store), ["f", "f-base"]);
    }

    #[test]
    fn jitter_alone_needs_no_baseline() {
        let (_dir, store) = store();
        let jitter = Fault::Jitter { max_ms: 1, seed: 1 };
        let r = record_faulty(
            &store,
            record_base("j-base"),
            faulty("j", vec![jitter]),
            &|m| panic!("no baseline expected, got {}", m.id),
        )
        .unwrap();
        assert!(r.baseline.is_none());
        assert_eq!(r.run.parent, None);
        assert_eq!(ids(&store), ["j"]);
    }

    #[test]
    fn a_plan_naming_nothing_leaves_no_run_behind() {
        let (_dir, store) = store();
        let crash = Fault::Crash {
            process: "nope".into(),
            after: None,
            after_send: None,
            kill: false,
        };
        let err = record_faulty(
            &store,
            record_base("g-base"),
            faulty("g", vec![crash]),
            &|_| {},
        )
        .unwrap_err();
        assert!(
            matches!(err, BaselineError::Run(RunError::Plan(_))),
            "{err}"
        );
        assert!(ids(&store).is_empty(), "{:?}", ids(&store));
    }

    #[test]
    fn a_recorded_baseline_is_kept_and_is_the_parent_even_without_faults() {
        let (_dir, store) = store();
        let base = Baseline::Record {
            spec: true_spec(),
            id: Some("b".into()),
        }
        .ensure(&store, &|_| {})
        .unwrap();
        let err = record_faulty(
            &store,
            Baseline::Recorded(base.clone()),
            faulty(
                "r",
                vec![Fault::Crash {
                    process: "nope".into(),
                    after: None,
                    after_send: None,
                    kill: false,
                }],
            ),
            &|_| panic!("nothing to record"),
        )
        .unwrap_err();
        assert!(
            matches!(err, BaselineError::Run(RunError::Plan(_))),
            "{err}"
        );
        assert_eq!(ids(&store), ["b"], "a baseline given is never removed");
        let r = record_faulty(
            &store,
            Baseline::Recorded(base),
            faulty("r", vec![]),
            &|_| {},
        )
        .unwrap();
        assert_eq!(r.run.parent.as_deref(), Some("b"));
    }

    #[test]
    fn run_or_scenario_is_a_file_to_record_or_a_run() {
        let (dir, store) = store();
        let file = dir.path().join("s.toml");
        std::fs::write(&file, "[client]\ncommand = [\"true\"]\n").unwrap();
        let b = Baseline::of_run_or_scenario(&store, file.to_str().unwrap(), "x-base".into(), true);
        match b.unwrap() {
            Baseline::Record { spec, id } => {
                assert_eq!(id.as_deref(), Some("x-base"));
                assert!(matches!(spec.launch, runner::Launch::Scenario { .. }));
            }
            other => panic!("{other:?}"),
        }
        let missing = Baseline::of_run_or_scenario(&store, "nope", "x-base".into(), true);
        let err = missing.unwrap_err().to_string();
        assert!(err.starts_with("no run 'nope'"), "{err}");
    }
}
