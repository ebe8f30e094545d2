//! `bop delete`: remove a run from the store.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::StoreArg;

/// Delete a run.
#[derive(Args, Debug)]
pub(super) struct DeleteArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Run id.
    run: String,
}

pub(super) fn run(args: DeleteArgs) -> Result<ExitCode> {
    args.store.open()?.delete(&args.run)?;
    Ok(ExitCode::SUCCESS)
}
