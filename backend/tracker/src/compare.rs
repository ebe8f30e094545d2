//! Run comparison (`bop diff A B`): what differs between two runs of one
//! target, in logical names only (DESIGN.md "Logical names"), and where
//! the two runs stop matching. Pure code over two manifests and event logs;
//! the JSON shape of [`Comparison`] is documented in docs/COMPARE.md.
//!
//! How it works:
//!
//! 1. Both logs become causal graphs ([`CausalGraph::build`]). Processes,
//!    threads and channels are matched by name.
//! 2. Each thread present in both runs has its event sequence aligned by a
//!    longest common subsequence over (call, channel) keys ([`align`]),
//!    never by raw event names: those carry per-thread ordinals
//!    (`client:t0/15:recvfrom`), so one extra event would rename every
//!    later one. Timing noise (blocking points such as `poll`, calls
//!    failing with `EAGAIN`/`EINTR`) is left out of the alignment, as it is
//!    left out of trace classes, except where it stands in for a real call
//!    of the other run (a read that timed out with `EAGAIN` in B where A
//!    read a reply).
//! 3. An aligned pair *differs* when its outcome (bytes moved, errno,
//!    unfinished, exit status, signal), its captured payload, the
//!    drop status of the messages it sent, or its incoming cross edges
//!    (which message fed a read, which close caused an end of file) differ.
//!    Events left unaligned differ too.
//! 4. "Bad" spreads along happens-before in both graphs and across the
//!    alignment. The **divergence frontier** is the set of differing events
//!    whose causal predecessors all still match: each is a point after which
//!    the runs stop matching. The first divergence is chosen among them:
//!    points in the workload (the causal past of the scenario client's last
//!    event, as trace classes count it) before teardown, then fault sites
//!    (events the injector changed) first, then the earliest by Lamport
//!    time. The other frontier points are concurrent with it and reported
//!    as other divergences. Wall-clock times are never used.
//! 5. Messages are paired through their aligned send events (falling back
//!    to equal names), so a message whose ordinal shifted is still compared
//!    with its counterpart.

mod align;
mod render;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

pub use render::render_text;

use crate::classes::is_noise;
use crate::{CausalGraph, EdgeKind, is_recv, is_send, is_thread_end, trace_class};
use bop_model::FaultRecord;
use bop_model::{Event, Manifest, Verdict};

/// Version of the [`Comparison`] JSON shape (docs/COMPARE.md).
pub const COMPARE_SCHEMA: u32 = 1;

/// How many payload bytes a preview shows.
const PREVIEW_BYTES: usize = 24;

/// How many independent divergences are reported besides the first.
const MAX_OTHER_DIVERGENCES: usize = 10;

/// The comparison of run A with run B. Everything that is the same in both
/// runs is left out: `compare(A, A)` has empty lists and no divergence
/// ([`Comparison::is_empty`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Comparison {
    /// [`COMPARE_SCHEMA`].
    pub schema: u32,
    /// Run A (usually the parent run).
    pub a: RunInfo,
    /// Run B (usually the rerun).
    pub b: RunInfo,
    /// True when both runs have the same trace class.
    pub same_class: bool,
    /// Where the runs stop matching, earliest in causal order; `None` when
    /// they never do.
    pub first_divergence: Option<Divergence>,
    /// Other points where the runs stop matching that are concurrent with
    /// the first (neither happens before the other); at most 10.
    pub other_divergences: Vec<Divergence>,
    /// Processes (logical names) only in A / only in B.
    pub processes: OnlyIn,
    /// Threads only in A / only in B.
    pub threads: OnlyIn,
    /// Channels only in A / only in B.
    pub channels: OnlyIn,
    /// Per thread with differences: events removed (only in A), inserted
    /// (only in B), moved, or changed; sorted by thread name.
    pub events: Vec<ThreadDiff>,
    /// Messages only in A, only in B, and changed.
    pub messages: MessageDiff,
    /// A few lines for humans.
    pub summary: String,
}

impl Comparison {
    /// True when nothing differs (run ids, verdicts, classes and faults
    /// are not differences by themselves).
    pub fn is_empty(&self) -> bool {
        self.first_divergence.is_none()
            && self.other_divergences.is_empty()
            && self.processes.is_empty()
            && self.threads.is_empty()
            && self.channels.is_empty()
            && self.events.is_empty()
            && self.messages.only_a.is_empty()
            && self.messages.only_b.is_empty()
            && self.messages.changed.is_empty()
    }
}

/// One side of the comparison.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// Run id.
    pub id: String,
    /// The run this one reruns, if any.
    pub parent: Option<String>,
    /// One-line description of the target.
    pub command: String,
    /// pass / fail / unknown.
    pub verdict: Verdict,
    /// Exit status of the target.
    pub exit_status: Option<i32>,
    /// Trace class computed from the events by this build.
    pub trace_class: String,
    /// Number of recorded events.
    pub events: usize,
    /// The run's faults as planned, and whether and where each fired.
    pub faults: Vec<FaultInfo>,
}

/// One fault of a run's plan (from `Manifest::faults`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FaultInfo {
    /// The fault in one line: `drop client->primary#0/r1`.
    pub fault: String,
    /// Whether it fired.
    pub fired: bool,
    /// Logical name of the event where it first fired.
    pub at: Option<String>,
    /// What it did, or why it did not fire.
    pub effect: String,
    /// How many calls it affected.
    pub count: u64,
}

/// Names present in only one of the runs, sorted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct OnlyIn {
    /// Only in A.
    pub only_a: Vec<String>,
    /// Only in B.
    pub only_b: Vec<String>,
}

impl OnlyIn {
    /// True when both lists are empty.
    pub fn is_empty(&self) -> bool {
        self.only_a.is_empty() && self.only_b.is_empty()
    }
}

