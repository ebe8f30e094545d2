//! `bop runs`: the recorded runs as a table, newest first, then the
//! damaged run directories (no readable manifest) so they can be seen and
//! deleted. A run left `running` by a recorder that is gone is `abandoned`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::{StoreArg, print_out};
use bop_model::{Manifest, RunStatus, Verdict};
use bop_store::{Damaged, Store};

/// List the recorded runs, newest first, and the damaged run directories.
#[derive(Args, Debug)]
pub(super) struct RunsArgs {
    #[command(flatten)]
    store: StoreArg,
}

pub(super) fn run(args: RunsArgs) -> Result<ExitCode> {
    let store = args.store.open()?;
    let listing = store.scan()?;
    let mut out = runs_table(&store, &listing.runs);
    out.push_str(&damaged_table(&listing.damaged));
    print_out(&out)
}

/// The damaged directories, after the runs: `bop delete ID` removes them.
fn damaged_table(damaged: &[Damaged]) -> String {
    if damaged.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nDAMAGED (bop delete ID removes them)\n");
    for d in damaged {
        out.push_str(&format!("{:<24} {}\n", d.id, d.reason));
    }
    out
}

fn runs_table(store: &Store, runs: &[Manifest]) -> String {
    let mut out = format!(
        "{:<24} {:<20} {:>8} {:<9} {:>7} {:<16} {}\n",
        "ID", "STARTED", "SECS", "VERDICT", "EVENTS", "CLASS", "COMMAND"
    );
    for m in runs {
        let started = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + Duration::from_millis(m.started_ms),
        );
        let secs = m.ended_ms.map_or("-".into(), |e| {
            format!("{:.2}", (e.saturating_sub(m.started_ms)) as f64 / 1000.0)
        });
        let verdict = match (store.status_of(m), m.verdict) {
            (RunStatus::Abandoned, _) => "abandoned",
            (RunStatus::Running, _) => "running",
            (RunStatus::Failed, _) => "failed",
            (_, Verdict::Pass) => "pass",
            (_, Verdict::Fail) => "fail",
            (_, Verdict::Unknown) => "unknown",
        };
        let class = m.trace_class.as_deref().unwrap_or("-");
        out.push_str(&format!(
            "{:<24} {:<20} {:>8} {:<9} {:>7} {:<16} {}\n",
            m.id,
            started.to_string(),
            secs,
            verdict,
            m.counts.events,
            class,
            m.command
        ));
    }
    out
}
