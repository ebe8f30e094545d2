//! Recording a run: create its directory, start the tracer, wait for the
//! target (with timeout and Ctrl-C), write the manifest. Shared by the CLI
//! (`bop run`) and anything else that records runs.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::model::{Counts, EVENT_SCHEMA, EndReason, Manifest, RunStatus, Target, Verdict};
use crate::store::{RunDir, Store, StoreError, now_ms};
use crate::tracer::{self, Exit, SpawnSpec, Stdin, TraceConfig, TraceError, Tracer};

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
}

/// The result of a recorded run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The manifest as written.
    pub manifest: Manifest,
}

/// Set by SIGINT/SIGTERM handlers; checked by running recordings.
fn interrupt_flag() -> Arc<AtomicBool> {
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
    let dir = store.create(run.id.as_deref())?;
    let command = shell_words(&run.argv);
    let mut manifest = Manifest {
        schema: EVENT_SCHEMA,
        id: dir.id.clone(),
        target: Target::Command {
            argv: run.argv.clone(),
            cwd: run.cwd.display().to_string(),
        },
        command,
        started_ms: now_ms(),
        ended_ms: None,
        status: RunStatus::Running,
        ended_by: None,
        exit_status: None,
        verdict: Verdict::Unknown,
        trace_class: None,
        parent: run.parent.clone(),
        faults: vec![],
        counts: Counts::default(),
        capture_bytes: run.capture_bytes,
        error: None,
    };
    dir.write_manifest(&manifest)?;
    let result = trace_into(&dir, run);
    manifest.ended_ms = Some(now_ms());
    match result {
        Ok((exit, reason, summary)) => {
            manifest.status = RunStatus::Done;
            manifest.ended_by = Some(reason);
            manifest.exit_status = exit.map(Exit::shell_status);
            manifest.verdict = match (reason, exit) {
                (EndReason::Exited, Some(Exit::Code(0))) => Verdict::Pass,
                (EndReason::Exited, Some(_)) => Verdict::Fail,
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
    }
    dir.write_manifest(&manifest)?;
    Ok(Outcome { manifest })
}

fn trace_into(
    dir: &RunDir,
    run: &CommandRun,
) -> Result<(Option<Exit>, EndReason, tracer::Summary), RunError> {
    let open = |p: PathBuf| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(|e| RunError::Invalid(format!("cannot create {}: {e}", p.display())))
    };
    let stdout = open(dir.stdout_path())?;
    let stderr = open(dir.stderr_path())?;
    let interrupted = interrupt_flag();
    let done = Arc::new(AtomicBool::new(false));
    let tees = if run.passthrough {
        vec![
            tee(dir.stdout_path(), false, done.clone()),
            tee(dir.stderr_path(), true, done.clone()),
        ]
    } else {
        vec![]
    };
    let tracer = Tracer::start(
        TraceConfig {
            capture_bytes: run.capture_bytes,
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
