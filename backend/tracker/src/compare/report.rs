//! The lists of a comparison: per thread the events removed, inserted,
//! moved and changed, and the messages only in one run or changed, as the
//! JSON shape ([`super::shape`]) has them.

use std::collections::BTreeSet;

use super::prose::{message_changes, moved_phrase, outcome_word, preview};
use super::side::Side;
use super::{Cmp, EventChange, EventInfo, MessageChange, MessageDiff, MessageInfo, ThreadDiff};
use crate::sends;

/// One event as the comparison shows it.
fn info(s: &Side<'_>, i: usize) -> EventInfo {
    let e = &s.ev[i];
    let ms = if sends(e) { &s.sent[i] } else { &s.recvd[i] };
    EventInfo {
        name: s.name(i),
        channel: s.key[i].1.as_deref().map(str::to_string),
        outcome: outcome_word(&s.outcome(i)),
        messages: ms.iter().map(|&m| s.msg_name(m).to_string()).collect(),
        payload: e.data.as_deref().map(preview),
        injected: e.injected.as_deref().map(String::from),
    }
}

/// One message as the comparison shows it.
fn message_info(s: &Side<'_>, m: usize) -> MessageInfo {
    let msg = &s.g.messages()[m];
    MessageInfo {
        name: msg.name.clone(),
        bytes: msg.bytes,
        send: s.name(msg.send),
        recvs: msg.recvs.iter().map(|&r| s.name(r)).collect(),
        lost: msg.lost,
        dropped: msg.dropped,
        payload: s.ev[msg.send].data.as_deref().map(preview),
    }
}

/// True when A's message `m` and B's message `k` have nothing for
/// [`message_changes`] to say but their receivers (checked apart): the
/// fields it compares, read from the graphs without naming any event.
/// Nearly every paired message of two runs matches, and naming the send
/// and receives of each (two `MessageInfo`s) was a tenth of a comparison
/// at 10^6 events. Payloads differing in raw bytes are left to the full
/// check, which compares their previews.
fn surely_same(a: &Side<'_>, b: &Side<'_>, m: usize, k: usize) -> bool {
    let (x, y) = (&a.g.messages()[m], &b.g.messages()[k]);
    let payloads = match (&a.ev[x.send].data, &b.ev[y.send].data) {
        (Some(p), Some(q)) => p == q,
        _ => true,
    };
    x.name == y.name && x.bytes == y.bytes && x.dropped == y.dropped && x.lost == y.lost && payloads
}

/// The events of a side's thread `name` (none when it has no such thread).
fn thread_events<'s>(s: &'s Side<'_>, name: &str) -> &'s [usize] {
    s.thread_by_name
        .get(name)
        .map_or(&[], |&t| &s.g.threads()[t].events)
}

impl Cmp<'_, '_> {
    /// Every thread (of either run) with differences, by name.
    pub(super) fn thread_diffs(&self) -> Vec<ThreadDiff> {
        let (a, b) = (self.a, self.b);
        let mut names: BTreeSet<&str> = a.g.threads().iter().map(|t| t.name.as_str()).collect();
        names.extend(b.g.threads().iter().map(|t| t.name.as_str()));
        names
            .into_iter()
            .map(|name| self.thread_diff(name))
            .filter(|d| !d.is_empty())
            .collect()
    }

    fn thread_diff(&self, name: &str) -> ThreadDiff {
        let (a, b, al) = (self.a, self.b, &self.al);
        let (ea, eb) = (thread_events(a, name), thread_events(b, name));
        let change = |i: usize, j: usize, what: Vec<String>| EventChange {
            a: info(a, i),
            b: info(b, j),
            what,
        };
        ThreadDiff {
            thread: name.to_string(),
            removed: ea
                .iter()
                .filter(|&&i| al.ab[i].is_none() && !a.noise[i] && !al.moved_ab.contains_key(&i))
                .map(|&i| info(a, i))
                .collect(),
            inserted: eb
                .iter()
                .filter(|&&j| al.ba[j].is_none() && !b.noise[j] && !al.moved_ba.contains_key(&j))
                .map(|&j| info(b, j))
                .collect(),
            moved: ea
                .iter()
                .filter_map(|&i| {
                    let j = *al.moved_ab.get(&i)?;
                    let what = moved_phrase(a.g.position(i), b.g.position(j));
                    Some(change(i, j, vec![what]))
                })
                .collect(),
            changed: ea
                .iter()
                .filter_map(|&i| {
                    let j = al.ab[i]?;
                    (!self.what[i].is_empty()).then(|| change(i, j, self.phrases(i)))
                })
                .collect(),
        }
    }

    /// Messages only in A, only in B, and changed, each list by name.
    pub(super) fn messages(&self) -> MessageDiff {
        let (a, b, al) = (self.a, self.b, &self.al);
        let (ma, mb) = (a.g.messages(), b.g.messages());
        let pair_ab = al.messages(a, b);
        let mut paired_b = vec![false; mb.len()];
        let mut diff = MessageDiff::default();
        for (m, p) in pair_ab.iter().enumerate() {
            let Some(k) = *p else {
                diff.only_a.push(message_info(a, m));
                continue;
            };
            paired_b[k] = true;
            let same_recvs = ma[m].recvs.len() == mb[k].recvs.len()
                && ma[m]
                    .recvs
                    .iter()
                    .zip(&mb[k].recvs)
                    .all(|(&r, &s)| al.ab[r] == Some(s));
            if same_recvs && surely_same(a, b, m, k) {
                continue;
            }
            let (xa, xb) = (message_info(a, m), message_info(b, k));
            let what = message_changes(&xa, &xb, same_recvs);
            if !what.is_empty() {
                diff.changed.push(MessageChange { a: xa, b: xb, what });
            }
        }
        for (k, _) in mb.iter().enumerate().filter(|(k, _)| !paired_b[*k]) {
            diff.only_b.push(message_info(b, k));
        }
        diff.only_a.sort_by(|x, y| x.name.cmp(&y.name));
        diff.only_b.sort_by(|x, y| x.name.cmp(&y.name));
        diff.changed.sort_by(|x, y| x.a.name.cmp(&y.a.name));
        diff
    }
}
