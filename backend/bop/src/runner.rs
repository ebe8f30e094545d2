//! Recording a run: create its directory, start the tracer, wait for the
//! target (with timeout and Ctrl-C), write the manifest. Shared by every
//! subcommand that records (`bop run`, `rerun`, `demo`, the baselines of
//! `explore`) through one description of what to record, [`RunSpec`]. A
//! command is traced here; a scenario's nodes, client and check are in
//! `scenario_run`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bop_injector::{FaultPlan, Injector};
use bop_model::{Counts, EndReason, Manifest, RunStatus, Target, Verdict};
use bop_store::{RunDir, Store, StoreError, now_ms};
use bop_tracer::{self as tracer, Exit, SpawnSpec, Stdin, TraceConfig, TraceError, Tracer};

use crate::scenario;

mod ready;
mod scenario_run;

use scenario_run::Judged;

/// Errors of recording a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store refused (bad id, existing id, I/O).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tracer failed.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// Something else about the request is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The scenario file is wrong.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// The fault plan is wrong.
    #[error(transparent)]
    Plan(#[from] bop_injector::PlanError),
}

/// What to record: a target and how. A baseline and the faulty runs made
/// in its names share one `RunSpec`; only their [`NewRun`] differs.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The target.
    pub launch: Launch,
    /// Kill the whole tree after this long (a scenario: instead of its own timeout).
    pub timeout: Option<Duration>,
    /// Bytes of payload to keep per data call.
    pub capture_bytes: usize,
    /// Copy the target's stdout/stderr (a scenario: the client's) to ours as it runs.
    pub passthrough: bool,
    /// stdin of a command (a scenario's processes always get /dev/null).
    pub stdin: Stdin,
    /// Record hot data calls in process where possible (false:
    /// `--no-fast-path`, every call under ptrace).
    pub fast_path: bool,
    /// Write the window index once the run has ended (false: the server
    /// writes it when the run is first opened).
    pub index: bool,
}

/// A target as it is started.
#[derive(Clone, Debug)]
pub enum Launch {
    /// One command line.
    Command {
        /// Program and arguments.
        argv: Vec<String>,
        /// Working directory.
        cwd: PathBuf,
    },
    /// A scenario file.
    Scenario {
        /// Where the file was read from (for messages, and the directory
        /// its relative paths start from).
        path: PathBuf,
        /// The file's text (kept in the manifest so reruns need nothing else).
        text: String,
    },
}

impl RunSpec {
    /// What `bop run ARGS` records: a single existing `*.toml` file is a
    /// scenario, anything else a command run in the current directory with
    /// our stdin. No timeout, no payload, no passthrough until set.
    pub fn from_command_line(args: &[String]) -> Result<RunSpec, RunError> {
        let launch = match args {
            // A `.toml` that is neither a file nor a program is a scenario
            // file with a typo, not a command that is not found.
            [file]
                if file.ends_with(".toml")
                    && !Path::new(file).exists()
                    && tracer::resolve_program(file, Path::new(".")).is_err() =>
            {
                return Err(RunError::Invalid(format!("{file}: no such scenario file")));
            }
            [file] if file.ends_with(".toml") && Path::new(file).is_file() => Launch::Scenario {
                path: PathBuf::from(file),
                text: std::fs::read_to_string(file)
                    .map_err(|e| RunError::Invalid(format!("cannot read {file}: {e}")))?,
            },
            // A scenario file (not a program) with words after it: options
            // put after the file are taken as a command's arguments.
            [file, rest @ ..]
                if file.ends_with(".toml")
                    && Path::new(file).is_file()
                    && tracer::resolve_program(file, Path::new(".")).is_err() =>
            {
                return Err(RunError::Invalid(format!(
                    "{file} is a scenario file, which takes no arguments, but '{}' came \
                     after it: put bop's options before it (bop run [OPTIONS] {file})",
                    rest.join(" ")
                )));
            }
            _ => Launch::Command {
                argv: args.to_vec(),
                cwd: std::env::current_dir().map_err(|e| {
                    RunError::Invalid(format!("cannot read the current directory: {e}"))
                })?,
            },
        };
        Ok(RunSpec {
            launch,
            timeout: None,
            capture_bytes: 0,
            passthrough: false,
            stdin: Stdin::Inherit,
            fast_path: true,
            index: true,
        })
    }

