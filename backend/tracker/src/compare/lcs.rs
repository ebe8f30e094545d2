//! Sequence alignment: the longest common subsequence of two key sequences.
//!
//! Used by the per-thread alignment ([`super::align`]) on (call, channel)
//! keys, so an extra or missing event in one run shows as one insertion or
//! removal instead of shifting every later ordinal. Threads of recorded
//! runs are short (tens to thousands of events) and two runs of one target
//! share long prefixes and suffixes, so the common ends are trimmed first
//! and the middle gets the textbook dynamic program; a middle too large for
//! it falls back to a greedy windowed match, which is not minimal but is
//! linear and still in order.

/// Largest middle (cells = len a × len b) given to the dynamic program:
/// 4M cells of `u64` is 32 MB.
const MAX_CELLS: usize = 4 << 20;

/// How far ahead the greedy fallback looks for a match.
const WINDOW: usize = 64;

/// Matched positions `(i, j)`, increasing in both, where `a[i].0 ==
/// b[j].0`: as many as possible, and among those, as many as possible that
/// are equal in full (`.1` too). The second part only breaks ties, so an
/// extra `read` in B is reported as the extra one and not as a changed
/// neighbour (except in the greedy fallback, which is merely in order).
pub(super) fn lcs<K: Eq, F: Eq>(a: &[(K, F)], b: &[(K, F)]) -> Vec<(usize, usize)> {
    // Trimming fully equal ends keeps the result optimal: an optimal
    // alignment can always be changed to pair two equal first elements.
    let mut pre = 0;
    while pre < a.len() && pre < b.len() && a[pre] == b[pre] {
        pre += 1;
    }
    let mut suf = 0;
    while suf < a.len() - pre && suf < b.len() - pre && a[a.len() - 1 - suf] == b[b.len() - 1 - suf]
    {
        suf += 1;
    }
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let middle = if ma.len().saturating_mul(mb.len()) <= MAX_CELLS {
        dynamic(ma, mb)
    } else {
        greedy(ma, mb)
    };
    let mut out: Vec<(usize, usize)> = (0..pre).map(|i| (i, i)).collect();
    out.extend(middle.into_iter().map(|(i, j)| (i + pre, j + pre)));
    out.extend((0..suf).map(|k| (a.len() - suf + k, b.len() - suf + k)));
    out
}

fn dynamic<K: Eq, F: Eq>(a: &[(K, F)], b: &[(K, F)]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let w = m + 1;
    // A key match is worth more than all full-equality bonuses together.
    let unit = (n.min(m) + 1) as u64;
    let score = |i: usize, j: usize| -> Option<u64> {
        (a[i].0 == b[j].0).then(|| unit + u64::from(a[i].1 == b[j].1))
    };
    // l[i * w + j] = best score of a[i..] and b[j..].
    let mut l = vec![0u64; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let skip = l[(i + 1) * w + j].max(l[i * w + j + 1]);
            l[i * w + j] = match score(i, j) {
                Some(s) => skip.max(l[(i + 1) * w + j + 1] + s),
                None => skip,
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if score(i, j).is_some_and(|s| l[i * w + j] == l[(i + 1) * w + j + 1] + s) {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if l[(i + 1) * w + j] >= l[i * w + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn greedy<K: Eq, F: Eq>(a: &[(K, F)], b: &[(K, F)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut j = 0;
    for (i, x) in a.iter().enumerate() {
        let end = (j + WINDOW).min(b.len());
        let found = (j..end)
            .find(|&k| b[k] == *x)
            .or_else(|| (j..end).find(|&k| b[k].0 == x.0));
        if let Some(k) = found {
            out.push((i, k));
            j = k + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(s: &str) -> Vec<(char, ())> {
        s.chars().map(|c| (c, ())).collect()
    }

    fn common(a: &str, b: &str) -> String {
        let (a, b) = (keys(a), keys(b));
        lcs(&a, &b).into_iter().map(|(i, _)| a[i].0).collect()
    }

    #[test]
    fn lcs_finds_the_longest_common_subsequence() {
        assert_eq!(common("abcdef", "abcdef"), "abcdef");
        assert_eq!(common("abcdef", "abXcdef"), "abcdef");
        assert_eq!(common("abcdef", "abdef"), "abdef");
        assert_eq!(common("xaybzc", "abc"), "abc");
        assert_eq!(common("", "abc"), "");
        assert_eq!(common("ab", "ba").len(), 1);
    }

    #[test]
    fn full_equality_breaks_ties() {
        // Keys r(ead) and w(rite); the digit is the outcome. B read and
        // answered once more before the final read of 0 (end of file).
        let split = |s: &str| -> Vec<(char, char)> {
            s.as_bytes()
                .chunks(2)
                .map(|p| (p[0] as char, p[1] as char))
                .collect()
        };
        let a = split("r5w3r0x1");
        let b = split("r5w3r6w1r0x2");
        assert_eq!(lcs(&a, &b), [(0, 0), (1, 1), (2, 4), (3, 5)]);
        assert_eq!(dynamic(&a[2..], &b[2..]), [(0, 2), (1, 3)]);
    }

    /// A long thread that differs all along (no common ends to trim): the
    /// textbook table would be 4·10^10 cells (320 GB) and abort the test,
    /// so this fails if the alignment ever becomes quadratic in memory
    /// again on such a thread (issue 16).
    #[test]
    fn a_long_thread_that_differs_throughout_stays_linear_in_memory() {
        let n = 200_000;
        // x b a b a ... b against z a b a b ... a.
        let thread = |first: u8, odd: u8, even: u8| -> Vec<(u8, ())> {
            let key = |k: usize| match k {
                0 => first,
                _ if k % 2 == 1 => odd,
                _ => even,
            };
            (0..n).map(|k| (key(k), ())).collect()
        };
        let (a, b) = (thread(b'x', b'b', b'a'), thread(b'z', b'a', b'b'));
        assert!(a[0] != b[0] && a[n - 1] != b[n - 1]);
        let m = lcs(&a, &b);
        assert!(m.len() > n / 2, "{} of {n} matched", m.len());
        assert!(m.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        assert!(m.iter().all(|&(i, j)| a[i].0 == b[j].0));
    }

    #[test]
    fn greedy_fallback_stays_in_order() {
        let a = keys("abcabc");
        let b = keys("aXbcabc");
        let m = greedy(&a, &b);
        assert!(m.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        assert!(m.iter().all(|&(i, j)| a[i] == b[j]));
        assert_eq!(m.len(), 6);
    }
}
