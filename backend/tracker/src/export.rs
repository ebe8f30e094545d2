//! Export of a run's causal graph: the JSON contract (used by the API, the
//! frontend and scripts; schema in docs/EXPORT.md), Graphviz dot, ShiViz
//! logs and Perfetto (Chrome trace-event) traces.

use std::fmt::Write as _;

use serde::Serialize;

use super::{CausalGraph, EdgeKind, TrackError, trace_class};
use bop_model::{Event, Manifest, Verdict};

/// Version of the JSON export schema (docs/EXPORT.md). Bump it when a field
/// changes meaning or disappears; adding a field does not bump it.
pub const EXPORT_SCHEMA: u32 = 1;

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

/// The JSON export of one run (docs/EXPORT.md, schema [`EXPORT_SCHEMA`]).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Export {
    /// [`EXPORT_SCHEMA`].
    pub schema: u32,
    /// The run's manifest facts plus its computed trace class.
    pub run: RunOut,
    /// Processes, parents before children.
    pub processes: Vec<ProcessOut>,
    /// Threads.
    pub threads: Vec<ThreadOut>,
    /// Channels.
    pub channels: Vec<ChannelOut>,
    /// Events in recording order (program order within each thread).
    pub events: Vec<EventOut>,
    /// Messages that carried bytes.
    pub messages: Vec<MessageOut>,
    /// Cross edges (program order is implied by `events`).
    pub edges: Vec<EdgeOut>,
}

/// `run` of the export.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct RunOut {
    /// Run id.
    pub id: String,
    /// One-line description of the target.
    pub command: String,
    /// Exit status of the target.
    pub exit_status: Option<i32>,
    /// pass / fail / unknown.
    pub verdict: Verdict,
    /// Trace class computed from the events (not read from the manifest).
    pub trace_class: String,
    /// The run this one reruns.
    pub parent: Option<String>,
    /// The fault plan and what each fault did.
    pub faults: Vec<bop_model::FaultRecord>,
    /// Processes that did I/O bop could not see (io_uring), computed from
    /// the events like `trace_class`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unseen: Vec<bop_model::Unseen>,
}

/// One process.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ProcessOut {
    /// Logical name.
    pub name: String,
    /// Pid in this run.
    pub pid: i32,
    /// Parent's logical name.
    pub parent: Option<String>,
    /// Executable base name used in its name.
    pub exe: String,
    /// Exit code, if it exited.
    pub exit: Option<i32>,
    /// Signal name, if it was killed.
    pub signal: Option<String>,
}

/// One thread.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ThreadOut {
    /// Logical name `process:tN`.
    pub name: String,
    /// Its process's logical name.
    pub process: String,
    /// Tid in this run.
    pub tid: i32,
}

/// One channel.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ChannelOut {
    /// Logical name.
    pub name: String,
    /// tcp / udp / unix / pipe.
    pub kind: &'static str,
    /// Byte stream (true) or datagrams.
    pub stream: bool,
    /// Side 0 (initiator / sender / writer) and side 1: process names, or
    /// addresses of ends outside the trace.
    pub ends: [String; 2],
}

/// One event.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct EventOut {
    /// Index of the event in the run's event log (0-based line number);
    /// `messages` and `edges` refer to events by this id.
    pub id: usize,
    /// Recording order.
    pub seq: u64,
    /// Logical name `thread/ordinal:call`.
    pub name: String,
    /// Thread name.
    pub thread: String,
    /// Process name.
    pub process: String,
    /// Syscall or lifecycle point.
    pub call: String,
    /// File descriptor.
    pub fd: Option<i32>,
    /// Channel name.
    pub channel: Option<String>,
    /// Return value (`null`: unfinished).
    pub ret: Option<i64>,
    /// Error name.
    pub errno: Option<String>,
    /// Bytes moved.
    pub bytes: Option<u64>,
    /// Entry time, ns since the run started.
    pub start_ns: u64,
    /// Return time.
    pub end_ns: Option<u64>,
    /// Logical time: 1 + the longest causal chain before the event.
    pub lamport: u64,
    /// Captured bytes, hex.
    pub data: Option<String>,
    /// What the fault injector did to it.
    pub injected: Option<String>,
}