    /// The target of a recorded run, as `bop rerun` runs it again: the same
    /// command (stdin /dev/null, 60 s unless told otherwise) or scenario
    /// text, read from where it was, with the same payload capture and
    /// fast path setting.
    pub fn rerun_of(parent: &Manifest) -> RunSpec {
        let (launch, timeout) = match &parent.target {
            Target::Command { argv, cwd } => (
                Launch::Command {
                    argv: argv.clone(),
                    cwd: PathBuf::from(cwd),
                },
                Some(Duration::from_secs(60)),
            ),
            Target::Scenario { path, text, cwd } => {
                // Relative paths in the file start from its directory, which
                // the manifest keeps as an absolute `cwd`.
                let name = Path::new(path)
                    .file_name()
                    .map(PathBuf::from)
                    .unwrap_or("scenario.toml".into());
                let launch = Launch::Scenario {
                    path: PathBuf::from(cwd).join(name),
                    text: text.clone(),
                };
                (launch, None)
            }
        };
        RunSpec {
            launch,
            timeout,
            capture_bytes: parent.capture_bytes,
            passthrough: false,
            stdin: Stdin::Null,
            fast_path: parent.fast_path.enabled,
            index: true,
        }
    }

    /// The bundled demo (`bop demo`), with 64 bytes of payload kept.
    pub fn demo() -> RunSpec {
        RunSpec {
            launch: Launch::Scenario {
                path: PathBuf::from("demo-kv.toml"),
                text: scenario::DEMO_KV.to_string(),
            },
            timeout: None,
            capture_bytes: 64,
            passthrough: false,
            stdin: Stdin::Null,
            fast_path: true,
            index: true,
        }
    }

    /// The same, recorded without copying its output (baselines).
    pub fn quiet(&self) -> RunSpec {
        RunSpec {
            passthrough: false,
            ..self.clone()
        }
    }
}

/// Which run a recording becomes.
#[derive(Clone, Debug, Default)]
pub struct NewRun {
    /// Run id, generated when absent.
    pub id: Option<String>,
    /// Parent run, for reruns: the run whose logical names `plan` uses.
    pub parent: Option<String>,
    /// Faults to inject, in the parent's logical names.
    pub plan: Option<FaultPlan>,
}

/// Set by SIGINT/SIGTERM/SIGHUP handlers; checked by running recordings.
/// SIGHUP (the terminal closed) stops a run the way Ctrl-C does, so the run
/// is saved instead of being left `running`.
pub(crate) fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let _ = signal_hook::flag::register(sig, flag.clone());
        }
        flag
    })
    .clone()
}

/// Records `spec` as the new run `run` in `store` and returns its final
/// manifest. A run that started is saved whatever happens to it (its
/// manifest says how it ended); errors before that leave nothing behind.
pub fn record(store: &Store, spec: &RunSpec, run: &NewRun) -> Result<Manifest, RunError> {
    // Handlers first: a signal at any point of the recording saves the run.
    interrupt_flag();
    match &spec.launch {
        Launch::Command { argv, cwd } => record_command(store, spec, run, argv, cwd),
        Launch::Scenario { path, text } => {
            scenario_run::record_scenario(store, spec, run, path, text)
        }
    }
}

fn record_command(
    store: &Store,
    spec: &RunSpec,
    run: &NewRun,
    argv: &[String],
    cwd: &Path,
) -> Result<Manifest, RunError> {
    if argv.is_empty() {
        return Err(RunError::Invalid("no command given".into()));
    }
    // Fail before creating anything if the command cannot run.
    tracer::resolve_program(&argv[0], cwd)?;
    let injector = injector(store, run)?;
    let dir = store.create(run.id.as_deref())?;
    let target = Target::Command {
        argv: argv.to_vec(),
        cwd: cwd.display().to_string(),
    };
    let mut manifest = new_manifest(&dir, target, shell_words(argv), run, spec);
    dir.write_manifest(&manifest)?;
    let root = SpawnSpec {
        argv: argv.to_vec(),
        cwd: cwd.to_path_buf(),
        env: vec![],
        node: None,
        ports: Default::default(),
        stdin: spec.stdin,
        stdout: open_append(dir.stdout_path())?,
        stderr: open_append(dir.stderr_path())?,
    };
    let result =
        trace_command(&dir, spec, root, injector).map(|traced| (traced, Judged::default()));
    finish_manifest(&dir, &mut manifest, result, spec.index)?;
    Ok(manifest)
}

