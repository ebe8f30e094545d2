//! `bop runs`: the recorded runs as a table, newest first.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::{StoreArg, print_out};
use bop_model::{Manifest, RunStatus, Verdict};

/// List the recorded runs, newest first.
#[derive(Args, Debug)]
pub(super) struct RunsArgs {
    #[command(flatten)]
    store: StoreArg,
}

pub(super) fn run(args: RunsArgs) -> Result<ExitCode> {
    let store = args.store.open()?;
    print_out(&runs_table(&store.list()?))
}

fn runs_table(runs: &[Manifest]) -> String {
    let mut out = format!(
        "{:<24} {:<20} {:>8} {:<8} {:>7} {:<16} {}\n",
        "ID", "STARTED", "SECS", "VERDICT", "EVENTS", "CLASS", "COMMAND"
    );
    for m in runs {
        let started = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + Duration::from_millis(m.started_ms),
        );
        let secs = m.ended_ms.map_or("-".into(), |e| {
            format!("{:.2}", (e.saturating_sub(m.started_ms)) as f64 / 1000.0)
        });
        let verdict = match (m.status, m.verdict) {
            (RunStatus::Running, _) => "running",
            (RunStatus::Failed, _) => "failed",
            (_, Verdict::Pass) => "pass",
            (_, Verdict::Fail) => "fail",
            (_, Verdict::Unknown) => "unknown",
        };
        let class = m.trace_class.as_deref().unwrap_or("-");
        out.push_str(&format!(
            "{:<24} {:<20} {:>8} {:<8} {:>7} {:<16} {}\n",
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
