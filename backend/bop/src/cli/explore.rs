//! `bop explore`: many reruns of one target grouped by trace class, or a
//! sweep of single-fault reruns over a baseline's messages.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};

use super::{Checked, CheckedValue, StoreArg, checked, print_out};
use crate::baseline::Baseline;
use bop_model::{Params, Sweep};
use bop_store::Store;

/// Explore a target: many runs grouped by trace class, or a sweep of
/// single-fault reruns over a baseline's messages.
///
/// RUN_OR_SCENARIO is a recorded run (its target is rerun) or a scenario
/// file (a baseline is recorded first, as ID-base). Ctrl-C stops starting
/// runs and keeps the finished ones. The exploration is stored under
/// STORE/explorations.
#[derive(Args, Debug)]
pub(super) struct ExploreArgs {
    #[command(flatten)]
    store: StoreArg,
    /// A run id or a scenario file.
    run_or_scenario: String,
    /// Id of the exploration (generated when absent); runs are ID-k.
    #[arg(long)]
    id: Option<String>,
    /// Number of runs (class exploration).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Hold each send a random 0..=MS ms (seeded, reproducible).
    #[arg(long, value_name = "MS")]
    jitter: Option<u64>,
    /// Seed of the jitter.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Instead: rerun once per message of the baseline with that one
    /// message dropped (`drop`) or delayed (`delay=MS`, default 500).
    #[arg(long, value_name = "drop|delay[=MS]", value_parser = checked::<SweepArg>())]
    sweep: Option<Checked<SweepArg>>,
    /// Sweep only messages on this channel (repeatable).
    #[arg(long = "channel", value_name = "NAME")]
    channels: Vec<String>,
    /// Sweep at most this many messages.
    #[arg(long, default_value_t = 200)]
    max_runs: usize,
    /// Runs at once (default: number of cores).
    #[arg(long)]
    parallel: Option<usize>,
    /// Record the baseline of a scenario file with every call under
    /// ptrace (its reruns inherit that); a recorded run's reruns always
    /// record the way the run was.
    #[arg(long)]
    no_fast_path: bool,
}

/// The fault a sweep puts on each message in turn.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum SweepKind {
    /// Drop the message.
    Drop,
    /// Delay it: `delay=MS`, or `delay` for 500 ms.
    Delay,
}

/// `--sweep drop|delay[=MS]`.
#[derive(Clone, Copy, Debug)]
struct SweepArg(Sweep);

/// A sweep's delay when `--sweep delay` gives none.
const DEFAULT_DELAY_MS: u64 = 500;

impl CheckedValue for SweepArg {
    fn possible_values() -> Vec<PossibleValue> {
        super::possible_values::<SweepKind>()
    }

    fn parse(text: &str) -> std::result::Result<SweepArg, String> {
        let (kind, ms) = match text.split_once('=') {
            Some((kind, ms)) => (kind, Some(ms)),
            None => (text, None),
        };
        let sweep = match (SweepKind::from_str(kind, false), ms.map(str::parse::<u64>)) {
            (Ok(SweepKind::Drop), None) => Some(Sweep::Drop),
            (Ok(SweepKind::Delay), None) => Some(Sweep::Delay {
                ms: DEFAULT_DELAY_MS,
            }),
            (Ok(SweepKind::Delay), Some(Ok(ms))) => Some(Sweep::Delay { ms }),
            _ => None,
        };
        sweep
            .map(SweepArg)
            .ok_or_else(|| format!("--sweep {text}: use drop, delay or delay=MS"))
    }
}

pub(super) fn run(args: ExploreArgs) -> Result<ExitCode> {
    let store = args.store.open()?;
    let sweep = args.sweep.map(Checked::get).transpose()?.map(|s| s.0);
    if args.runs == 0 || args.max_runs == 0 {
        bail!("--runs and --max-runs must be at least 1");
    }
    let id = args.id.unwrap_or_else(|| format!("x{}", Store::new_id()));
    bop_store::validate_id(&id)?;
    let bop = std::env::current_exe().context("cannot find the bop executable")?;
    let stop = crate::runner::interrupt_flag();
    let base_id = format!("{id}-base");
    let baseline = Baseline::of_run_or_scenario(
        &store,
        &args.run_or_scenario,
        base_id.clone(),
        !args.no_fast_path,
    )?;
    if matches!(baseline, Baseline::Record { .. }) {
        say!("bop: recording the baseline {base_id}");
    }
    let base = baseline.ensure(&store, &|m| say!("bop: {}", super::describe_run(m)))?;
    let parallel = args
        .parallel
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let params = Params {
        base: base.id,
        runs: args.runs,
        jitter_ms: args.jitter,
        seed: args.seed,
        sweep,
        channels: args.channels,
        max_runs: args.max_runs,
        parallel,
    };
    let e = crate::explore::explore(&store, &bop, &id, params, &stop, &|line| {
        say!("bop: {line}")
    })?;
    print_out(&crate::explore::render(&e))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn sweep(text: &str) -> std::result::Result<Sweep, String> {
        SweepArg::parse(text).map(|s| s.0)
    }

    #[test]
    fn sweeps_read_drop_delay_and_delay_ms() {
        assert_eq!(sweep("drop"), Ok(Sweep::Drop));
        assert_eq!(sweep("delay"), Ok(Sweep::Delay { ms: 500 }));
        assert_eq!(sweep("delay=20"), Ok(Sweep::Delay { ms: 20 }));
        for bad in [
            "", "DROP", "drop=5", "delay=", "delay=x", "delay=-1", "jitter",
        ] {
            assert_eq!(
                sweep(bad),
                Err(format!("--sweep {bad}: use drop, delay or delay=MS")),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_bad_sweep_parses_and_is_refused_when_the_exploration_starts() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().to_str().unwrap();
        let args = ["bop", "explore", "r", "--store", store, "--sweep", "nope"];
        let cli = Cli::try_parse_from(args).unwrap();
        let Command::Explore(args) = cli.command else {
            panic!("not explore: {cli:?}");
        };
        let err = run(args).unwrap_err().to_string();
        assert_eq!(err, "--sweep nope: use drop, delay or delay=MS");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "nothing was recorded: {left:?}");
    }
}
