//! One side of a comparison: a run's causal graph and the per-event facts
//! the alignment and the frontier ask for many times (alignment keys,
//! timing noise, messages sent and received, immediate predecessors,
//! outcomes), computed once. Only logical things enter them: pids, fds and
//! times never do.

use std::collections::HashMap;

use crate::channels::moved;
use crate::classes::is_noise;
use crate::{CausalGraph, is_thread_end, receives, sends};
use bop_model::Event;

/// Key of an event for the per-thread alignment: the call (every
/// thread-ending event is `exit`, so `exit_group` vs `killed` is a changed
/// event, not a removal plus an insertion) and the channel's name.
pub(super) type Key = (String, Option<String>);

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
    pub(super) sent: Vec<Vec<usize>>,
    /// Messages each event received bytes of.
    pub(super) recvd: Vec<Vec<usize>>,
    /// Immediate predecessors (program order and cross edges).
    pub(super) preds: Vec<Vec<usize>>,
    pub(super) thread_by_name: HashMap<String, usize>,
    /// The causal past of the workload's end (the scenario client's last
    /// event, as in trace classes), the end included; `None` without a
    /// client. One backward walk, so a comparison builds no vector clocks
    /// (at 10^6 events those were most of its memory).
    workload: Option<Vec<bool>>,
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
            return Outcome::Failed(errno.clone());
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
fn messages_by_event(g: &CausalGraph<'_>) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let n = g.events().len();
    let mut sent = vec![Vec::new(); n];
    let mut recvd = vec![Vec::new(); n];
    for (m, msg) in g.messages().iter().enumerate() {
        sent[msg.send].push(m);
        for &r in &msg.recvs {
            recvd[r].push(m);
        }
    }
    (sent, recvd)
}

/// Per event: its immediate predecessors, cross edges first, then the
/// previous event of its thread.
fn predecessors(g: &CausalGraph<'_>) -> Vec<Vec<usize>> {
    let mut preds = vec![Vec::new(); g.events().len()];
    for (a, b, _) in g.edges() {
        preds[b].push(a);
    }
    for t in g.threads() {
        for w in t.events.windows(2) {
            preds[w[1]].push(w[0]);
        }
    }
    preds
}

fn keys(g: &CausalGraph<'_>) -> Vec<Key> {
    let ev = g.events();
    (0..ev.len())
        .map(|i| {
            let call = if is_thread_end(&ev[i].call) {
                "exit".to_string()
            } else {
                ev[i].call.clone()
            };
            (call, g.channel_of(i).map(|c| g.channels()[c].name.clone()))
        })
        .collect()
}
