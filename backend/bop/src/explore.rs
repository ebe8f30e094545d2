//! Exploration: many runs of one target grouped by trace class, and
//! single-fault sweeps over a baseline's messages ("the tails are long").
//!
//! Every run is recorded by a child `bop rerun BASE ...` (`jobs`), like
//! the server does, so runs are isolated and can go in parallel. The
//! baseline comes first (`baseline`). An exploration is stored as
//! `STORE/explorations/ID.json` next to its runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use bop_injector::{Fault, FaultPlan};
use bop_model::{Class, Exploration, Manifest, Params, Probe, Sweep, Verdict};
use bop_store::{Store, now_ms};

use crate::jobs::{Finished, Job, run_jobs};

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

/// Explores `params.base`'s target: N reruns grouped by trace class, or a
/// single-fault sweep over its messages. `progress` gets one line per run.
/// The exploration is saved when it starts and again with its results,
/// also when `stop` cut it short (then it is not `complete`).
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
    let mut e = started(id, &params, &base);
    store.explorations().save(&e)?;
    let plans = store.explorations().dir().join(format!("{id}.plans"));
    std::fs::create_dir_all(&plans)
        .map_err(|err| ExploreError::Failed(format!("cannot create {}: {err}", plans.display())))?;
    let (jobs, mut probes) = match params.sweep {
        None => (class_jobs(id, &params, &plans)?, vec![]),
        Some(sweep) => sweep_jobs(id, &params, sweep, &base_events),
    };
    let total = jobs.len();
    let finished = run_jobs(bop, store, jobs, params.parallel, stop, &|k, f| {
        progress(&progress_line(k, total, f))
    });
    let recorded: Vec<Manifest> = finished.into_iter().filter_map(|f| f.manifest).collect();
    e.complete = recorded.len() == total && !stop.load(Ordering::SeqCst);
    match params.sweep {
        None => e.classes = classes(store, &recorded),
        Some(_) => {
            judge_probes(&mut probes, &recorded, base.verdict);
            e.probes = probes;
        }
    }
    e.ended_ms = Some(now_ms());
    store.explorations().save(&e)?;
    Ok(e)
}

/// The exploration as saved when it starts: no results yet.
fn started(id: &str, params: &Params, base: &Manifest) -> Exploration {
    Exploration {
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
    }
}

/// Class exploration: `runs` reruns `ID-k`, each with its own jitter seed
/// (`seed + k`) when jitter is asked for, its plan written under `plans`.
fn class_jobs(id: &str, params: &Params, plans: &Path) -> Result<Vec<Job>, ExploreError> {
    (0..params.runs)
        .map(|k| {
            let run = format!("{id}-{k}");
            let Some(max_ms) = params.jitter_ms else {
                return Ok(Job::rerun(&params.base, &run, vec![]));
            };
            let jitter = Fault::Jitter {
                max_ms,
                seed: params.seed + k as u64,
            };
            let plan = FaultPlan {
                faults: vec![jitter],
            };
            let file = plans.join(format!("{k}.json"));
            Job::rerun_with_plan(&params.base, &run, &plan, &file)
                .map_err(|err| ExploreError::Failed(err.to_string()))
        })
        .collect()
}

/// Sweep: one rerun `ID-mK` per message of the baseline (on the chosen
/// channels, at most `max_runs`) with that message dropped or delayed, and
/// the probe that will say what it did.
fn sweep_jobs(
    id: &str,
    params: &Params,
    sweep: Sweep,
    base_events: &[bop_model::Event],
) -> (Vec<Job>, Vec<Probe>) {
    let graph = bop_tracker::CausalGraph::build(base_events);
    let mut jobs = Vec::new();
    let mut probes = Vec::new();
    for m in graph.messages() {
        let channel = graph.channels()[m.channel].name.clone();
        if !params.channels.is_empty() && !params.channels.contains(&channel) {
            continue;
        }
        if jobs.len() >= params.max_runs {
            break;
        }
        let run = format!("{id}-m{}", jobs.len());
        let fault = match sweep {
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
        jobs.push(Job::rerun(&params.base, &run, fault));
    }
    (jobs, probes)
}

/// `[k/total] RUN: VERDICT, class C`, as each run ends.
fn progress_line(k: usize, total: usize, f: &Finished) -> String {
    match &f.manifest {
        Some(m) => format!(
            "[{k}/{total}] {}: {}, class {}",
            f.run,
            m.verdict,
            m.trace_class.as_deref().unwrap_or("-")
        ),
        None => format!("[{k}/{total}] {}: not recorded", f.run),
    }
}

/// Fills each probe from its run; a probe whose run was not recorded (or
/// not started) loses its run.
fn judge_probes(probes: &mut [Probe], recorded: &[Manifest], base_verdict: Verdict) {
    for p in probes {
        let Some(m) = recorded.iter().find(|m| Some(&m.id) == p.run.as_ref()) else {
            p.run = None;
            continue;
        };
        p.verdict = Some(m.verdict);
        p.fired = m.faults.iter().any(|f| f.fired);
        // A flip counts only when the fault acted and the run ended
        // normally (not a timeout or a tracer failure).
        p.flipped = p.fired
            && m.status == bop_model::RunStatus::Done
            && m.verdict != Verdict::Unknown
            && m.verdict != base_verdict;
    }
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
                *verdicts.entry(m.verdict.to_string()).or_default() += 1;
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
    let head = format!(
        "exploration {} of run {} ({}{})\n",
        e.id,
        e.params.base,
        e.kind,
        if e.complete { "" } else { ", incomplete" }
    );
    if e.kind == "classes" {
        head + &render_classes(&e.classes)
    } else {
        head + &render_probes(e)
    }
}

/// A histogram bar per class, and what the rarer ones have that the most
/// common one lacks (+) or the other way round (-).
fn render_classes(classes: &[Class]) -> String {
    let total: usize = classes.iter().map(|c| c.count).sum();
    let mut out = format!("{total} runs, {} trace classes\n\n", classes.len());
    for (i, c) in classes.iter().enumerate() {
        let bar = "#".repeat((40 * c.count).div_ceil(total.max(1)));
        let verdicts: Vec<String> = c.verdicts.iter().map(|(v, n)| format!("{n} {v}")).collect();
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
    out
}

/// A sweep's probes grouped by channel and by what the fault did.
fn render_probes(e: &Exploration) -> String {
    let flipped = e.probes.iter().filter(|p| p.flipped).count();
    let mut out = format!(
        "baseline verdict {}; {} single-fault reruns; {flipped} flip the verdict\n\n",
        e.base_verdict,
        e.probes.len(),
    );
    let mut groups: BTreeMap<(String, String), Vec<&Probe>> = BTreeMap::new();
    for p in &e.probes {
        let effect = match (p.run.is_some(), p.fired, p.verdict) {
            (false, _, _) => "not run".to_string(),
            (_, false, _) => "did not fire".to_string(),
            (_, _, Some(v)) if p.flipped => format!("FLIPS to {v}"),
            (_, _, Some(v)) => format!("keeps {v}"),
            _ => "unknown".into(),
        };
        groups
            .entry((p.channel.clone(), effect))
            .or_default()
            .push(p);
    }
    for ((channel, effect), ps) in groups {
        let names: Vec<String> = ps
            .iter()
            .map(|p| format!("{} ({})", p.message, p.run.as_deref().unwrap_or("-")))
            .collect();
        out.push_str(&format!(
            "{channel}: {effect}\n    {}\n",
            names.join("\n    ")
        ));
    }
    out
}
