//! Window queries over an open index: one counting query decides between
//! detail and level of detail (the contract in bop-tracker's `window`);
//! detail goes through two temporary tables (the window's events, then
//! those plus the other ends of their messages and edges), level of detail
//! is two `GROUP BY`s over the covering x indexes. Answers are built from
//! the same export types as the whole graph, so both serialize alike.

use std::collections::BTreeSet;

use rusqlite::{Row, params};
use serde::Serialize;
use serde_json::Value;

use super::{Index, IndexError, int, pyramid};
use bop_model::Manifest;
use bop_tracker::EdgeKind;
use bop_tracker::export::{EdgeOut, EventOut, MessageOut};
use bop_tracker::window::{self, LaneLod, Lod, Resolved, Scale, Window, WindowQuery};

/// Columns of `events` an answer needs, in [`event_row`]'s order.
const EVENT_COLUMNS: &str = "id, seq, lane, l, injected, position, call, fd, channel, ret, errno, \
                             bytes, start_ns, end_ns, data";

pub(super) fn window(
    ix: &Index,
    manifest: &Manifest,
    q: &WindowQuery,
) -> Result<Window, IndexError> {
    let head = ix.head(manifest);
    let names: Vec<String> = ix.lanes.iter().map(|(n, _)| n.clone()).collect();
    let r = Resolved::new(q, &names, &head.extent)?;
    let x = x_column(r.scale);
    let lanes = lane_filter("lane", &r);
    // A window with a level of its own is counted from the pyramid; a
    // finer one (few events, or a locally dense run) from its events.
    let (total, mut lod) = match pyramid::level(&ix.facts.levels, &r) {
        Some(shift) => {
            let (lod, total) = pyramid::lod(ix, &r, &names, shift)?;
            (total, Some(lod))
        }
        None => {
            let total: i64 = ix.conn.query_row(
                &format!("SELECT count(*) FROM events WHERE {x} BETWEEN ?1 AND ?2{lanes}"),
                params![int(r.x0), int(r.x1)],
                |row| row.get(0),
            )?;
            (total as u64, None)
        }
    };
    let mut w = Window::bare(head, &r, total);
    if w.total_events > r.detail_limit() {
        w.lod = match lod.take() {
            Some(lod) => Some(lod),
            None => Some(exact_lod(ix, &r, &names)?),
        };
    } else {
        let (events, messages, edges) = detail(ix, &r, x, &lanes)?;
        (w.events, w.messages, w.edges) = (Some(events), Some(messages), Some(edges));
    }
    Ok(w)
}

/// The events' column of a scale's x.
pub(super) fn x_column(scale: Scale) -> &'static str {
    match scale {
        Scale::Time => "t",
        Scale::Logical => "l",
    }
}

/// ` AND col IN (...)`, or nothing when every lane is selected. Lane
/// numbers are integers the query resolved, never text from the request.
pub(super) fn lane_filter(col: &str, r: &Resolved) -> String {
    if r.all_lanes {
        return String::new();
    }
    let list: Vec<String> = r.lanes.iter().map(usize::to_string).collect();
    format!(" AND {col} IN ({})", list.join(","))
}

/// The SQL of [`window::column`] for the x in `x`; ?1, ?2, ?3 are x0, x1,
/// columns.
fn column_sql(x: &str) -> String {
    format!(
        "CASE WHEN {x} < ?1 THEN -1 WHEN {x} > ?2 THEN ?3 \
         ELSE (({x} - ?1) * ?3) / (?2 - ?1 + 1) END"
    )
}

