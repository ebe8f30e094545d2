//! Exploration: many runs of one target grouped by trace class, and
//! single-fault sweeps over a baseline's messages ("the tails are long").
//!
//! Every run is recorded by a child `bop` process (`bop rerun BASE ...`),
//! like the server does, so runs are isolated and can go in parallel. An
//! exploration is stored as `STORE/explorations/ID.json` next to its runs.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bop_model::{Class, Exploration, Manifest, Params, Probe, Sweep, Verdict};
use bop_store::{Store, now_ms};

/// Errors of an exploration.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] bop_store::StoreError),
    /// Something else, as a sentence.
    #[error("{0}")]
    Failed(String),
}

/// Runs `jobs` (argument lists for `bop rerun`) with `parallel` children;
/// stops starting new ones when `stop` is set. Calls `done` per finished job.
pub(crate) fn run_jobs(
    bop: &Path,
    store: &Store,
    jobs: Vec<(String, Vec<String>)>,
    parallel: usize,
    stop: &AtomicBool,
    done: &(dyn Fn(&str, Option<Manifest>) + Sync),
) {
    let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
    std::thread::scope(|scope| {
        for _ in 0..parallel.max(1) {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Some((id, args)) = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .pop_front()
                    else {
                        return;
                    };
                    let status = std::process::Command::new(bop)
                        .args(&args)
                        .env("BOP_STORE", store.root())
                        .stdin(std::process::Stdio::null())
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .status();
                    let manifest = status.ok().and_then(|_| store.manifest(&id).ok());
                    done(&id, manifest);
                }
            });
        }
    });
}

