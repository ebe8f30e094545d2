//! Whether a run that claims `running` is still being recorded (issue 17
//! item 11). A recorder killed by SIGKILL, a lost terminal or a full disk
//! never writes its final manifest, so the manifest alone cannot tell a
//! stale run from a live one: the manifest names its recorder (pid and
//! start time, since a pid alone is reused), and every reader (`bop runs`,
//! the API, the run list page) shows a run whose recorder is gone as
//! [`RunStatus::Abandoned`].

use bop_model::{Manifest, Recorder, RunStatus};

use super::Store;

/// This process as the recorder of a run (`None` without `/proc`).
pub fn this_recorder() -> Option<Recorder> {
    let pid = std::process::id();
    Some(Recorder {
        pid,
        start_ticks: start_ticks(pid)?,
    })
}

/// A process's start time in clock ticks since boot (`/proc/PID/stat`
/// field 22; the command name before it may hold spaces and parentheses).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// True when the recorder of a run still runs: its pid is alive and is the
/// same process (same start time), not a later one given the same pid.
pub fn recorder_alive(r: &Recorder) -> bool {
    start_ticks(r.pid) == Some(r.start_ticks)
}

impl Store {
    /// The status to show for `m`: its own, except that a run claiming
    /// `running` whose recorder is gone (or, for a run from before
    /// recorders were recorded, whose recording lock nobody holds) is
    /// `abandoned`.
    pub fn status_of(&self, m: &Manifest) -> RunStatus {
        if m.status != RunStatus::Running {
            return m.status;
        }
        let gone = match &m.recorder {
            Some(r) => !recorder_alive(r),
            None => self.is_recording(&m.id).is_ok_and(|busy| !busy),
        };
        if gone {
            RunStatus::Abandoned
        } else {
            RunStatus::Running
        }
    }
}
