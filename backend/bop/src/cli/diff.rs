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
    let ma = store.manifest(&args.a)?;
    // B's log is parsed on a second thread while A's is (a second or more
    // each at 10^6 events); errors are reported in the order they were
    // when both were read one after the other.
    let (ea, b) = std::thread::scope(|s| {
        let b = s.spawn(|| {
            Ok::<_, bop_store::StoreError>((store.manifest(&args.b)?, store.events(&args.b)?))
        });
        let ea = store.events(&args.a);
        (
            ea,
            b.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
        )
    });
    let ea = ea?;
    let (mb, eb) = b?;
    let c = bop_tracker::compare::compare((&ma, &ea), (&mb, &eb));
    let text = if args.json {
        serde_json::to_string_pretty(&c)? + "\n"
    } else {
        bop_tracker::compare::render_text(&c)
    };
    print_out(&text)?;
    Ok(ExitCode::from(if c.is_empty() { 0 } else { 1 }))
}
