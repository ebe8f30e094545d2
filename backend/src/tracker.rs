//! The tracker: pure code from recorded events to the causal graph
//! (happens-before), logical names, vector clocks, trace classes and the
//! export formats. No ptrace, no I/O beyond what callers hand in.

pub mod export;

/// Errors of the tracker layer.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// The export format is not one of json, dot, shiviz, perfetto.
    #[error("unknown export format '{0}' (use json, dot, shiviz or perfetto)")]
    UnknownFormat(String),
}
