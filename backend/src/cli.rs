//! The command line: one subcommand per verb of DESIGN.md "Interfaces".
//!
//! Exit statuses scripts can rely on: `bop run` exits with the target's
//! status (128+signal if it was killed); when bop itself fails it exits
//! 125 (like `timeout(1)`), and every other subcommand exits 1 on error.
//! Errors are one sentence on stderr, never a backtrace.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::model::{Manifest, Verdict};
use crate::runner::{self, CommandRun};
use crate::store::Store;
use crate::tracer::Stdin;
use crate::tracker::export::{self, Format};

/// bop, the Box of Pain workbench: trace and perturb the communication of
/// unmodified distributed systems.
#[derive(Parser, Debug)]
#[command(name = "bop", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

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

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a command (or a scenario file) under the tracer and record it as a run.
    ///
    /// `bop run -- CMD ARGS...`: the target's stdout and stderr pass through
    /// and are saved in the run; bop exits with the target's exit status
    /// (128+signal if killed). `bop run SCENARIO.toml`: nodes, client and
    /// check as the file says; bop exits 0 for verdict pass, 1 for fail,
    /// 124 for unknown (timeout). 125: bop itself failed.
    Run {
        #[command(flatten)]
        store: StoreArg,
        /// Id of the new run (generated when absent); an existing id is an error.
        #[arg(long)]
        id: Option<String>,
        /// Kill the whole process tree after this many seconds.
        #[arg(long)]
        timeout: Option<f64>,
        /// Keep the first N bytes of each message (shown on hover in the workbench).
        #[arg(long, default_value_t = 0)]
        capture_bytes: usize,
        /// Do not copy the target's output to the terminal.
        #[arg(long, short)]
        quiet: bool,
        /// The command and its arguments (after `--`), or one scenario file.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Print a run's per-process timeline of events.
    Show {
        #[command(flatten)]
        store: StoreArg,
        /// Run id.
        run: String,
    },
    /// List the recorded runs, newest first.
    Runs {
        #[command(flatten)]
        store: StoreArg,
    },
    /// Export a run's causal graph.
    Export {
        #[command(flatten)]
        store: StoreArg,
        /// Run id.
        run: String,
        /// json (the documented contract), dot, shiviz or perfetto.
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Record the bundled demo (a replicated key-value store) as a run.
    Demo {
        #[command(flatten)]
        store: StoreArg,
        /// Id of the new run (generated when absent).
        #[arg(long)]
        id: Option<String>,
    },
    /// Delete a run.
    Delete {
        #[command(flatten)]
        store: StoreArg,
        /// Run id.
        run: String,
    },
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
    let is_run = matches!(cli.command, Command::Run { .. });
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bop: error: {e:#}");
            ExitCode::from(if is_run { 125 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run {
            store,
            id,
            timeout,
            capture_bytes,
            quiet,
            command,
        } => {
            let store = store.open()?;
            if let Some(t) = timeout {
                if !(t > 0.0 && t.is_finite()) {
                    bail!("--timeout must be a positive number of seconds, not {t}");
                }
            }
            if let [file] = command.as_slice() {
                let path = PathBuf::from(file);
                if file.ends_with(".toml") && path.is_file() {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {file}"))?;
                    let outcome = runner::record_scenario(
                        &store,
                        &runner::ScenarioRun {
                            path,
                            text,
                            id,
                            timeout: timeout.map(Duration::from_secs_f64),
                            capture_bytes,
                            passthrough: !quiet,
                            parent: None,
                        },
                    )?;
                    return report_scenario(&outcome.manifest);
                }
            }
            let outcome = runner::record_command(
                &store,
                &CommandRun {
                    argv: command,
                    cwd: std::env::current_dir().context("cannot read the current directory")?,
                    id,
                    timeout: timeout.map(Duration::from_secs_f64),
                    capture_bytes,
                    passthrough: !quiet,
                    stdin: Stdin::Inherit,
                    parent: None,
                },
            )?;
            let m = &outcome.manifest;
            eprintln!(
                "bop: recorded run {} ({} events, {})",
                m.id,
                m.counts.events,
                describe_end(m)
            );
            if let Some(e) = &m.error {
                bail!("tracing failed: {e}");
            }
            Ok(ExitCode::from(
                m.exit_status.unwrap_or(125).clamp(0, 255) as u8
            ))
        }
        Command::Show { store, run } => {
            let store = store.open()?;
            let manifest = store.manifest(&run)?;
            let events = store.events(&run)?;
            print_out(&crate::tracker::show::timeline(&manifest, &events))
        }
        Command::Runs { store } => {
            let store = store.open()?;
            print_out(&runs_table(&store.list()?))
        }
        Command::Export { store, run, format } => {
            let format: Format = format.parse()?;
            let store = store.open()?;
            let manifest = store.manifest(&run)?;
            let events = store.events(&run)?;
            print_out(&export::render(&manifest, &events, format))
        }
        Command::Demo { store, id } => {
            let store = store.open()?;
            let outcome = runner::record_scenario(
                &store,
                &runner::ScenarioRun {
                    path: PathBuf::from("demo-kv.toml"),
                    text: crate::scenario::DEMO_KV.to_string(),
                    id,
                    timeout: None,
                    capture_bytes: 64,
                    passthrough: false,
                    parent: None,
                },
            )?;
            report_scenario(&outcome.manifest)
        }
        Command::Delete { store, run } => {
            store.open()?.delete(&run)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes to stdout; a closed pipe (`bop show | head`) is not an error.
fn print_out(text: &str) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// A scenario's exit status is its verdict: 0 pass, 1 fail, 124 unknown.
fn report_scenario(m: &Manifest) -> Result<ExitCode> {
    eprintln!(
        "bop: recorded run {} ({} events, {}, verdict {:?})",
        m.id,
        m.counts.events,
        describe_end(m),
        m.verdict
    );
    if let Some(e) = &m.error {
        bail!("run {} failed: {e}", m.id);
    }
    Ok(ExitCode::from(match m.verdict {
        Verdict::Pass => 0,
        Verdict::Fail => 1,
        Verdict::Unknown => 124,
    }))
}

fn describe_end(m: &Manifest) -> String {
    use crate::model::EndReason::*;
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
            (crate::model::RunStatus::Running, _) => "running",
            (crate::model::RunStatus::Failed, _) => "failed",
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
