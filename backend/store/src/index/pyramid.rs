//! The level-of-detail pyramid of a window index: per scale, at a few
//! power-of-two bucket widths, the events of each lane per bucket (count,
//! injected, the kinds present) and the message deliveries between two
//! lanes per pair of buckets. A zoomed-out window reads the coarsest level
//! with at least one bucket per pixel column, so it costs a few rows per
//! column and lane whatever the events in it (a `GROUP BY` over the events
//! costs as many rows as the window has events: 2.5 s for a whole
//! 10^6-event run).
//!
//! The levels start at about 8 events per bucket on average (finer ones
//! would hold as many rows as the events) and grow 4× per level up to the
//! run's span. A window finer than the finest level has few events unless
//! the run is locally dense, and is counted from the events directly.
//!
//! Exactness: the two buckets a window's ends cut through are counted from
//! the events and deliveries tables (at most two buckets' worth of rows),
//! so which events are in the window, `total_events` and the arrows' ends
//! outside it are exact; inside, an event counts in the column of its
//! bucket's first x ([`Resolved::bucket_column`]), and the answer says so
//! with `lod.bucket`.

use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Index, IndexError, int};
use bop_tracker::window::{self, LaneLod, Lod, Resolved, Scale};

/// Growth in bucket width from one level to the next, as a shift.
const STEP: u32 = 2;
/// Events per bucket of the finest level, on average over the run.
const FINEST_EVENTS: u64 = 8;

/// The pyramid's tables (WITHOUT ROWID: the key is the data's order).
pub(super) const TABLES: &str = "
CREATE TABLE lod_lanes(scale INTEGER NOT NULL, shift INTEGER NOT NULL, bucket INTEGER NOT NULL,
  lane INTEGER NOT NULL, events INTEGER NOT NULL, injected INTEGER NOT NULL, kinds INTEGER NOT NULL,
  PRIMARY KEY (scale, shift, bucket, lane)) WITHOUT ROWID;
CREATE TABLE lod_arrows(scale INTEGER NOT NULL, shift INTEGER NOT NULL, src_bucket INTEGER NOT NULL,
  src_lane INTEGER NOT NULL, dst_lane INTEGER NOT NULL, dst_bucket INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (scale, shift, src_bucket, src_lane, dst_lane, dst_bucket)) WITHOUT ROWID;
CREATE INDEX lod_arrows_dst ON lod_arrows(scale, shift, dst_bucket);
";

/// The bit-or of `kinds` over a group (SQLite has no bit-or aggregate:
/// the max of each bit is that bit's or).
pub(super) const KINDS_OR: &str = "(max(kinds&1)|max(kinds&2)|max(kinds&4)|max(kinds&8)\
                                   |max(kinds&16)|max(kinds&32)|max(kinds&64)|max(kinds&128))";

/// The shifts of the levels of each scale, finest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Levels {
    pub(super) time: Vec<u32>,
    pub(super) logical: Vec<u32>,
}

impl Levels {
    fn of(&self, scale: Scale) -> &[u32] {
        match scale {
            Scale::Time => &self.time,
            Scale::Logical => &self.logical,
        }
    }
}

/// One event as the pyramid sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Point {
    pub(super) lane: u32,
    /// x in time, then logical.
    pub(super) x: [u64; 2],
    pub(super) injected: bool,
    pub(super) kinds: u8,
}

/// One message delivery (send → one receive).
#[derive(Clone, Copy, Debug)]
pub(super) struct Delivery {
    pub(super) src: u32,
    pub(super) dst: u32,
    pub(super) xs: [u64; 2],
    pub(super) xd: [u64; 2],
}

/// Shifts of the levels for `events` events over `[lo, hi]`.
fn shifts(lo: u64, hi: u64, events: u64) -> Vec<u32> {
    let span = u128::from(hi - lo) + 1;
    let per = (span * u128::from(FINEST_EVENTS) / u128::from(events.max(1))).max(1);
    let mut s = 127 - per.leading_zeros();
    let mut out = Vec::new();
    while s < 62 && (1u128 << s) <= span {
        out.push(s);
        s += STEP;
    }
    out
}

type LaneKey = (u64, u32);
type LaneAgg = (u64, u64, u8);
type ArrowKey = (u64, u32, u32, u64);

/// Sorts rows by key and adds up the values of equal keys, in place: at
/// 10^6 events a copy of the rows was 40 MB more at the peak of
/// recording a run (issue 16).
fn merge<K: Ord + Copy, V: Copy>(rows: &mut Vec<(K, V)>, add: impl Fn(&mut V, V)) {
    rows.sort_unstable_by_key(|r| r.0);
    rows.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            add(&mut kept.1, later.1);
        }
        same
    });
    rows.shrink_to_fit();
}

