//! Minimising a failing fault set (issue 14 item 6): delta debugging down
//! to a set where every fault is needed, and shrinking a delay to the
//! smallest that still fails. Both are driven by a test that reruns the
//! target, so they are written against a closure and tested without one;
//! the closure returns `None` when it may not run any more (budget, Ctrl-C).

/// Removes faults one at a time while the rest still fail (ddmin at
/// granularity one, which for the 1 to 3 faults of a search plan is the
/// whole algorithm): the result fails and no single fault can go.
pub(crate) fn ddmin<T: Clone>(set: Vec<T>, fails: &mut dyn FnMut(&[T]) -> Option<bool>) -> Vec<T> {
    let mut current = set;
    let mut i = 0;
    while current.len() > 1 && i < current.len() {
        let mut without = current.clone();
        without.remove(i);
        match fails(&without) {
            Some(true) => current = without,
            Some(false) => i += 1,
            None => break,
        }
    }
    current
}

/// The smallest delay in `1..=ms` that still fails, by bisection over at
/// most `steps` reruns (`ms` itself is known to fail). A bug that lives in
/// a window has a lower edge; reporting it says how late is too late.
pub(crate) fn shrink_delay(
    ms: u64,
    steps: usize,
    fails: &mut dyn FnMut(u64) -> Option<bool>,
) -> u64 {
    let (mut lo, mut hi) = (0, ms);
    for _ in 0..steps {
        if hi - lo <= 1 {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        match fails(mid) {
            Some(true) => hi = mid,
            Some(false) => lo = mid,
            None => break,
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_keeps_exactly_the_faults_that_are_needed() {
        let mut calls = 0;
        let got = ddmin(vec!['a', 'b', 'c'], &mut |s| {
            calls += 1;
            Some(s.contains(&'a') && s.contains(&'c'))
        });
        assert_eq!(got, ['a', 'c']);
        assert_eq!(calls, 3, "one rerun per removal tried");
        assert_eq!(
            ddmin(vec![1], &mut |_| panic!("a single fault is minimal")),
            [1]
        );
        assert_eq!(
            ddmin(vec![1, 2], &mut |_| None),
            [1, 2],
            "out of budget: unchanged"
        );
    }

    #[test]
    fn delays_shrink_to_the_edge_of_the_window() {
        let mut tried = Vec::new();
        let got = shrink_delay(80, 10, &mut |ms| {
            tried.push(ms);
            Some(ms >= 37)
        });
        assert_eq!(got, 37);
        assert!(tried.len() <= 7, "{tried:?}");
        assert_eq!(shrink_delay(80, 2, &mut |ms| Some(ms >= 37)), 40);
        assert_eq!(shrink_delay(80, 5, &mut |_| None), 80);
    }
}