/// Explores `params.base`'s target: N reruns grouped by trace class, or a
/// single-fault sweep over its messages. `progress` gets one line per run.
pub fn explore(
    store: &Store,
    bop: &Path,
    id: &str,
    params: Params,
    stop: &AtomicBool,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Exploration, ExploreError> {
    bop_store::validate_id(id)?;
    let base = store.manifest(&params.base)?;
    let base_events = store.events(&params.base)?;
    let mut e = Exploration {
        id: id.to_string(),
        kind: if params.sweep.is_some() {
            "sweep".into()
        } else {
            "classes".into()
        },
        params: params.clone(),
        base_verdict: base.verdict,
        started_ms: now_ms(),
        ended_ms: None,
        complete: false,
        classes: vec![],
        probes: vec![],
    };
    store.explorations().save(&e)?;
    let plans = store.explorations().dir().join(format!("{id}.plans"));
    std::fs::create_dir_all(&plans)
        .map_err(|err| ExploreError::Failed(format!("cannot create {}: {err}", plans.display())))?;
    let rerun = |run: &str, extra: Vec<String>| {
        let mut a = vec![
            "rerun".to_string(),
            "-q".into(),
            params.base.clone(),
            "--id".into(),
            run.to_string(),
        ];
        a.extend(extra);
        a
    };
    let mut jobs = Vec::new();
    let mut probes = Vec::new();
    match params.sweep {
        None => {
            for k in 0..params.runs {
                let run = format!("{id}-{k}");
                let mut extra = vec![];
                if let Some(max_ms) = params.jitter_ms {
                    let plan = bop_injector::FaultPlan {
                        faults: vec![bop_injector::Fault::Jitter {
                            max_ms,
                            seed: params.seed + k as u64,
                        }],
                    };
                    let file = plans.join(format!("{k}.json"));
                    std::fs::write(&file, serde_json::to_vec(&plan).expect("serializes")).map_err(
                        |err| {
                            ExploreError::Failed(format!("cannot write {}: {err}", file.display()))
                        },
                    )?;
                    extra = vec!["--faults".into(), file.display().to_string()];
                }
                jobs.push((run.clone(), rerun(&run, extra)));
            }
        }
        Some(sweep) => {
            let graph = bop_tracker::CausalGraph::build(&base_events);
            for m in graph.messages() {
                let channel = graph.channels()[m.channel].name.clone();
                if !params.channels.is_empty() && !params.channels.contains(&channel) {
                    continue;
                }
                if jobs.len() >= params.max_runs {
                    break;
                }
                let run = format!("{id}-m{}", jobs.len());
                let extra = match sweep {
                    Sweep::Drop => vec!["--drop".to_string(), m.name.clone()],
                    Sweep::Delay { ms } => vec!["--delay".to_string(), format!("{}={ms}", m.name)],
                };
                probes.push(Probe {
                    message: m.name.clone(),
                    channel,
                    run: Some(run.clone()),
                    verdict: None,
                    flipped: false,
                    fired: false,
                });
                jobs.push((run.clone(), rerun(&run, extra)));
            }
        }
    }
    let total = jobs.len();
    let finished: Arc<Mutex<Vec<Manifest>>> = Arc::default();
    run_jobs(bop, store, jobs, params.parallel, stop, &|run, m| {
        let mut f = finished
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let line = match &m {
            Some(m) => format!(
                "[{}/{total}] {run}: {:?}, class {}",
                f.len() + 1,
                m.verdict,
                m.trace_class.as_deref().unwrap_or("-")
            ),
            None => format!("[{}/{total}] {run}: not recorded", f.len() + 1),
        };
        progress(&line);
        if let Some(m) = m {
            f.push(m);
        }
    });
    let finished = std::mem::take(
        &mut *finished
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    e.complete = finished.len() == total && !stop.load(Ordering::SeqCst);
    match params.sweep {
        None => e.classes = classes(store, &finished),
        Some(_) => {
            for p in &mut probes {
                if let Some(m) = finished.iter().find(|m| Some(&m.id) == p.run.as_ref()) {
                    p.verdict = Some(m.verdict);
                    p.fired = m.faults.iter().any(|f| f.fired);
                    // A flip counts only when the fault acted and the run
                    // ended normally (not a timeout or a tracer failure).
                    p.flipped = p.fired
                        && m.status == bop_model::RunStatus::Done
                        && m.verdict != Verdict::Unknown
                        && m.verdict != base.verdict;
                } else {
                    p.run = None;
                }
            }
            e.probes = probes;
        }
    }
    e.ended_ms = Some(now_ms());
    store.explorations().save(&e)?;
    Ok(e)
}

fn structure(store: &Store, run: &str) -> Vec<String> {
    store
        .events(run)
        .map(|ev| bop_tracker::class_structure(&bop_tracker::CausalGraph::build(&ev)))
        .unwrap_or_default()
}

/// Groups runs by trace class, most common first, and says what each class
/// has that the most common one lacks.
fn classes(store: &Store, runs: &[Manifest]) -> Vec<Class> {
    let mut by: BTreeMap<String, Vec<&Manifest>> = BTreeMap::new();
    for m in runs {
        by.entry(m.trace_class.clone().unwrap_or_else(|| "-".into()))
            .or_default()
            .push(m);
    }
    let mut classes: Vec<Class> = by
        .into_iter()
        .map(|(class, mut ms)| {
            ms.sort_by(|a, b| a.id.cmp(&b.id));
            let mut verdicts = BTreeMap::new();
            for m in &ms {
                *verdicts
                    .entry(format!("{:?}", m.verdict).to_lowercase())
                    .or_default() += 1;
            }
            Class {
                class,
                count: ms.len(),
                verdicts,
                representative: ms[0].id.clone(),
                runs: ms.iter().map(|m| m.id.clone()).collect(),
                only_here: vec![],
                missing_here: vec![],
            }
        })
        .collect();
    classes.sort_by(|a, b| b.count.cmp(&a.count).then(a.class.cmp(&b.class)));
    if let Some(common) = classes.first().map(|c| structure(store, &c.representative)) {
        for c in classes.iter_mut().skip(1) {
            let here = structure(store, &c.representative);
            c.only_here = here
                .iter()
                .filter(|l| !common.contains(l))
                .take(8)
                .cloned()
                .collect();
            c.missing_here = common
                .iter()
                .filter(|l| !here.contains(l))
                .take(8)
                .cloned()
                .collect();
        }
    }
    classes
}

/// The report `bop explore` prints.
pub fn render(e: &Exploration) -> String {
    let mut out = format!(
        "exploration {} of run {} ({}{})\n",
        e.id,
        e.params.base,
        e.kind,
        if e.complete { "" } else { ", incomplete" }
    );
    if e.kind == "classes" {
        let total: usize = e.classes.iter().map(|c| c.count).sum();
        out.push_str(&format!(
            "{total} runs, {} trace classes\n\n",
            e.classes.len()
        ));
        for (i, c) in e.classes.iter().enumerate() {
            let bar = "#".repeat((40 * c.count).div_ceil(total.max(1)));
            let verdicts: Vec<String> =
                c.verdicts.iter().map(|(v, n)| format!("{n} {v}")).collect();
            out.push_str(&format!(
                "{:<16} {:>4}  {:<40}  {}  e.g. {}\n",
                c.class,
                c.count,
                bar,
                verdicts.join(", "),
                c.representative
            ));
            if i > 0 {
                for l in &c.only_here {
                    out.push_str(&format!("    + {l}\n"));
                }
                for l in &c.missing_here {
                    out.push_str(&format!("    - {l}\n"));
                }
            }
        }
    } else {
        let flipped: Vec<&Probe> = e.probes.iter().filter(|p| p.flipped).collect();
        out.push_str(&format!(
            "baseline verdict {:?}; {} single-fault reruns; {} flip the verdict\n\n",
            e.base_verdict,
            e.probes.len(),
            flipped.len()
        ));
        let mut groups: BTreeMap<(String, String), Vec<&Probe>> = BTreeMap::new();
        for p in &e.probes {
            let outcome = match (p.run.is_some(), p.fired, p.verdict) {
                (false, _, _) => "not run".to_string(),
                (_, false, _) => "did not fire".to_string(),
                (_, _, Some(v)) if p.flipped => format!("FLIPS to {v:?}"),
                (_, _, Some(v)) => format!("keeps {v:?}"),
                _ => "unknown".into(),
            };
            groups
                .entry((p.channel.clone(), outcome))
                .or_default()
                .push(p);
        }
        for ((channel, outcome), ps) in groups {
            let names: Vec<String> = ps
                .iter()
                .map(|p| format!("{} ({})", p.message, p.run.as_deref().unwrap_or("-")))
                .collect();
            out.push_str(&format!(
                "{channel}: {outcome}\n    {}\n",
                names.join("\n    ")
            ));
        }
    }
    out
}
