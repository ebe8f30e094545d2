//! `bop rerun`: record a recorded run's target again, with faults written
//! in its logical names (from a plan file and/or shorthand flags).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::{StoreArg, report_run};
use crate::baseline::{Baseline, FaultyRun, record_faulty};
use crate::runner::RunSpec;
use bop_injector::{Fault, FaultPlan, Ms, PlanError};

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
    /// Fail an event with an errno: EVENT=ERRNO.
    #[arg(long, value_name = "EVENT=ERRNO")]
    error: Vec<String>,
    /// Crash a process (optionally after an event): PROCESS[@EVENT].
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
    let faulty = FaultyRun {
        spec,
        id: args.id,
        plan: Some(plan),
    };
    let recorded = record_faulty(&store, Baseline::Recorded(parent), faulty, &|_| {})?;
    report_run(&recorded.run)
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
            let (event, errno) = e
                .rsplit_once('=')
                .ok_or_else(|| PlanError(format!("--error {e}: use EVENT=ERRNO")))?;
            plan.faults.push(Fault::Error {
                event: Some(event.to_string()),
                connect: None,
                send: None,
                receive: None,
                process: None,
                call: None,
                channel: None,
                nth: None,
                errno: errno.to_string(),
            });
        }
        for c in &self.crash {
            let (process, after) = match c.split_once('@') {
                Some((p, e)) => (p.to_string(), Some(e.to_string())),
                None => (c.clone(), None),
            };
            let kill = self.kill;
            plan.faults.push(Fault::Crash {
                process,
                after,
                after_send: None,
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
