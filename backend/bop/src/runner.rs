//! Recording a run: create its directory, start the tracer, wait for the
//! target (with timeout and Ctrl-C), write the manifest. Shared by the CLI
//! (`bop run`) and anything else that records runs.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bop_injector::{FaultPlan, Injector};
use bop_model::{Counts, EVENT_SCHEMA, EndReason, Manifest, RunStatus, Target, Verdict};
use bop_store::{RunDir, Store, StoreError, now_ms};
use bop_tracer::{self as tracer, Exit, SpawnSpec, Stdin, TraceConfig, TraceError, Tracer};

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

/// What to record.
#[derive(Clone, Debug)]
pub struct CommandRun {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Run id, generated when absent.
    pub id: Option<String>,
    /// Kill the whole tree after this long.
    pub timeout: Option<Duration>,
    /// Bytes of payload to keep per data call.
    pub capture_bytes: usize,
    /// Copy the target's stdout/stderr to ours as it runs.
    pub passthrough: bool,
    /// stdin of the target.
    pub stdin: Stdin,
    /// Parent run, for reruns.
    pub parent: Option<String>,
    /// Faults to inject, in the parent's logical names.
    pub plan: Option<FaultPlan>,
}

/// The result of a recorded run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The manifest as written.
    pub manifest: Manifest,
}

/// Set by SIGINT/SIGTERM handlers; checked by running recordings.
pub(crate) fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let _ = signal_hook::flag::register(sig, flag.clone());
        }
        flag
    })
    .clone()
}

/// Records `run` as a new run in `store`.
pub fn record_command(store: &Store, run: &CommandRun) -> Result<Outcome, RunError> {
    if run.argv.is_empty() {
        return Err(RunError::Invalid("no command given".into()));
    }
    // Fail before creating anything if the command cannot run.
    tracer::resolve_program(&run.argv[0], &run.cwd)?;
    let injector = injector(store, &run.parent, &run.plan)?;
    let dir = store.create(run.id.as_deref())?;
    let mut manifest = new_manifest(
        &dir,
        Target::Command {
            argv: run.argv.clone(),
            cwd: run.cwd.display().to_string(),
        },
        shell_words(&run.argv),
        run.parent.clone(),
        run.capture_bytes,
    );
    dir.write_manifest(&manifest)?;
    let result = trace_into(&dir, run, injector)
        .map(|(exit, reason, summary)| (exit, reason, summary, None));
    finish_manifest(&dir, &mut manifest, result)?;
    Ok(Outcome { manifest })
}

fn trace_into(
    dir: &RunDir,
    run: &CommandRun,
    injector: Option<Injector>,
) -> Result<(Option<Exit>, EndReason, tracer::Summary), RunError> {
    let stdout = open_append(dir.stdout_path())?;
    let stderr = open_append(dir.stderr_path())?;
    let interrupted = interrupt_flag();
    let done = Arc::new(AtomicBool::new(false));
    let tees = tees(dir, run.passthrough, &done);
    let tracer = Tracer::start(
        TraceConfig {
            capture_bytes: run.capture_bytes,
            injector,
        },
        dir.event_writer()?,
    )?;
    let root = tracer.spawn(SpawnSpec {
        argv: run.argv.clone(),
        cwd: run.cwd.clone(),
        env: vec![],
        node: None,
        stdin: run.stdin,
        stdout,
        stderr,
    })?;
    let deadline = run.timeout.map(|t| Instant::now() + t);
    let mut reason = EndReason::Exited;
    loop {
        let slice = Instant::now() + Duration::from_millis(50);
        let until = deadline.map_or(slice, |d| d.min(slice));
        if tracer.wait_all(Some(until)) {
            break;
        }
        if interrupted.load(Ordering::SeqCst) {
            reason = EndReason::Interrupted;
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            reason = EndReason::Timeout;
        } else {
            continue;
        }
        tracer.killer().signal_all(libc::SIGKILL);
        break;
    }
    let exit = tracer.wait_exit(root, Some(Instant::now() + Duration::from_secs(5)));
    let summary = tracer.finish()?;
    done.store(true, Ordering::SeqCst);
    for t in tees {
        let _ = t.join();
    }
    Ok((exit, reason, summary))
}

