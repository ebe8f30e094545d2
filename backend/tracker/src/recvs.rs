//! The receives of one message: almost always one, so held inline.
//!
//! A `Vec<usize>` per message was 24 bytes inline plus a 32-byte heap
//! block for its one receive: ~25 MB at 10^6 events while a run is
//! recorded (issue 16, docs/PERFORMANCE.md). [`Recvs`] holds none or one
//! receive in its 24 bytes and only more than one on the heap; it reads as
//! a slice.

/// Indices of the receive events of a message, in order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Recvs(Repr);

#[derive(Clone, Default, PartialEq, Eq)]
enum Repr {
    #[default]
    None,
    One(usize),
    Many(Vec<usize>),
}

impl Recvs {
    /// Appends a receive.
    pub fn push(&mut self, r: usize) {
        self.0 = match std::mem::take(&mut self.0) {
            Repr::None => Repr::One(r),
            Repr::One(a) => Repr::Many(vec![a, r]),
            Repr::Many(mut v) => {
                v.push(r);
                Repr::Many(v)
            }
        };
    }

    /// Removes consecutive repeats (a receive that took two ranges of one
    /// message is listed once).
    pub fn dedup(&mut self) {
        if let Repr::Many(v) = &mut self.0 {
            v.dedup();
            match v[..] {
                [a] => self.0 = Repr::One(a),
                _ => v.shrink_to_fit(),
            }
        }
    }
}

impl std::ops::Deref for Recvs {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        match &self.0 {
            Repr::None => &[],
            Repr::One(a) => std::slice::from_ref(a),
            Repr::Many(v) => v,
        }
    }
}

impl<'a> IntoIterator for &'a Recvs {
    type Item = &'a usize;
    type IntoIter = std::slice::Iter<'a, usize>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<Vec<usize>> for Recvs {
    fn from(v: Vec<usize>) -> Recvs {
        let mut r = Recvs::default();
        for i in v {
            r.push(i);
        }
        r
    }
}

impl PartialEq<Vec<usize>> for Recvs {
    fn eq(&self, other: &Vec<usize>) -> bool {
        **self == other[..]
    }
}

impl std::fmt::Debug for Recvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_receive_is_inline_and_more_read_as_a_slice() {
        assert_eq!(std::mem::size_of::<Recvs>(), 24);
        let mut r = Recvs::default();
        assert!(r.is_empty());
        r.push(4);
        assert!(matches!(r.0, Repr::One(4)));
        r.push(4);
        r.dedup();
        assert!(matches!(r.0, Repr::One(4)), "a repeat is one receive");
        r.push(9);
        r.push(9);
        r.dedup();
        assert_eq!(r, vec![4, 9]);
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [4, 9]);
        assert_eq!(format!("{r:?}"), "[4, 9]");
    }
}
