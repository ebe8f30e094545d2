//! `bop diff`: compare two runs by logical names (docs/COMPARE.md).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{StoreArg, print_out};

/// Compare two runs by logical names: what differs, and the first
/// divergence in A's causal order.
///
/// Exits 0 when the runs match, 1 when they differ, 2 on error (like diff(1)).
#[derive(Args, Debug)]
pub(super) struct DiffArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Run A (e.g. the parent).
    a: String,
    /// Run B (e.g. the rerun).
    b: String,
    /// Print the comparison as JSON (docs/COMPARE.md).
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: DiffArgs) -> Result<ExitCode> {
    let store = args.store.open()?;
    let (ma, ea) = (store.manifest(&args.a)?, store.events(&args.a)?);
    let (mb, eb) = (store.manifest(&args.b)?, store.events(&args.b)?);
    let c = bop_tracker::compare::compare((&ma, &ea), (&mb, &eb));
    let text = if args.json {
        serde_json::to_string_pretty(&c)? + "\n"
    } else {
        bop_tracker::compare::render_text(&c)
    };
    print_out(&text)?;
    Ok(ExitCode::from(if c.is_empty() { 0 } else { 1 }))
}