/// The rows of sorted `items` keyed by `key`, equal keys added up.
fn fold<T, K: Ord + Copy, V: Copy>(
    items: &[T],
    key: impl Fn(&T) -> (K, V),
    add: impl Fn(&mut V, V),
) -> Vec<(K, V)> {
    let mut out: Vec<(K, V)> = Vec::new();
    for (k, v) in items.iter().map(key) {
        match out.last_mut() {
            Some(last) if last.0 == k => add(&mut last.1, v),
            _ => out.push((k, v)),
        }
    }
    out.shrink_to_fit();
    out
}

fn add_lane(a: &mut LaneAgg, b: LaneAgg) {
    *a = (a.0 + b.0, a.1 + b.1, a.2 | b.2);
}

fn add_count(a: &mut u64, b: u64) {
    *a += b;
}

/// Writes every level of both scales; returns their shifts.
pub(super) fn write(
    tx: &Transaction<'_>,
    extent: &window::Extent,
    points: &mut [Point],
    deliveries: &mut [Delivery],
) -> Result<Levels, IndexError> {
    tx.execute_batch(TABLES)?;
    let n = points.len() as u64;
    let levels = Levels {
        time: shifts(extent.time[0], extent.time[1], n),
        logical: shifts(extent.logical[0], extent.logical[1], n),
    };
    let mut lane_ins = tx.prepare(
        "INSERT INTO lod_lanes(scale, shift, bucket, lane, events, injected, kinds)
         VALUES (?1,?2,?3,?4,?5,?6,?7)",
    )?;
    let mut arrow_ins = tx.prepare(
        "INSERT INTO lod_arrows(scale, shift, src_bucket, src_lane, dst_lane, dst_bucket, count)
         VALUES (?1,?2,?3,?4,?5,?6,?7)",
    )?;
    for (k, scale) in [Scale::Time, Scale::Logical].into_iter().enumerate() {
        let shifts = levels.of(scale);
        let Some(&finest) = shifts.first() else {
            continue;
        };
        // The finest level is counted from the points and deliveries
        // sorted in place by its keys, not from a copy of them keyed.
        let lane_key = |p: &Point| {
            (
                (p.x[k] >> finest, p.lane),
                (1, u64::from(p.injected), p.kinds),
            )
        };
        points.sort_unstable_by_key(|p| lane_key(p).0);
        let mut lanes: Vec<(LaneKey, LaneAgg)> = fold(points, lane_key, add_lane);
        let arrow_key = |d: &Delivery| ((d.xs[k] >> finest, d.src, d.dst, d.xd[k] >> finest), 1u64);
        deliveries.sort_unstable_by_key(|d| arrow_key(d).0);
        let mut arrows: Vec<(ArrowKey, u64)> = fold(deliveries, arrow_key, add_count);
        let mut prev = finest;
        for &s in shifts {
            let by = s - prev;
            if by > 0 {
                for ((b, _), _) in lanes.iter_mut() {
                    *b >>= by;
                }
                merge(&mut lanes, add_lane);
                for ((sb, _, _, db), _) in arrows.iter_mut() {
                    *sb >>= by;
                    *db >>= by;
                }
                merge(&mut arrows, add_count);
            }
            prev = s;
            for &((b, lane), (events, injected, kinds)) in &lanes {
                lane_ins.execute(params![
                    k as i64,
                    s,
                    int(b),
                    lane,
                    int(events),
                    int(injected),
                    kinds
                ])?;
            }
            for &((sb, sl, dl, db), count) in &arrows {
                arrow_ins.execute(params![k as i64, s, int(sb), sl, dl, int(db), int(count)])?;
            }
        }
    }
    Ok(levels)
}

/// Fewest buckets a window is cut into, whatever its columns: the two
/// buckets its ends cut are counted from the events, so they must be a
/// small share of it (at most 1/32; a 1-column window of a whole run at one
/// bucket per column would count half the run one by one).
const MIN_BUCKETS: u128 = 64;

/// The coarsest level of `r`'s scale with at least one bucket per column
/// (and at least [`MIN_BUCKETS`] in the window).
pub(super) fn level(levels: &Levels, r: &Resolved) -> Option<u32> {
    let span = u128::from(r.x1 - r.x0) + 1;
    let buckets = (r.columns as u128).max(MIN_BUCKETS);
    levels
        .of(r.scale)
        .iter()
        .rev()
        .copied()
        .find(|&s| (1u128 << s) * buckets <= span)
}

