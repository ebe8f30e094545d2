//! Windows of a run's graph (`GET /api/runs/{id}/window`, docs/API.md):
//! the events of a time or logical-clock range on a set of lanes, or,
//! when the range holds more events than a screen can show, a level of
//! detail (counts per pixel column per lane, message arrows bucketed by
//! column pair).
//!
//! This module is the contract in code: the query and its validation, the
//! column arithmetic, the answer's shape, and [`window_of_export`], the
//! reference answer computed from a whole [`Export`]. The window index
//! (bop-store) answers the same queries from disk and is tested against
//! this reference; small or still-recording runs are served by it directly.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::export::{EventOut, Export, RunOut};

/// Version of the window answer.
pub const WINDOW_SCHEMA: u32 = 1;
/// Pixel columns when the query names none.
pub const DEFAULT_COLUMNS: usize = 1000;
/// Most pixel columns a query may ask for.
pub const MAX_COLUMNS: usize = 8000;
/// A window holds its events when it has at most this many per column.
pub const EVENTS_PER_COLUMN: usize = 4;

/// The x axis of a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// ns since the run started: an event's `end_ns`, else its `start_ns`.
    Time,
    /// Lamport time.
    Logical,
}

impl std::str::FromStr for Scale {
    type Err = WindowError;
    fn from_str(s: &str) -> Result<Scale, WindowError> {
        match s {
            "time" => Ok(Scale::Time),
            "logical" => Ok(Scale::Logical),
            other => Err(WindowError::Scale(other.to_string())),
        }
    }
}

/// Why a window query is refused (a 400 in the API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// `scale` is neither `time` nor `logical`.
    #[error("unknown scale '{0}' (use time or logical)")]
    Scale(String),
    /// The range ends before it starts.
    #[error("x0 ({x0}) is after x1 ({x1})")]
    Reversed {
        /// Start asked for.
        x0: u64,
        /// End asked for.
        x1: u64,
    },
    /// `columns` is 0 or above [`MAX_COLUMNS`].
    #[error("columns must be between 1 and {MAX_COLUMNS}, not {0}")]
    Columns(usize),
    /// A lane names no thread of the run.
    #[error("the run has no thread '{0}'")]
    Lane(String),
}

/// A window query as the API receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowQuery {
    /// The x axis.
    pub scale: Scale,
    /// First x of the window (default: the run's first).
    pub x0: Option<u64>,
    /// Last x, inclusive (default: the run's last).
    pub x1: Option<u64>,
    /// Thread names to include (default: every thread).
    pub lanes: Option<Vec<String>>,
    /// Pixel columns of the window.
    pub columns: usize,
}

impl Default for WindowQuery {
    fn default() -> WindowQuery {
        WindowQuery {
            scale: Scale::Time,
            x0: None,
            x1: None,
            lanes: None,
            columns: DEFAULT_COLUMNS,
        }
    }
}

/// The run's first and last x in each scale, for minimaps and scrollbars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Extent {
    /// `[first, last]` ns.
    pub time: [u64; 2],
    /// `[first, last]` Lamport time.
    pub logical: [u64; 2],
}

impl Extent {
    /// The extent of a set of events (zeros when there are none).
    pub fn of<'a>(events: impl IntoIterator<Item = &'a EventOut>) -> Extent {
        let mut ext: Option<Extent> = None;
        for e in events {
            let (t, l) = (x_of(e, Scale::Time), x_of(e, Scale::Logical));
            let x = ext.get_or_insert(Extent {
                time: [t, t],
                logical: [l, l],
            });
            x.time = [x.time[0].min(t), x.time[1].max(t)];
            x.logical = [x.logical[0].min(l), x.logical[1].max(l)];
        }
        ext.unwrap_or_default()
    }

    fn range(&self, scale: Scale) -> [u64; 2] {
        match scale {
            Scale::Time => self.time,
            Scale::Logical => self.logical,
        }
    }
}

/// The x of an event in a scale.
pub fn x_of(e: &EventOut, scale: Scale) -> u64 {
    match scale {
        Scale::Time => e.end_ns.unwrap_or(e.start_ns),
        Scale::Logical => e.lamport,
    }
}