/// Starts copying the run's stdout/stderr files to ours (when `passthrough`).
fn tees(
    dir: &RunDir,
    passthrough: bool,
    done: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    if !passthrough {
        return vec![];
    }
    vec![
        tee(dir.stdout_path(), false, done.clone()),
        tee(dir.stderr_path(), true, done.clone()),
    ]
}

/// Copies a growing file to our stdout/stderr until `done`, then drains it.
fn tee(path: PathBuf, to_stderr: bool, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
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

/// A scenario to record.
#[derive(Clone, Debug)]
pub struct ScenarioRun {
    /// Where the file was read from (for messages and relative paths).
    pub path: PathBuf,
    /// The file's text (kept in the manifest so reruns need nothing else).
    pub text: String,
    /// Run id, generated when absent.
    pub id: Option<String>,
    /// Overrides the scenario's own timeout.
    pub timeout: Option<Duration>,
    /// Bytes of payload to keep per data call.
    pub capture_bytes: usize,
    /// Copy the client's output to ours as it runs.
    pub passthrough: bool,
    /// Parent run, for reruns.
    pub parent: Option<String>,
    /// Faults to inject, in the parent's logical names.
    pub plan: Option<FaultPlan>,
}

/// Translates a plan through the parent run (errors before anything runs).
fn injector(
    store: &Store,
    parent: &Option<String>,
    plan: &Option<FaultPlan>,
) -> Result<Option<Injector>, RunError> {
    match (plan, parent) {
        (None, _) => Ok(None),
        (Some(plan), Some(parent)) => Ok(Some(Injector::new(plan, &store.events(parent)?)?)),
        (Some(plan), None) if plan.needs_no_parent() => Ok(Some(Injector::new(plan, &[])?)),
        (Some(_), None) => Err(RunError::Invalid(
            "a fault plan needs a parent run whose logical names it uses".into(),
        )),
    }
}

/// How long nodes get between SIGTERM and SIGKILL at the end of a run.
const GRACE: Duration = Duration::from_secs(2);

/// Records a scenario: nodes in order (each waited for until ready), the
/// client, node teardown (SIGTERM, grace, SIGKILL, whole trees), then the
/// untraced check. Every error in the file is reported before anything runs.
pub fn record_scenario(store: &Store, run: &ScenarioRun) -> Result<Outcome, RunError> {
    let file = run.path.display().to_string();
    let scenario = crate::scenario::parse(&file, &run.text)?;
    let id = run.id.clone().unwrap_or_else(Store::new_id);
    bop_store::validate_id(&id)?;
    let scenario_dir = run
        .path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."));
    let scenario_dir = std::fs::canonicalize(scenario_dir)
        .map_err(|e| RunError::Invalid(format!("{file}: cannot resolve its directory: {e}")))?;
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let run_dir = std::path::absolute(store.root().join(&id)).unwrap_or(store.root().join(&id));
    let plan = scenario.prepare(&file, &scenario_dir, &run_dir, &bin_dir)?;
    let injector = injector(store, &run.parent, &run.plan)?;
    let dir = store.create(Some(&id))?;
    let mut manifest = new_manifest(
        &dir,
        Target::Scenario {
            path: file.clone(),
            text: run.text.clone(),
            cwd: scenario_dir.display().to_string(),
        },
        format!(
            "scenario {}",
            run.path
                .file_name()
                .map_or(file.clone(), |f| f.to_string_lossy().into_owned())
        ),
        run.parent.clone(),
        run.capture_bytes,
    );
    dir.write_manifest(&manifest)?;
    let timeout = run.timeout.unwrap_or(Duration::from_secs_f64(plan.timeout));
    let result = trace_scenario(&dir, &plan, run, timeout, injector);
    finish_manifest(
        &dir,
        &mut manifest,
        result.map(|(verdict, exit, reason, summary)| (exit, reason, summary, Some(verdict))),
    )?;
    Ok(Outcome { manifest })
}

type Traced = (Option<Exit>, EndReason, tracer::Summary, Option<Verdict>);

fn new_manifest(
    dir: &RunDir,
    target: Target,
    command: String,
    parent: Option<String>,
    capture_bytes: usize,
) -> Manifest {
    Manifest {
        schema: EVENT_SCHEMA,
        id: dir.id.clone(),
        target,
        command,
        started_ms: now_ms(),
        ended_ms: None,
        status: RunStatus::Running,
        ended_by: None,
        exit_status: None,
        verdict: Verdict::Unknown,
        trace_class: None,
        parent,
        faults: vec![],
        counts: Counts::default(),
        capture_bytes,
        error: None,
    }
}

/// Writes the final manifest. `verdict` None: from the exit status.
fn finish_manifest(
    dir: &RunDir,
    manifest: &mut Manifest,
    result: Result<Traced, RunError>,
) -> Result<(), RunError> {
    manifest.ended_ms = Some(now_ms());
    let mut records = Vec::new();
    match result {
        Ok((exit, reason, summary, verdict)) => {
            records = summary.faults.clone();
            manifest.status = RunStatus::Done;
            manifest.ended_by = Some(reason);
            manifest.exit_status = exit.map(Exit::shell_status);
            manifest.verdict = match (reason, exit, verdict) {
                (EndReason::Exited, _, Some(v)) => v,
                (EndReason::Exited, Some(Exit::Code(0)), None) => Verdict::Pass,
                (EndReason::Exited, Some(_), None) => Verdict::Fail,
                _ => Verdict::Unknown,
            };
            manifest.counts = Counts {
                events: summary.events,
                processes: summary.processes,
                threads: summary.threads,
            };
        }
        Err(e) => {
            manifest.status = RunStatus::Failed;
            manifest.ended_by = Some(EndReason::TracerError);
            manifest.error = Some(e.to_string());
        }
    }
    if let Ok(events) = dir.events() {
        manifest.counts.events = events.len() as u64;
        if !events.is_empty() {
            let graph = bop_tracker::CausalGraph::build(&events);
            manifest.trace_class = Some(bop_tracker::trace_class(&graph));
            // Name where each fault fired, in this run's logical names.
            for at in records.iter_mut().filter_map(|r| r.at.as_mut()) {
                if let Some(i) = at
                    .seq
                    .and_then(|seq| events.iter().position(|e| e.seq == seq))
                {
                    at.event = Some(graph.event_name(i));
                }
            }
        }
    }
    manifest.faults = records;
    dir.write_manifest(manifest)?;
    Ok(())
}

fn open_append(p: PathBuf) -> Result<std::fs::File, RunError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(|e| RunError::Invalid(format!("cannot create {}: {e}", p.display())))
}

