//! `bop show`: a run's per-process timeline, as text.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{StoreArg, print_out};

/// Print a run's per-process timeline of events.
#[derive(Args, Debug)]
pub(super) struct ShowArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Run id.
    run: String,
}

pub(super) fn run(args: ShowArgs) -> Result<ExitCode> {
    let store = args.store.open()?;
    let manifest = store.manifest(&args.run)?;
    let events = store.events(&args.run)?;
    print_out(&bop_tracker::show::timeline(&manifest, &events))
}
