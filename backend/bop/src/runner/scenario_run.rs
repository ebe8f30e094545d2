//! Recording a scenario run: nodes in order (each waited for until
//! ready), the client, the nodes' teardown, then the untraced check whose
//! exit status is the verdict. The file format is `crate::scenario`.
//!
//! A node that never gets ready ends the run before its client: when a
//! fault fired, that is what the fault did (DESIGN.md "Verdicts": the check
//! judges, or the verdict is `unknown` with the reason); without one, the
//! run failed, with a sentence that says why. Either way the run's faults
//! and events are recorded.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bop_injector::Injector;
use bop_model::{EndReason, Manifest, Target, Verdict};
use bop_store::{RunDir, Store};
use bop_tracer::{Exit, SpawnSpec, Stdin, Tracer};

use super::ready::{NotReady, wait_ready};
use super::{
    NewRun, RunError, RunSpec, Tees, Traced, finish_manifest, injector, interrupt_flag,
    new_manifest, open_append, start_tracer,
};
use crate::scenario::{self, Prepared};

/// How long nodes get between SIGTERM and SIGKILL at the end of a run.
const GRACE: Duration = Duration::from_secs(2);

/// Records a scenario: nodes in order (each waited for until ready), the
/// client, node teardown (SIGTERM, grace, SIGKILL, whole trees), then the
/// untraced check. Every error in the file is reported before anything runs.
pub(super) fn record_scenario(
    store: &Store,
    spec: &RunSpec,
    run: &NewRun,
    path: &Path,
    text: &str,
) -> Result<Manifest, RunError> {
    let file = path.display().to_string();
    let parsed = scenario::parse(&file, text)?;
    let id = run.id.clone().unwrap_or_else(Store::new_id);
    bop_store::validate_id(&id)?;
    let scenario_dir = scenario_dir(path)
        .map_err(|e| RunError::Invalid(format!("{file}: cannot resolve its directory: {e}")))?;
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let run_dir = std::path::absolute(store.root().join(&id)).unwrap_or(store.root().join(&id));
    let plan = parsed.prepare(&file, &scenario_dir, &run_dir, &bin_dir)?;
    let injector = injector(store, run)?;
    let dir = store.create(Some(&id))?;
    let target = Target::Scenario {
        path: file.clone(),
        text: text.to_string(),
        cwd: scenario_dir.display().to_string(),
    };
    let name = path
        .file_name()
        .map_or(file.clone(), |f| f.to_string_lossy().into_owned());
    let command = format!("scenario {name}");
    let mut manifest = new_manifest(&dir, target, command, run, spec);
    manifest.ports = plan.ports.clone();
    dir.write_manifest(&manifest)?;
    let timeout = spec
        .timeout
        .unwrap_or(Duration::from_secs_f64(plan.timeout));
    let result = trace_scenario(&dir, &plan, spec, Instant::now() + timeout, injector);
    finish_manifest(
        &dir,
        &mut manifest,
        result.map(|(judged, traced)| (traced, judged)),
        spec.index,
    )?;
    Ok(manifest)
}

/// The absolute directory of a scenario file, where its relative paths start.
fn scenario_dir(path: &Path) -> std::io::Result<PathBuf> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::canonicalize(dir)
}

/// Traces a scenario: the nodes (each ready before the next starts), the
/// client until it exits, the deadline or Ctrl-C, the nodes' teardown;
/// then judges the run.
fn trace_scenario(
    dir: &RunDir,
    plan: &scenario::Plan,
    spec: &RunSpec,
    deadline: Instant,
    injector: Option<Injector>,
) -> Result<(Judged, Traced), RunError> {
    let tracer = start_tracer(dir, spec, injector)?;
    let (nodes, not_ready) = start_nodes(&tracer, dir, plan, deadline)?;
    let (exit, reason, tees) = match &not_ready {
        None => {
            let (out, err) = (dir.stdout_path(), dir.stderr_path());
            let client = spawn_process(&tracer, plan, &plan.client, "client", (out, err))?;
            // The client's output files exist once it is spawned: copy them now.
            let tees = Tees::start(dir, spec.passthrough);
            let (exit, reason) = wait_client(&tracer, client, deadline);
            (exit, reason, tees)
        }
        Some(n) => (None, n.ended_by, Tees::start(dir, false)),
    };
    stop_nodes(&tracer, &nodes);
    let summary = tracer.finish()?;
    tees.finish();
    let judged = match not_ready {
        None => judge(dir, plan.check.as_ref(), reason, exit, deadline),
        Some(n) => judge_not_ready(dir, plan.check.as_ref(), n, &summary, deadline),
    };
    let reason = judged.ended_by.unwrap_or(reason);
    Ok((judged, (exit, reason, summary)))
}

