//! Where the runs stop matching. An event is *bad* when it differs, is left
//! unaligned (and is not noise), or comes after a bad event in either run;
//! badness crosses the alignment both ways. The divergence frontier is the
//! set of differing events whose causal predecessors are all good, and the
//! first divergence is the frontier point that ranks first: in the
//! workload before teardown, then fault sites, then the earliest by Lamport
//! time (wall-clock time is never used).

use super::Cmp;

/// How many independent divergences are reported besides the first.
const MAX_OTHER_DIVERGENCES: usize = 10;

/// A divergence point before it is described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Point {
    Pair(usize, usize),
    OnlyA(usize),
    OnlyB(usize),
}

impl Cmp<'_, '_> {
    /// The frontier, first divergence first, then at most
    /// [`MAX_OTHER_DIVERGENCES`] others.
    pub(super) fn frontier(&self) -> Vec<Point> {
        let (bad_a, bad_b) = self.spread();
        let mut points = self.clean_points(&bad_a, &bad_b);
        if points.is_empty() {
            // Only possible when the alignment crosses itself between
            // threads (a cycle through both runs): fall back to every
            // differing event.
            points = self.differing_points();
        }
        let (a, b) = (self.a, self.b);
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
        points.truncate(1 + MAX_OTHER_DIVERGENCES);
        points
    }

    /// True when A's event `i` differs by itself: aligned and different,
    /// or unaligned and not noise.
    fn differs_a(&self, i: usize) -> bool {
        match self.al.ab[i] {
            Some(_) => !self.what[i].is_empty(),
            None => !self.a.noise[i],
        }
    }

    fn differs_b(&self, j: usize) -> bool {
        match self.al.ba[j] {
            Some(i) => !self.what[i].is_empty(),
            None => !self.b.noise[j],
        }
    }

    /// Marks every event that differs or comes after one that does (in
    /// either run, carried across the alignment), to a fixpoint.
    fn spread(&self) -> (Vec<bool>, Vec<bool>) {
        let (a, b, al) = (self.a, self.b, &self.al);
        let mut bad_a: Vec<bool> = (0..a.ev.len()).map(|i| self.differs_a(i)).collect();
        let mut bad_b: Vec<bool> = (0..b.ev.len()).map(|j| self.differs_b(j)).collect();
        loop {
            let mut changed = false;
            for &i in a.g.topo_order() {
                let bad = bad_a[i]
                    || a.preds[i].iter().any(|&p| bad_a[p])
                    || al.ab[i].is_some_and(|j| bad_b[j]);
                if bad && !bad_a[i] {
                    bad_a[i] = true;
                    changed = true;
                }
            }
            for &j in b.g.topo_order() {
                let bad = bad_b[j]
                    || b.preds[j].iter().any(|&p| bad_b[p])
                    || al.ba[j].is_some_and(|i| bad_a[i]);
                if bad && !bad_b[j] {
                    bad_b[j] = true;
                    changed = true;
                }
            }
            if !changed {
                return (bad_a, bad_b);
            }
        }
    }

    /// Differing events whose predecessors (and whose counterpart's
    /// predecessors) are all good.
    fn clean_points(&self, bad_a: &[bool], bad_b: &[bool]) -> Vec<Point> {
        let (a, b) = (self.a, self.b);
        let clean_a = |i: usize| a.preds[i].iter().all(|&p| !bad_a[p]);
        let clean_b = |j: usize| b.preds[j].iter().all(|&p| !bad_b[p]);
        let mut points = Vec::new();
        for i in 0..a.ev.len() {
            if !self.differs_a(i) || !clean_a(i) {
                continue;
            }
            match self.al.ab[i] {
                Some(j) if clean_b(j) => points.push(Point::Pair(i, j)),
                Some(_) => {}
                None => points.push(Point::OnlyA(i)),
            }
        }
        for j in 0..b.ev.len() {
            if self.al.ba[j].is_none() && self.differs_b(j) && clean_b(j) {
                points.push(Point::OnlyB(j));
            }
        }
        points
    }

    /// Every differing event, as a point.
    fn differing_points(&self) -> Vec<Point> {
        let (a, b, al) = (self.a, self.b, &self.al);
        let mut points: Vec<Point> = (0..a.ev.len())
            .filter(|&i| self.differs_a(i))
            .map(|i| al.ab[i].map_or(Point::OnlyA(i), |j| Point::Pair(i, j)))
            .collect();
        points.extend(
            (0..b.ev.len())
                .filter(|&j| al.ba[j].is_none() && self.differs_b(j))
                .map(Point::OnlyB),
        );
        points
    }

    /// True when the point is in the causal past of the workload's end in
    /// either run.
    pub(super) fn in_workload(&self, p: Point) -> bool {
        match p {
            Point::Pair(i, j) => self.a.in_workload(i) || self.b.in_workload(j),
            Point::OnlyA(i) => self.a.in_workload(i),
            Point::OnlyB(j) => self.b.in_workload(j),
        }
    }

    /// The last event before `i` in its A thread that matches.
    pub(super) fn after_a(&self, i: usize) -> Option<String> {
        let a = self.a;
        let t = &a.g.threads()[a.g.thread_of(i)];
        t.events[..a.g.position(i)]
            .iter()
            .rev()
            .find(|&&x| self.al.ab[x].is_some() && self.what[x].is_empty())
            .map(|&x| a.name(x))
    }

    /// The last event before `j` in its B thread that matches, named in A.
    pub(super) fn after_b(&self, j: usize) -> Option<String> {
        let b = self.b;
        let t = &b.g.threads()[b.g.thread_of(j)];
        t.events[..b.g.position(j)]
            .iter()
            .rev()
            .find_map(|&y| self.al.ba[y].filter(|&x| self.what[x].is_empty()))
            .map(|x| self.a.name(x))
    }
}