fn trace_scenario(
    dir: &RunDir,
    plan: &crate::scenario::Plan,
    run: &ScenarioRun,
    timeout: Duration,
    injector: Option<Injector>,
) -> Result<(Verdict, Option<Exit>, EndReason, tracer::Summary), RunError> {
    let interrupted = interrupt_flag();
    let deadline = Instant::now() + timeout;
    let tracer = Tracer::start(
        TraceConfig {
            capture_bytes: run.capture_bytes,
            injector,
        },
        dir.event_writer()?,
    )?;
    let spawn = |p: &crate::scenario::Prepared,
                 out: PathBuf,
                 err: PathBuf,
                 node: &str|
     -> Result<i32, RunError> {
        Ok(tracer.spawn(SpawnSpec {
            argv: p.argv.clone(),
            cwd: p.cwd.clone(),
            env: p.env.clone(),
            node: Some(node.to_string()),
            stdin: Stdin::Null,
            stdout: open_append(out)?,
            stderr: open_append(err)?,
        })?)
    };
    let mut nodes = Vec::new();
    for n in &plan.nodes {
        let (out, err) = (
            dir.file(&format!("{}.stdout", n.name)),
            dir.file(&format!("{}.stderr", n.name)),
        );
        let pid = spawn(n, out.clone(), err.clone(), &n.name)?;
        nodes.push(pid);
        if let Some((when, secs)) = &n.ready {
            let until = (Instant::now() + Duration::from_secs_f64(*secs)).min(deadline);
            let started = Instant::now();
            loop {
                let ready = match when {
                    crate::scenario::ReadyWhen::Port(p) => crate::scenario::port_listening(*p),
                    crate::scenario::ReadyWhen::Line(l) => [&out, &err]
                        .iter()
                        .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains(l.as_str()))),
                    crate::scenario::ReadyWhen::Delay(ms) => {
                        started.elapsed() >= Duration::from_millis(*ms)
                    }
                };
                if ready {
                    break;
                }
                if let Some(exit) = tracer.wait_exit(pid, Some(Instant::now())) {
                    return Err(RunError::Invalid(format!(
                        "node '{}' ended ({}) before it was ready; see {}",
                        n.name,
                        describe_exit(exit),
                        err.display()
                    )));
                }
                if interrupted.load(Ordering::SeqCst) {
                    return Err(RunError::Invalid(
                        "interrupted while starting the nodes".into(),
                    ));
                }
                if Instant::now() >= until {
                    return Err(RunError::Invalid(format!(
                        "node '{}' was not ready after {secs} s ({when:?}); see {}",
                        n.name,
                        err.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    let done = Arc::new(AtomicBool::new(false));
    let tees = tees(dir, run.passthrough, &done);
    let client = spawn(&plan.client, dir.stdout_path(), dir.stderr_path(), "client")?;
    let mut reason = EndReason::Exited;
    let exit = loop {
        let slice = (Instant::now() + Duration::from_millis(50)).min(deadline);
        if let Some(e) = tracer.wait_exit(client, Some(slice)) {
            break Some(e);
        }
        if interrupted.load(Ordering::SeqCst) {
            reason = EndReason::Interrupted;
            break None;
        }
        if Instant::now() >= deadline {
            reason = EndReason::Timeout;
            break None;
        }
    };
    // Stop the nodes: SIGTERM to each tree, a grace period, then SIGKILL.
    for &pid in nodes.iter().rev() {
        tracer.signal_tree(pid, libc::SIGTERM);
    }
    let grace_end = Instant::now() + GRACE;
    for &pid in &nodes {
        tracer.wait_exit(pid, Some(grace_end));
    }
    tracer.killer().signal_all(libc::SIGKILL);
    let summary = tracer.finish()?;
    done.store(true, Ordering::SeqCst);
    for t in tees {
        let _ = t.join();
    }
    let verdict = match (&plan.check, reason, exit) {
        (_, EndReason::Timeout | EndReason::Interrupted, _) => Verdict::Unknown,
        (Some(check), _, _) => run_check(
            dir,
            check,
            deadline.max(Instant::now() + Duration::from_secs(30)),
        ),
        (None, _, Some(Exit::Code(0))) => Verdict::Pass,
        (None, _, _) => Verdict::Fail,
    };
    Ok((verdict, exit, reason, summary))
}

/// Runs the check (untraced); its exit status is the verdict, a check that
/// cannot run or overruns is `unknown`.
fn run_check(dir: &RunDir, check: &crate::scenario::Prepared, deadline: Instant) -> Verdict {
    let (Ok(out), Ok(err)) = (
        open_append(dir.file("check.stdout")),
        open_append(dir.file("check.stderr")),
    ) else {
        return Verdict::Unknown;
    };
    let child = std::process::Command::new(&check.argv[0])
        .args(&check.argv[1..])
        .envs(check.env.iter().cloned())
        .current_dir(&check.cwd)
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn();
    let Ok(mut child) = child else {
        return Verdict::Unknown;
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return if status.success() {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                };
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Verdict::Unknown;
            }
        }
    }
}

fn describe_exit(e: Exit) -> String {
    match e {
        Exit::Code(c) => format!("exit status {c}"),
        Exit::Signal(s) => format!("killed by signal {s}"),
    }
}
