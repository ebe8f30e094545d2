//! `bop rerun`: record a recorded run's target again, with faults written
//! in its logical names (from a plan file and/or shorthand flags).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::{StoreArg, report_run};
use crate::baseline::{Baseline, FaultyRun, record_faulty};
use crate::runner::RunSpec;
use bop_injector::{ErrorCall, Fault, FaultPlan, Ms, PlanError};

/// Rerun a recorded run's target with faults, written in its logical names.
///
/// The new run records its parent and its fault plan, and for each fault
/// whether and where it fired. Exit status as for `bop run`.
#[derive(Args, Debug)]
pub(super) struct RerunArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The run to rerun (its command or scenario is reused).
    run: String,
    /// Id of the new run (generated when absent).
    #[arg(long)]
    id: Option<String>,
    /// Kill the whole tree after this many seconds (default: the
    /// scenario's timeout, or 60 s for a command).
    #[arg(long)]
    timeout: Option<f64>,
    #[command(flatten)]
    faults: FaultArgs,
    /// Do not copy the target's output to the terminal.
    #[arg(long, short)]
    quiet: bool,
    /// Stop every call under ptrace even if RUN used the fast path (a
    /// rerun otherwise records the way RUN was recorded).
    #[arg(long)]
    no_fast_path: bool,
    /// Do not write the run's window index now; `bop serve` writes it when
    /// the run is first opened (searches and explorations rerun many times
    /// and open few of their reruns).
    #[arg(long)]
    no_index: bool,
}

/// The faults of a rerun: a plan file, plus one flag per fault.
#[derive(Args, Debug)]
struct FaultArgs {
    /// A fault plan file (TOML or JSON).
    #[arg(long)]
    faults: Option<PathBuf>,
    /// Delay a message: MESSAGE=MS or MESSAGE=inf.
    #[arg(long, value_name = "MESSAGE=MS")]
    delay: Vec<String>,
    /// Drop a message (and, on a stream, every later one that way).
    #[arg(long, value_name = "MESSAGE")]
    drop: Vec<String>,
    /// Fail a call with an errno: EVENT=ERRNO, or the call named by a
    /// message or a channel, which stays the same whichever thread makes
    /// it: send:MESSAGE=ERRNO, receive:MESSAGE=ERRNO (its first receive),
    /// connect:CHANNEL=ERRNO.
    #[arg(long, value_name = "EVENT=ERRNO")]
    error: Vec<String>,
    /// Crash a process (optionally after an event, or after the send of a
    /// message): PROCESS[@EVENT] or PROCESS@MESSAGE.
    #[arg(long, value_name = "PROCESS[@EVENT]")]
    crash: Vec<String>,
    /// Crashes kill (SIGKILL) instead of silencing.
    #[arg(long)]
    kill: bool,
}

pub(super) fn run(args: RerunArgs) -> Result<ExitCode> {
    let store = args.store.open()?;
    let parent = store.manifest(&args.run)?;
    let plan = args.faults.plan()?;
    let mut spec = RunSpec::rerun_of(&parent);
    if let Some(t) = super::timeout(args.timeout)? {
        spec.timeout = Some(t);
    }
    spec.passthrough = !args.quiet;
    spec.fast_path &= !args.no_fast_path;
    spec.index = !args.no_index;
    let faulty = FaultyRun {
        spec,
        id: args.id,
        plan: Some(plan),
    };
    let recorded = record_faulty(&store, Baseline::Recorded(parent), faulty, &|_| {})?;
    report_run(&recorded.run)
}

/// A message name ends in `/N` or `/rN`; an event name in `/N:CALL`.
fn is_message_name(name: &str) -> bool {
    name.rsplit_once('/').is_some_and(|(_, n)| {
        let n = n.strip_prefix('r').unwrap_or(n);
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    })
}

impl FaultArgs {
    /// The plan file's faults, then the flags' in the order: delays, drops,
    /// errors, crashes; validated.
    fn plan(&self) -> Result<FaultPlan> {
        let mut plan = match &self.faults {
            Some(f) => read_plan(f)?,
            None => FaultPlan::default(),
        };
        for d in &self.delay {
            let (message, ms) = d
                .rsplit_once('=')
                .ok_or_else(|| PlanError(format!("--delay {d}: use MESSAGE=MS or MESSAGE=inf")))?;
            let ms = match ms.parse::<u64>() {
                Ok(n) => Ms::N(n),
                Err(_) => Ms::Word(ms.to_string()),
            };
            let message = message.to_string();
            plan.faults.push(Fault::Delay { message, ms });
        }
        for m in &self.drop {
            plan.faults.push(Fault::Drop { message: m.clone() });
        }
        for e in &self.error {
            let (call, errno) = e
                .rsplit_once('=')
                .ok_or_else(|| PlanError(format!("--error {e}: use EVENT=ERRNO")))?;
            let on = if let Some(c) = call.strip_prefix("connect:") {
                ErrorCall::Connect(c.to_string())
            } else if let Some(m) = call.strip_prefix("send:") {
                ErrorCall::Send(m.to_string())
            } else if let Some(m) = call.strip_prefix("receive:") {
                ErrorCall::Receive(m.to_string())
            } else {
                ErrorCall::Event(call.to_string())
            };
            plan.faults.push(Fault::error_on(on, errno));
        }
        for c in &self.crash {
            let (process, after) = match c.split_once('@') {
                Some((p, e)) => (p.to_string(), Some(e.to_string())),
                None => (c.clone(), None),
            };
            let (after, after_send) = match after {
                Some(m) if is_message_name(&m) => (None, Some(m)),
                other => (other, None),
            };
            let kill = self.kill;
            plan.faults.push(Fault::Crash {
                process,
                after,
                after_send,
                kill,
            });
        }
        plan.validate()?;
        Ok(plan)
    }
}

/// A fault plan file (TOML or JSON), validated.
pub(super) fn read_plan(file: &Path) -> Result<FaultPlan> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let plan = FaultPlan::parse(&text).with_context(|| format!("in {}", file.display()))?;
    plan.validate()?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_name_calls_by_events_messages_and_channels() {
        let args = FaultArgs {
            faults: None,
            delay: vec![],
            drop: vec![],
            error: [
                "client:t0/5:connect=ECONNREFUSED",
                "connect:client->primary#1=ECONNREFUSED",
                "send:primary->replica#0/2=EPIPE",
                "receive:primary->replica#0/r2=ECONNRESET",
            ]
            .map(String::from)
            .into(),
            crash: [
                "primary@primary:t1/3:sendto",
                "replica@primary->replica#0/r0",
            ]
            .map(String::from)
            .into(),
            kill: false,
        };
        let lines: Vec<String> = args
            .plan()
            .unwrap()
            .faults
            .iter()
            .map(Fault::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "error ECONNREFUSED on client:t0/5:connect",
                "error ECONNREFUSED on the connect of client->primary#1",
                "error EPIPE on the send of primary->replica#0/2",
                "error ECONNRESET on the first receive of primary->replica#0/r2",
                "crash primary after primary:t1/3:sendto",
                "crash replica after the send of primary->replica#0/r0",
            ]
        );
    }
}