/// One message.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct MessageOut {
    /// Logical name (`client->primary#0/3`, reverse `client->primary#0/r3`).
    pub id: String,
    /// Channel name.
    pub channel: String,
    /// True when sent by side 1 of the channel.
    pub reverse: bool,
    /// Send event id.
    pub send: usize,
    /// Receive event ids.
    pub recvs: Vec<usize>,
    /// Bytes.
    pub bytes: u64,
    /// Never received though its receiver was traced, or dropped.
    pub lost: bool,
    /// Dropped by the fault injector.
    pub dropped: bool,
}

/// One cross edge.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct EdgeOut {
    /// Source event id.
    pub from: usize,
    /// Target event id.
    pub to: usize,
    /// message / connect / spawn / exit / eof.
    pub kind: EdgeKind,
    /// Message id, for message edges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl RunOut {
    /// The run's manifest facts with a trace class computed elsewhere (the
    /// window index stores the class; the manifest is read fresh).
    pub fn new(manifest: &Manifest, trace_class: String) -> RunOut {
        RunOut {
            id: manifest.id.clone(),
            command: manifest.command.clone(),
            exit_status: manifest.exit_status,
            verdict: manifest.verdict,
            trace_class,
            parent: manifest.parent.clone(),
            faults: manifest.faults.clone(),
            unseen: manifest.unseen.clone(),
        }
    }
}

impl Export {
    /// Builds the export from a graph already built.
    pub fn from_graph(manifest: &Manifest, g: &CausalGraph<'_>) -> Export {
        Export {
            schema: EXPORT_SCHEMA,
            run: RunOut {
                unseen: g.unseen(),
                ..RunOut::new(manifest, trace_class(g))
            },
            processes: processes_out(g),
            threads: threads_out(g),
            channels: channels_out(g),
            events: events_out(g),
            messages: messages_out(g),
            edges: edges_out(g),
        }
    }
}

/// Processes of the export.
pub fn processes_out(g: &CausalGraph<'_>) -> Vec<ProcessOut> {
    let procs = g.processes();
    procs
        .iter()
        .map(|p| ProcessOut {
            name: p.name.clone(),
            pid: p.pid,
            parent: p.parent.map(|q| procs[q].name.clone()),
            exe: p.exe.clone(),
            exit: p.exit,
            signal: p.signal.clone(),
        })
        .collect()
}

/// Threads of the export.
pub fn threads_out(g: &CausalGraph<'_>) -> Vec<ThreadOut> {
    g.threads()
        .iter()
        .map(|t| ThreadOut {
            name: t.name.clone(),
            process: g.processes()[t.process].name.clone(),
            tid: t.tid,
        })
        .collect()
}

/// Channels of the export.
pub fn channels_out(g: &CausalGraph<'_>) -> Vec<ChannelOut> {
    g.channels()
        .iter()
        .map(|c| ChannelOut {
            name: c.name.clone(),
            kind: c.kind.as_str(),
            stream: c.stream,
            ends: c.ends.clone(),
        })
        .collect()
}

/// Events in recording order.
fn events_out(g: &CausalGraph<'_>) -> Vec<EventOut> {
    g.seq_order().iter().map(|&i| event_out(g, i)).collect()
}

/// Event `i` of the export, alone: what the window index stores per event
/// so that nothing holds every event's export at once.
pub fn event_out(g: &CausalGraph<'_>, i: usize) -> EventOut {
    let e = &g.events()[i];
    EventOut {
        id: i,
        seq: e.seq,
        name: g.event_name(i),
        thread: g.threads()[g.thread_of(i)].name.clone(),
        process: g.processes()[g.process_of(i)].name.clone(),
        call: e.call.to_string(),
        fd: e.fd,
        channel: g.channel_of(i).map(|c| g.channels()[c].name.clone()),
        ret: e.ret,
        errno: e.errno.map(String::from),
        bytes: e.bytes,
        start_ns: e.start_ns,
        end_ns: e.end_ns,
        lamport: g.lamport(i),
        data: e.data.as_deref().map(String::from),
        injected: e.injected.as_deref().map(String::from),
    }
}

fn messages_out(g: &CausalGraph<'_>) -> Vec<MessageOut> {
    (0..g.messages().len()).map(|m| message_out(g, m)).collect()
}

