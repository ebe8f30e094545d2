//! `bop run`: record a command or a scenario as a new run, optionally with
//! faults (resolved against a baseline recorded first).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{StoreArg, report_run};
use crate::baseline::{Baseline, FaultyRun, record_faulty};
use crate::runner::RunSpec;

/// Run a command (or a scenario file) under the tracer and record it as a run.
///
/// `bop run -- CMD ARGS...`: the target's stdout and stderr pass through
/// and are saved in the run; bop exits with the target's exit status
/// (128+signal if killed). `bop run SCENARIO.toml`: nodes, client and
/// check as the file says; bop exits 0 for verdict pass, 1 for fail,
/// 124 for unknown (timeout). 125: bop itself failed.
#[derive(Args, Debug)]
pub(super) struct RunArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Id of the new run (generated when absent); an existing id is an error.
    #[arg(long)]
    id: Option<String>,
    /// Kill the whole process tree after this many seconds.
    #[arg(long)]
    timeout: Option<f64>,
    /// Keep the first N bytes of each message (shown on hover in the workbench).
    #[arg(long, default_value_t = 0)]
    capture_bytes: usize,
    /// Do not copy the target's output to the terminal.
    #[arg(long, short)]
    quiet: bool,
    /// Inject these faults (TOML or JSON plan). A plan in logical names
    /// is resolved against a baseline run recorded first (ID-base).
    #[arg(long)]
    faults: Option<PathBuf>,
    /// Stop every call under ptrace: no in-process recording (the fast
    /// path, docs/FASTPATH.md). Reruns of the run do the same.
    #[arg(long)]
    no_fast_path: bool,
    /// The command and its arguments (after `--`), or one scenario file.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub(super) fn run(args: RunArgs) -> Result<ExitCode> {
    let store = args.store.open()?;
    let timeout = super::timeout(args.timeout)?;
    let spec = RunSpec {
        timeout,
        capture_bytes: args.capture_bytes,
        passthrough: !args.quiet,
        fast_path: !args.no_fast_path,
        ..RunSpec::from_command_line(&args.command)?
    };
    let plan = args
        .faults
        .as_deref()
        .map(super::rerun::read_plan)
        .transpose()?;
    // A plan in logical names needs a run whose names it uses: the target
    // is recorded once without faults, then again with them.
    let baseline = Baseline::Record {
        spec: spec.clone(),
        id: args.id.as_ref().map(|i| format!("{i}-base")),
    };
    let faulty = FaultyRun {
        spec,
        id: args.id,
        plan,
    };
    let recorded = record_faulty(&store, baseline, faulty, &|base| {
        say!(
            "bop: recorded baseline {} (verdict {}) to resolve the plan's names",
            base.id,
            base.verdict
        )
    })?;
    report_run(&recorded.run)
}