/// Where a window's ends cut buckets of one level.
struct Cut {
    shift: u32,
    /// Buckets of the window's first and last x.
    b0: i64,
    b1: i64,
    /// Buckets wholly inside the window: `[inner.0, inner.1]` (maybe empty).
    inner: (i64, i64),
    /// The buckets the ends cut through (-1: none).
    ragged: [i64; 2],
}

impl Cut {
    fn new(r: &Resolved, shift: u32) -> Cut {
        let mask = (1u64 << shift) - 1;
        let (b0, b1) = (int(r.x0 >> shift), int(r.x1 >> shift));
        let left = r.x0 & mask != 0;
        let right = r.x1 & mask != mask;
        let inner = (b0 + i64::from(left), b1 - i64::from(right));
        let mut ragged = [if left { b0 } else { -1 }, if right { b1 } else { -1 }];
        if ragged[0] == ragged[1] {
            ragged[1] = -1;
        }
        Cut {
            shift,
            b0,
            b1,
            inner,
            ragged,
        }
    }

    /// The column of an arrow end known by its bucket (not a ragged one).
    fn column(&self, r: &Resolved, bucket: i64) -> i64 {
        if bucket < self.b0 {
            -1
        } else if bucket > self.b1 {
            r.columns as i64
        } else {
            r.column(r.x0.max((bucket as u64) << self.shift))
        }
    }

    /// The x range of ragged bucket `k` (empty when there is none).
    fn range(&self, k: usize) -> (i64, i64) {
        match self.ragged[k] {
            -1 => (1, 0),
            b => (b << self.shift, ((b + 1) << self.shift) - 1),
        }
    }
}

/// The level of detail of `r` at level `shift`, and the events it counts.
pub(super) fn lod(
    ix: &Index,
    r: &Resolved,
    names: &[String],
    shift: u32,
) -> Result<(Lod, u64), IndexError> {
    let cut = Cut::new(r, shift);
    let mut lanes = LaneLod::empty_lanes(r, names);
    lane_buckets(ix, r, &cut, &mut lanes)?;
    ragged_lanes(ix, r, &cut, &mut lanes)?;
    let mut deliveries = arrow_buckets(ix, r, &cut)?;
    deliveries.extend(ragged_arrows(ix, r, &cut)?);
    let total = lanes.iter().flat_map(|l| &l.counts).sum();
    let lod = Lod {
        bucket: 1 << shift,
        lanes,
        arrows: window::arrows(names, deliveries),
    };
    Ok((lod, total))
}

fn scale_no(r: &Resolved) -> i64 {
    match r.scale {
        Scale::Time => 0,
        Scale::Logical => 1,
    }
}

fn add(lanes: &mut [LaneLod], r: &Resolved, lane: i64, col: i64, v: LaneAgg) {
    let slot = r.lanes.binary_search(&(lane as usize));
    if let (Ok(s), true) = (slot, (0..r.columns as i64).contains(&col)) {
        let c = col as usize;
        lanes[s].counts[c] += v.0;
        lanes[s].injected[c] += v.1;
        lanes[s].kinds[c] |= v.2;
    }
}

fn lane_buckets(
    ix: &Index,
    r: &Resolved,
    cut: &Cut,
    lanes: &mut [LaneLod],
) -> Result<(), IndexError> {
    let sql = format!(
        "SELECT lane, bucket, events, injected, kinds FROM lod_lanes \
         WHERE scale = ?1 AND shift = ?2 AND bucket BETWEEN ?3 AND ?4{}",
        super::query::lane_filter("lane", r)
    );
    let mut stmt = ix.conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![scale_no(r), cut.shift, cut.inner.0, cut.inner.1])?;
    while let Some(row) = rows.next()? {
        let (lane, bucket): (i64, i64) = (row.get(0)?, row.get(1)?);
        let v: (i64, i64, u8) = (row.get(2)?, row.get(3)?, row.get(4)?);
        let col = cut.column(r, bucket);
        add(lanes, r, lane, col, (v.0 as u64, v.1 as u64, v.2));
    }
    Ok(())
}

/// The events of the buckets the window's ends cut, from the events.
fn ragged_lanes(
    ix: &Index,
    r: &Resolved,
    cut: &Cut,
    lanes: &mut [LaneLod],
) -> Result<(), IndexError> {
    let x = super::query::x_column(r.scale);
    let sql = format!(
        "SELECT lane, count(*), count(injected), {KINDS_OR} FROM events \
         WHERE {x} BETWEEN ?1 AND ?2{} GROUP BY lane",
        super::query::lane_filter("lane", r)
    );
    let mut stmt = ix.conn.prepare_cached(&sql)?;
    for k in 0..2 {
        let (a, b) = cut.range(k);
        if a > b {
            continue;
        }
        let (a, b) = (a.max(int(r.x0)), b.min(int(r.x1)));
        let col = r.column(a as u64);
        let mut rows = stmt.query(params![a, b])?;
        while let Some(row) = rows.next()? {
            let v: (i64, i64, u8) = (row.get(1)?, row.get(2)?, row.get(3)?);
            add(lanes, r, row.get(0)?, col, (v.0 as u64, v.1 as u64, v.2));
        }
    }
    Ok(())
}