/// A validated query against one run's lanes and extent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The x axis.
    pub scale: Scale,
    /// First x.
    pub x0: u64,
    /// Last x, inclusive.
    pub x1: u64,
    /// Selected lanes as thread indices, increasing.
    pub lanes: Vec<usize>,
    /// True when every thread is selected (no lane filter needed).
    pub all_lanes: bool,
    /// Pixel columns.
    pub columns: usize,
}

impl Resolved {
    /// Checks a query against the run's thread names and extent.
    pub fn new(
        q: &WindowQuery,
        threads: &[String],
        extent: &Extent,
    ) -> Result<Resolved, WindowError> {
        if q.columns == 0 || q.columns > MAX_COLUMNS {
            return Err(WindowError::Columns(q.columns));
        }
        let [lo, hi] = extent.range(q.scale);
        let (x0, x1) = (
            q.x0.unwrap_or(lo),
            q.x1.unwrap_or(hi.max(q.x0.unwrap_or(lo))),
        );
        if x0 > x1 {
            return Err(WindowError::Reversed { x0, x1 });
        }
        let lanes: Vec<usize> = match &q.lanes {
            None => (0..threads.len()).collect(),
            Some(names) => {
                let mut set = BTreeSet::new();
                for n in names {
                    let t = threads
                        .iter()
                        .position(|t| t == n)
                        .ok_or_else(|| WindowError::Lane(n.clone()))?;
                    set.insert(t);
                }
                set.into_iter().collect()
            }
        };
        Ok(Resolved {
            scale: q.scale,
            x0,
            x1,
            all_lanes: lanes.len() == threads.len(),
            lanes,
            columns: q.columns,
        })
    }

    /// Most events a window shows one by one.
    pub fn detail_limit(&self) -> u64 {
        (self.columns * EVENTS_PER_COLUMN) as u64
    }

    /// The pixel column of `x`: -1 before the window, `columns` after it.
    pub fn column(&self, x: u64) -> i64 {
        column(x, self.x0, self.x1, self.columns)
    }

    /// The column an event at `x` counts in when counted in buckets of
    /// `1 << shift`: that of its bucket's first x, clamped to the window
    /// (the column of `x` itself with `shift` 0).
    pub fn bucket_column(&self, x: u64, shift: u32) -> i64 {
        if !self.contains(x) {
            return self.column(x);
        }
        self.column(self.x0.max((x >> shift) << shift))
    }

    /// True when `x` is inside the window.
    pub fn contains(&self, x: u64) -> bool {
        (self.x0..=self.x1).contains(&x)
    }
}

/// The pixel column of `x` in `[x0, x1]` cut into `columns` equal columns:
/// `floor((x - x0) * columns / (x1 - x0 + 1))`, -1 before the window and
/// `columns` after it.
pub fn column(x: u64, x0: u64, x1: u64, columns: usize) -> i64 {
    if x < x0 {
        return -1;
    }
    if x > x1 {
        return columns as i64;
    }
    let width = u128::from(x1 - x0) + 1;
    (u128::from(x - x0) * columns as u128 / width) as i64
}

/// Events per column of one lane.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LaneLod {
    /// Thread name.
    pub thread: String,
    /// Events per column.
    pub counts: Vec<u64>,
    /// Events the fault injector changed, per column.
    pub injected: Vec<u64>,
    /// The kinds of events present per column, as [`KINDS`] bits.
    pub kinds: Vec<u8>,
}

/// The bits of a level of detail's `kinds`, lowest first: what a zoomed
/// out lane can color without the events (docs/API.md).
pub const KINDS: [&str; 8] = [
    "send", "recv", "setup", "teardown", "spawn", "exit", "other", "failed",
];

/// The [`KINDS`] bits of one event: its call's role, plus `failed` when it
/// returned an errno. A transfer (sendfile, splice) both sends and receives.
pub fn kind_bits(call: &str, failed: bool) -> u8 {
    use bop_model::CallKind as K;
    let role = match K::of(call) {
        Some(K::Send) => 1,
        Some(K::Recv) => 2,
        Some(K::Transfer) => 3,
        Some(K::Create | K::Setup) => 4,
        Some(K::Teardown) => 8,
        Some(K::Spawn | K::Exec) => 16,
        Some(K::Exit | K::Wait) => 32,
        _ => 64,
    };
    role | if failed { 128 } else { 0 }
}

