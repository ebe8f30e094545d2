//! The comparison as the page of two big runs needs it (docs/API.md
//! `GET /api/compare/summary` and `/marks`): a [`Summary`] without the
//! per-event lists, and one [`Mark`] per difference that says where it is
//! drawn on each side (thread, and x in both scales of the window API).
//! The page never holds either whole graph, so it cannot look an event up
//! by name to place it; the comparison, which has both graphs in hand
//! once, places every difference for it.
//!
//! The marks are in the order the whole-graph page lists differences
//! (frontend `model/compare.ts` `differences`): messages (changed, only
//! in A, only in B), then events thread by thread (changed, moved, only
//! in A, only in B). A message is placed at its send.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::shape::{Comparison, Divergence, EventChange, OnlyIn, RunInfo};
use super::side::Side;

/// Where an event is drawn, in the window API's coordinates.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Place {
    /// Logical name of the event.
    pub name: String,
    /// Its thread (the lane).
    pub thread: String,
    /// x on the time scale: `end_ns`, else `start_ns`.
    pub time: u64,
    /// x on the logical scale: the Lamport clock.
    pub logical: u64,
}

/// What a mark is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum MarkKind {
    /// A message of both runs that differs.
    MessageChanged,
    /// A message only in A.
    MessageOnlyA,
    /// A message only in B.
    MessageOnlyB,
    /// An aligned event that differs.
    EventChanged,
    /// An event at another place of its thread's order.
    EventMoved,
    /// An event only in A.
    EventOnlyA,
    /// An event only in B.
    EventOnlyB,
}

/// One difference, placed on each side where it exists.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Mark {
    /// What differs.
    pub kind: MarkKind,
    /// The event (or a message's send) in A; `None` when only in B.
    pub a: Option<Place>,
    /// In B; `None` when only in A.
    pub b: Option<Place>,
    /// The message's logical name (message marks only), as in A, else B.
    pub message: Option<String>,
    /// One line for a list.
    pub text: String,
    /// What differs, one phrase each.
    pub what: Vec<String>,
}

/// A divergence with where its events are drawn.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PlacedDivergence {
    /// The divergence as [`Comparison`] has it.
    #[serde(flatten)]
    pub divergence: Divergence,
    /// Where its A event is.
    pub at_a: Option<Place>,
    /// Where its B event is.
    pub at_b: Option<Place>,
}

/// How many differences there are, by what differs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Counts {
    /// Every mark.
    pub marks: usize,
    /// Message marks.
    pub messages: usize,
    /// Event marks.
    pub events: usize,
}

/// [`Comparison`] without the per-event and per-message lists, which are
/// the marks; its divergences are placed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Summary {
    /// [`super::COMPARE_SCHEMA`].
    pub schema: u32,
    /// Run A.
    pub a: RunInfo,
    /// Run B.
    pub b: RunInfo,
    /// True when both runs have the same trace class.
    pub same_class: bool,
    /// As in [`Comparison`], placed.
    pub first_divergence: Option<PlacedDivergence>,
    /// As in [`Comparison`], placed.
    pub other_divergences: Vec<PlacedDivergence>,
    /// Processes only in A / only in B.
    pub processes: OnlyIn,
    /// Threads only in A / only in B.
    pub threads: OnlyIn,
    /// Channels only in A / only in B.
    pub channels: OnlyIn,
    /// How many marks there are.
    pub differences: Counts,
    /// A few lines for humans.
    pub summary: String,
}

/// A comparison as the big-run page serves it.
#[derive(Clone, Debug, PartialEq)]
pub struct Marked {
    /// Everything but the lists.
    pub summary: Summary,
    /// The lists, placed.
    pub marks: Vec<Mark>,
}

/// Places the events of `c` named on each side and flattens its lists.
pub(super) fn marked(c: Comparison, a: &Side<'_>, b: &Side<'_>) -> Marked {
    let (na, nb) = names(&c);
    let (pa, pb) = (places(a, &na), places(b, &nb));
    let marks = flatten(&c, &pa, &pb);
    let place = |d: Divergence| PlacedDivergence {
        at_a: d.a.as_ref().and_then(|n| pa.get(n).cloned()),
        at_b: d.b.as_ref().and_then(|n| pb.get(n).cloned()),
        divergence: d,
    };
    let messages = marks.iter().filter(|m| m.message.is_some()).count();
    let summary = Summary {
        schema: c.schema,
        a: c.a,
        b: c.b,
        same_class: c.same_class,
        first_divergence: c.first_divergence.map(place),
        other_divergences: c.other_divergences.into_iter().map(place).collect(),
        processes: c.processes,
        threads: c.threads,
        channels: c.channels,
        differences: Counts {
            marks: marks.len(),
            messages,
            events: marks.len() - messages,
        },
        summary: c.summary,
    };
    Marked { summary, marks }
}

