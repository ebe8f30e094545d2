//! The words of a comparison: the phrase for each [`Difference`], the
//! reason of each divergence, the fate of A's messages in B, the phrases
//! of changed messages, and the summary lines. Everything a person reads
//! in `bop diff` is worded here (the text layout is [`super::render`]).

use super::difference::{Difference, incoming_edges};
use super::frontier::Point;
use super::side::{Outcome, Side};
use super::{Cmp, Comparison, Divergence, DivergenceKind, MessageInfo, ThreadDiff};
use crate::sends;
use bop_model::Event;
use bop_model::Verdict;

/// How many payload bytes a preview shows.
const PREVIEW_BYTES: usize = 24;

/// `8 bytes`, `eof`, `EAGAIN`, `unfinished`, `status 0`, `SIGKILL`, `ok`.
pub(super) fn outcome_word(o: &Outcome) -> String {
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

/// What a call did, as a verb phrase: `sent 8 bytes`.
fn did(e: &Event, o: &Outcome) -> String {
    match o {
        Outcome::Bytes(n) if sends(e) => format!("sent {n} bytes"),
        Outcome::Bytes(n) => format!("read {n} bytes"),
        Outcome::Eof => "read end of file".into(),
        Outcome::Failed(e) => format!("failed with {e}"),
        Outcome::Unfinished => "never returned".into(),
        Outcome::Exit(s) => format!("exited with status {s}"),
        Outcome::Killed(s) => format!("was killed by {s}"),
        Outcome::Ok => "returned".into(),
    }
}

/// What event `i` of a side did: `sent 8 bytes`.
fn side_did(s: &Side<'_>, i: usize) -> String {
    did(&s.ev[i], &s.outcome(i))
}

/// `sendto of 8 bytes on client->primary#0`: for lists of events.
fn describe(s: &Side<'_>, i: usize) -> String {
    let ch = s.key[i]
        .1
        .as_ref()
        .map_or(String::new(), |c| format!(" on {c}"));
    format!("{} ({}{ch})", s.name(i), side_did(s, i))
}

/// A payload preview from the log's hex: printable ASCII as is, the rest
/// escaped, at most [`PREVIEW_BYTES`] bytes, quoted.
pub(super) fn preview(hex: &str) -> String {
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

/// `"nothing"` for an empty list, else its items joined by commas.
fn list_or_nothing(v: &[String]) -> String {
    if v.is_empty() {
        "nothing".to_string()
    } else {
        v.join(", ")
    }
}

/// What differs between two messages paired with each other, one phrase
/// each; `same_recvs` tells whether their receives are counterparts.
pub(super) fn message_changes(xa: &MessageInfo, xb: &MessageInfo, same_recvs: bool) -> Vec<String> {
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
    if !same_recvs {
        what.push(format!(
            "received by {} in A, by {} in B",
            list_or_nothing(&xa.recvs),
            list_or_nothing(&xb.recvs)
        ));
    }
    what
}

/// `position 3 in A, 5 in B` for a reordered event.
pub(super) fn moved_phrase(pa: usize, pb: usize) -> String {
    format!("position {pa} in A, {pb} in B")
}

impl Cmp<'_, '_> {
    /// What differs between A's aligned event `i` and its counterpart,
    /// one phrase each (empty when they match).
    pub(super) fn phrases(&self, i: usize) -> Vec<String> {
        let Some(j) = self.al.ab[i] else {
            return Vec::new();
        };
        self.what[i].iter().map(|d| self.phrase(i, j, *d)).collect()
    }

    fn phrase(&self, i: usize, j: usize, d: Difference) -> String {
        let (a, b) = (self.a, self.b);
        match d {
            Difference::Outcome => self.outcome_phrase(i, j),
            Difference::Payload => format!(
                "payload {} in A, {} in B",
                preview(a.ev[i].data.as_deref().unwrap_or_default()),
                preview(b.ev[j].data.as_deref().unwrap_or_default())
            ),
            Difference::Dropped(ma, mb) => {
                let (xa, xb) = (&a.g.messages()[ma], &b.g.messages()[mb]);
                if xb.dropped {
                    format!("message {} was dropped in B", xb.name)
                } else {
                    format!("message {} was dropped in A, not in B", xa.name)
                }
            }
            Difference::Fed => self.fed_phrase(i, j),
            Difference::Edge(kind) => {
                let list = |s: &Side<'_>, x: usize| -> String {
                    let names: Vec<String> = incoming_edges(s, x)
                        .iter()
                        .filter(|e| e.1 == kind)
                        .map(|e| s.name(e.0))
                        .collect();
                    list_or_nothing(&names)
                };
                format!(
                    "its {} edge comes from {} in A, from {} in B",
                    kind.as_str(),
                    list(a, i),
                    list(b, j)
                )
            }
        }
    }

    /// `sent 8 bytes in A, failed with EPIPE in B`, with the messages of A
    /// that do not exist in B.
    fn outcome_phrase(&self, i: usize, j: usize) -> String {
        let (a, b) = (self.a, self.b);
        let mut s = format!("{} in A, {} in B", side_did(a, i), side_did(b, j));
        for &m in a.sent[i].iter().filter(|&&m| self.msg_ab(m).is_none()) {
            let x = &a.g.messages()[m];
            let readers: Vec<String> = x.recvs.iter().map(|&r| a.name(r)).collect();
            s.push_str(&format!("; message {} does not exist in B", x.name));
            if !readers.is_empty() {
                s.push_str(&format!(" (in A it was read by {})", readers.join(", ")));
            }
        }
        s
    }

    /// `received M (sent by E) in A, no message in B (fates)`.
    fn fed_phrase(&self, i: usize, j: usize) -> String {
        let (a, b) = (self.a, self.b);
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
        let mut s = format!(
            "received {} in A, {} in B",
            fed(a, &a.recvd[i]),
            fed(b, &b.recvd[j])
        );
        let fates: Vec<String> = a.recvd[i]
            .iter()
            .filter_map(|&m| self.fate_in_b(m, Some(j)))
            .collect();
        if !fates.is_empty() {
            s.push_str(&format!(" ({})", fates.join("; ")));
        }
        s
    }

    fn msg_ab(&self, m: usize) -> Option<usize> {
        self.al.msg_ab(self.a, self.b, m)
    }

    /// What became of A's message `m` in B, as a phrase, unless it reached
    /// the counterpart of the same receive (`at`).
    fn fate_in_b(&self, m: usize, at: Option<usize>) -> Option<String> {
        let (a, b) = (self.a, self.b);
        let name = a.msg_name(m);
        let Some(mb) = self.msg_ab(m) else {
            let send = a.g.messages()[m].send;
            return Some(match self.al.ab[send] {
                Some(j) => format!("{name} was not sent in B: {} {}", b.name(j), side_did(b, j)),
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

    /// A frontier point, described.
    pub(super) fn divergence(&self, p: Point) -> Divergence {
        let in_workload = self.in_workload(p);
        match p {
            Point::Pair(i, j) => self.changed(i, j, in_workload),
            Point::OnlyA(i) => self.only_a(i, in_workload),
            Point::OnlyB(j) => self.only_b(j, in_workload),
        }
    }

    fn changed(&self, i: usize, j: usize, in_workload: bool) -> Divergence {
        let (a, b) = (self.a, self.b);
        let mut what = self.phrases(i);
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

    fn only_a(&self, i: usize, in_workload: bool) -> Divergence {
        let (a, b) = (self.a, self.b);
        let thread = a.thread_name(i).to_string();
        let reason = if !b.thread_by_name.contains_key(&thread) {
            format!(
                "thread {thread} exists only in A (first event {})",
                describe(a, i)
            )
        } else if let Some(&j) = self.al.moved_ab.get(&i) {
            let t = &b.g.threads()[b.g.thread_of(j)];
            let prev = t.events[..b.g.position(j)]
                .iter()
                .rev()
                .find(|&&y| self.al.ba[y].is_some())
                .map_or(String::new(), |&y| format!(" after {},", describe(b, y)));
            format!(
                "{} is reordered in B: it comes{prev} as {}{}",
                describe(a, i),
                b.name(j),
                self.fates(i, Some(j))
            )
        } else {
            format!(
                "{} did not happen in B{}",
                describe(a, i),
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

    fn only_b(&self, j: usize, in_workload: bool) -> Divergence {
        let (a, b) = (self.a, self.b);
        let thread = b.thread_name(j).to_string();
        let reason = if !a.thread_by_name.contains_key(&thread) {
            format!(
                "thread {thread} exists only in B (first event {})",
                describe(b, j)
            )
        } else if let Some(&i) = self.al.moved_ba.get(&j) {
            format!(
                "{} is reordered in A: it is {} there",
                describe(b, j),
                a.name(i)
            )
        } else {
            format!("{} happened only in B", describe(b, j))
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

/// The `summary` lines.
pub(super) fn summary(c: &Comparison) -> String {
    let mut lines = vec![runs_line(c)];
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
    lines.push(format!("Differences: {}.", differences_parts(c).join("; ")));
    lines.join("\n")
}

/// `A = p (pass) vs B = r (fail); trace class x vs y.`
fn runs_line(c: &Comparison) -> String {
    let verdict = Verdict::as_str;
    let class = if c.same_class {
        format!("same trace class {}", c.a.trace_class)
    } else {
        format!("trace class {} vs {}", c.a.trace_class, c.b.trace_class)
    };
    format!(
        "A = {} ({}) vs B = {} ({}); {class}.",
        c.a.id,
        verdict(c.a.verdict),
        c.b.id,
        verdict(c.b.verdict)
    )
}

/// The counts of the `Differences:` line.
fn differences_parts(c: &Comparison) -> Vec<String> {
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
    parts
}
