//! Recording a scenario run: nodes in order (each waited for until
//! ready), the client, the nodes' teardown, then the untraced check whose
//! exit status is the verdict. The file format is `crate::scenario`.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bop_injector::Injector;
use bop_model::{EndReason, Manifest, Target, Verdict};
use bop_store::{RunDir, Store};
use bop_tracer::{Exit, SpawnSpec, Stdin, Tracer};

use super::{
    NewRun, RunError, RunSpec, Tees, Traced, finish_manifest, injector, interrupt_flag,
    new_manifest, open_append, start_tracer,
};
use crate::scenario::{self, Prepared, ReadyWhen};

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
    let mut manifest = new_manifest(&dir, target, command, run, spec.capture_bytes);
    dir.write_manifest(&manifest)?;
    let timeout = spec
        .timeout
        .unwrap_or(Duration::from_secs_f64(plan.timeout));
    let result = trace_scenario(&dir, &plan, spec, Instant::now() + timeout, injector);
    finish_manifest(
        &dir,
        &mut manifest,
        result.map(|(verdict, traced)| (traced, Some(verdict))),
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
) -> Result<(Verdict, Traced), RunError> {
    let tracer = start_tracer(dir, spec, injector)?;
    let nodes = start_nodes(&tracer, dir, plan, deadline)?;
    let (out, err) = (dir.stdout_path(), dir.stderr_path());
    let client = spawn_process(&tracer, &plan.client, "client", out, err)?;
    // The client's output files exist once it is spawned: copy them now.
    let tees = Tees::start(dir, spec.passthrough);
    let (exit, reason) = wait_client(&tracer, client, deadline);
    stop_nodes(&tracer, &nodes);
    let summary = tracer.finish()?;
    tees.finish();
    let verdict = judge(dir, plan.check.as_ref(), reason, exit, deadline);
    Ok((verdict, (exit, reason, summary)))
}

/// Starts one scenario process under the tracer as `node`, its output
/// appended to `out` and `err`.
fn spawn_process(
    tracer: &Tracer,
    p: &Prepared,
    node: &str,
    out: PathBuf,
    err: PathBuf,
) -> Result<i32, RunError> {
    Ok(tracer.spawn(SpawnSpec {
        argv: p.argv.clone(),
        cwd: p.cwd.clone(),
        env: p.env.clone(),
        node: Some(node.to_string()),
        stdin: Stdin::Null,
        stdout: open_append(out)?,
        stderr: open_append(err)?,
    })?)
}

/// Starts the nodes in order, each waited for until ready; returns their pids.
fn start_nodes(
    tracer: &Tracer,
    dir: &RunDir,
    plan: &scenario::Plan,
    deadline: Instant,
) -> Result<Vec<i32>, RunError> {
    let mut nodes = Vec::new();
    for n in &plan.nodes {
        let out = dir.file(&format!("{}.stdout", n.name));
        let err = dir.file(&format!("{}.stderr", n.name));
        let pid = spawn_process(tracer, n, &n.name, out.clone(), err.clone())?;
        nodes.push(pid);
        wait_ready(tracer, n, pid, deadline, [&out, &err])?;
    }
    Ok(nodes)
}

/// Waits until node `n` (pid `pid`) is ready, if it has a readiness
/// condition; an error if it ended first, was not ready in time, or Ctrl-C
/// came. `outputs`: its stdout and stderr files.
fn wait_ready(
    tracer: &Tracer,
    n: &Prepared,
    pid: i32,
    deadline: Instant,
    outputs: [&PathBuf; 2],
) -> Result<(), RunError> {
    let Some((when, secs)) = &n.ready else {
        return Ok(());
    };
    let interrupted = interrupt_flag();
    let started = Instant::now();
    let until = (started + Duration::from_secs_f64(*secs)).min(deadline);
    let err = outputs[1].display();
    loop {
        let ready = match when {
            ReadyWhen::Port(p) => scenario::port_listening(*p),
            ReadyWhen::Line(l) => outputs
                .iter()
                .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains(l.as_str()))),
            ReadyWhen::Delay(ms) => started.elapsed() >= Duration::from_millis(*ms),
        };
        if ready {
            return Ok(());
        }
        if let Some(exit) = tracer.wait_exit(pid, Some(Instant::now())) {
            return Err(RunError::Invalid(format!(
                "node '{}' ended ({}) before it was ready; see {err}",
                n.name,
                describe_exit(exit),
            )));
        }
        if interrupted.load(Ordering::SeqCst) {
            return Err(RunError::Invalid(
                "interrupted while starting the nodes".into(),
            ));
        }
        if Instant::now() >= until {
            return Err(RunError::Invalid(format!(
                "node '{}' was not ready after {secs} s ({when:?}); see {err}",
                n.name,
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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

/// A scenario's verdict: unknown when the run was cut short, else the
/// check's (given until the deadline, and at least 30 s), else the client's
/// exit status.
fn judge(
    dir: &RunDir,
    check: Option<&Prepared>,
    reason: EndReason,
    exit: Option<Exit>,
    deadline: Instant,
) -> Verdict {
    match (check, reason, exit) {
        (_, EndReason::Timeout | EndReason::Interrupted, _) => Verdict::Unknown,
        (Some(check), _, _) => run_check(
            dir,
            check,
            deadline.max(Instant::now() + Duration::from_secs(30)),
        ),
        (None, _, Some(Exit::Code(0))) => Verdict::Pass,
        (None, _, _) => Verdict::Fail,
    }
}

/// Runs the check (untraced); its exit status is the verdict, a check that
/// cannot run or overruns is `unknown`.
fn run_check(dir: &RunDir, check: &Prepared, deadline: Instant) -> Verdict {
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
