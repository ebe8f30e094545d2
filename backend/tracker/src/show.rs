//! `bop show`: a readable, strace-like timeline of a run in logical names,
//! one section per process, with hints for the cross edges of each event.

use std::fmt::Write as _;

use super::export::call_text;
use super::{CausalGraph, EdgeKind, trace_class};
use bop_model::{Event, Manifest};

/// The timeline of a run: a header, then per process (parents first) a
/// header line and its events in recording order:
///
/// ```text
/// client (pid 41, exe client, exit 0)
///      0.000120  client:t0  client:t0/3:write(3, client->primary#0, 5) = 5  → msg client->primary#0/0
/// ```
pub fn timeline(manifest: &Manifest, events: &[Event]) -> String {
    let g = CausalGraph::build(events);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {}  {}  verdict {}  class {}  ({} events, {} processes, {} threads, {} channels, {} messages)",
        manifest.id,
        manifest.command,
        manifest.verdict,
        trace_class(&g),
        events.len(),
        g.processes().len(),
        g.threads().len(),
        g.channels().len(),
        g.messages().len(),
    );
    for u in g.unseen() {
        let _ = writeln!(out, "{}", unseen_line(&u));
    }
    if let Some(line) = fast_path_line(manifest) {
        let _ = writeln!(out, "{line}");
    }
    // Each process's events in recording order, bucketed in one pass.
    let mut by_process: Vec<Vec<usize>> = vec![Vec::new(); g.processes().len()];
    for &i in g.seq_order() {
        by_process[g.process_of(i)].push(i);
    }
    for (p, own) in by_process.iter().enumerate() {
        out.push_str(&process_header(&g, p));
        out.push('\n');
        for &i in own {
            out.push_str(&event_line(&g, i));
            out.push('\n');
        }
    }
    let lost: Vec<&str> = g
        .messages()
        .iter()
        .filter(|m| m.lost)
        .map(|m| m.name.as_str())
        .collect();
    if !lost.is_empty() {
        let _ = writeln!(out, "\nlost messages: {}", lost.join(", "));
    }
    out
}

/// The plain warning for a process whose I/O bop could not see.
pub fn unseen_line(u: &bop_model::Unseen) -> String {
    format!(
        "warning: {} did I/O bop cannot see ({} calls: {}): its messages are missing from this graph",
        u.process,
        u.count,
        u.calls.join(", ")
    )
}

/// How the run used the fast path, when it is worth a line: off, not
/// available, or the processes that used it (nothing when none did).
fn fast_path_line(manifest: &Manifest) -> Option<String> {
    let fp = &manifest.fast_path;
    if !fp.enabled {
        Some("fast path: off (--no-fast-path)".into())
    } else if let Some(why) = &fp.unavailable {
        Some(format!("fast path: unavailable ({why})"))
    } else if !fp.processes.is_empty() {
        Some(format!("fast path: used by {}", fp.processes.join(", ")))
    } else {
        None
    }
}

/// `\nclient (pid 41, exe client, exit 0)`.
fn process_header(g: &CausalGraph<'_>, p: usize) -> String {
    let pr = &g.processes()[p];
    let mut head = format!("\n{} (pid {}, exe {}", pr.name, pr.pid, pr.exe);
    if let Some(q) = pr.parent {
        let _ = write!(head, ", parent {}", g.processes()[q].name);
    }
    match (&pr.exit, &pr.signal) {
        (Some(code), _) => {
            let _ = write!(head, ", exit {code}");
        }
        (None, Some(sig)) => {
            let _ = write!(head, ", killed by {sig}");
        }
        (None, None) => head.push_str(", running at end"),
    }
    head.push(')');
    head
}

/// One event: time, thread, name and call, then its cross edges.
fn event_line(g: &CausalGraph<'_>, i: usize) -> String {
    let e = &g.events()[i];
    let secs = e.start_ns as f64 / 1e9;
    let thread = &g.threads()[g.thread_of(i)].name;
    let text = call_text(g, i);
    let args = text.strip_prefix(e.call.as_str()).unwrap_or(&text);
    let mut line = format!("  {secs:12.6}  {thread}  {}{args}", g.event_name(i));
    for (j, edge) in g.outgoing(i) {
        let _ = write!(line, "  → {}", hint(g, j, edge.kind, edge.message, true));
    }
    for (j, edge) in g.incoming(i) {
        let _ = write!(line, "  ← {}", hint(g, j, edge.kind, edge.message, false));
    }
    line
}

/// `msg client->primary#0/3` out of a send, `msg ... from EVENT` into a
/// receive, `spawn EVENT`, `exit from EVENT` and so on.
fn hint(
    g: &CausalGraph<'_>,
    other: usize,
    kind: EdgeKind,
    message: Option<usize>,
    out: bool,
) -> String {
    let what = match (kind, message) {
        (EdgeKind::Message, Some(m)) => format!("msg {}", g.messages()[m].name),
        (k, _) => k.as_str().to_string(),
    };
    let dir = if out { "to" } else { "from" };
    format!("{what} {dir} {}", g.event_name(other))
}
