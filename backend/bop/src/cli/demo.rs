//! `bop demo`: record the bundled demo scenario (backend/bop/demo/kv.toml).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{StoreArg, report_run};
use crate::runner::{self, NewRun, RunSpec};

/// Record the bundled demo (a replicated key-value store) as a run.
#[derive(Args, Debug)]
pub(super) struct DemoArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Id of the new run (generated when absent).
    #[arg(long)]
    id: Option<String>,
}

pub(super) fn run(args: DemoArgs) -> Result<ExitCode> {
    let store = args.store.open()?;
    let run = NewRun {
        id: args.id,
        ..NewRun::default()
    };
    report_run(&runner::record(&store, &RunSpec::demo(), &run)?)
}