/// Message `m` of the export, alone.
pub fn message_out(g: &CausalGraph<'_>, m: usize) -> MessageOut {
    let msg = &g.messages()[m];
    MessageOut {
        id: msg.name.clone(),
        channel: g.channels()[msg.channel].name.clone(),
        reverse: msg.reverse,
        send: msg.send,
        recvs: msg.recvs.to_vec(),
        bytes: msg.bytes,
        lost: msg.lost,
        dropped: msg.dropped,
    }
}

fn edges_out(g: &CausalGraph<'_>) -> Vec<EdgeOut> {
    g.edges()
        .into_iter()
        .map(|(from, to, e)| edge_out(g, from, to, e))
        .collect()
}

/// One cross edge of the export.
pub fn edge_out(g: &CausalGraph<'_>, from: usize, to: usize, e: super::Edge) -> EdgeOut {
    EdgeOut {
        from,
        to,
        kind: e.kind,
        message: e.message.map(|m| g.messages()[m].name.clone()),
    }
}

/// The JSON export of a run (docs/EXPORT.md).
pub fn graph_json(manifest: &Manifest, events: &[Event]) -> serde_json::Value {
    let g = CausalGraph::build(events);
    serde_json::to_value(Export::from_graph(manifest, &g)).expect("the export serializes")
}

/// Renders a run in one of the export formats.
pub fn render(manifest: &Manifest, events: &[Event], format: Format) -> String {
    let g = CausalGraph::build(events);
    match format {
        Format::Json => serde_json::to_string_pretty(&Export::from_graph(manifest, &g))
            .expect("the export serializes"),
        Format::Dot => dot(manifest, &g),
        Format::Shiviz => shiviz(&g),
        Format::Perfetto => perfetto(manifest, &g),
    }
}

/// A short description of an event's call: `write(3, chan, 12) = 12`.
pub(crate) fn call_text(g: &CausalGraph<'_>, i: usize) -> String {
    let e = &g.events()[i];
    let mut args: Vec<String> = Vec::new();
    if let Some(fd) = e.fd {
        args.push(fd.to_string());
    }
    if let Some(c) = g.channel_of(i) {
        args.push(g.channels()[c].name.clone());
    }
    if let Some(b) = e.bytes {
        args.push(b.to_string());
    }
    if let Some(x) = &e.detail.exe {
        args.push(x.clone());
    }
    if let Some(c) = e.detail.child {
        args.push(format!("child={c}"));
    }
    if let Some(s) = e.detail.status {
        args.push(format!("status={s}"));
    }
    if let Some(s) = &e.detail.signal {
        args.push(s.clone());
    }
    let ret = match (&e.ret, &e.errno) {
        (_, Some(errno)) => format!(" = -1 {errno}"),
        (Some(r), None) => format!(" = {r}"),
        (None, None)
            if matches!(
                e.call.as_str(),
                "start" | "exec" | "exit" | "exit_group" | "killed"
            ) =>
        {
            String::new()
        }
        (None, None) => " = ?".to_string(),
    };
    let inj = e
        .injected
        .as_ref()
        .map(|s| format!(" [injected: {s}]"))
        .unwrap_or_default();
    format!("{}({}){ret}{inj}", e.call, args.join(", "))
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz: one cluster per thread, program order inside, cross edges
/// between clusters coloured by kind.
fn dot(manifest: &Manifest, g: &CausalGraph<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(&manifest.id));
    out.push_str("  rankdir=TB;\n  node [shape=box, fontsize=10];\n");
    for (t, th) in g.threads().iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph \"cluster_{t}\" {{\n    label=\"{}\";",
            dot_escape(&th.name)
        );
        for &i in &th.events {
            let label = format!("{}/{}", g.position(i), call_text(g, i));
            let _ = writeln!(out, "    e{i} [label=\"{}\"];", dot_escape(&label));
        }
        for w in th.events.windows(2) {
            let _ = writeln!(out, "    e{} -> e{} [color=gray];", w[0], w[1]);
        }
        out.push_str("  }\n");
    }
    for (a, b, e) in g.edges() {
        let color = match e.kind {
            EdgeKind::Message => "blue",
            EdgeKind::Connect => "darkgreen",
            EdgeKind::Spawn => "orange",
            EdgeKind::Exit => "purple",
            EdgeKind::Eof => "red",
            EdgeKind::Program => "gray",
        };
        let label = e.message.map_or_else(
            || e.kind.as_str().to_string(),
            |m| g.messages()[m].name.clone(),
        );
        let _ = writeln!(
            out,
            "  e{a} -> e{b} [color={color}, label=\"{}\"];",
            dot_escape(&label)
        );
    }
    out.push_str("}\n");
    out
}

