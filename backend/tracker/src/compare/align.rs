//! The alignment of two runs: which event of B each event of A is, thread
//! by thread, and which message of B each message of A is.
//!
//! Threads are matched by name. Within a pair of threads the events that
//! are not timing noise are aligned by [`lcs`] over (call, channel) keys,
//! with the outcome only breaking ties; noise is paired afterwards where it
//! stands in for a real call of the other run; what is left with the same
//! key on both sides is a reordering. Messages are paired through their
//! aligned send events, falling back to equal names for sends that are not
//! aligned.

use std::collections::{BTreeMap, HashMap};

use super::lcs::lcs;
use super::side::{Key, Outcome, Side};

/// The correspondence between the events and messages of A and B.
pub(super) struct Alignment {
    /// Per A event: its counterpart in B.
    pub(super) ab: Vec<Option<usize>>,
    /// Per B event: its counterpart in A.
    pub(super) ba: Vec<Option<usize>>,
    /// Unaligned events with the same key elsewhere in the thread (A → B).
    pub(super) moved_ab: BTreeMap<usize, usize>,
    /// The same pairs, B → A.
    pub(super) moved_ba: BTreeMap<usize, usize>,
}

impl Alignment {
    /// Aligns every thread present in both runs.
    pub(super) fn new(a: &Side<'_>, b: &Side<'_>) -> Alignment {
        let mut al = Alignment {
            ab: vec![None; a.ev.len()],
            ba: vec![None; b.ev.len()],
            moved_ab: BTreeMap::new(),
            moved_ba: BTreeMap::new(),
        };
        for ta in a.g.threads() {
            let Some(&tb) = b.thread_by_name.get(&ta.name) else {
                continue;
            };
            al.thread(a, b, &ta.events, &b.g.threads()[tb].events);
        }
        al
    }

    fn link(&mut self, i: usize, j: usize) {
        self.ab[i] = Some(j);
        self.ba[j] = Some(i);
    }

    /// Aligns one thread's events `ea` (A) with its events `eb` (B).
    fn thread(&mut self, a: &Side<'_>, b: &Side<'_>, ea: &[usize], eb: &[usize]) {
        let fa: Vec<usize> = ea.iter().copied().filter(|&i| !a.noise[i]).collect();
        let fb: Vec<usize> = eb.iter().copied().filter(|&j| !b.noise[j]).collect();
        let ka: Vec<(&Key, Outcome)> = fa.iter().map(|&i| (&a.key[i], a.outcome(i))).collect();
        let kb: Vec<(&Key, Outcome)> = fb.iter().map(|&j| (&b.key[j], b.outcome(j))).collect();
        for (x, y) in lcs(&ka, &kb) {
            self.link(fa[x], fb[y]);
        }
        self.pair_noise(a, b, ea, eb);
        self.reorderings(a, b, &fa, &fb);
    }

    /// Reorderings: an unaligned event with the same key as an unaligned
    /// event of the other run, paired in order.
    fn reorderings(&mut self, a: &Side<'_>, b: &Side<'_>, fa: &[usize], fb: &[usize]) {
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

    /// Within each gap between aligned events, an unaligned real call of
    /// one run is paired with a noise event of the same key in the other:
    /// the read that got 2 bytes in A and timed out with EAGAIN in B is one
    /// call that went differently, not a removal.
    fn pair_noise(&mut self, a: &Side<'_>, b: &Side<'_>, ea: &[usize], eb: &[usize]) {
        let (mut pa, mut pb) = (0, 0);
        loop {
            let na = (pa..ea.len())
                .find(|&x| self.ab[ea[x]].is_some())
                .unwrap_or(ea.len());
            let nb = (pb..eb.len())
                .find(|&y| self.ba[eb[y]].is_some())
                .unwrap_or(eb.len());
            for (i, j) in noise_pairs(a, b, &ea[pa..na], &eb[pb..nb]) {
                self.link(i, j);
            }
            if na >= ea.len() && nb >= eb.len() {
                break;
            }
            (pa, pb) = (na + 1, nb + 1);
        }
    }

    /// The B counterpart of A's message `m`: paired through its aligned
    /// send (same part index).
    pub(super) fn msg_ab(&self, a: &Side<'_>, b: &Side<'_>, m: usize) -> Option<usize> {
        let send = a.g.messages()[m].send;
        let k = a.sent[send].iter().position(|&x| x == m)?;
        b.sent.get(self.ab[send]?)?.get(k).copied()
    }

    /// Per A message: its B counterpart. Through the aligned sends first;
    /// a send that is not aligned (a thread only in one run, a moved send)
    /// falls back to the message with the same name whose send is not
    /// aligned either.
    pub(super) fn messages(&self, a: &Side<'_>, b: &Side<'_>) -> Vec<Option<usize>> {
        let (ma, mb) = (a.g.messages(), b.g.messages());
        let mut pair_ab: Vec<Option<usize>> = (0..ma.len()).map(|m| self.msg_ab(a, b, m)).collect();
        let mut paired_b = vec![false; mb.len()];
        for p in pair_ab.iter().flatten() {
            paired_b[*p] = true;
        }
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
        pair_ab
    }
}

/// The pairs of one gap: each real call of A with the first unused noise
/// event of B with its key, then each real call of B with the first unused
/// noise event of A.
fn noise_pairs(a: &Side<'_>, b: &Side<'_>, ga: &[usize], gb: &[usize]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut used_b = vec![false; gb.len()];
    let mut used_a = vec![false; ga.len()];
    for (x, &i) in ga.iter().enumerate().filter(|(_, i)| !a.noise[**i]) {
        if let Some(y) =
            (0..gb.len()).find(|&y| !used_b[y] && b.noise[gb[y]] && b.key[gb[y]] == a.key[i])
        {
            used_b[y] = true;
            used_a[x] = true;
            pairs.push((i, gb[y]));
        }
    }
    for &j in gb.iter().filter(|&&j| !b.noise[j]) {
        if let Some(x) =
            (0..ga.len()).find(|&x| !used_a[x] && a.noise[ga[x]] && a.key[ga[x]] == b.key[j])
        {
            used_a[x] = true;
            pairs.push((ga[x], j));
        }
    }
    pairs
}
