//! Find over the index (`GET /api/runs/{id}/find`). A needle of three
//! characters or more is answered from the find table (text.rs: trigram
//! doclists, exact for find's rules): one count over the table gives the
//! total and the page's rank, one rowid range gives the page, and only the
//! page's events are read. A shorter needle (or one holding U+FFFD) takes
//! the linear path: one SQL pass over the events table keeps the rows that
//! may match (a superset), in id order. Either way the page is matched by
//! bop-tracker's `find` rules (the function the whole graph is searched
//! with, so both answer alike), with only the page held.

use std::borrow::Cow;

use rusqlite::{OptionalExtension, Row};

use super::{Index, IndexError, text};
use bop_tracker::find::{FindAnswer, FindQuery, Findable, MAX_FIND_LIMIT, find_in};

impl Index {
    /// The page of the run's events matching `query` (bad queries are
    /// refused before any row is read).
    pub fn find(&self, query: &FindQuery) -> Result<FindAnswer, IndexError> {
        query.check()?;
        let needle = query.text.to_lowercase();
        if text::indexable(&needle) {
            self.find_indexed(query, &needle)
        } else {
            self.find_scanned(query, &needle)
        }
    }

    /// From the find table: the matches' count and rank, then the page.
    fn find_indexed(&self, query: &FindQuery, needle: &str) -> Result<FindAnswer, IndexError> {
        let phrase = text::phrase(needle);
        let matching = Matching {
            from: "find_text WHERE find_text MATCH :phrase",
            id: "rowid",
            params: &[(":phrase", &phrase)],
        };
        self.find_matching(query, &matching)
    }