/// Message deliveries between two lanes from one column to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Arrow {
    /// Sending thread.
    pub from: String,
    /// Receiving thread.
    pub to: String,
    /// Column of the sends (-1: before the window; `columns`: after).
    pub column_from: i64,
    /// Column of the receives.
    pub column_to: i64,
    /// Deliveries.
    pub count: u64,
    /// Always `message`.
    pub kind: &'static str,
}

/// The level of detail of a zoomed-out window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lod {
    /// Width in x of the buckets events were counted in (a power of two,
    /// at most a column's width; 1 when counted event by event): an event
    /// at `x` counts in the column of `max(x0, floor(x / bucket) * bucket)`
    /// (see [`bucket_column`]). Precomputed buckets make a zoomed-out
    /// window cost the same whatever the events in it.
    pub bucket: u64,
    /// One per selected lane, in thread order.
    pub lanes: Vec<LaneLod>,
    /// Bucketed deliveries, by sending lane, receiving lane, columns.
    pub arrows: Vec<Arrow>,
}

impl LaneLod {
    /// One empty lane per selected lane of `r`, every column zero: the
    /// level of detail both the index's query and the reference answer
    /// fill in.
    pub fn empty_lanes(r: &Resolved, names: &[String]) -> Vec<LaneLod> {
        r.lanes
            .iter()
            .map(|&t| LaneLod {
                thread: names[t].clone(),
                counts: vec![0; r.columns],
                injected: vec![0; r.columns],
                kinds: vec![0; r.columns],
            })
            .collect()
    }
}

/// Adds deliveries `(from lane, to lane, from column, to column)` into
/// arrows ordered the way the contract says.
pub fn arrows(
    threads: &[String],
    deliveries: impl IntoIterator<Item = ((usize, usize, i64, i64), u64)>,
) -> Vec<Arrow> {
    let mut by: BTreeMap<(usize, usize, i64, i64), u64> = BTreeMap::new();
    for (k, n) in deliveries {
        *by.entry(k).or_default() += n;
    }
    by.into_iter()
        .map(|((f, t, cf, ct), count)| Arrow {
            from: threads[f].clone(),
            to: threads[t].clone(),
            column_from: cf,
            column_to: ct,
            count,
            kind: "message",
        })
        .collect()
}

/// The run-wide parts every window answer carries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Head {
    /// Same as the graph's `run`.
    pub run: RunOut,
    /// Every process.
    pub processes: Value,
    /// Every thread.
    pub threads: Value,
    /// Every channel.
    pub channels: Value,
    /// The run's extent.
    pub extent: Extent,
}

/// One window answer (docs/API.md).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    /// [`WINDOW_SCHEMA`].
    pub schema: u32,
    /// The run-wide parts.
    #[serde(flatten)]
    pub head: Head,
    /// The x axis.
    pub scale: Scale,
    /// First x.
    pub x0: u64,
    /// Last x, inclusive.
    pub x1: u64,
    /// Pixel columns.
    pub columns: usize,
    /// Events of the selected lanes inside the window.
    pub total_events: u64,
    /// In detail: the window's events and the other ends of their
    /// messages and edges, in recording order.
    pub events: Option<Vec<Value>>,
    /// In detail: messages with an end among the window's events.
    pub messages: Option<Vec<Value>>,
    /// In detail: cross edges with an end among the window's events.
    pub edges: Option<Vec<Value>>,
    /// Zoomed out: the level of detail instead of events.
    pub lod: Option<Lod>,
}

impl Window {
    /// The window of `r` with its run-wide parts and count, before its
    /// events or level of detail are filled in (by the export's answer or
    /// by the index's: one shape for both).
    pub fn bare(head: Head, r: &Resolved, total_events: u64) -> Window {
        Window {
            schema: WINDOW_SCHEMA,
            head,
            scale: r.scale,
            x0: r.x0,
            x1: r.x1,
            columns: r.columns,
            total_events,
            events: None,
            messages: None,
            edges: None,
            lod: None,
        }
    }
}

fn to_values<T: Serialize>(items: impl IntoIterator<Item = T>) -> Vec<Value> {
    items
        .into_iter()
        .map(|x| serde_json::to_value(x).unwrap_or(Value::Null))
        .collect()
}

/// The thread names of an export, in thread order.
pub fn thread_names(x: &Export) -> Vec<String> {
    x.threads.iter().map(|t| t.name.clone()).collect()
}