/// The verdict of a run whose nodes did not all get ready. A fault that
/// fired explains it: the check judges what the system did (or, without
/// a check, the verdict is unknown: the client never ran). Without a
/// fault bop could not start the system: the run failed.
fn judge_not_ready(
    dir: &RunDir,
    check: Option<&Prepared>,
    not_ready: NotReady,
    summary: &bop_tracer::Summary,
    deadline: Instant,
) -> Judged {
    let fired = summary.faults.iter().any(|f| f.fired);
    let why = format!("{}; the client did not run", not_ready.why);
    match (fired, not_ready.ended_by, check) {
        (_, EndReason::Interrupted, _) => Judged::unknown(why),
        (true, _, Some(check)) => {
            let judged = run_check(dir, check, deadline);
            Judged {
                reason: judged.reason.or(Some(why)),
                ..judged
            }
        }
        (true, _, None) => Judged::unknown(format!("{why} (a fault fired)")),
        (false, _, _) => Judged {
            error: Some(not_ready.why),
            ..Judged::unknown(why)
        },
    }
}

/// Starts one scenario process of `plan` under the tracer as `node`, its
/// output appended to `out` and `err`.
fn spawn_process(
    tracer: &Tracer,
    plan: &scenario::Plan,
    p: &Prepared,
    node: &str,
    (out, err): (PathBuf, PathBuf),
) -> Result<i32, RunError> {
    Ok(tracer.spawn(SpawnSpec {
        argv: p.argv.clone(),
        cwd: p.cwd.clone(),
        env: p.env.clone(),
        node: Some(node.to_string()),
        ports: plan.ports.clone(),
        stdin: Stdin::Null,
        stdout: open_append(out)?,
        stderr: open_append(err)?,
    })?)
}

/// Starts the nodes in order, each waited for until ready; returns their
/// pids, and why the first one that did not get ready did not.
fn start_nodes(
    tracer: &Tracer,
    dir: &RunDir,
    plan: &scenario::Plan,
    deadline: Instant,
) -> Result<(Vec<i32>, Option<NotReady>), RunError> {
    let mut nodes = Vec::new();
    for n in &plan.nodes {
        let out = dir.file(&format!("{}.stdout", n.name));
        let err = dir.file(&format!("{}.stderr", n.name));
        let pid = spawn_process(tracer, plan, n, &n.name, (out.clone(), err.clone()))?;
        nodes.push(pid);
        if let Err(not_ready) = wait_ready(tracer, n, pid, deadline, [&out, &err]) {
            return Ok((nodes, Some(not_ready)));
        }
    }
    Ok((nodes, None))
}

/// Waits for the client to exit, or the deadline, or Ctrl-C.
fn wait_client(tracer: &Tracer, client: i32, deadline: Instant) -> (Option<Exit>, EndReason) {
    let interrupted = interrupt_flag();
    loop {
        let slice = (Instant::now() + Duration::from_millis(50)).min(deadline);
        if let Some(e) = tracer.wait_exit(client, Some(slice)) {
            return (Some(e), EndReason::Exited);
        }
        if interrupted.load(Ordering::SeqCst) {
            return (None, EndReason::Interrupted);
        }
        if Instant::now() >= deadline {
            return (None, EndReason::Timeout);
        }
    }
}

/// Stops the nodes: SIGTERM to each tree (last started first), a grace
/// period, then SIGKILL to everything still traced.
fn stop_nodes(tracer: &Tracer, nodes: &[i32]) {
    for &pid in nodes.iter().rev() {
        tracer.signal_tree(pid, libc::SIGTERM);
    }
    let grace_end = Instant::now() + GRACE;
    for &pid in nodes {
        tracer.wait_exit(pid, Some(grace_end));
    }
    tracer.killer().signal_all(libc::SIGKILL);
}