/// How a divergence point differs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DivergenceKind {
    /// The event happened in both runs, differently.
    Changed,
    /// The event happened only in A.
    OnlyA,
    /// The event happened only in B.
    OnlyB,
}

/// A point where the runs stop matching: everything that happens before it
/// (in either run) matches.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Divergence {
    /// Thread of the event (a thread name in A, or in B for `only_b`).
    pub thread: String,
    /// The diverging event in A (`None` for `only_b`).
    pub a: Option<String>,
    /// Its counterpart in B (`None` for `only_a`).
    pub b: Option<String>,
    /// Changed, only in A, or only in B.
    pub kind: DivergenceKind,
    /// The last event of the same thread before it that matches in both
    /// runs (named as in A).
    pub after: Option<String>,
    /// True when the point is in the causal past of the workload's end
    /// (the scenario client's last event) in either run, or the run has no
    /// scenario client. What happens after the workload ended is mostly
    /// teardown, whose timing is bop's, not the system's.
    pub in_workload: bool,
    /// One line: what is different here.
    pub reason: String,
}

/// The differences of one thread's events.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ThreadDiff {
    /// Thread name.
    pub thread: String,
    /// Events only in A (named as in A).
    pub removed: Vec<EventInfo>,
    /// Events only in B (named as in B).
    pub inserted: Vec<EventInfo>,
    /// The same call on the same channel at another place in the thread's
    /// order (a reordering).
    pub moved: Vec<EventChange>,
    /// Events of both runs, aligned, that differ.
    pub changed: Vec<EventChange>,
}

impl ThreadDiff {
    fn is_empty(&self) -> bool {
        self.removed.is_empty()
            && self.inserted.is_empty()
            && self.moved.is_empty()
            && self.changed.is_empty()
    }
}

/// One event as the comparison shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EventInfo {
    /// Logical name in its run.
    pub name: String,
    /// Channel it acted on.
    pub channel: Option<String>,
    /// `8 bytes`, `eof`, `EAGAIN`, `unfinished`, `status 0`, `SIGKILL`, `ok`.
    pub outcome: String,
    /// Messages it sent (send calls) or received from (receive calls).
    pub messages: Vec<String>,
    /// Preview of the captured payload (`"GET x\n"`), if captured.
    pub payload: Option<String>,
    /// What the fault injector did to it.
    pub injected: Option<String>,
}

/// An event of A and its counterpart in B.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EventChange {
    /// The event in A.
    pub a: EventInfo,
    /// The event in B.
    pub b: EventInfo,
    /// What differs, one phrase each.
    pub what: Vec<String>,
}

/// Message differences.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct MessageDiff {
    /// Messages whose send has no counterpart in B.
    pub only_a: Vec<MessageInfo>,
    /// Messages whose send has no counterpart in A.
    pub only_b: Vec<MessageInfo>,
    /// Messages of both runs that differ.
    pub changed: Vec<MessageChange>,
}

/// One message as the comparison shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MessageInfo {
    /// Logical name.
    pub name: String,
    /// Bytes sent.
    pub bytes: u64,
    /// The send event.
    pub send: String,
    /// The receive events that consumed its bytes.
    pub recvs: Vec<String>,
    /// Never received (or dropped).
    pub lost: bool,
    /// Dropped by the fault injector.
    pub dropped: bool,
    /// Preview of the captured payload.
    pub payload: Option<String>,
}

/// A message of A and its counterpart in B.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MessageChange {
    /// In A.
    pub a: MessageInfo,
    /// In B (its name differs from A's when its ordinal shifted).
    pub b: MessageInfo,
    /// What differs, one phrase each.
    pub what: Vec<String>,
}

/// Compares run A with run B. See the module docs for the method.
pub fn compare(a: (&Manifest, &[Event]), b: (&Manifest, &[Event])) -> Comparison {
    let sa = Side::new(a.1);
    let sb = Side::new(b.1);
    let mut cmp = Cmp::new(&sa, &sb);
    cmp.align();
    cmp.spread();
    let (first_divergence, other_divergences) = cmp.divergences();
    let run = |m: &Manifest, s: &Side<'_>| RunInfo {
        id: m.id.clone(),
        parent: m.parent.clone(),
        command: m.command.clone(),
        verdict: m.verdict,
        exit_status: m.exit_status,
        trace_class: trace_class(&s.g),
        events: s.ev.len(),
        faults: m.faults.iter().map(fault_info).collect(),
    };
    let (ra, rb) = (run(a.0, &sa), run(b.0, &sb));
    let names = |v: Vec<String>| v.into_iter().collect::<BTreeSet<String>>();
    let only = |x: BTreeSet<String>, y: BTreeSet<String>| OnlyIn {
        only_a: x.difference(&y).cloned().collect(),
        only_b: y.difference(&x).cloned().collect(),
    };
    let procs = |s: &Side<'_>| names(s.g.processes().iter().map(|p| p.name.clone()).collect());
    let threads = |s: &Side<'_>| names(s.g.threads().iter().map(|t| t.name.clone()).collect());
    let chans = |s: &Side<'_>| names(s.g.channels().iter().map(|c| c.name.clone()).collect());
    let mut c = Comparison {
        schema: COMPARE_SCHEMA,
        same_class: ra.trace_class == rb.trace_class,
        a: ra,
        b: rb,
        first_divergence,
        other_divergences,
        processes: only(procs(&sa), procs(&sb)),
        threads: only(threads(&sa), threads(&sb)),
        channels: only(chans(&sa), chans(&sb)),
        events: cmp.thread_diffs(),
        messages: cmp.messages(),
        summary: String::new(),
    };
    c.summary = summary(&c);
    c
}

