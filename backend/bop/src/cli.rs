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

use crate::runner::{self, CommandRun};
use bop_injector::{Fault, FaultPlan, Ms};
use bop_model::{Manifest, Verdict};
use bop_store::Store;
use bop_tracer::Stdin;
use bop_tracker::export::{self, Format};

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
        /// Inject these faults (TOML or JSON plan). A plan in logical names
        /// is resolved against a baseline run recorded first (ID-base).
        #[arg(long)]
        faults: Option<PathBuf>,
        /// The command and its arguments (after `--`), or one scenario file.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Rerun a recorded run's target with faults, written in its logical names.
    ///
    /// The new run records its parent and its fault plan, and for each fault
    /// whether and where it fired. Exit status as for `bop run`.
    Rerun {
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
        /// Do not copy the target's output to the terminal.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Explore a target: many runs grouped by trace class, or a sweep of
    /// single-fault reruns over a baseline's messages.
    ///
    /// TARGET is a recorded run (its target is rerun) or a scenario file (a
    /// baseline is recorded first). Ctrl-C stops starting runs and keeps
    /// the finished ones. The exploration is stored under STORE/explorations.
    Explore {
        #[command(flatten)]
        store: StoreArg,
        /// A run id or a scenario file.
        target: String,
        /// Id of the exploration (generated when absent); runs are ID-k.
        #[arg(long)]
        id: Option<String>,
        /// Number of runs (class exploration).
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Hold each send a random 0..=MS ms (seeded, reproducible).
        #[arg(long, value_name = "MS")]
        jitter: Option<u64>,
        /// Seed of the jitter.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Instead: rerun once per message of the baseline with that one
        /// message dropped (`drop`) or delayed (`delay=MS`, default 500).
        #[arg(long, value_name = "drop|delay[=MS]")]
        sweep: Option<String>,
        /// Sweep only messages on this channel (repeatable).
        #[arg(long = "channel", value_name = "NAME")]
        channels: Vec<String>,
        /// Sweep at most this many messages.
        #[arg(long, default_value_t = 200)]
        max_runs: usize,
        /// Runs at once (default: number of cores).
        #[arg(long)]
        parallel: Option<usize>,
    },
    /// Search a target for bugs: fault sets derived from the causal graph
    /// (lineage-driven), confirmed by reruns and minimised.
    ///
    /// Exits 0 when no bug was found, 1 when at least one was, 2 on error.
    /// The search is stored under STORE/searches (`bop searches`).
    Search(crate::cli_search::SearchArgs),
    /// List the stored searches, newest first.
    Searches(crate::cli_search::SearchesArgs),
    /// Compare two runs by logical names: what differs, and the first
    /// divergence in A's causal order.
    ///
    /// Exits 0 when the runs match, 1 when they differ, 2 on error (like diff(1)).
    Diff {
        #[command(flatten)]
        store: StoreArg,
        /// Run A (e.g. the parent).
        a: String,
        /// Run B (e.g. the rerun).
        b: String,
        /// Print the comparison as JSON (docs/COMPARE.md).
        #[arg(long)]
        json: bool,
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
    /// Serve the workbench (JSON API and pages) on 127.0.0.1.
    Serve {
        #[command(flatten)]
        store: StoreArg,
        /// Address to listen on (port 0 picks a free one; the URL is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Directory of the built frontend (default: the source tree's static/).
        #[arg(long = "static")]
        static_dir: Option<PathBuf>,
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
    // Like diff(1), these exit 0 or 1 with an answer, 2 on an error.
    let is_diff = matches!(cli.command, Command::Diff { .. } | Command::Search(_));
    let is_run = matches!(
        cli.command,
        Command::Run { .. } | Command::Rerun { .. } | Command::Demo { .. }
    );
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bop: error: {e:#}");
            ExitCode::from(if is_run {
                125
            } else if is_diff {
                2
            } else {
                1
            })
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
            faults,
            command,
        } => {
            let store = store.open()?;
            if let Some(t) = timeout {
                crate::scenario::seconds("--timeout", t).map_err(anyhow::Error::msg)?;
            }
            let scenario = match command.as_slice() {
                [file] if file.ends_with(".toml") && std::path::Path::new(file).is_file() => {
                    Some((
                        PathBuf::from(file),
                        std::fs::read_to_string(file)
                            .with_context(|| format!("cannot read {file}"))?,
                    ))
                }
                _ => None,
            };
            let cwd = std::env::current_dir().context("cannot read the current directory")?;
            let record = |id: Option<String>,
                          parent: Option<String>,
                          plan: Option<FaultPlan>,
                          passthrough: bool| {
                let timeout = timeout.map(Duration::from_secs_f64);
                match &scenario {
                    Some((path, text)) => runner::record_scenario(
                        &store,
                        &runner::ScenarioRun {
                            path: path.clone(),
                            text: text.clone(),
                            id,
                            timeout,
                            capture_bytes,
                            passthrough,
                            parent,
                            plan,
                        },
                    ),
                    None => runner::record_command(
                        &store,
                        &CommandRun {
                            argv: command.clone(),
                            cwd: cwd.clone(),
                            id,
                            timeout,
                            capture_bytes,
                            passthrough,
                            stdin: Stdin::Inherit,
                            parent,
                            plan,
                        },
                    ),
                }
            };
            let plan = faults
                .as_deref()
                .map(|f| build_plan(Some(f), &[], &[], &[], &[], false))
                .transpose()?;
            // A plan in logical names needs a run whose names it uses: record
            // the target once without faults, then again with them.
            let parent = match &plan {
                Some(p) if !p.needs_no_parent() => {
                    let base = record(id.as_ref().map(|i| format!("{i}-base")), None, None, false)?
                        .manifest;
                    eprintln!(
                        "bop: recorded baseline {} (verdict {:?}) to resolve the plan's names",
                        base.id, base.verdict
                    );
                    if runner::interrupt_flag().load(std::sync::atomic::Ordering::SeqCst) {
                        bail!(
                            "interrupted after the baseline {}; the faulty run was not started",
                            base.id
                        );
                    }
                    Some(base.id)
                }
                _ => None,
            };
            let m = match record(id, parent.clone(), plan, !quiet) {
                Ok(o) => o.manifest,
                Err(e @ runner::RunError::Plan(_)) => {
                    // The plan names something the target never does: the
                    // baseline was only a means to check that; remove it.
                    if let Some(base) = &parent {
                        store.delete(base)?;
                    }
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            };
            if scenario.is_some() {
                report_scenario(&m)
            } else {
                report_command(&m)
            }
        }
        Command::Rerun {
            store,
            run,
            id,
            timeout,
            faults,
            delay,
            drop,
            error,
            crash,
            kill,
            quiet,
        } => {
            let store = store.open()?;
            let parent = store.manifest(&run)?;
            let plan = build_plan(faults.as_deref(), &delay, &drop, &error, &crash, kill)?;
            if let Some(t) = timeout {
                crate::scenario::seconds("--timeout", t).map_err(anyhow::Error::msg)?;
            }
            let timeout = timeout.map(Duration::from_secs_f64);
            match parent.target {
                bop_model::Target::Command { argv, cwd } => {
                    let outcome = runner::record_command(
                        &store,
                        &CommandRun {
                            argv,
                            cwd: PathBuf::from(cwd),
                            id,
                            timeout: timeout.or(Some(Duration::from_secs(60))),
                            capture_bytes: parent.capture_bytes,
                            passthrough: !quiet,
                            stdin: Stdin::Null,
                            parent: Some(parent.id.clone()),
                            plan: (!plan.faults.is_empty()).then_some(plan),
                        },
                    )?;
                    report_command(&outcome.manifest)
                }
                bop_model::Target::Scenario { path, text, cwd } => {
                    let name = std::path::Path::new(&path)
                        .file_name()
                        .map(PathBuf::from)
                        .unwrap_or("scenario.toml".into());
                    let outcome = runner::record_scenario(
                        &store,
                        &runner::ScenarioRun {
                            path: PathBuf::from(cwd).join(name),
                            text,
                            id,
                            timeout,
                            capture_bytes: parent.capture_bytes,
                            passthrough: !quiet,
                            parent: Some(parent.id.clone()),
                            plan: (!plan.faults.is_empty()).then_some(plan),
                        },
                    )?;
                    report_scenario(&outcome.manifest)
                }
            }
        }
        Command::Explore {
            store,
            target,
            id,
            runs,
            jitter,
            seed,
            sweep,
            channels,
            max_runs,
            parallel,
        } => {
            let store = store.open()?;
            let sweep = match sweep.as_deref() {
                None => None,
                Some("drop") => Some(bop_model::Sweep::Drop),
                Some("delay") => Some(bop_model::Sweep::Delay { ms: 500 }),
                Some(s) => match s.strip_prefix("delay=").map(str::parse::<u64>) {
                    Some(Ok(ms)) => Some(bop_model::Sweep::Delay { ms }),
                    _ => bail!("--sweep {s}: use drop, delay or delay=MS"),
                },
            };
            if runs == 0 || max_runs == 0 {
                bail!("--runs and --max-runs must be at least 1");
            }
            let id = id.unwrap_or_else(|| format!("x{}", Store::new_id()));
            bop_store::validate_id(&id)?;
            let bop = std::env::current_exe().context("cannot find the bop executable")?;
            let stop = runner::interrupt_flag();
            let base = if std::path::Path::new(&target).is_file() {
                let base = format!("{id}-base");
                eprintln!("bop: recording the baseline {base}");
                let status = std::process::Command::new(&bop)
                    .args(["run", "-q", "--id", &base, &target])
                    .env("BOP_STORE", store.root())
                    .stdin(std::process::Stdio::null())
                    .status()?;
                store
                    .manifest(&base)
                    .with_context(|| format!("the baseline was not recorded ({status})"))?;
                base
            } else {
                store.manifest(&target)?;
                target
            };
            let parallel = parallel
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            let params = bop_model::Params {
                base,
                runs,
                jitter_ms: jitter,
                seed,
                sweep,
                channels,
                max_runs,
                parallel,
            };
            let e = crate::explore::explore(&store, &bop, &id, params, &stop, &|line| {
                eprintln!("bop: {line}")
            })?;
            print_out(&crate::explore::render(&e))
        }
        Command::Search(args) => crate::cli_search::search(args),
        Command::Searches(args) => crate::cli_search::searches(args),
        Command::Diff { store, a, b, json } => {
            let store = store.open()?;
            let (ma, ea) = (store.manifest(&a)?, store.events(&a)?);
            let (mb, eb) = (store.manifest(&b)?, store.events(&b)?);
            let c = bop_tracker::compare::compare((&ma, &ea), (&mb, &eb));
            let text = if json {
                serde_json::to_string_pretty(&c)? + "\n"
            } else {
                bop_tracker::compare::render_text(&c)
            };
            print_out(&text)?;
            Ok(ExitCode::from(if c.is_empty() { 0 } else { 1 }))
        }
        Command::Show { store, run } => {
            let store = store.open()?;
            let manifest = store.manifest(&run)?;
            let events = store.events(&run)?;
            print_out(&bop_tracker::show::timeline(&manifest, &events))
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
        Command::Serve {
            store,
            addr,
            static_dir,
        } => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("BOP_LOG")
                        .unwrap_or_else(|_| "bop=info,tower_http=warn".into()),
                )
                .with_writer(std::io::stderr)
                .try_init();
            let store_dir = store.open()?.root().to_path_buf();
            bop_server::serve(bop_server::ServeConfig {
                store: store_dir,
                addr,
                static_dir,
                bop_exe: std::env::current_exe().context("cannot find the bop executable")?,
            })?;
            Ok(ExitCode::SUCCESS)
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
                    plan: None,
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

/// A plan from a file and/or the shorthand flags of `bop rerun`.
fn build_plan(
    file: Option<&std::path::Path>,
    delay: &[String],
    drop: &[String],
    error: &[String],
    crash: &[String],
    kill: bool,
) -> Result<FaultPlan> {
    let mut plan = match file {
        Some(f) => FaultPlan::parse(
            &std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
        )
        .with_context(|| format!("in {}", f.display()))?,
        None => FaultPlan::default(),
    };
    for d in delay {
        let (message, ms) = d
            .rsplit_once('=')
            .with_context(|| format!("--delay {d}: use MESSAGE=MS or MESSAGE=inf"))?;
        let ms = match ms.parse::<u64>() {
            Ok(n) => Ms::N(n),
            Err(_) => Ms::Word(ms.to_string()),
        };
        plan.faults.push(Fault::Delay {
            message: message.to_string(),
            ms,
        });
    }
    for m in drop {
        plan.faults.push(Fault::Drop { message: m.clone() });
    }
    for e in error {
        let (event, errno) = e
            .rsplit_once('=')
            .with_context(|| format!("--error {e}: use EVENT=ERRNO"))?;
        plan.faults.push(Fault::Error {
            event: Some(event.to_string()),
            process: None,
            call: None,
            channel: None,
            nth: None,
            errno: errno.to_string(),
        });
    }
    for c in crash {
        let (process, after) = match c.split_once('@') {
            Some((p, e)) => (p.to_string(), Some(e.to_string())),
            None => (c.clone(), None),
        };
        plan.faults.push(Fault::Crash {
            process,
            after,
            kill,
        });
    }
    plan.validate()?;
    Ok(plan)
}

/// One line per fault: fired or not, where, what it did.
fn print_faults(m: &Manifest) {
    for r in &m.faults {
        let what = &r.fault;
        match (&r.fired, &r.at) {
            (true, Some(at)) => eprintln!(
                "bop: fault {what} fired at {} (pid {}, tid {}, {} ms): {}",
                at.event.as_deref().unwrap_or(&at.call),
                at.pid,
                at.tid,
                at.at_ms,
                r.effect
            ),
            _ => eprintln!("bop: fault {what}: {}", r.effect),
        }
    }
}

/// A command run's exit status is the target's (125: bop failed).
fn report_command(m: &Manifest) -> Result<ExitCode> {
    eprintln!(
        "bop: recorded run {} ({} events, {})",
        m.id,
        m.counts.events,
        describe_end(m)
    );
    print_faults(m);
    if let Some(e) = &m.error {
        bail!("tracing failed: {e}");
    }
    Ok(ExitCode::from(
        m.exit_status.unwrap_or(125).clamp(0, 255) as u8
    ))
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
    print_faults(m);
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
            (bop_model::RunStatus::Running, _) => "running",
            (bop_model::RunStatus::Failed, _) => "failed",
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