/// A verdict, why it is unknown, and what the judging changed about the
/// run: a signal while the check ran (`ended_by`), bop failing (`error`).
#[derive(Debug, Default)]
pub(super) struct Judged {
    /// None: from the exit status (a command run).
    pub(super) verdict: Option<Verdict>,
    /// Why the verdict is unknown, in one sentence.
    pub(super) reason: Option<String>,
    /// How the run ended, when judging changed it.
    pub(super) ended_by: Option<EndReason>,
    /// Set when the run failed (bop could not start the system).
    pub(super) error: Option<String>,
}

impl Judged {
    fn verdict(v: Verdict) -> Judged {
        Judged {
            verdict: Some(v),
            ..Judged::default()
        }
    }

    fn unknown(reason: String) -> Judged {
        Judged {
            verdict: Some(Verdict::Unknown),
            reason: Some(reason),
            ..Judged::default()
        }
    }
}

/// A scenario's verdict: unknown when the run was cut short, else the
/// check's (given the run's remaining time or its own timeout), else the
/// client's exit status.
fn judge(
    dir: &RunDir,
    check: Option<&Prepared>,
    reason: EndReason,
    exit: Option<Exit>,
    deadline: Instant,
) -> Judged {
    match (check, reason, exit) {
        (_, EndReason::Timeout, _) => Judged::unknown("the run timed out".into()),
        (_, EndReason::Interrupted, _) => Judged::unknown("the run was interrupted".into()),
        (Some(check), _, _) => run_check(dir, check, deadline),
        (None, _, Some(Exit::Code(0))) => Judged::verdict(Verdict::Pass),
        (None, _, _) => Judged::verdict(Verdict::Fail),
    }
}

/// The least time a check gets when the client used up the run's time:
/// enough for a quick check on a loaded machine, far below a hang.
const CHECK_MIN: Duration = Duration::from_secs(5);

/// Runs the check (untraced, in its own process group); its exit status is
/// the verdict. One that cannot start, is killed by a signal or overruns
/// (its `timeout`, else the run's remaining time) is `unknown` with the
/// reason, its whole group killed; so is one cut short by Ctrl-C.
fn run_check(dir: &RunDir, check: &Prepared, deadline: Instant) -> Judged {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let allowed = check
        .timeout
        .map(Duration::from_secs_f64)
        .unwrap_or_else(|| {
            deadline
                .saturating_duration_since(Instant::now())
                .max(CHECK_MIN)
        });
    let until = Instant::now() + allowed;
    let (out, err) = match (
        open_append(dir.file("check.stdout")),
        open_append(dir.file("check.stderr")),
    ) {
        (Ok(out), Ok(err)) => (out, err),
        (Err(e), _) | (_, Err(e)) => {
            return Judged::unknown(format!("the check could not start: {e}"));
        }
    };
    let child = std::process::Command::new(&check.argv[0])
        .args(&check.argv[1..])
        .envs(check.env.iter().cloned())
        .current_dir(&check.cwd)
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return Judged::unknown(format!("the check could not start: {e}")),
    };
    let interrupted = interrupt_flag();
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    let stop = |child: &mut std::process::Child| {
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = child.wait();
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                // Whatever it left running in its group goes with it.
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                return match (status.code(), status.signal()) {
                    (Some(0), _) => Judged::verdict(Verdict::Pass),
                    (Some(_), _) => Judged::verdict(Verdict::Fail),
                    (None, s) => Judged::unknown(format!(
                        "the check was killed by signal {}",
                        s.unwrap_or(0)
                    )),
                };
            }
            Ok(None) if interrupted.load(Ordering::SeqCst) => {
                stop(&mut child);
                return Judged {
                    ended_by: Some(EndReason::Interrupted),
                    ..Judged::unknown(
                        "interrupted while the check ran; the check was killed".into(),
                    )
                };
            }
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                stop(&mut child);
                return Judged::unknown(format!(
                    "the check did not finish in {:.1} s and was killed",
                    allowed.as_secs_f64()
                ));
            }
            Err(e) => {
                stop(&mut child);
                return Judged::unknown(format!("cannot wait for the check: {e}"));
            }
        }
    }
}