/// Key of an event for the per-thread alignment: the call (every
/// thread-ending event is `exit`, so `exit_group` vs `killed` is a changed
/// event, not a removal plus an insertion) and the channel's name.
type Key = (String, Option<String>);

/// Logical outcome of an event; pids, fds and times never enter it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Bytes(u64),
    Eof,
    Failed(String),
    Unfinished,
    Exit(i32),
    Killed(String),
}

/// One run's graph and per-event facts.
struct Side<'e> {
    ev: &'e [Event],
    g: CausalGraph<'e>,
    key: Vec<Key>,
    noise: Vec<bool>,
    /// Messages sent by each event, in part order.
    sent: Vec<Vec<usize>>,
    /// Messages each event received bytes of.
    recvd: Vec<Vec<usize>>,
    /// Immediate predecessors (program order and cross edges).
    preds: Vec<Vec<usize>>,
    thread_by_name: HashMap<String, usize>,
    /// The workload's end: the scenario client's last event (as in trace
    /// classes), if the run has a client.
    horizon: Option<usize>,
}

impl<'e> Side<'e> {
    fn new(ev: &'e [Event]) -> Side<'e> {
        let g = CausalGraph::build(ev);
        let n = ev.len();
        let mut sent = vec![Vec::new(); n];
        let mut recvd = vec![Vec::new(); n];
        for (m, msg) in g.messages().iter().enumerate() {
            sent[msg.send].push(m);
            for &r in &msg.recvs {
                recvd[r].push(m);
            }
        }
        let mut preds = vec![Vec::new(); n];
        for (a, b, _) in g.edges() {
            preds[b].push(a);
        }
        for t in g.threads() {
            for w in t.events.windows(2) {
                preds[w[1]].push(w[0]);
            }
        }
        let key = (0..n)
            .map(|i| {
                let call = if is_thread_end(&ev[i].call) {
                    "exit".to_string()
                } else {
                    ev[i].call.clone()
                };
                (call, g.channel_of(i).map(|c| g.channels()[c].name.clone()))
            })
            .collect();
        // Scheduling decides how often a thread polls or retries, not
        // what the system did: the same events trace classes leave out.
        let noise = (0..n).map(|i| is_noise(&g, i)).collect();
        let thread_by_name = g
            .threads()
            .iter()
            .enumerate()
            .map(|(t, th)| (th.name.clone(), t))
            .collect();
        let horizon = g.workload_end();
        Side {
            horizon,
            ev,
            g,
            key,
            noise,
            sent,
            recvd,
            preds,
            thread_by_name,
        }
    }

    fn name(&self, i: usize) -> String {
        self.g.event_name(i)
    }

    /// True when event `i` is in the causal past of the workload's end
    /// (always, without a scenario client).
    fn in_workload(&self, i: usize) -> bool {
        self.horizon
            .is_none_or(|h| i == h || self.g.happens_before(i, h))
    }

    fn thread_name(&self, i: usize) -> &str {
        &self.g.threads()[self.g.thread_of(i)].name
    }

    fn msg_name(&self, m: usize) -> &str {
        &self.g.messages()[m].name
    }

    fn outcome(&self, i: usize) -> Outcome {
        let e = &self.ev[i];
        if let Some(errno) = &e.errno {
            return Outcome::Failed(errno.clone());
        }
        match e.call.as_str() {
            "killed" => return Outcome::Killed(e.detail.signal.clone().unwrap_or("?".into())),
            "exit" | "exit_group" => return Outcome::Exit(e.detail.status.unwrap_or(0)),
            "start" | "exec" => return Outcome::Ok,
            _ => {}
        }
        let Some(ret) = e.ret else {
            return Outcome::Unfinished;
        };
        if is_send(&e.call) || is_recv(&e.call) {
            let n = e.bytes.unwrap_or(ret.max(0) as u64);
            let stream = e.endpoint.as_ref().is_none_or(|ep| ep.stream);
            if n == 0 && is_recv(&e.call) && stream {
                return Outcome::Eof;
            }
            return Outcome::Bytes(n);
        }
        Outcome::Ok
    }

    fn info(&self, i: usize) -> EventInfo {
        let e = &self.ev[i];
        let ms = if is_send(&e.call) {
            &self.sent[i]
        } else {
            &self.recvd[i]
        };
        EventInfo {
            name: self.name(i),
            channel: self.key[i].1.clone(),
            outcome: outcome_word(&self.outcome(i)),
            messages: ms.iter().map(|&m| self.msg_name(m).to_string()).collect(),
            payload: e.data.as_deref().map(preview),
            injected: e.injected.clone(),
        }
    }

    /// What the event did, as a verb phrase: `sent 8 bytes`.
    fn did(&self, i: usize) -> String {
        did(&self.ev[i].call, &self.outcome(i))
    }

    /// `sendto of 8 bytes on client->primary#0`: for lists of events.
    fn describe(&self, i: usize) -> String {
        let ch = self.key[i]
            .1
            .as_ref()
            .map_or(String::new(), |c| format!(" on {c}"));
        format!("{} ({}{ch})", self.name(i), self.did(i))
    }

    fn message_info(&self, m: usize) -> MessageInfo {
        let msg = &self.g.messages()[m];
        MessageInfo {
            name: msg.name.clone(),
            bytes: msg.bytes,
            send: self.name(msg.send),
            recvs: msg.recvs.iter().map(|&r| self.name(r)).collect(),
            lost: msg.lost,
            dropped: msg.dropped,
            payload: self.ev[msg.send].data.as_deref().map(preview),
        }
    }
}

fn outcome_word(o: &Outcome) -> String {
    match o {
        Outcome::Ok => "ok".into(),
        Outcome::Bytes(n) => format!("{n} bytes"),
        Outcome::Eof => "eof".into(),
        Outcome::Failed(e) => e.clone(),
        Outcome::Unfinished => "unfinished".into(),
        Outcome::Exit(s) => format!("status {s}"),
        Outcome::Killed(s) => s.clone(),
    }
}

fn did(call: &str, o: &Outcome) -> String {
    match o {
        Outcome::Bytes(n) if is_send(call) => format!("sent {n} bytes"),
        Outcome::Bytes(n) => format!("read {n} bytes"),
        Outcome::Eof => "read end of file".into(),
        Outcome::Failed(e) => format!("failed with {e}"),
        Outcome::Unfinished => "never returned".into(),
        Outcome::Exit(s) => format!("exited with status {s}"),
        Outcome::Killed(s) => format!("was killed by {s}"),
        Outcome::Ok => "returned".into(),
    }
}

/// A payload preview from the log's hex: printable ASCII as is, the rest
/// escaped, at most [`PREVIEW_BYTES`] bytes, quoted.
fn preview(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|k| u8::from_str_radix(hex.get(2 * k..2 * k + 2)?, 16).ok())
        .collect();
    let mut s = String::from("\"");
    for &c in bytes.iter().take(PREVIEW_BYTES) {
        match c {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    if bytes.len() > PREVIEW_BYTES {
        s.push('…');
    }
    s
}

fn fault_info(r: &FaultRecord) -> FaultInfo {
    FaultInfo {
        fault: r.fault.to_string(),
        fired: r.fired,
        at: r.at.as_ref().and_then(|a| a.event.clone()),
        effect: r.effect.clone(),
        count: r.count,
    }
}

/// A divergence point before it is described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    Pair(usize, usize),
    OnlyA(usize),
    OnlyB(usize),
}

/// The comparison under construction.
struct Cmp<'s, 'e> {
    a: &'s Side<'e>,
    b: &'s Side<'e>,
    ab: Vec<Option<usize>>,
    ba: Vec<Option<usize>>,
    /// Unaligned events with the same key elsewhere in the thread (A → B).
    moved_ab: BTreeMap<usize, usize>,
    moved_ba: BTreeMap<usize, usize>,
    /// Per aligned A event: what differs locally (empty = matches).
    what: Vec<Vec<String>>,
    bad_a: Vec<bool>,
    bad_b: Vec<bool>,
}

impl<'s, 'e> Cmp<'s, 'e> {
    fn new(a: &'s Side<'e>, b: &'s Side<'e>) -> Self {
        Cmp {
            a,
            b,
            ab: vec![None; a.ev.len()],
            ba: vec![None; b.ev.len()],
            moved_ab: BTreeMap::new(),
            moved_ba: BTreeMap::new(),
            what: vec![Vec::new(); a.ev.len()],
            bad_a: vec![false; a.ev.len()],
            bad_b: vec![false; b.ev.len()],
        }
    }

