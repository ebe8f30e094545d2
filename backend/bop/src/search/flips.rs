//! When a fault set's failures count as a flip (issue 14, "confirm before
//! reporting"): most of its reruns fail, and, when the baselines failed
//! too (a flaky check), more of them than the baselines' failure rate
//! explains. With a check that fails one run in four at random, "2 of 3"
//! happens by chance in 16% of confirmations, so a search that meets a few
//! dozen flips would report a bug that is only noise; asking for a one-in-
//! a-hundred chance at that rate, over twice the reruns, makes that rare,
//! and a fault set that fails every time still passes.

/// How many reruns confirm a failing set: `confirm`, twice that when the
/// check is flaky (its rate must be told from the set's).
pub(super) fn reruns(confirm: usize, baseline_rate: f64) -> usize {
    if baseline_rate > 0.0 {
        confirm * 2
    } else {
        confirm
    }
}

/// The largest chance of seeing at least this many failures by the
/// baselines' rate alone that still counts as a flip.
const CHANCE: f64 = 0.01;

/// Whether `failed` of `of` reruns is a flip, given the baselines' rate.
pub(super) fn is_flip(failed: usize, of: usize, baseline_rate: f64) -> bool {
    of > 0
        && failed * 3 >= of * 2
        && (baseline_rate <= 0.0 || tail(of, failed, baseline_rate) < CHANCE)
}

/// P(X >= k) for X ~ Binomial(n, p).
fn tail(n: usize, k: usize, p: f64) -> f64 {
    (k..=n)
        .map(|i| choose(n, i) * p.powi(i as i32) * (1.0 - p).powi((n - i) as i32))
        .sum()
}

fn choose(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_check_flips_on_most() {
        assert_eq!(reruns(3, 0.0), 3);
        assert!(is_flip(2, 3, 0.0));
        assert!(is_flip(3, 3, 0.0));
        assert!(!is_flip(1, 3, 0.0));
        assert!(!is_flip(0, 0, 0.0));
    }

    #[test]
    fn a_flaky_check_needs_more_than_its_rate_explains() {
        // One baseline in five failed: confirm with six reruns.
        assert_eq!(reruns(3, 0.2), 6);
        assert!(is_flip(6, 6, 0.2));
        assert!(is_flip(5, 6, 0.2), "{}", tail(6, 5, 0.2));
        assert!(!is_flip(4, 6, 0.25), "{}", tail(6, 4, 0.25));
        // 2 of 3 at a 25% rate happens by chance in about 16% of tries.
        assert!((tail(3, 2, 0.25) - 0.15625).abs() < 1e-9);
        assert!(!is_flip(2, 3, 0.25));
        // A check failing half the time: not even six of six is enough.
        assert!(!is_flip(6, 6, 0.5));
    }
}
