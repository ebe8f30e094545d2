//! Errors of the tracer layer; ptrace failures carry the operation and pid.

/// A tracer failure, as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// A ptrace or wait request failed.
    #[error("{operation} on pid {pid} failed: {source}")]
    Tracee {
        /// What was being done.
        operation: &'static str,
        /// To which task.
        pid: i32,
        /// The kernel's answer.
        source: nix::errno::Errno,
    },
    /// The command does not exist or is not executable.
    #[error("command not found or not executable: {0}")]
    NotFound(String),
    /// Setting the tracer up failed.
    #[error("{0}")]
    Setup(String),
    /// Writing the event log failed.
    #[error(transparent)]
    Store(#[from] bop_store::StoreError),
}

/// Adds context to raw errno results.
pub(crate) trait TraceeContext<T> {
    /// Names the operation and the task.
    fn tracee(self, operation: &'static str, pid: i32) -> Result<T, TraceError>;
}

impl<T> TraceeContext<T> for Result<T, nix::errno::Errno> {
    fn tracee(self, operation: &'static str, pid: i32) -> Result<T, TraceError> {
        self.map_err(|source| TraceError::Tracee {
            operation,
            pid,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracee_errors_read_as_a_sentence() {
        let e: Result<(), _> = Err(nix::errno::Errno::ESRCH);
        let msg = e.tracee("PTRACE_CONT", 42).unwrap_err().to_string();
        assert_eq!(msg, "PTRACE_CONT on pid 42 failed: ESRCH: No such process");
    }
}