    fn link(&mut self, i: usize, j: usize) {
        self.ab[i] = Some(j);
        self.ba[j] = Some(i);
    }

    /// Aligns every thread present in both runs.
    fn align(&mut self) {
        let (a, b) = (self.a, self.b);
        for ta in a.g.threads() {
            let Some(&tb) = b.thread_by_name.get(&ta.name) else {
                continue;
            };
            let (ea, eb) = (&ta.events, &b.g.threads()[tb].events);
            let fa: Vec<usize> = ea.iter().copied().filter(|&i| !a.noise[i]).collect();
            let fb: Vec<usize> = eb.iter().copied().filter(|&j| !b.noise[j]).collect();
            let ka: Vec<(&Key, Outcome)> = fa.iter().map(|&i| (&a.key[i], a.outcome(i))).collect();
            let kb: Vec<(&Key, Outcome)> = fb.iter().map(|&j| (&b.key[j], b.outcome(j))).collect();
            for (x, y) in align::lcs(&ka, &kb) {
                self.link(fa[x], fb[y]);
            }
            self.pair_noise(ea, eb);
            // Reorderings: an unaligned event with the same key as an
            // unaligned event of the other run, paired in order.
            let rest_a: Vec<usize> = fa
                .iter()
                .copied()
                .filter(|&i| self.ab[i].is_none())
                .collect();
            let mut rest_b: Vec<usize> = fb
                .iter()
                .copied()
                .filter(|&j| self.ba[j].is_none())
                .collect();
            for i in rest_a {
                if let Some(k) = rest_b.iter().position(|&j| b.key[j] == a.key[i]) {
                    let j = rest_b.remove(k);
                    self.moved_ab.insert(i, j);
                    self.moved_ba.insert(j, i);
                }
            }
        }
        for i in 0..a.ev.len() {
            if let Some(j) = self.ab[i] {
                self.what[i] = self.differences(i, j);
            }
        }
    }

    /// Within each gap between aligned events, an unaligned real call of
    /// one run is paired with a noise event of the same key in the other:
    /// the read that got 2 bytes in A and timed out with EAGAIN in B is one
    /// call that went differently, not a removal.
    fn pair_noise(&mut self, ea: &[usize], eb: &[usize]) {
        let (mut pa, mut pb) = (0, 0);
        loop {
            let na = (pa..ea.len())
                .find(|&x| self.ab[ea[x]].is_some())
                .unwrap_or(ea.len());
            let nb = (pb..eb.len())
                .find(|&y| self.ba[eb[y]].is_some())
                .unwrap_or(eb.len());
            let (ga, gb) = (&ea[pa..na], &eb[pb..nb]);
            let mut pairs = Vec::new();
            let mut used_b = vec![false; gb.len()];
            let mut used_a = vec![false; ga.len()];
            for (x, &i) in ga.iter().enumerate().filter(|(_, i)| !self.a.noise[**i]) {
                if let Some(y) = (0..gb.len()).find(|&y| {
                    !used_b[y] && self.b.noise[gb[y]] && self.b.key[gb[y]] == self.a.key[i]
                }) {
                    used_b[y] = true;
                    used_a[x] = true;
                    pairs.push((i, gb[y]));
                }
            }
            for &j in gb.iter().filter(|&&j| !self.b.noise[j]) {
                if let Some(x) = (0..ga.len()).find(|&x| {
                    !used_a[x] && self.a.noise[ga[x]] && self.a.key[ga[x]] == self.b.key[j]
                }) {
                    used_a[x] = true;
                    pairs.push((ga[x], j));
                }
            }
            for (i, j) in pairs {
                self.link(i, j);
            }
            if na >= ea.len() && nb >= eb.len() {
                break;
            }
            (pa, pb) = (na + 1, nb + 1);
        }
    }

