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

pub mod show {
    //! Placeholder timeline until the tracker lands: raw events per process.
    use crate::model::{Event, Manifest};

    /// A readable per-process timeline of a run.
    pub fn timeline(manifest: &Manifest, events: &[Event]) -> String {
        let mut out = format!("run {}: {}\n", manifest.id, manifest.command);
        let mut pids: Vec<i32> = events.iter().map(|e| e.pid).collect();
        pids.sort();
        pids.dedup();
        for pid in pids {
            out.push_str(&format!("process {pid}\n"));
            for e in events.iter().filter(|e| e.pid == pid) {
                out.push_str(&format!(
                    "  {:>12} {} {}({:?}) = {:?} {:?}\n",
                    e.start_ns, e.tid, e.call, e.fd, e.ret, e.bytes
                ));
            }
        }
        out
    }
}

/// The trace class of a recorded run, for its manifest (placeholder until
/// the tracker lands).
pub fn class_of(events: &[crate::model::Event]) -> Option<String> {
    let _ = events;
    None
}
