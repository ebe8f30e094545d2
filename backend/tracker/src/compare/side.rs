//! One side of a comparison: a run's causal graph and the per-event facts
//! the alignment and the frontier ask for many times (alignment keys,
//! timing noise, messages sent and received, immediate predecessors,
//! outcomes), computed once. Only logical things enter them: pids, fds and
//! times never do.

use std::collections::HashMap;
use std::ops::Index;
use std::sync::Arc;

use crate::channels::moved;
use crate::classes::is_noise;
use crate::{CausalGraph, is_thread_end, receives, sends, trace_class};
use bop_model::Event;

/// Key of an event for the per-thread alignment: the call (every
/// thread-ending event is `exit`, so `exit_group` vs `killed` is a changed
/// event, not a removal plus an insertion) and the channel's name. Shared
/// strings, one per distinct call and channel of a run: at 10^6 events two
/// owned strings per event were ~100 MB of each side.
pub(super) type Key = (Arc<str>, Option<Arc<str>>);

/// One list of indexes per event, in one allocation (`Vec<Vec<usize>>`
/// costs 24 bytes per event plus an allocation for each non-empty list:
/// ~50 bytes per event more, ~150 MB per side at 10^6 events for the
/// three kinds of list a side keeps).
#[derive(Debug, Default)]
pub(super) struct Lists {
    /// `items[start[i]..start[i + 1]]` is event `i`'s list.
    start: Vec<usize>,
    items: Vec<usize>,
}

impl Lists {
    /// The lists of `n` events from (event, item) pairs, each event's
    /// items in the order given.
    fn from_pairs(n: usize, pairs: impl Iterator<Item = (usize, usize)> + Clone) -> Lists {
        let mut start = vec![0; n + 1];
        for (e, _) in pairs.clone() {
            start[e + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut items = vec![0; start[n]];
        for (e, x) in pairs {
            items[fill[e]] = x;
            fill[e] += 1;
        }
        Lists { start, items }
    }

    /// Event `i`'s list, or `None` past the last event.
    pub(super) fn get(&self, i: usize) -> Option<&[usize]> {
        (i + 1 < self.start.len()).then(|| &self.items[self.start[i]..self.start[i + 1]])
    }
}

impl Index<usize> for Lists {
    type Output = [usize];

    fn index(&self, i: usize) -> &[usize] {
        &self.items[self.start[i]..self.start[i + 1]]
    }
}

/// Logical outcome of an event; pids, fds and times never enter it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Ok,
    Bytes(u64),
    Eof,
    Failed(String),
    Unfinished,
    Exit(i32),
    Killed(String),
}

/// One run's graph and per-event facts.
pub(super) struct Side<'e> {
    pub(super) ev: &'e [Event],
    pub(super) g: CausalGraph<'e>,
    pub(super) key: Vec<Key>,
    /// Timing noise, as trace classes see it ([`is_noise`]).
    pub(super) noise: Vec<bool>,
    /// Messages sent by each event, in part order.
    pub(super) sent: Lists,
    /// Messages each event received bytes of.
    pub(super) recvd: Lists,
    /// Immediate predecessors (program order and cross edges).
    pub(super) preds: Lists,
    pub(super) thread_by_name: HashMap<String, usize>,
    /// The causal past of the workload's end (the scenario client's last
    /// event, as in trace classes), the end included; `None` without a
    /// client. One backward walk, so a comparison builds no vector clocks
    /// (at 10^6 events those were most of its memory).
    workload: Option<Vec<bool>>,
    /// The run's trace class, computed with the rest of the side (on its
    /// thread, see `compare::sides`).
    pub(super) class: String,
}

impl<'e> Side<'e> {
    pub(super) fn new(ev: &'e [Event]) -> Side<'e> {
        let g = CausalGraph::build(ev);
        let (sent, recvd) = messages_by_event(&g);
        // Scheduling decides how often a thread polls or retries, not
        // what the system did: the same events trace classes leave out.
        let noise = (0..ev.len()).map(|i| is_noise(&g, i)).collect();
        let thread_by_name = g
            .threads()
            .iter()
            .enumerate()
            .map(|(t, th)| (th.name.clone(), t))
            .collect();
        let workload = g.workload_end().map(|h| {
            let mut past = g.causal_past(h);
            past[h] = true;
            past
        });
        Side {
            class: trace_class(&g),
            workload,
            key: keys(&g),
            preds: predecessors(&g),
            ev,
            g,
            noise,
            sent,
            recvd,
            thread_by_name,
        }
    }

    pub(super) fn name(&self, i: usize) -> String {
        self.g.event_name(i)
    }

    /// True when event `i` is in the causal past of the workload's end
    /// (always, without a scenario client).
    pub(super) fn in_workload(&self, i: usize) -> bool {
        self.workload.as_ref().is_none_or(|past| past[i])
    }

    pub(super) fn thread_name(&self, i: usize) -> &str {
        &self.g.threads()[self.g.thread_of(i)].name
    }

    pub(super) fn msg_name(&self, m: usize) -> &str {
        &self.g.messages()[m].name
    }

    pub(super) fn outcome(&self, i: usize) -> Outcome {
        let e = &self.ev[i];
        if let Some(errno) = &e.errno {
            return Outcome::Failed(errno.to_string());
        }
        match e.call.as_str() {
            "killed" => return Outcome::Killed(e.detail.signal.clone().unwrap_or("?".into())),
            "exit" | "exit_group" => return Outcome::Exit(e.detail.status.unwrap_or(0)),
            "start" | "exec" => return Outcome::Ok,
            _ => {}
        }
        if e.ret.is_none() {
            return Outcome::Unfinished;
        }
        if sends(e) || receives(e) {
            let n = moved(e);
            let stream = e.endpoint.as_ref().is_none_or(|ep| ep.stream);
            if n == 0 && receives(e) && stream {
                return Outcome::Eof;
            }
            return Outcome::Bytes(n);
        }
        Outcome::Ok
    }
}

/// Per event: the messages it sent (in part order) and the messages it
/// received bytes of.
fn messages_by_event(g: &CausalGraph<'_>) -> (Lists, Lists) {
    let n = g.events().len();
    let msgs = g.messages();
    let sent = Lists::from_pairs(n, msgs.iter().enumerate().map(|(m, msg)| (msg.send, m)));
    let recvd = Lists::from_pairs(
        n,
        msgs.iter()
            .enumerate()
            .flat_map(|(m, msg)| msg.recvs.iter().map(move |&r| (r, m))),
    );
    (sent, recvd)
}

/// Per event: its immediate predecessors, cross edges first, then the
/// previous event of its thread.
fn predecessors(g: &CausalGraph<'_>) -> Lists {
    let edges = g.edges();
    let cross = edges.iter().map(|&(a, b, _)| (b, a));
    let program = g
        .threads()
        .iter()
        .flat_map(|t| t.events.windows(2).map(|w| (w[1], w[0])));
    Lists::from_pairs(g.events().len(), cross.chain(program))
}

fn keys(g: &CausalGraph<'_>) -> Vec<Key> {
    let ev = g.events();
    let mut calls: HashMap<&str, Arc<str>> = HashMap::new();
    let channels: Vec<Arc<str>> = g
        .channels()
        .iter()
        .map(|c| Arc::from(c.name.as_str()))
        .collect();
    (0..ev.len())
        .map(|i| {
            let call = if is_thread_end(&ev[i].call) {
                "exit"
            } else {
                ev[i].call.as_str()
            };
            let call = calls.entry(call).or_insert_with(|| Arc::from(call)).clone();
            (call, g.channel_of(i).map(|c| channels[c].clone()))
        })
        .collect()
}