    /// What differs between the aligned events `i` (A) and `j` (B).
    fn differences(&self, i: usize, j: usize) -> Vec<String> {
        let (a, b) = (self.a, self.b);
        let mut out = Vec::new();
        let (oa, ob) = (a.outcome(i), b.outcome(j));
        if oa != ob {
            let mut s = format!(
                "{} in A, {} in B",
                did(&a.ev[i].call, &oa),
                did(&b.ev[j].call, &ob)
            );
            // A send that carried a message in A and none in B.
            for &m in a.sent[i].iter().filter(|&&m| self.msg_ab(m).is_none()) {
                let x = &a.g.messages()[m];
                let readers: Vec<String> = x.recvs.iter().map(|&r| a.name(r)).collect();
                s.push_str(&format!("; message {} does not exist in B", x.name));
                if !readers.is_empty() {
                    s.push_str(&format!(" (in A it was read by {})", readers.join(", ")));
                }
            }
            out.push(s);
        }
        if let (Some(da), Some(db)) = (&a.ev[i].data, &b.ev[j].data) {
            if da != db {
                out.push(format!(
                    "payload {} in A, {} in B",
                    preview(da),
                    preview(db)
                ));
            }
        }
        // Messages sent: dropped in one run only.
        for (k, &ma) in a.sent[i].iter().enumerate() {
            let Some(&mb) = b.sent[j].get(k) else {
                continue;
            };
            let (xa, xb) = (&a.g.messages()[ma], &b.g.messages()[mb]);
            if xa.dropped != xb.dropped {
                out.push(if xb.dropped {
                    format!("message {} was dropped in B", xb.name)
                } else {
                    format!("message {} was dropped in A, not in B", xa.name)
                });
            }
        }
        // Incoming cross edges, through the alignment.
        let inc = |s: &Side<'_>, x: usize| -> Vec<(usize, EdgeKind)> {
            s.g.incoming(x)
                .into_iter()
                .map(|(src, e)| (src, e.kind))
                .collect()
        };
        let (ia, ib) = (inc(a, i), inc(b, j));
        let mapped: BTreeSet<(Option<usize>, EdgeKind)> =
            ia.iter().map(|&(s, k)| (self.ab[s], k)).collect();
        let own: BTreeSet<(Option<usize>, EdgeKind)> =
            ib.iter().map(|&(s, k)| (Some(s), k)).collect();
        if mapped != own {
            let (ra, rb) = (&a.recvd[i], &b.recvd[j]);
            let fed = |s: &Side<'_>, ms: &[usize]| -> String {
                if ms.is_empty() {
                    "no message".to_string()
                } else {
                    ms.iter()
                        .map(|&m| {
                            format!(
                                "{} (sent by {})",
                                s.msg_name(m),
                                s.name(s.g.messages()[m].send)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let same_msgs = ra.len() == rb.len()
                && ra.iter().zip(rb).all(|(&x, &y)| {
                    self.ab[a.g.messages()[x].send] == Some(b.g.messages()[y].send)
                });
            if !same_msgs {
                let mut s = format!("received {} in A, {} in B", fed(a, ra), fed(b, rb));
                let fates: Vec<String> = ra
                    .iter()
                    .filter_map(|&m| self.fate_in_b(m, Some(j)))
                    .collect();
                if !fates.is_empty() {
                    s.push_str(&format!(" ({})", fates.join("; ")));
                }
                out.push(s);
            }
            for kind in [
                EdgeKind::Connect,
                EdgeKind::Spawn,
                EdgeKind::Exit,
                EdgeKind::Eof,
            ] {
                let xa: BTreeSet<Option<usize>> = ia
                    .iter()
                    .filter(|e| e.1 == kind)
                    .map(|e| self.ab[e.0])
                    .collect();
                let xb: BTreeSet<Option<usize>> = ib
                    .iter()
                    .filter(|e| e.1 == kind)
                    .map(|e| Some(e.0))
                    .collect();
                if xa != xb {
                    let list = |s: &Side<'_>, v: &[(usize, EdgeKind)]| -> String {
                        let names: Vec<String> = v
                            .iter()
                            .filter(|e| e.1 == kind)
                            .map(|e| s.name(e.0))
                            .collect();
                        if names.is_empty() {
                            "nothing".into()
                        } else {
                            names.join(", ")
                        }
                    };
                    out.push(format!(
                        "its {} edge comes from {} in A, from {} in B",
                        kind.as_str(),
                        list(a, &ia),
                        list(b, &ib)
                    ));
                }
            }
        }
        out
    }

    /// The B counterpart of A's message `m`: paired through its aligned
    /// send (same part index).
    fn msg_ab(&self, m: usize) -> Option<usize> {
        let (a, b) = (self.a, self.b);
        let send = a.g.messages()[m].send;
        let k = a.sent[send].iter().position(|&x| x == m)?;
        b.sent.get(self.ab[send]?)?.get(k).copied()
    }

    /// What became of A's message `m` in B, as a phrase, unless it reached
    /// the counterpart of the same receive (`at`).
    fn fate_in_b(&self, m: usize, at: Option<usize>) -> Option<String> {
        let (a, b) = (self.a, self.b);
        let name = a.msg_name(m);
        let Some(mb) = self.msg_ab(m) else {
            let send = a.g.messages()[m].send;
            return Some(match self.ab[send] {
                Some(j) => format!("{name} was not sent in B: {} {}", b.name(j), b.did(j)),
                None => format!("{name} was not sent in B"),
            });
        };
        let xb = &b.g.messages()[mb];
        if xb.dropped {
            return Some(format!("{name} was dropped in B"));
        }
        if xb.recvs.is_empty() {
            return Some(format!("{name} was not yet delivered in B"));
        }
        if at.is_some_and(|j| xb.recvs.contains(&j)) {
            return None;
        }
        let rn: Vec<String> = xb.recvs.iter().map(|&r| b.name(r)).collect();
        Some(format!("{name} arrived at {} in B", rn.join(", ")))
    }

    /// Marks every event that differs or comes after one that does (in
    /// either run, carried across the alignment), to a fixpoint.
    fn spread(&mut self) {
        let (a, b) = (self.a, self.b);
        for i in 0..a.ev.len() {
            self.bad_a[i] = self.initially_bad_a(i);
        }
        for j in 0..b.ev.len() {
            self.bad_b[j] = self.initially_bad_b(j);
        }
        loop {
            let mut changed = false;
            for &i in a.g.topo_order() {
                let bad = self.bad_a[i]
                    || a.preds[i].iter().any(|&p| self.bad_a[p])
                    || self.ab[i].is_some_and(|j| self.bad_b[j]);
                if bad && !self.bad_a[i] {
                    self.bad_a[i] = true;
                    changed = true;
                }
            }
            for &j in b.g.topo_order() {
                let bad = self.bad_b[j]
                    || b.preds[j].iter().any(|&p| self.bad_b[p])
                    || self.ba[j].is_some_and(|i| self.bad_a[i]);
                if bad && !self.bad_b[j] {
                    self.bad_b[j] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn initially_bad_a(&self, i: usize) -> bool {
        match self.ab[i] {
            Some(_) => !self.what[i].is_empty(),
            None => !self.a.noise[i],
        }
    }

    fn initially_bad_b(&self, j: usize) -> bool {
        match self.ba[j] {
            Some(i) => !self.what[i].is_empty(),
            None => !self.b.noise[j],
        }
    }

    /// The divergence frontier, first point first.
    fn divergences(&self) -> (Option<Divergence>, Vec<Divergence>) {
        let (a, b) = (self.a, self.b);
        let clean_a = |i: usize| a.preds[i].iter().all(|&p| !self.bad_a[p]);
        let clean_b = |j: usize| b.preds[j].iter().all(|&p| !self.bad_b[p]);
        let mut points = Vec::new();
        for i in 0..a.ev.len() {
            if !self.initially_bad_a(i) || !clean_a(i) {
                continue;
            }
            match self.ab[i] {
                Some(j) if clean_b(j) => points.push(Point::Pair(i, j)),
                Some(_) => {}
                None => points.push(Point::OnlyA(i)),
            }
        }
        for j in 0..b.ev.len() {
            if self.ba[j].is_none() && self.initially_bad_b(j) && clean_b(j) {
                points.push(Point::OnlyB(j));
            }
        }
        if points.is_empty() {
            // Only possible when the alignment crosses itself between
            // threads (a cycle through both runs): fall back to every
            // differing event.
            points.extend(
                (0..a.ev.len())
                    .filter(|&i| self.initially_bad_a(i))
                    .map(|i| self.ab[i].map_or(Point::OnlyA(i), |j| Point::Pair(i, j))),
            );
            points.extend(
                (0..b.ev.len())
                    .filter(|&j| self.ba[j].is_none() && self.initially_bad_b(j))
                    .map(Point::OnlyB),
            );
        }
        let rank = |p: &Point| {
            let fault = match *p {
                Point::Pair(i, j) => a.ev[i].injected.is_some() || b.ev[j].injected.is_some(),
                Point::OnlyA(i) => a.ev[i].injected.is_some(),
                Point::OnlyB(j) => b.ev[j].injected.is_some(),
            };
            let (lamport, name) = match *p {
                Point::Pair(i, _) | Point::OnlyA(i) => (a.g.lamport(i), a.name(i)),
                Point::OnlyB(j) => (b.g.lamport(j), b.name(j)),
            };
            (!self.in_workload(*p), !fault, lamport, name)
        };
        points.sort_by_cached_key(rank);
        let mut out = points.into_iter().map(|p| self.divergence(p));
        let first = out.next();
        (first, out.take(MAX_OTHER_DIVERGENCES).collect())
    }

    /// True when the point is in the causal past of the workload's end in
    /// either run.
    fn in_workload(&self, p: Point) -> bool {
        match p {
            Point::Pair(i, j) => self.a.in_workload(i) || self.b.in_workload(j),
            Point::OnlyA(i) => self.a.in_workload(i),
            Point::OnlyB(j) => self.b.in_workload(j),
        }
    }

    /// The last event before `i` in its A thread that matches.
    fn after_a(&self, i: usize) -> Option<String> {
        let a = self.a;
        let t = &a.g.threads()[a.g.thread_of(i)];
        t.events[..a.g.position(i)]
            .iter()
            .rev()
            .find(|&&x| self.ab[x].is_some() && self.what[x].is_empty())
            .map(|&x| a.name(x))
    }

    /// The last event before `j` in its B thread that matches, named in A.
    fn after_b(&self, j: usize) -> Option<String> {
        let b = self.b;
        let t = &b.g.threads()[b.g.thread_of(j)];
        t.events[..b.g.position(j)]
            .iter()
            .rev()
            .find_map(|&y| self.ba[y].filter(|&x| self.what[x].is_empty()))
            .map(|x| self.a.name(x))
    }

    fn divergence(&self, p: Point) -> Divergence {
        let (a, b) = (self.a, self.b);
        let in_workload = self.in_workload(p);
        match p {
            Point::Pair(i, j) => {
                let mut what = self.what[i].clone();
                for (side, inj) in [("A", &a.ev[i].injected), ("B", &b.ev[j].injected)] {
                    // A drop already reads "message M was dropped in B".
                    if let Some(inj) = inj.as_ref().filter(|x| !x.starts_with("drop")) {
                        what.push(format!("{side}'s fault acted here: {inj}"));
                    }
                }
                Divergence {
                    thread: a.thread_name(i).to_string(),
                    a: Some(a.name(i)),
                    b: Some(b.name(j)),
                    in_workload,
                    kind: DivergenceKind::Changed,
                    after: self.after_a(i),
                    reason: format!("{}: {}", a.name(i), what.join("; ")),
                }
            }
            Point::OnlyA(i) => {
                let thread = a.thread_name(i).to_string();
                let reason = if !b.thread_by_name.contains_key(&thread) {
                    format!(
                        "thread {thread} exists only in A (first event {})",
                        a.describe(i)
                    )
                } else if let Some(&j) = self.moved_ab.get(&i) {
                    let t = &b.g.threads()[b.g.thread_of(j)];
                    let prev = t.events[..b.g.position(j)]
                        .iter()
                        .rev()
                        .find(|&&y| self.ba[y].is_some())
                        .map_or(String::new(), |&y| format!(" after {},", b.describe(y)));
                    format!(
                        "{} is reordered in B: it comes{prev} as {}{}",
                        a.describe(i),
                        b.name(j),
                        self.fates(i, Some(j))
                    )
                } else {
                    format!(
                        "{} did not happen in B{}",
                        a.describe(i),
                        self.fates(i, None)
                    )
                };
                Divergence {
                    after: self.after_a(i),
                    thread,
                    a: Some(a.name(i)),
                    b: None,
                    in_workload,
                    kind: DivergenceKind::OnlyA,
                    reason,
                }
            }
            Point::OnlyB(j) => {
                let thread = b.thread_name(j).to_string();
                let reason = if !a.thread_by_name.contains_key(&thread) {
                    format!(
                        "thread {thread} exists only in B (first event {})",
                        b.describe(j)
                    )
                } else if let Some(&i) = self.moved_ba.get(&j) {
                    format!(
                        "{} is reordered in A: it is {} there",
                        b.describe(j),
                        a.name(i)
                    )
                } else {
                    format!("{} happened only in B", b.describe(j))
                };
                Divergence {
                    after: self.after_b(j),
                    thread,
                    a: None,
                    b: Some(b.name(j)),
                    in_workload,
                    kind: DivergenceKind::OnlyB,
                    reason,
                }
            }
        }
    }

    /// ` (message M was dropped in B)` for the messages A's event received.
    fn fates(&self, i: usize, at: Option<usize>) -> String {
        let f: Vec<String> = self.a.recvd[i]
            .iter()
            .filter_map(|&m| self.fate_in_b(m, at))
            .collect();
        if f.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.join("; "))
        }
    }

    fn thread_diffs(&self) -> Vec<ThreadDiff> {
        let (a, b) = (self.a, self.b);
        let mut names: BTreeSet<&str> = a.g.threads().iter().map(|t| t.name.as_str()).collect();
        names.extend(b.g.threads().iter().map(|t| t.name.as_str()));
        let mut out = Vec::new();
        for name in names {
            let ea: &[usize] = a
                .thread_by_name
                .get(name)
                .map_or(&[], |&t| &a.g.threads()[t].events);
            let eb: &[usize] = b
                .thread_by_name
                .get(name)
                .map_or(&[], |&t| &b.g.threads()[t].events);
            let change = |i: usize, j: usize, what: Vec<String>| EventChange {
                a: a.info(i),
                b: b.info(j),
                what,
            };
            let d = ThreadDiff {
                thread: name.to_string(),
                removed: ea
                    .iter()
                    .filter(|&&i| {
                        self.ab[i].is_none() && !a.noise[i] && !self.moved_ab.contains_key(&i)
                    })
                    .map(|&i| a.info(i))
                    .collect(),
                inserted: eb
                    .iter()
                    .filter(|&&j| {
                        self.ba[j].is_none() && !b.noise[j] && !self.moved_ba.contains_key(&j)
                    })
                    .map(|&j| b.info(j))
                    .collect(),
                moved: ea
                    .iter()
                    .filter_map(|&i| {
                        let j = *self.moved_ab.get(&i)?;
                        Some(change(
                            i,
                            j,
                            vec![format!(
                                "position {} in A, {} in B",
                                a.g.position(i),
                                b.g.position(j)
                            )],
                        ))
                    })
                    .collect(),
                changed: ea
                    .iter()
                    .filter_map(|&i| {
                        let j = self.ab[i]?;
                        (!self.what[i].is_empty()).then(|| change(i, j, self.what[i].clone()))
                    })
                    .collect(),
            };
            if !d.is_empty() {
                out.push(d);
            }
        }
        out
    }

    fn messages(&self) -> MessageDiff {
        let (a, b) = (self.a, self.b);
        let (ma, mb) = (a.g.messages(), b.g.messages());
        let mut pair_ab: Vec<Option<usize>> = (0..ma.len()).map(|m| self.msg_ab(m)).collect();
        let mut paired_b = vec![false; mb.len()];
        for p in pair_ab.iter().flatten() {
            paired_b[*p] = true;
        }
        // Sends that are not aligned (a thread only in one run, a moved
        // send): fall back to the name.
        let by_name: HashMap<&str, usize> = mb
            .iter()
            .enumerate()
            .map(|(k, m)| (m.name.as_str(), k))
            .collect();
        for (m, p) in pair_ab.iter_mut().enumerate() {
            let aligned_send = self.ab[ma[m].send].is_some();
            if p.is_none() && !aligned_send {
                if let Some(&k) = by_name.get(ma[m].name.as_str()) {
                    if !paired_b[k] && self.ba[mb[k].send].is_none() {
                        *p = Some(k);
                        paired_b[k] = true;
                    }
                }
            }
        }
        let mut diff = MessageDiff::default();
        for (m, p) in pair_ab.iter().enumerate() {
            let Some(k) = *p else {
                diff.only_a.push(a.message_info(m));
                continue;
            };
            let (xa, xb) = (a.message_info(m), b.message_info(k));
            let mut what = Vec::new();
            if xa.name != xb.name {
                what.push(format!("named {} in B", xb.name));
            }
            if xa.bytes != xb.bytes {
                what.push(format!("{} bytes in A, {} in B", xa.bytes, xb.bytes));
            }
            if let (Some(pa), Some(pb)) = (&xa.payload, &xb.payload) {
                if pa != pb {
                    what.push(format!("payload {pa} in A, {pb} in B"));
                }
            }
            if xa.dropped != xb.dropped {
                what.push(if xb.dropped {
                    "dropped in B".to_string()
                } else {
                    "dropped in A, not in B".to_string()
                });
            } else if xa.lost != xb.lost {
                what.push(if xb.lost {
                    "lost in B (never received)".to_string()
                } else {
                    "lost in A, received in B".to_string()
                });
            }
            let same_recvs = ma[m].recvs.len() == mb[k].recvs.len()
                && ma[m]
                    .recvs
                    .iter()
                    .zip(&mb[k].recvs)
                    .all(|(&r, &s)| self.ab[r] == Some(s));
            if !same_recvs {
                let list = |v: &[String]| {
                    if v.is_empty() {
                        "nothing".to_string()
                    } else {
                        v.join(", ")
                    }
                };
                what.push(format!(
                    "received by {} in A, by {} in B",
                    list(&xa.recvs),
                    list(&xb.recvs)
                ));
            }
            if !what.is_empty() {
                diff.changed.push(MessageChange { a: xa, b: xb, what });
            }
        }
        for (k, _) in mb.iter().enumerate().filter(|(k, _)| !paired_b[*k]) {
            diff.only_b.push(b.message_info(k));
        }
        diff.only_a.sort_by(|x, y| x.name.cmp(&y.name));
        diff.only_b.sort_by(|x, y| x.name.cmp(&y.name));
        diff.changed.sort_by(|x, y| x.a.name.cmp(&y.a.name));
        diff
    }
}

/// The `summary` lines.
fn summary(c: &Comparison) -> String {
    let mut lines = Vec::new();
    let verdict = |v: Verdict| match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Unknown => "unknown",
    };
    let class = if c.same_class {
        format!("same trace class {}", c.a.trace_class)
    } else {
        format!("trace class {} vs {}", c.a.trace_class, c.b.trace_class)
    };
    lines.push(format!(
        "A = {} ({}) vs B = {} ({}); {class}.",
        c.a.id,
        verdict(c.a.verdict),
        c.b.id,
        verdict(c.b.verdict)
    ));
    for (side, r) in [("A", &c.a), ("B", &c.b)] {
        if r.faults.is_empty() {
            continue;
        }
        let fs: Vec<String> = r
            .faults
            .iter()
            .map(|f| match (&f.at, f.fired) {
                (Some(at), true) => format!("{} (fired at {at})", f.fault),
                (None, true) => format!("{} (fired)", f.fault),
                _ => format!("{} (did not fire)", f.fault),
            })
            .collect();
        lines.push(format!("{side}'s faults: {}.", fs.join(", ")));
    }
    if c.is_empty() {
        lines.push("No differences: the runs match event for event.".into());
        return lines.join("\n");
    }
    if let Some(d) = &c.first_divergence {
        lines.push(format!("First divergence: {}.", d.reason));
    }
    if !c.other_divergences.is_empty() {
        let n = c.other_divergences.len();
        let s = if n == 1 { "" } else { "s" };
        lines.push(format!(
            "{n} other divergence{s} with no traced causal path from it."
        ));
    }
    let count = |f: fn(&ThreadDiff) -> usize| c.events.iter().map(f).sum::<usize>();
    let mut parts = Vec::new();
    for (what, o) in [
        ("process", &c.processes),
        ("thread", &c.threads),
        ("channel", &c.channels),
    ] {
        for (side, v) in [("A", &o.only_a), ("B", &o.only_b)] {
            if !v.is_empty() {
                let s = if v.len() == 1 { "" } else { "s" };
                parts.push(format!("{} {what}{s} only in {side}", v.len()));
            }
        }
    }
    parts.push(format!(
        "events: {} only in A, {} only in B, {} moved, {} changed, in {} thread(s)",
        count(|t| t.removed.len()),
        count(|t| t.inserted.len()),
        count(|t| t.moved.len()),
        count(|t| t.changed.len()),
        c.events.len()
    ));
    parts.push(format!(
        "messages: {} only in A, {} only in B, {} changed",
        c.messages.only_a.len(),
        c.messages.only_b.len(),
        c.messages.changed.len()
    ));
    lines.push(format!("Differences: {}.", parts.join("; ")));
    lines.join("\n")
}