/// What the tracer saw of a run: how the root (or the client) ended, why
/// the run ended, and the tracer's counts and fault records.
type Traced = (Option<Exit>, EndReason, tracer::Summary);

/// Traces one command until its whole tree has ended, the timeout or Ctrl-C.
fn trace_command(
    dir: &RunDir,
    spec: &RunSpec,
    root: SpawnSpec,
    injector: Option<Injector>,
) -> Result<Traced, RunError> {
    let tees = Tees::start(dir, spec.passthrough);
    let tracer = start_tracer(dir, spec, injector)?;
    let root = tracer.spawn(root)?;
    let reason = wait_tree(&tracer, spec.timeout.map(|t| Instant::now() + t));
    let exit = tracer.wait_exit(root, Some(Instant::now() + Duration::from_secs(5)));
    let summary = tracer.finish()?;
    tees.finish();
    Ok((exit, reason, summary))
}

/// The one way a tracer is started: with the run's payload capture and its
/// fault injector, writing to the run's event log.
fn start_tracer(
    dir: &RunDir,
    spec: &RunSpec,
    injector: Option<Injector>,
) -> Result<Tracer, RunError> {
    let config = TraceConfig {
        capture_bytes: spec.capture_bytes,
        injector,
        fast_path: spec.fast_path,
    };
    Ok(Tracer::start(config, dir.event_writer()?)?)
}

/// Waits until every traced process has ended; on Ctrl-C or at the
/// deadline kills the whole tree and says which.
fn wait_tree(tracer: &Tracer, deadline: Option<Instant>) -> EndReason {
    let interrupted = interrupt_flag();
    loop {
        let slice = Instant::now() + Duration::from_millis(50);
        if tracer.wait_all(Some(deadline.map_or(slice, |d| d.min(slice)))) {
            return EndReason::Exited;
        }
        let reason = if interrupted.load(Ordering::SeqCst) {
            EndReason::Interrupted
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            EndReason::Timeout
        } else {
            continue;
        };
        tracer.killer().signal_all(libc::SIGKILL);
        return reason;
    }
}