type Bucketed = ((usize, usize, i64, i64), u64);

/// Deliveries with no end in a cut bucket: those sent from inside the
/// window, then those received inside it and sent outside.
fn arrow_buckets(ix: &Index, r: &Resolved, cut: &Cut) -> Result<Vec<Bucketed>, IndexError> {
    let lanes = format!(
        "{}{}",
        super::query::lane_filter("src_lane", r),
        super::query::lane_filter("dst_lane", r)
    );
    let from_inside = format!(
        "SELECT src_lane, dst_lane, src_bucket, dst_bucket, count FROM lod_arrows \
         WHERE scale = ?1 AND shift = ?2 AND src_bucket BETWEEN ?3 AND ?4 \
         AND dst_bucket NOT IN (?5, ?6){lanes}"
    );
    let into_inside = format!(
        "SELECT src_lane, dst_lane, src_bucket, dst_bucket, count FROM lod_arrows \
         WHERE scale = ?1 AND shift = ?2 AND dst_bucket BETWEEN ?3 AND ?4 \
         AND (src_bucket < ?5 OR src_bucket > ?6){lanes}"
    );
    let mut out = Vec::new();
    let (s, sh, (i0, i1)) = (scale_no(r), cut.shift, cut.inner);
    for (sql, p5, p6) in [
        (from_inside, cut.ragged[0], cut.ragged[1]),
        (into_inside, cut.b0, cut.b1),
    ] {
        let mut stmt = ix.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![s, sh, i0, i1, p5, p6])?;
        while let Some(row) = rows.next()? {
            let (f, t, bf, bt): (i64, i64, i64, i64) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            let key = (f as usize, t as usize, cut.column(r, bf), cut.column(r, bt));
            out.push((key, row.get::<_, i64>(4)? as u64));
        }
    }
    Ok(out)
}

/// Deliveries with an end in a cut bucket, from the deliveries table.
/// The unary `+` keeps SQLite from answering the window's own (wide)
/// range from an index instead of the two cut buckets' (narrow) ones.
fn ragged_arrows(ix: &Index, r: &Resolved, cut: &Cut) -> Result<Vec<Bucketed>, IndexError> {
    let (xs, xd) = match r.scale {
        Scale::Time => ("src_t", "dst_t"),
        Scale::Logical => ("src_l", "dst_l"),
    };
    let sql = format!(
        "SELECT src_lane, dst_lane, {xs}, {xd} FROM deliveries \
         WHERE ({xs} BETWEEN ?1 AND ?2 OR {xd} BETWEEN ?1 AND ?2 \
                OR {xs} BETWEEN ?3 AND ?4 OR {xd} BETWEEN ?3 AND ?4) \
         AND (+{xs} BETWEEN ?5 AND ?6 OR +{xd} BETWEEN ?5 AND ?6){}{}",
        super::query::lane_filter("src_lane", r),
        super::query::lane_filter("dst_lane", r)
    );
    let ((a, b), (c, d)) = (cut.range(0), cut.range(1));
    let mut stmt = ix.conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![a, b, c, d, int(r.x0), int(r.x1)], |row| {
        let (f, t, xf, xt): (i64, i64, i64, i64) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        let (cf, ct) = (
            r.bucket_column(xf as u64, cut.shift),
            r.bucket_column(xt as u64, cut.shift),
        );
        Ok(((f as usize, t as usize, cf, ct), 1))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_start_near_eight_events_per_bucket_and_reach_the_span() {
        // 10^6 events over 10 s: ~80 µs per 8 events, so 2^16 ns first.
        let s = shifts(0, 10_000_000_000, 1_000_000);
        assert_eq!(s.first(), Some(&16));
        assert!(s.windows(2).all(|w| w[1] == w[0] + STEP));
        let last = *s.last().expect("levels");
        assert!(1u64 << last <= 10_000_000_001 && 1u64 << (last + STEP) > 10_000_000_001);
        assert!(shifts(0, 0, 1).is_empty(), "a one-x run needs no level");
        assert_eq!(shifts(5, 9, 1000), vec![0, 2]);
    }
}
