//! Smallest hitting sets over supports (LDFI's core step): each support is
//! the set of candidate faults that would cut one way the system reached
//! its outcome; a fault set that can break every known way at once must
//! contain one member of each. Candidates are small (tens) and sets are
//! small (`--max-faults`, default 3), so an exact enumeration by
//! branching on the first support not yet hit is fast enough and needs no
//! solver; no maintained crate does this for tiny instances.

use std::collections::{BTreeSet, HashSet};

/// A fault set: candidate indices, ascending.
pub(crate) type Set = BTreeSet<usize>;

/// What the enumeration must avoid.
pub(crate) struct Known<'a> {
    /// Sets already rerun (whatever came of them).
    pub(crate) tried: &'a HashSet<Set>,
    /// Sets that failed the check: their supersets teach nothing new.
    pub(crate) failing: &'a [Set],
    /// Per candidate, what it acts on; two faults on one thing are one fault.
    pub(crate) keys: &'a [String],
}

/// Up to `want` fault sets of the smallest size k ≤ `max` that hit every
/// support, are untried, and contain no failing set; the candidates are
/// numbered by priority, so sets come by the sum of their members' numbers. With no
/// support yet, every candidate hits vacuously. Empty when none exists.
pub(crate) fn next_sets(
    supports: &[Set],
    candidates: usize,
    max: usize,
    known: &Known<'_>,
    want: usize,
) -> Vec<Set> {
    let everything: Set = (0..candidates).collect();
    let supports: Vec<&Set> = if supports.is_empty() {
        vec![&everything]
    } else {
        supports.iter().collect()
    };
    for k in 1..=max {
        let mut found = BTreeSet::new();
        grow(&supports, k, &mut Set::new(), &mut found);
        let mut sets: Vec<Set> = found
            .into_iter()
            .filter(|s: &Set| s.len() == k && admissible(s, known))
            .collect();
        // Sets of high-priority candidates first: (0, 40) is no likelier
        // a bug than (3, 4), but lexicographic order would try it first.
        sets.sort_by_key(|s| (s.iter().sum::<usize>(), s.clone()));
        sets.truncate(want);
        if !sets.is_empty() {
            return sets;
        }
    }
    Vec::new()
}

/// Counts what [`next_sets`] could still return at the smallest size that
/// has any (for progress lines), up to `cap`.
pub(crate) fn remaining(
    supports: &[Set],
    candidates: usize,
    max: usize,
    known: &Known<'_>,
    cap: usize,
) -> usize {
    next_sets(supports, candidates, max, known, cap).len()
}

/// Branches on the members of the first support `current` misses, up to
/// `k` members; every complete set reached is a hitting set.
fn grow(supports: &[&Set], k: usize, current: &mut Set, found: &mut BTreeSet<Set>) {
    const CAP: usize = 50_000;
    if found.len() >= CAP {
        return;
    }
    let Some(missed) = supports.iter().find(|s| s.is_disjoint(current)) else {
        found.insert(current.clone());
        return;
    };
    if current.len() == k {
        return;
    }
    for &c in missed.iter() {
        if current.insert(c) {
            grow(supports, k, current, found);
            current.remove(&c);
        }
    }
}

fn admissible(set: &Set, known: &Known<'_>) -> bool {
    if known.tried.contains(set) || known.failing.iter().any(|f| f.is_subset(set)) {
        return false;
    }
    let keys: HashSet<&str> = set
        .iter()
        .filter_map(|&c| known.keys.get(c).map(String::as_str))
        .collect();
    keys.len() == set.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(xs: &[usize]) -> Set {
        xs.iter().copied().collect()
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("k{i}")).collect()
    }

    #[test]
    fn singles_come_first_then_pairs_once_supports_disagree() {
        let (tried, keys) = (HashSet::new(), keys(4));
        let known = Known {
            tried: &tried,
            failing: &[],
            keys: &keys,
        };
        // One support: any of its members cuts it.
        let one = [set(&[0, 1, 2])];
        assert_eq!(
            next_sets(&one, 4, 3, &known, 10),
            [set(&[0]), set(&[1]), set(&[2])]
        );
        // Two disjoint ways to the outcome (a retry, another replica): only
        // pairs with one fault on each can cut both.
        let two = [set(&[0, 1]), set(&[2, 3])];
        assert_eq!(
            next_sets(&two, 4, 3, &known, 10),
            [set(&[0, 2]), set(&[0, 3]), set(&[1, 2]), set(&[1, 3])]
        );
        assert_eq!(next_sets(&two, 4, 1, &known, 10), Vec::<Set>::new());
        assert_eq!(remaining(&two, 4, 3, &known, 2), 2);
    }

    #[test]
    fn tried_sets_supersets_of_failures_and_double_faults_are_skipped() {
        let tried = HashSet::from([set(&[0])]);
        let mut keys = keys(4);
        keys[3] = keys[1].clone();
        let failing = [set(&[1])];
        let known = Known {
            tried: &tried,
            failing: &failing,
            keys: &keys,
        };
        let supports = [set(&[0, 1, 2, 3])];
        assert_eq!(
            next_sets(&supports, 4, 3, &known, 10),
            [set(&[2]), set(&[3])]
        );
        let supports = [set(&[0, 1]), set(&[1, 3]), set(&[2, 3])];
        // {1,3} names one thing twice and {1,2} contains the failing {1}:
        // the one pair left is {0,3}.
        assert_eq!(next_sets(&supports, 4, 3, &known, 10), [set(&[0, 3])]);
    }

    #[test]
    fn no_supports_means_every_candidate_is_a_single() {
        let (tried, keys) = (HashSet::new(), keys(3));
        let known = Known {
            tried: &tried,
            failing: &[],
            keys: &keys,
        };
        assert_eq!(next_sets(&[], 3, 2, &known, 10).len(), 3);
        assert!(
            next_sets(&[Set::new()], 3, 2, &known, 10).is_empty(),
            "an empty support cannot be hit"
        );
    }
}
