//! The command line: one subcommand per verb of DESIGN.md "Interfaces",
//! each in its own module under `cli/` with its own arguments type.
//!
//! Exit statuses scripts can rely on: `bop run`, `rerun` and `demo` exit
//! with the target's status or the scenario's verdict; when bop itself
//! fails they exit 125 (like `timeout(1)`), and a fault plan that cannot
//! run (a bad errno, a name the run cannot have) exits 2 before anything
//! runs. `bop diff` exits 2 (like
//! `diff(1)`), and every other subcommand exits 1 on error. A command line
//! clap cannot parse exits 2. Errors are one sentence on stderr, never a
//! backtrace.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand};

use bop_model::{Manifest, Target, Verdict};
use bop_store::Store;

/// `eprintln!` that never panics: a closed stderr (`bop run … 2>&1 | true`)
/// must not turn the target's exit status into a panic's 101.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod delete;
mod demo;
mod diff;
mod explore;
mod export;
mod rerun;
mod run;
mod runs;
mod search;
mod serve;
mod show;

/// bop, the Box of Pain workbench: trace and perturb the communication of
/// unmodified distributed systems.
#[derive(Parser, Debug)]
#[command(name = "bop", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands, in the order `bop --help` lists them. Each one's help
/// is its arguments type's doc comment.
#[derive(Subcommand, Debug)]
enum Command {
    Run(run::RunArgs),
    Rerun(rerun::RerunArgs),
    Explore(explore::ExploreArgs),
    Diff(diff::DiffArgs),
    Show(show::ShowArgs),
    Runs(runs::RunsArgs),
    Export(export::ExportArgs),
    Serve(serve::ServeArgs),
    Demo(demo::DemoArgs),
    Delete(delete::DeleteArgs),
    Search(search::SearchArgs),
    Searches(search::SearchesArgs),
}

impl Command {
    fn run(self) -> Result<ExitCode> {
        match self {
            Command::Run(args) => run::run(args),
            Command::Rerun(args) => rerun::run(args),
            Command::Explore(args) => explore::run(args),
            Command::Diff(args) => diff::run(args),
            Command::Show(args) => show::run(args),
            Command::Runs(args) => runs::run(args),
            Command::Export(args) => export::run(args),
            Command::Serve(args) => serve::run(args),
            Command::Demo(args) => demo::run(args),
            Command::Delete(args) => delete::run(args),
            Command::Search(args) => search::run(args),
            Command::Searches(args) => search::list(args),
        }
    }

    /// The exit status when the subcommand fails: the statuses of a run
    /// are the target's, so bop's own failure needs one no target uses.
    fn error_status(&self) -> u8 {
        match self {
            Command::Run(_) | Command::Rerun(_) | Command::Demo(_) => 125,
            // diff(1)'s convention; search's 0/1 mean "no bug"/"bugs".
            Command::Diff(_) | Command::Search(_) => 2,
            _ => 1,
        }
    }
}

/// Entry point of the `bop` binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let error_status = cli.command.error_status();
    match cli.command.run() {
        Ok(code) => code,
        Err(e) => {
            say!("bop: error: {}", render_error(&e));
            ExitCode::from(if is_plan_error(&e) { 2 } else { error_status })
        }
    }
}

/// A fault plan that cannot run (`bop run --faults`, `bop rerun`): bad
/// input on the command line, so it exits 2 as a usage error does, never
/// a status a target could have given.
fn is_plan_error(e: &anyhow::Error) -> bool {
    use crate::baseline::BaselineError;
    use crate::runner::RunError;
    e.chain().any(|c| {
        c.is::<bop_injector::PlanError>()
            || matches!(c.downcast_ref::<RunError>(), Some(RunError::Plan(_)))
            || matches!(
                c.downcast_ref::<BaselineError>(),
                Some(BaselineError::Run(RunError::Plan(_)))
            )
    })
}

/// An error and its causes as one line, `outer: cause: cause`, leaving out
/// a cause whose text its parent already shows (the store's I/O errors put
/// their OS error in their own message and also give it as their source).
fn render_error(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut parent = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !parent.is_empty() && parent.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        parent = text;
    }
    out
}

/// `--store`, which every subcommand takes.
#[derive(Args, Debug, Clone)]
struct StoreArg {
    /// Directory holding the runs.
    #[arg(long, env = "BOP_STORE", default_value = "runs")]
    store: PathBuf,
}

impl StoreArg {
    fn open(&self) -> Result<Store> {
        Ok(Store::open(&self.store)?)
    }
}

/// `--timeout SECS` as a duration, or a clear error for a value no timer
/// can hold. Checked after parsing, so it is bop's error (125 for a run).
fn timeout(seconds: Option<f64>) -> Result<Option<Duration>> {
    seconds
        .map(|t| {
            crate::scenario::seconds("--timeout", t).map_err(anyhow::Error::msg)?;
            Ok(Duration::from_secs_f64(t))
        })
        .transpose()
}

