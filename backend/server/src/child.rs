//! The server's children: `bop rerun` ([`super::reruns`]) and `bop search`
//! ([`super::searches`]) run as child processes, never inside the server
//! (DESIGN.md "Architecture": a tracer crash or hang must not take the
//! server down). Both are supervised the same way, here:
//!
//! * each child gets its own process group, so that a timeout, a stop or
//!   the server stopping can signal it and everything it started in one go
//!   (killpg(2)); its pid is the group's id;
//! * the tail of its stderr is kept (its progress lines, its last error);
//! * a child that outlives its timeout gets SIGTERM to its group, and
//!   SIGKILL a grace period later (or a grace period after a stop was
//!   asked for), so it can save its run or record first;
//! * the server stopping refuses new children (503) and waits, bounded,
//!   for the running ones ([`wait_while`]).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;

use super::error::ApiError;

/// The last bytes a child wrote to stderr, shared with whoever shows them.
pub(crate) type Tail = Arc<Mutex<Vec<u8>>>;

/// How often a supervised child is looked at while it runs.
const POLL: Duration = Duration::from_millis(100);
/// How long the stderr of a child that exited is still read: processes it
/// left behind could hold the pipe open.
const STDERR_DRAIN: Duration = Duration::from_secs(1);

/// A running child.
pub(crate) struct Child {
    /// What it is, for messages (`bop rerun`).
    what: &'static str,
    child: tokio::process::Child,
    pgid: Option<i32>,
    reader: Option<JoinHandle<()>>,
}

/// How a supervised child ended.
pub(crate) struct Ended {
    /// Its exit status (128+signal when killed by a signal).
    pub(crate) code: Option<i32>,
    /// It outlived its timeout and was stopped.
    pub(crate) timed_out: bool,
    /// Waiting for it failed.
    pub(crate) error: Option<String>,
}

/// Starts `exe ARGS` in its own process group with stdin and stdout on
/// /dev/null, keeping the last `cap` bytes of its stderr in `tail`.
pub(crate) fn spawn<I, S>(
    what: &'static str,
    exe: &Path,
    args: I,
    tail: Tail,
    cap: usize,
) -> Result<Child, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = tokio::process::Command::new(exe);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let pgid = child.id().map(|p| p as i32);
    let reader = child.stderr.take().map(|mut stderr| {
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf).await {
                let mut t = tail.lock().unwrap_or_else(PoisonError::into_inner);
                t.extend_from_slice(&buf[..n]);
                let excess = t.len().saturating_sub(cap);
                t.drain(..excess);
            }
        })
    });
    Ok(Child {
        what,
        child,
        pgid,
        reader,
    })
}

impl Child {
    /// Its process group (its pid), to signal it from elsewhere.
    pub(crate) fn pgid(&self) -> Option<i32> {
        self.pgid
    }

    /// Waits for it to end. Past `timeout` it gets SIGTERM (its group) and
    /// `on_timeout` is called; `grace` after that, or after `stopping`
    /// first says true (whoever asked sent the SIGTERM), its group gets
    /// SIGKILL.
    pub(crate) async fn supervise(
        mut self,
        timeout: Duration,
        grace: Duration,
        stopping: impl Fn() -> bool,
        on_timeout: impl FnOnce(),
    ) -> Ended {
        let started = Instant::now();
        let mut on_timeout = Some(on_timeout);
        let mut stop_since: Option<Instant> = None;
        let (mut timed_out, mut error) = (false, None);
        let status = loop {
            match tokio::time::timeout(POLL, self.child.wait()).await {
                Ok(Ok(status)) => break Some(status),
                Ok(Err(e)) => {
                    error = Some(format!("cannot wait for {}: {e}", self.what));
                    break None;
                }
                Err(_) => {}
            }
            if stop_since.is_none() && started.elapsed() > timeout {
                timed_out = true;
                if let Some(f) = on_timeout.take() {
                    f();
                }
                self.signal(Signal::SIGTERM);
                stop_since = Some(Instant::now());
            }
            if stop_since.is_none() && stopping() {
                stop_since = Some(Instant::now());
            }
            if stop_since.is_some_and(|t| t.elapsed() > grace) {
                self.signal(Signal::SIGKILL);
                break self.child.wait().await.ok();
            }
        };
        if let Some(reader) = self.reader.take()
            && tokio::time::timeout(STDERR_DRAIN, reader).await.is_err()
        {
            tracing::warn!(what = self.what, "stderr still open after the child exited");
        }
        let code = status.map(|s| {
            use std::os::unix::process::ExitStatusExt;
            s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
        });
        Ended {
            code,
            timed_out,
            error,
        }
    }

    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            signal_group(pgid, signal, true);
        }
    }
}

/// Sends `signal` to the child whose group is `pgid`: to the whole group,
/// or only to its leader (the `bop` child), so that it can stop its own
/// tree and save what it was recording.
pub(crate) fn signal_group(pgid: i32, signal: Signal, whole_group: bool) {
    let _ = if whole_group {
        killpg(Pid::from_raw(pgid), signal)
    } else {
        kill(Pid::from_raw(pgid), signal)
    };
}

/// What a request gets while the server stops: 503.
pub(crate) fn shutting_down() -> ApiError {
    ApiError::Status {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        detail: "the server is shutting down".into(),
    }
}

/// Waits up to `limit` for `running` to say no child is left.
pub(crate) async fn wait_while(running: impl Fn() -> usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    while running() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of a tail, lossily decoded.
pub(crate) fn tail_text(tail: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&tail.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}