/// The run-wide parts of an export.
pub fn head_of(x: &Export) -> Head {
    Head {
        run: x.run.clone(),
        processes: Value::Array(to_values(&x.processes)),
        threads: Value::Array(to_values(&x.threads)),
        channels: Value::Array(to_values(&x.channels)),
        extent: Extent::of(&x.events),
    }
}

/// The reference answer: the window computed from the whole export.
pub fn window_of_export(x: &Export, q: &WindowQuery) -> Result<Window, WindowError> {
    window_of_export_in(x, q, 0)
}

/// The reference answer with a level of detail counted in buckets of
/// `1 << shift` (what the index's precomputed levels answer).
pub fn window_of_export_in(x: &Export, q: &WindowQuery, shift: u32) -> Result<Window, WindowError> {
    let head = head_of(x);
    let names = thread_names(x);
    let r = Resolved::new(q, &names, &head.extent)?;
    let lane = |e: &EventOut| names.iter().position(|n| *n == e.thread).unwrap_or(0);
    let lane_of: Vec<usize> = x.events.iter().map(lane).collect();
    let chosen: BTreeSet<usize> = r.lanes.iter().copied().collect();
    let inside: Vec<usize> = (0..x.events.len())
        .filter(|&k| chosen.contains(&lane_of[k]) && r.contains(x_of(&x.events[k], r.scale)))
        .collect();
    let total = inside.len() as u64;
    let mut w = Window::bare(head, &r, total);
    // Export events are in recording order; ids index the whole log.
    let at: BTreeMap<usize, usize> = x
        .events
        .iter()
        .enumerate()
        .map(|(k, e)| (e.id, k))
        .collect();
    if total > r.detail_limit() {
        w.lod = Some(lod_of_export(x, &r, &names, &lane_of, &at, &inside, shift));
        return Ok(w);
    }
    let ids: BTreeSet<usize> = inside.iter().map(|&k| x.events[k].id).collect();
    let mut keep = ids.clone();
    let messages: Vec<_> = x
        .messages
        .iter()
        .filter(|m| ids.contains(&m.send) || m.recvs.iter().any(|r| ids.contains(r)))
        .collect();
    let edges: Vec<_> = x
        .edges
        .iter()
        .filter(|e| ids.contains(&e.from) || ids.contains(&e.to))
        .collect();
    for m in &messages {
        keep.insert(m.send);
        keep.extend(m.recvs.iter().copied());
    }
    for e in &edges {
        keep.extend([e.from, e.to]);
    }
    w.events = Some(to_values(x.events.iter().filter(|e| keep.contains(&e.id))));
    w.messages = Some(to_values(messages));
    w.edges = Some(to_values(edges));
    Ok(w)
}

fn lod_of_export(
    x: &Export,
    r: &Resolved,
    names: &[String],
    lane_of: &[usize],
    at: &BTreeMap<usize, usize>,
    inside: &[usize],
    shift: u32,
) -> Lod {
    let mut lanes = LaneLod::empty_lanes(r, names);
    for &k in inside {
        let e = &x.events[k];
        let Some(slot) = r.lanes.iter().position(|&t| t == lane_of[k]) else {
            continue;
        };
        let c = r.bucket_column(x_of(e, r.scale), shift) as usize;
        lanes[slot].counts[c] += 1;
        lanes[slot].injected[c] += u64::from(e.injected.is_some());
        lanes[slot].kinds[c] |= kind_bits(&e.call, e.errno.is_some());
    }
    let chosen: BTreeSet<usize> = r.lanes.iter().copied().collect();
    let deliveries = x
        .edges
        .iter()
        .filter(|e| e.kind == super::EdgeKind::Message)
        .filter_map(|e| {
            let (a, b) = (*at.get(&e.from)?, *at.get(&e.to)?);
            let (xa, xb) = (x_of(&x.events[a], r.scale), x_of(&x.events[b], r.scale));
            let (la, lb) = (lane_of[a], lane_of[b]);
            let shown = chosen.contains(&la) && chosen.contains(&lb);
            (shown && (r.contains(xa) || r.contains(xb))).then(|| {
                let (ca, cb) = (r.bucket_column(xa, shift), r.bucket_column(xb, shift));
                ((la, lb, ca, cb), 1)
            })
        });
    Lod {
        bucket: 1 << shift,
        lanes,
        arrows: arrows(names, deliveries),
    }
}
