//! `bop search` and `bop searches`: the command-line side of
//! [`crate::search`]. Exit statuses: 0 no bug found, 1 at least one bug,
//! 2 on an error (issue 14's interface, which scripts rely on).

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{StoreArg, print_out};
use crate::baseline::Baseline;
use bop_model::{FaultKind, Search, SearchParams};
use bop_store::Store;

/// Search a target for bugs: fault sets derived from the causal graph
/// (lineage-driven fault injection), tried, confirmed and minimised.
///
/// RUN_OR_SCENARIO is a recorded run or a scenario file (a baseline is
/// recorded first, as ID-base). Exits 0 when no bug was found, 1 when at
/// least one was, 2 on an error. The search is stored under
/// STORE/searches (`bop searches`).
#[derive(Args, Debug)]
pub(super) struct SearchArgs {
    #[command(flatten)]
    store: StoreArg,
    /// A run id or a scenario file.
    run_or_scenario: String,
    /// Id of the search (generated when absent); its runs are ID-k.
    #[arg(long)]
    id: Option<String>,
    /// Reruns at most, baselines included (a failure found within the
    /// budget is still confirmed and minimised).
    #[arg(long, default_value_t = 100)]
    budget: usize,
    /// Fault kinds to try, comma-separated.
    #[arg(long, default_value = "drop,delay,crash,partition,error")]
    faults: String,
    /// Largest number of faults in one rerun.
    #[arg(long, default_value_t = 3)]
    max_faults: usize,
    /// Reruns that confirm a failing fault set (a bug fails in 2 of 3).
    #[arg(long, default_value_t = 3)]
    confirm: usize,
    /// Runs at once (default: number of cores).
    #[arg(long)]
    parallel: Option<usize>,
    /// Plain reruns recorded first.
    #[arg(long, default_value_t = 5)]
    baselines: usize,
    /// Print the search as one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
    /// Record the baseline of a scenario file with every call under
    /// ptrace (its reruns inherit that); a recorded run's reruns always
    /// record the way the run was.
    #[arg(long)]
    no_fast_path: bool,
}

/// List the stored searches, newest first.
#[derive(Args, Debug)]
pub(super) struct SearchesArgs {
    #[command(flatten)]
    store: StoreArg,
}

fn kinds(list: &str) -> Result<Vec<FaultKind>> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match FaultKind::parse(name) {
            Some(k) if !out.contains(&k) => out.push(k),
            Some(_) => {}
            None => bail!("--faults {name}: use drop, delay, crash, partition or error"),
        }
    }
    if out.is_empty() {
        bail!("--faults needs at least one kind");
    }
    Ok(out)
}

/// `bop search`.
pub(super) fn run(a: SearchArgs) -> Result<ExitCode> {
    let faults = kinds(&a.faults)?;
    if a.budget == 0 || a.max_faults == 0 || a.confirm == 0 {
        bail!("--budget, --max-faults and --confirm must be at least 1");
    }
    let store = a.store.open()?;
    let id = a.id.unwrap_or_else(|| format!("s{}", Store::new_id()));
    bop_store::validate_id(&id)?;
    if store.searches().load::<Search>(&id).is_ok() {
        bail!("a search named {id} exists already");
    }
    let bop = std::env::current_exe().context("cannot find the bop executable")?;
    let base_id = format!("{id}-base");
    let baseline =
        Baseline::of_run_or_scenario(&store, &a.run_or_scenario, base_id.clone(), !a.no_fast_path)?;
    if matches!(baseline, Baseline::Record { .. }) {
        say!("bop: recording the baseline {base_id}");
    }
    let base = baseline
        .ensure(&store, &|m| say!("bop: {}", super::describe_run(m)))?
        .id;
    let params = SearchParams {
        budget: a.budget,
        faults,
        max_faults: a.max_faults,
        confirm: a.confirm,
        parallel: a
            .parallel
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        baselines: a.baselines,
    };
    let stop = crate::runner::interrupt_flag();
    let s = crate::search::search(&store, &bop, &id, &base, params, &stop, &|line| {
        say!("bop: {line}")
    })?;
    let text = if a.json {
        serde_json::to_string_pretty(&s)? + "\n"
    } else {
        crate::search::render(&s)
    };
    print_out(&text)?;
    Ok(ExitCode::from(if s.bugs.is_empty() { 0 } else { 1 }))
}

/// `bop searches`.
pub(super) fn list(a: SearchesArgs) -> Result<ExitCode> {
    let store = a.store.open()?;
    print_out(&crate::search::table(&store.searches().list::<Search>()))
}