    /// The matches' count and rank, then the page's events, by SQL that
    /// selects exactly find's matches.
    fn find_matching(&self, query: &FindQuery, m: &Matching<'_>) -> Result<FindAnswer, IndexError> {
        let id = m.id;
        // The page's rank: the matches at or below `after`, or (for
        // `before`) those below it less the page.
        let (below, range, order, bound) = match (query.after, query.before) {
            (Some(a), _) => (
                format!("{id} <= :bound"),
                format!("{id} > :bound"),
                "ASC",
                a,
            ),
            (_, Some(b)) => (
                format!("{id} < :bound"),
                format!("{id} < :bound"),
                "DESC",
                b,
            ),
            _ => ("0 AND :bound".into(), ":bound = 0".into(), "ASC", 0),
        };
        let bound = bound as i64;
        let limit = query.limit as i64;
        let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = m.params.to_vec();
        params.push((":bound", &bound));
        let (total, ranked): (i64, i64) = self
            .conn
            .prepare_cached(&format!(
                "SELECT count(*), ifnull(sum({below}), 0) FROM {}",
                m.from
            ))?
            .query_row(params.as_slice(), |r| Ok((r.get(0)?, r.get(1)?)))?;
        params.push((":limit", &limit));
        let mut ids: Vec<i64> = self
            .conn
            .prepare_cached(&format!(
                "SELECT {id} FROM {} AND {range} ORDER BY {id} {order} LIMIT :limit",
                m.from
            ))?
            .query_map(params.as_slice(), |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        let mut row = self
            .conn
            .prepare_cached(&format!("{COLUMNS} WHERE e.id = ?1"))?;
        let mut page = Vec::with_capacity(ids.len());
        for id in &ids {
            page.push(row.query_row([id], |r| findable(self, r))?);
        }
        // Each match's field, by find's own rules (every row matches).
        let whole = FindQuery {
            text: query.text.clone(),
            after: None,
            before: None,
            limit: MAX_FIND_LIMIT,
        };
        let mut answer = find_in(page, &whole)?;
        let first = match query.before {
            Some(_) => ranked - answer.matches.len() as i64,
            None => ranked,
        };
        answer.total = usize::try_from(total).unwrap_or(0);
        answer.first = usize::try_from(first).unwrap_or(0);
        Ok(answer)
    }

    /// The linear path for needles the find table cannot answer: one SQL
    /// pass that selects exactly find's matches (`LIKE` folds ASCII case
    /// only, as find does; `lower` too), so only the page's rows become
    /// Rust values. A needle holding NUL (which `LIKE` reads as its end)
    /// or a run with a payload whose hex does not decode (find decodes up
    /// to the bad digit, `unhex` gives nothing) takes the row-by-row path.
    fn find_scanned(&self, query: &FindQuery, needle: &str) -> Result<FindAnswer, IndexError> {
        self.find_names()?;
        if needle.contains('\0') || self.undecodable()? {
            return self.find_rowwise(query, needle);
        }
        let pattern = format!("%{}%", like_escaped(needle));
        let matching = Matching {
            from: EXACT,
            id: "e.id",
            params: &[(":pattern", &pattern), (":needle", &needle)],
        };
        self.find_matching(query, &matching)
    }

    /// Whether a payload of the run does not decode (never written by the
    /// tracer); one pass, once per open index.
    pub(super) fn undecodable(&self) -> Result<bool, IndexError> {
        if let Some(known) = self.undecodable.get() {
            return Ok(known);
        }
        let found = self
            .conn
            .query_row(
                "SELECT 1 FROM events WHERE data IS NOT NULL AND unhex(data) IS NULL LIMIT 1",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        self.undecodable.set(Some(found));
        Ok(found)
    }

    /// Every row the prefilter keeps, matched by find's rules in order.
    fn find_rowwise(&self, query: &FindQuery, needle: &str) -> Result<FindAnswer, IndexError> {
        let pattern = format!("%{}%", like_escaped(needle));
        let mut stmt = self.conn.prepare_cached(PREFILTER)?;
        let mut rows = stmt.query(rusqlite::params![pattern, needle])?;
        let mut failed: Option<rusqlite::Error> = None;
        let events = std::iter::from_fn(|| match rows.next() {
            Ok(Some(row)) => match findable(self, row) {
                Ok(f) => Some(f),
                Err(e) => {
                    failed = Some(e);
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        let answer = find_in(events, query);
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(answer?),
        }
    }
}

/// SQL selecting the events find matches, and how to bind it.
struct Matching<'a> {
    /// `table WHERE condition`.
    from: &'a str,
    /// The event id column.
    id: &'a str,
    params: &'a [(&'a str, &'a dyn rusqlite::ToSql)],
}

/// Exactly find's matches for a needle without NUL, in a run whose
/// payloads all decode (see `find_scanned`).
const EXACT: &str = "events e LEFT JOIN temp.find_lanes n ON n.lane = e.lane
WHERE ((ifnull(n.name, '') || '/' || e.position || ':' || e.call) LIKE :pattern ESCAPE '\\'
   OR e.channel IN (SELECT c FROM temp.find_channels WHERE name LIKE :pattern ESCAPE '\\')
   OR (e.data IS NOT NULL AND instr(lower(unhex(e.data)), :needle) > 0))";

/// The columns [`findable`] reads, in its order.
const COLUMNS: &str = "SELECT e.id, e.lane, e.position, e.call, e.channel, e.data, e.start_ns, \
                       e.end_ns, e.l FROM events e";

/// Rows that may match, a superset of what `find` accepts: the name (which
/// holds the call) or the channel's `LIKE` the text (ASCII case folded on
/// both sides, as `find` folds), or a payload whose decoded, lower-cased
/// bytes hold it (or that does not decode, which `find` judges itself).
/// Only these are turned into Rust values and matched exactly.
const PREFILTER: &str = "
SELECT e.id, e.lane, e.position, e.call, e.channel, e.data, e.start_ns, e.end_ns, e.l
FROM events e LEFT JOIN temp.find_lanes n ON n.lane = e.lane
WHERE (ifnull(n.name, '') || '/' || e.position || ':' || e.call) LIKE ?1 ESCAPE '\\'
   OR e.channel IN (SELECT c FROM temp.find_channels WHERE name LIKE ?1 ESCAPE '\\')
   OR (e.data IS NOT NULL AND (unhex(e.data) IS NULL OR instr(lower(unhex(e.data)), ?2) > 0))
ORDER BY e.id";

/// `%`, `_` and the escape itself taken literally by `LIKE ... ESCAPE '\'`.
fn like_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Index {
    /// The thread and channel names as temporary tables (the index keeps
    /// them in `meta`), for the prefilter's joins; filled once.
    fn find_names(&self) -> Result<(), IndexError> {
        let c = &self.conn;
        let made: i64 = c.query_row(
            "SELECT count(*) FROM temp.sqlite_schema WHERE name = 'find_lanes'",
            [],
            |r| r.get(0),
        )?;
        if made > 0 {
            return Ok(());
        }
        c.execute_batch(
            "CREATE TEMP TABLE find_lanes(lane INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TEMP TABLE find_channels(c INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        )?;
        let mut lane = c.prepare("INSERT INTO temp.find_lanes(lane, name) VALUES (?1, ?2)")?;
        for (k, (name, _)) in self.lanes.iter().enumerate() {
            lane.execute(rusqlite::params![k as i64, name])?;
        }
        let mut chan = c.prepare("INSERT INTO temp.find_channels(c, name) VALUES (?1, ?2)")?;
        for (k, name) in self.channel_names.iter().enumerate() {
            chan.execute(rusqlite::params![k as i64, name])?;
        }
        Ok(())
    }
}

fn findable(ix: &Index, row: &Row<'_>) -> rusqlite::Result<Findable<'static>> {
    let lane: i64 = row.get(1)?;
    let thread = usize::try_from(lane)
        .ok()
        .and_then(|l| ix.lanes.get(l))
        .map(|(t, _)| t.clone())
        .unwrap_or_default();
    let position: i64 = row.get(2)?;
    let call: String = row.get(3)?;
    let channel: Option<i64> = row.get(4)?;
    let u = |k: usize| -> rusqlite::Result<u64> { Ok(row.get::<_, i64>(k)? as u64) };
    Ok(Findable {
        id: u(0)? as usize,
        name: Cow::Owned(format!("{thread}/{position}:{call}")),
        channel: channel.map(|c| Cow::Owned(super::query::name_of(&ix.channel_names, c))),
        thread: Cow::Owned(thread),
        call: Cow::Owned(call),
        data: row.get::<_, Option<String>>(5)?.map(Cow::Owned),
        start_ns: u(6)?,
        end_ns: row.get::<_, Option<i64>>(7)?.map(|v| v as u64),
        lamport: u(8)?,
    })
}