/// The event names each side's marks and divergences need placed.
fn names(c: &Comparison) -> (HashSet<String>, HashSet<String>) {
    let (mut a, mut b) = (HashSet::new(), HashSet::new());
    for m in &c.messages.changed {
        a.insert(m.a.send.clone());
        b.insert(m.b.send.clone());
    }
    a.extend(c.messages.only_a.iter().map(|m| m.send.clone()));
    b.extend(c.messages.only_b.iter().map(|m| m.send.clone()));
    for t in &c.events {
        for e in t.changed.iter().chain(&t.moved) {
            a.insert(e.a.name.clone());
            b.insert(e.b.name.clone());
        }
        a.extend(t.removed.iter().map(|e| e.name.clone()));
        b.extend(t.inserted.iter().map(|e| e.name.clone()));
    }
    for d in c.first_divergence.iter().chain(&c.other_divergences) {
        a.extend(d.a.clone());
        b.extend(d.b.clone());
    }
    (a, b)
}

/// The place of each named event of a side. A name is read back
/// (`thread/position:call`, [`crate::CausalGraph::event_name`]) to find its
/// event, which must then give that name again; only names that do not
/// read back so are looked for by naming every event, as all were before
/// (two million names formatted at 10^6 events a side).
fn places(s: &Side<'_>, wanted: &HashSet<String>) -> HashMap<String, Place> {
    let mut out = HashMap::with_capacity(wanted.len());
    let mut rest = HashSet::new();
    for name in wanted {
        match event_named(s, name) {
            Some(i) => {
                out.insert(name.clone(), place(s, i, name.clone()));
            }
            None => {
                rest.insert(name.as_str());
            }
        }
    }
    if rest.is_empty() {
        return out;
    }
    for i in 0..s.ev.len() {
        let name = s.name(i);
        if rest.contains(name.as_str()) {
            out.insert(name.clone(), place(s, i, name));
        }
    }
    out
}

/// The event of `s` whose logical name is `name`, found from the name.
fn event_named(s: &Side<'_>, name: &str) -> Option<usize> {
    let (thread, rest) = name.rsplit_once('/')?;
    let (position, _) = rest.split_once(':')?;
    let t = *s.thread_by_name.get(thread)?;
    let i = *s.g.threads()[t]
        .events
        .get(position.parse::<usize>().ok()?)?;
    (s.name(i) == name).then_some(i)
}

fn place(s: &Side<'_>, i: usize, name: String) -> Place {
    let e = &s.ev[i];
    Place {
        thread: s.thread_name(i).to_string(),
        time: e.end_ns.unwrap_or(e.start_ns),
        logical: s.g.lamport(i),
        name,
    }
}

fn flatten(c: &Comparison, pa: &HashMap<String, Place>, pb: &HashMap<String, Place>) -> Vec<Mark> {
    let at = |p: &HashMap<String, Place>, n: &str| p.get(n).cloned();
    let mut out = Vec::new();
    for m in &c.messages.changed {
        let text = if m.a.name == m.b.name {
            format!("message {}", m.a.name)
        } else {
            format!("message {} → {}", m.a.name, m.b.name)
        };
        out.push(Mark {
            kind: MarkKind::MessageChanged,
            a: at(pa, &m.a.send),
            b: at(pb, &m.b.send),
            message: Some(m.a.name.clone()),
            text,
            what: m.what.clone(),
        });
    }
    for (kind, list, p, is_a) in [
        (MarkKind::MessageOnlyA, &c.messages.only_a, pa, true),
        (MarkKind::MessageOnlyB, &c.messages.only_b, pb, false),
    ] {
        for m in list {
            let place = at(p, &m.send);
            let (a, b) = if is_a { (place, None) } else { (None, place) };
            out.push(Mark {
                kind,
                a,
                b,
                message: Some(m.name.clone()),
                text: format!(
                    "message {} only in {}",
                    m.name,
                    if is_a { "A" } else { "B" }
                ),
                what: vec![format!("{} bytes sent by {}", m.bytes, m.send)],
            });
        }
    }
    for t in &c.events {
        let pair = |kind, e: &EventChange, suffix: &str| Mark {
            kind,
            a: at(pa, &e.a.name),
            b: at(pb, &e.b.name),
            message: None,
            text: if e.a.name == e.b.name {
                format!("{}{suffix}", e.a.name)
            } else {
                format!("{} / {}{suffix}", e.a.name, e.b.name)
            },
            what: e.what.clone(),
        };
        out.extend(
            t.changed
                .iter()
                .map(|e| pair(MarkKind::EventChanged, e, "")),
        );
        out.extend(
            t.moved
                .iter()
                .map(|e| pair(MarkKind::EventMoved, e, " moved")),
        );
        for e in &t.removed {
            out.push(Mark {
                kind: MarkKind::EventOnlyA,
                a: at(pa, &e.name),
                b: None,
                message: None,
                text: format!("{} only in A", e.name),
                what: vec![e.outcome.clone()],
            });
        }
        for e in &t.inserted {
            out.push(Mark {
                kind: MarkKind::EventOnlyB,
                a: None,
                b: at(pb, &e.name),
                message: None,
                text: format!("{} only in B", e.name),
                what: vec![e.outcome.clone()],
            });
        }
    }
    out
}
