//! Export of a run's causal graph: the JSON contract (used by the API, the
//! frontend and scripts), Graphviz dot, ShiViz logs and Perfetto traces.

use crate::model::{Event, Manifest};

use super::TrackError;

/// The export formats `bop export --format` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The JSON contract (docs/EXPORT.md).
    Json,
    /// Graphviz.
    Dot,
    /// ShiViz log.
    Shiviz,
    /// Chrome trace-event JSON for ui.perfetto.dev.
    Perfetto,
}

impl std::str::FromStr for Format {
    type Err = TrackError;
    fn from_str(s: &str) -> Result<Format, TrackError> {
        match s {
            "json" => Ok(Format::Json),
            "dot" => Ok(Format::Dot),
            "shiviz" => Ok(Format::Shiviz),
            "perfetto" => Ok(Format::Perfetto),
            other => Err(TrackError::UnknownFormat(other.to_string())),
        }
    }
}

/// The JSON export of a run (stub until the tracker lands: run only).
pub fn graph_json(manifest: &Manifest, events: &[Event]) -> serde_json::Value {
    let _ = events;
    serde_json::json!({
        "run": {
            "id": manifest.id, "command": manifest.command, "exit_status": manifest.exit_status,
            "verdict": manifest.verdict, "trace_class": manifest.trace_class,
            "parent": manifest.parent, "faults": manifest.faults,
        },
        "processes": [], "threads": [], "channels": [], "events": [], "messages": [], "edges": [],
    })
}

/// Renders a run in one of the export formats.
pub fn render(manifest: &Manifest, events: &[Event], format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(&graph_json(manifest, events)).expect("json"),
        _ => String::new(),
    }
}