/// Writes to stdout; a closed pipe (`bop show | head`) is not an error.
fn print_out(text: &str) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Says what a recorded run did, on stderr, and gives the exit status of
/// `bop run` for it: a command's is the target's (125 when bop failed), a
/// scenario's is its verdict (0 pass, 1 fail, 124 unknown).
fn report_run(m: &Manifest) -> Result<ExitCode> {
    say!("bop: {}", describe_run(m));
    print_faults(m);
    if let (Some(reason), None) = (&m.reason, &m.error) {
        say!("bop: {reason}");
    }
    let scenario = matches!(m.target, Target::Scenario { .. });
    match &m.error {
        Some(e) if scenario => bail!("run {} failed: {e}", m.id),
        Some(e) => bail!("tracing failed: {e}"),
        None if scenario => Ok(ExitCode::from(match m.verdict {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::Unknown => 124,
        })),
        None => Ok(ExitCode::from(
            m.exit_status.unwrap_or(125).clamp(0, 255) as u8
        )),
    }
}

/// `recorded run ID (N events, how it ended[, verdict V])`: a command's
/// verdict is its exit status, so it is not repeated.
fn describe_run(m: &Manifest) -> String {
    let verdict = match m.target {
        Target::Scenario { .. } => format!(", verdict {}", m.verdict),
        Target::Command { .. } => String::new(),
    };
    format!(
        "recorded run {} ({} events, {}{verdict})",
        m.id,
        m.counts.events,
        describe_end(m)
    )
}

/// One line per fault: fired or not, where, what it did.
fn print_faults(m: &Manifest) {
    for r in &m.faults {
        let what = &r.fault;
        match (&r.fired, &r.at) {
            (true, Some(at)) => say!(
                "bop: fault {what} fired at {} (pid {}, tid {}, {} ms): {}",
                at.event.as_deref().unwrap_or(&at.call),
                at.pid,
                at.tid,
                at.at_ms,
                r.effect
            ),
            _ => say!("bop: fault {what}: {}", r.effect),
        }
    }
}

fn describe_end(m: &Manifest) -> String {
    use bop_model::EndReason::*;
    match m.ended_by {
        Some(Timeout) => "timed out, process tree killed".into(),
        Some(Interrupted) => "interrupted, process tree killed".into(),
        Some(TracerError) => "tracer failed".into(),
        _ => format!(
            "exit status {}",
            m.exit_status.map_or("?".into(), |s| s.to_string())
        ),
    }
}

/// A value clap lists in `--help` and completes, but that the subcommand
/// rejects itself: a bad `--format` or `--sweep` is bop's error (exit 1,
/// `bop: error: ...`), as it was before these were typed, not clap's
/// usage error (exit 2).
#[derive(Clone, Debug)]
struct Checked<T>(std::result::Result<T, String>);

impl<T> Checked<T> {
    fn get(self) -> Result<T> {
        self.0.map_err(anyhow::Error::msg)
    }
}

/// How a [`Checked`] value is read: its possible values for `--help`, and
/// the parse with the sentence a bad value gets.
trait CheckedValue: Sized + Clone + Send + Sync + 'static {
    fn possible_values() -> Vec<clap::builder::PossibleValue>;
    fn parse(text: &str) -> std::result::Result<Self, String>;
}

/// The clap value parser of a [`Checked`] value: it never fails.
#[derive(Clone)]
struct CheckedParser<T>(std::marker::PhantomData<T>);

fn checked<T: CheckedValue>() -> CheckedParser<T> {
    CheckedParser(std::marker::PhantomData)
}

impl<T: CheckedValue> clap::builder::TypedValueParser for CheckedParser<T> {
    type Value = Checked<T>;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<Checked<T>, clap::Error> {
        let text = value.to_string_lossy();
        Ok(Checked(T::parse(&text)))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(T::possible_values().into_iter()))
    }
}

/// A [`clap::ValueEnum`]'s values, for [`CheckedValue::possible_values`].
fn possible_values<T: clap::ValueEnum>() -> Vec<clap::builder::PossibleValue> {
    T::value_variants()
        .iter()
        .filter_map(T::to_possible_value)
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    const SUBCOMMANDS: [&str; 10] = [
        "run", "rerun", "explore", "diff", "show", "runs", "export", "serve", "demo", "delete",
    ];

    #[test]
    fn the_command_line_is_consistent_and_lists_every_subcommand() {
        Cli::command().debug_assert();
        let help = Cli::command().render_help().to_string();
        for sub in SUBCOMMANDS {
            assert!(
                help.lines().any(|l| l.trim_start().starts_with(sub)),
                "{sub} missing from:\n{help}"
            );
        }
    }

    #[test]
    fn every_subcommand_has_a_summary_and_a_long_help() {
        for sub in Cli::command().get_subcommands() {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(!about.is_empty(), "{} has no summary", sub.get_name());
        }
        let explore = Cli::command()
            .find_subcommand_mut("explore")
            .map(|c| c.render_long_help().to_string())
            .unwrap();
        assert!(explore.contains("<RUN_OR_SCENARIO>"), "{explore}");
        assert!(
            explore.contains("- delay:"),
            "sweep kinds are listed: {explore}"
        );
    }

    #[test]
    fn failures_exit_with_the_status_of_their_subcommand() {
        let cases = [
            (vec!["run", "--", "true"], 125),
            (vec!["rerun", "r"], 125),
            (vec!["demo"], 125),
            (vec!["diff", "a", "b"], 2),
            (vec!["show", "r"], 1),
            (vec!["explore", "r"], 1),
            (vec!["export", "r"], 1),
            (vec!["delete", "r"], 1),
            (vec!["runs"], 1),
            (vec!["serve"], 1),
        ];
        for (args, status) in cases {
            let cli = Cli::try_parse_from(std::iter::once("bop").chain(args.clone())).unwrap();
            assert_eq!(cli.command.error_status(), status, "{args:?}");
        }
    }
}