/// Copies of the run's stdout/stderr files to ours while it runs (when
/// passthrough is asked for).
struct Tees {
    done: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Tees {
    fn start(dir: &RunDir, passthrough: bool) -> Tees {
        let done = Arc::new(AtomicBool::new(false));
        let threads = if passthrough {
            vec![
                tee(dir.stdout_path(), false, done.clone()),
                tee(dir.stderr_path(), true, done.clone()),
            ]
        } else {
            vec![]
        };
        Tees { done, threads }
    }

    /// Copies what is left once the run has ended.
    fn finish(self) {
        self.done.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Copies a growing file to our stdout/stderr until `done`, then drains it.
fn tee(path: PathBuf, to_stderr: bool, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        // The caller creates the file first: a copy that cannot open it has
        // nothing to copy.
        let Ok(mut f) = std::fs::File::open(&path) else {
            return;
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let finished = done.load(Ordering::SeqCst);
            loop {
                match f.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let _ = if to_stderr {
                            std::io::stderr().write_all(&buf[..n])
                        } else {
                            let mut out = std::io::stdout();
                            out.write_all(&buf[..n]).and_then(|_| out.flush())
                        };
                    }
                }
            }
            if finished {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

/// Renders argv as a shell-like one-liner for run lists.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Translates a plan through the parent run (errors before anything runs).
fn injector(store: &Store, run: &NewRun) -> Result<Option<Injector>, RunError> {
    match (&run.plan, &run.parent) {
        (None, _) => Ok(None),
        (Some(plan), Some(parent)) => Ok(Some(Injector::new(plan, &store.events(parent)?)?)),
        (Some(plan), None) if plan.needs_no_parent() => Ok(Some(Injector::new(plan, &[])?)),
        (Some(_), None) => Err(RunError::Invalid(
            "a fault plan needs a parent run whose logical names it uses".into(),
        )),
    }
}

fn new_manifest(
    dir: &RunDir,
    target: Target,
    command: String,
    run: &NewRun,
    spec: &RunSpec,
) -> Manifest {
    Manifest {
        parent: run.parent.clone(),
        capture_bytes: spec.capture_bytes,
        recorder: bop_store::this_recorder(),
        fast_path: bop_model::FastPathUse {
            enabled: spec.fast_path,
            ..bop_model::FastPathUse::default()
        },
        ..Manifest::new(dir.id.clone(), target, command, now_ms())
    }
}

/// Writes the final manifest (a verdict not judged: from the exit
/// status), and the window index when `index`.
fn finish_manifest(
    dir: &RunDir,
    manifest: &mut Manifest,
    result: Result<(Traced, Judged), RunError>,
    index: bool,
) -> Result<(), RunError> {
    manifest.ended_ms = Some(now_ms());
    let mut records = Vec::new();
    match result {
        Ok(((exit, reason, summary), judged)) => {
            records = summary.faults.clone();
            manifest.status = match judged.error {
                Some(_) => RunStatus::Failed,
                None => RunStatus::Done,
            };
            manifest.error = judged.error;
            manifest.reason = judged.reason;
            manifest.ended_by = Some(reason);
            manifest.exit_status = exit.map(Exit::shell_status);
            manifest.verdict = match (reason, exit, judged.verdict) {
                (_, _, Some(_)) if manifest.status == RunStatus::Failed => Verdict::Unknown,
                (_, _, Some(v)) => v,
                (EndReason::Exited, Some(Exit::Code(0)), None) => Verdict::Pass,
                (EndReason::Exited, Some(_), None) => Verdict::Fail,
                _ => Verdict::Unknown,
            };
            manifest.counts = Counts {
                events: summary.events,
                processes: summary.processes,
                threads: summary.threads,
            };
            manifest.fast_path.unavailable = summary.fast_path_unavailable.clone();
        }
        Err(e) => {
            manifest.status = RunStatus::Failed;
            manifest.ended_by = Some(EndReason::TracerError);
            manifest.error = Some(e.to_string());
        }
    }
    // Read with room to spare, the log is held to its size while the graph
    // and the index are built (at 10^6 events, 13 MB of slack).
    let events = dir.events().ok().map(|mut events| {
        events.shrink_to_fit();
        events
    });
    let graph = events
        .as_deref()
        .filter(|ev| !ev.is_empty())
        .map(bop_tracker::CausalGraph::build);
    if let Some(events) = &events {
        manifest.counts.events = events.len() as u64;
    }
    let (Some(graph), Some(events)) = (&graph, &events) else {
        manifest.faults = records;
        return Ok(dir.write_manifest(manifest)?);
    };
    std::thread::scope(|s| {
        // The window index on a second core while the manifest's facts
        // are found: both only read the graph. A failure (a full disk)
        // leaves no index behind and the server builds it when asked.
        let (class_tx, class_rx) = std::sync::mpsc::channel();
        if index {
            s.spawn(move || {
                let stamp = bop_store::index::Stamp::of(dir);
                let class = || {
                    class_rx
                        .recv()
                        .unwrap_or_else(|_| bop_tracker::trace_class(graph))
                };
                if let Err(e) = bop_store::index::write(dir, graph, stamp, class) {
                    tracing::warn!("no window index for run {}: {e}", dir.id);
                }
            });
        }
        let class = bop_tracker::trace_class(graph);
        let _ = class_tx.send(class.clone());
        manifest.trace_class = Some(class);
        manifest.unseen = graph.unseen();
        manifest.fast_path.processes = fast_processes(graph, events);
        // Name where each fault fired, in this run's logical names.
        for at in records.iter_mut().filter_map(|r| r.at.as_mut()) {
            if let Some(i) = at
                .seq
                .and_then(|seq| events.iter().position(|e| e.seq == seq))
            {
                at.event = Some(graph.event_name(i));
            }
        }
        manifest.faults = records;
        dir.write_manifest(manifest)
    })?;
    Ok(())
}

/// Logical names of the processes with an event the fast path recorded,
/// in the graph's order of processes.
fn fast_processes(graph: &bop_tracker::CausalGraph, events: &[bop_model::Event]) -> Vec<String> {
    let mut used = vec![false; graph.processes().len()];
    for (i, e) in events.iter().enumerate() {
        if e.path == bop_model::CallPath::Fast {
            used[graph.process_of(i)] = true;
        }
    }
    graph
        .processes()
        .iter()
        .zip(used)
        .filter(|(_, used)| *used)
        .map(|(p, _)| p.name.clone())
        .collect()
}

fn open_append(p: PathBuf) -> Result<std::fs::File, RunError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(|e| RunError::Invalid(format!("cannot create {}: {e}", p.display())))
}