/// The level of detail event by event: as many rows as the window has
/// events, so only for windows finer than the pyramid's finest level.
fn exact_lod(ix: &Index, r: &Resolved, names: &[String]) -> Result<Lod, IndexError> {
    let (x, xs, xd) = match r.scale {
        Scale::Time => ("t", "src_t", "dst_t"),
        Scale::Logical => ("l", "src_l", "dst_l"),
    };
    let args = params![int(r.x0), int(r.x1), r.columns as i64];
    let mut lanes = LaneLod::empty_lanes(r, names);
    let sql = format!(
        "SELECT lane, {c}, count(*), count(injected), {k} FROM events \
         WHERE {x} BETWEEN ?1 AND ?2{f} GROUP BY 1, 2",
        c = column_sql(x),
        k = pyramid::KINDS_OR,
        f = lane_filter("lane", r)
    );
    let mut stmt = ix.conn.prepare(&sql)?;
    let mut rows = stmt.query(args)?;
    while let Some(row) = rows.next()? {
        let (lane, col): (i64, i64) = (row.get(0)?, row.get(1)?);
        let slot = r.lanes.binary_search(&(lane as usize));
        if let (Ok(s), true) = (slot, (0..r.columns as i64).contains(&col)) {
            lanes[s].counts[col as usize] = row.get::<_, i64>(2)? as u64;
            lanes[s].injected[col as usize] = row.get::<_, i64>(3)? as u64;
            lanes[s].kinds[col as usize] = row.get(4)?;
        }
    }
    let sql = format!(
        "SELECT src_lane, dst_lane, {cs}, {cd}, count(*) FROM deliveries \
         WHERE ({xs} BETWEEN ?1 AND ?2 OR {xd} BETWEEN ?1 AND ?2){fs}{fd} GROUP BY 1, 2, 3, 4",
        cs = column_sql(xs),
        cd = column_sql(xd),
        fs = lane_filter("src_lane", r),
        fd = lane_filter("dst_lane", r),
    );
    let mut stmt = ix.conn.prepare(&sql)?;
    let deliveries = stmt
        .query_map(args, |row| {
            let key: (i64, i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            Ok((key, row.get::<_, i64>(4)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let arrows = window::arrows(
        names,
        deliveries
            .into_iter()
            .map(|((f, t, cf, ct), n)| ((f as usize, t as usize, cf, ct), n as u64)),
    );
    Ok(Lod {
        bucket: 1,
        lanes,
        arrows,
    })
}

type Detail = (Vec<Value>, Vec<Value>, Vec<Value>);

fn detail(ix: &Index, r: &Resolved, x: &str, lanes: &str) -> Result<Detail, IndexError> {
    let c = &ix.conn;
    c.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS sel(id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS want(id INTEGER PRIMARY KEY);
         DELETE FROM temp.sel; DELETE FROM temp.want;",
    )?;
    c.execute(
        &format!("INSERT INTO temp.sel SELECT id FROM events WHERE {x} BETWEEN ?1 AND ?2{lanes}"),
        params![int(r.x0), int(r.x1)],
    )?;
    let mut keep: BTreeSet<i64> = BTreeSet::new();
    let messages = messages(ix, &mut keep)?;
    let edges = edges(ix, &mut keep)?;
    c.execute("INSERT INTO temp.want SELECT id FROM temp.sel", [])?;
    let mut add = c.prepare("INSERT OR IGNORE INTO temp.want(id) VALUES (?1)")?;
    for id in keep {
        add.execute([id])?;
    }
    let mut stmt = c.prepare(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE id IN (SELECT id FROM temp.want) ORDER BY seq"
    ))?;
    let events = stmt
        .query_map([], |row| event_row(ix, row))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((values(events), messages, edges))
}

fn messages(ix: &Index, keep: &mut BTreeSet<i64>) -> Result<Vec<Value>, IndexError> {
    let mut stmt = ix.conn.prepare(
        "SELECT m, name, channel, reverse, send, bytes, lost, dropped FROM messages
         WHERE send IN (SELECT id FROM temp.sel)
            OR m IN (SELECT m FROM recvs WHERE recv IN (SELECT id FROM temp.sel))
         ORDER BY m",
    )?;
    let mut recvs = ix
        .conn
        .prepare("SELECT recv FROM recvs WHERE m = ?1 ORDER BY k")?;
    let mut out = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let m: i64 = row.get(0)?;
        let list = recvs
            .query_map([m], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let send: i64 = row.get(4)?;
        keep.insert(send);
        keep.extend(list.iter().copied());
        let channel: i64 = row.get(2)?;
        out.push(MessageOut {
            id: row.get(1)?,
            channel: name_of(&ix.channel_names, channel),
            reverse: row.get(3)?,
            send: send as usize,
            recvs: list.into_iter().map(|r| r as usize).collect(),
            bytes: row.get::<_, i64>(5)? as u64,
            lost: row.get(6)?,
            dropped: row.get(7)?,
        });
    }
    Ok(values(out))
}

fn edges(ix: &Index, keep: &mut BTreeSet<i64>) -> Result<Vec<Value>, IndexError> {
    let mut stmt = ix.conn.prepare(
        "SELECT e.src, e.dst, e.kind, m.name FROM edges e LEFT JOIN messages m ON m.m = e.message
         WHERE e.src IN (SELECT id FROM temp.sel) OR e.dst IN (SELECT id FROM temp.sel)
         ORDER BY e.k",
    )?;
    let out = stmt
        .query_map([], |row| {
            let (from, to, kind): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            Ok(EdgeOut {
                from: from as usize,
                to: to as usize,
                kind: EdgeKind::ALL
                    .get(kind as usize)
                    .copied()
                    .unwrap_or(EdgeKind::Program),
                message: row.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for e in &out {
        keep.extend([e.from as i64, e.to as i64]);
    }
    Ok(values(out))
}

pub(super) fn name_of(names: &[String], k: i64) -> String {
    usize::try_from(k)
        .ok()
        .and_then(|k| names.get(k))
        .cloned()
        .unwrap_or_default()
}

fn event_row(ix: &Index, row: &Row<'_>) -> rusqlite::Result<EventOut> {
    let lane: i64 = row.get(2)?;
    let (thread, process) = usize::try_from(lane)
        .ok()
        .and_then(|l| ix.lanes.get(l))
        .cloned()
        .unwrap_or_default();
    let position: i64 = row.get(5)?;
    let call: String = row.get(6)?;
    let channel: Option<i64> = row.get(8)?;
    let u = |k: usize| -> rusqlite::Result<u64> { Ok(row.get::<_, i64>(k)? as u64) };
    let opt_u = |k: usize| -> rusqlite::Result<Option<u64>> {
        Ok(row.get::<_, Option<i64>>(k)?.map(|v| v as u64))
    };
    Ok(EventOut {
        id: u(0)? as usize,
        seq: u(1)?,
        name: format!("{thread}/{position}:{call}"),
        thread,
        process,
        call,
        fd: row.get(7)?,
        channel: channel.map(|c| name_of(&ix.channel_names, c)),
        ret: row.get(9)?,
        errno: row.get(10)?,
        bytes: opt_u(11)?,
        start_ns: u(12)?,
        end_ns: opt_u(13)?,
        lamport: u(3)?,
        data: row.get(14)?,
        injected: row.get(4)?,
    })
}

fn values<T: Serialize>(items: Vec<T>) -> Vec<Value> {
    items
        .into_iter()
        .map(|x| serde_json::to_value(x).unwrap_or(Value::Null))
        .collect()
}