/// ShiViz log for its default parser regex
/// `(?<event>.*)\n(?<host>\S*) (?<clock>{.*})`: per event a description
/// line, then the thread name and its vector clock as JSON keyed by thread
/// name (zero components left out), in a topological order.
fn shiviz(g: &CausalGraph<'_>) -> String {
    let threads = g.threads();
    let mut order: Vec<usize> = g.topo_order().to_vec();
    order.sort_by_key(|&i| (g.lamport(i), g.events()[i].seq));
    let mut out = String::new();
    for i in order {
        let clock: serde_json::Map<String, serde_json::Value> = g
            .clock_entries(i)
            .into_iter()
            .map(|(t, c)| (threads[t].name.clone(), serde_json::Value::from(c)))
            .collect();
        let _ = writeln!(
            out,
            "{} {}",
            g.event_name(i),
            call_text(g, i).replace('\n', " ")
        );
        let _ = writeln!(
            out,
            "{} {}",
            threads[g.thread_of(i)].name,
            serde_json::Value::Object(clock)
        );
    }
    out
}

/// Chrome trace-event JSON (opens in ui.perfetto.dev): an `X` slice per
/// event, process/thread name metadata, and a flow (`s`→`f`) per cross
/// edge. Processes and threads get small ids (index + 1) because real pids
/// can be reused within a run.
fn perfetto(manifest: &Manifest, g: &CausalGraph<'_>) -> String {
    use serde_json::json;
    let events = g.events();
    let end_of_run = events
        .iter()
        .map(|e| e.end_ns.unwrap_or(e.start_ns))
        .max()
        .unwrap_or(0);
    let us = |ns: u64| ns as f64 / 1000.0;
    let ids = |i: usize| (g.process_of(i) + 1, g.thread_of(i) + 1);
    let mut out: Vec<serde_json::Value> = Vec::new();
    for (p, pr) in g.processes().iter().enumerate() {
        out.push(
            json!({"ph": "M", "name": "process_name", "pid": p + 1, "args": {"name": pr.name}}),
        );
    }
    for (t, th) in g.threads().iter().enumerate() {
        out.push(json!({"ph": "M", "name": "thread_name", "pid": th.process + 1, "tid": t + 1, "args": {"name": th.name}}));
    }
    for &i in g.seq_order() {
        let e = &events[i];
        let (pid, tid) = ids(i);
        let end = e.end_ns.unwrap_or(if e.ret.is_none() && e.call != "start" {
            end_of_run
        } else {
            e.start_ns
        });
        out.push(json!({
            "ph": "X", "name": e.call, "cat": "syscall", "pid": pid, "tid": tid,
            "ts": us(e.start_ns), "dur": us(end.saturating_sub(e.start_ns)),
            "args": {"event": g.event_name(i), "call": call_text(g, i), "id": i, "seq": e.seq, "lamport": g.lamport(i)},
        }));
    }
    for (k, (a, b, edge)) in g.edges().into_iter().enumerate() {
        let name = edge.message.map_or_else(
            || edge.kind.as_str().to_string(),
            |m| g.messages()[m].name.clone(),
        );
        let ((pa, ta), (pb, tb)) = (ids(a), ids(b));
        out.push(json!({"ph": "s", "id": k + 1, "name": name, "cat": edge.kind.as_str(), "pid": pa, "tid": ta, "ts": us(events[a].start_ns)}));
        out.push(json!({"ph": "f", "bp": "e", "id": k + 1, "name": name, "cat": edge.kind.as_str(), "pid": pb, "tid": tb, "ts": us(events[b].start_ns)}));
    }
    let doc = json!({
        "traceEvents": out,
        "displayTimeUnit": "ns",
        "metadata": {"run": manifest.id, "command": manifest.command, "trace_class": trace_class(g)},
    });
    serde_json::to_string(&doc).expect("the trace serializes")
}
