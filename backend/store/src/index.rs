//! The window index of a run: `runs/<id>/index.sqlite`, written once after
//! the run ends (or on the first window request of an older run), so that
//! serving a window of a 10^6-event run reads a few pages instead of
//! re-parsing a 200 MB event log (docs/ARCHITECTURE.md says why SQLite).
//!
//! Rows are columns, not JSON: an event is its id, recording order, lane,
//! both x values and the fields of the export; names are rebuilt from the
//! small tables (threads, channels) kept in `meta`, so the answer is the
//! same `GraphEvent` the whole-graph export gives. The file is written as
//! `.index.sqlite.tmp`, renamed into place when whole (a full disk leaves nothing
//! behind), stamped with the event log's size and modification time, and
//! its last row (`complete`) is written last: an index that fails
//! [`Index::open`]'s checks is never served, the caller rebuilds it.
//! It is not synced: it is a cache of the event log (itself not synced),
//! and an index a crash tore is found damaged and rebuilt (`is_damage`),
//! while a sync of its tens of MB cost 0.25 s of a 2 s recording.
//! Opening reads a few pages whatever the run's size; the linear
//! integrity check is [`Index::verify`], run after the first window.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};
use serde::{Deserialize, Serialize};

use super::{RunDir, StoreError};
use bop_model::Manifest;
use bop_tracker::CausalGraph;
use bop_tracker::export;
use bop_tracker::window::{self, Extent, Head, Scale, WindowQuery, x_of};

mod find;
mod pyramid;
mod query;
mod text;

/// File name of the index in a run directory.
pub const INDEX: &str = "index.sqlite";
pub use text::FIND;

/// Layout version; an index of another version is rebuilt.
/// (2: the level-of-detail pyramid and the events' `kinds`; 3: the find
/// table; 4: the find table in a file of its own, text.rs.)
const INDEX_SCHEMA: i64 = 4;

/// Errors of the window index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// SQLite failed (I/O, a full disk, a malformed file).
    #[error("window index: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The index exists but cannot be trusted (another layout, another
    /// event log, a write that never finished, a failed integrity check).
    #[error("window index {path} is not usable: {reason}")]
    Unusable {
        /// The index file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The query does not fit the run.
    #[error("{0}")]
    Window(#[from] window::WindowError),
    /// The find query is refused.
    #[error("{0}")]
    Find(#[from] bop_tracker::find::FindError),
    /// The run's files.
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl IndexError {
    /// SQLite found the file damaged (a page that does not parse, a file
    /// that is not a database, a read that failed): the index must be
    /// rebuilt, not the query refused.
    pub fn is_damage(&self) -> bool {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase, SystemIoFailure};
        matches!(self, IndexError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if matches!(f.code, DatabaseCorrupt | NotADatabase | SystemIoFailure))
    }
}

/// What an index was built from: the event log's size and modification
/// time. A log that grew or was replaced makes the index stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Bytes of `events.jsonl`.
    pub len: u64,
    /// Its mtime in ns since the epoch (0 when unknown).
    pub mtime_ns: i64,
}

impl Stamp {
    /// The stamp of a run's event log now.
    pub fn of(run: &RunDir) -> Stamp {
        let path = run.file(super::EVENTS);
        let meta = fs::metadata(path).ok();
        let mtime_ns = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        Stamp {
            len: meta.map_or(0, |m| m.len()),
            mtime_ns,
        }
    }
}

/// The run-wide facts kept in `meta`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Facts {
    stamp: Stamp,
    trace_class: String,
    events: u64,
    extent: Extent,
    /// The shifts of the pyramid's levels.
    levels: pyramid::Levels,
}

/// An open, checked window index.
#[derive(Debug)]
pub struct Index {
    conn: Connection,
    facts: Facts,
    processes: serde_json::Value,
    threads: serde_json::Value,
    channels: serde_json::Value,
    /// Per thread: its name and its process's name.
    lanes: Vec<(String, String)>,
    /// Per channel: its name.
    channel_names: Vec<String>,
    /// Whether a payload's hex does not decode (find.rs; looked up once).
    undecodable: std::cell::Cell<Option<bool>>,
    path: PathBuf,
}

/// The temporary file of one write: unique per process and write, so a
/// server and a `bop` command indexing the same run never share one.
fn tmp_path(run: &RunDir, name: &str) -> PathBuf {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    run.file(&format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// The find table's file beside the index file at `index`.
fn find_path(index: &Path) -> PathBuf {
    index.with_file_name(FIND)
}

/// Removes the index file at `path` and its find table, so that the next
/// request builds both anew.
pub fn remove(path: &Path) {
    let _ = fs::remove_file(path);
    let _ = fs::remove_file(find_path(path));
}

/// Builds run `run`'s index from its event log (an old run, or one whose
/// index was damaged) and opens it.
pub fn build(run: &RunDir) -> Result<Index, IndexError> {
    let stamp = Stamp::of(run);
    let events = run.events()?;
    let g = CausalGraph::build(&events);
    write(run, &g, stamp, || bop_tracker::trace_class(&g))?;
    drop(g);
    drop(events);
    Index::open(run, stamp)
}

/// Removes the temporary files of writes whose process is gone (a server
/// killed while building): never renamed into place, so never trusted,
/// but each as big as an index. A live process's file is its own.
fn remove_dead_writes(run: &RunDir) {
    let Ok(entries) = fs::read_dir(run.file("")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let pid = [INDEX, FIND]
            .iter()
            .find_map(|f| name.strip_prefix(&format!(".{f}.")))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|rest| rest.split('.').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Writes the index of run `run` from its built graph, atomically.
/// `trace_class` gives the run's class, asked for only once the rows are
/// written: the recorder computes it for the manifest meanwhile.
pub fn write(
    run: &RunDir,
    g: &CausalGraph<'_>,
    stamp: Stamp,
    trace_class: impl FnOnce() -> String,
) -> Result<(), IndexError> {
    remove_dead_writes(run);
    let (tmp, find_tmp) = (tmp_path(run, INDEX), tmp_path(run, FIND));
    // Two files on two cores; the find table is renamed first. A crash
    // between the renames leaves the old index with the new find table:
    // of the same log (the same stamp, the same rows) or of another, and
    // then the index's stamp is stale too.
    let written = std::thread::scope(|s| {
        let find = s.spawn(|| text::write_file(&find_tmp, g, stamp));
        let main = write_file(&tmp, g, stamp, trace_class);
        let find = find.join().unwrap_or_else(|_| {
            Err(IndexError::Unusable {
                path: find_tmp.display().to_string(),
                reason: "its writer panicked".into(),
            })
        });
        main.and(find)
    })
    .and_then(|()| {
        let (find, target) = (run.file(FIND), run.file(INDEX));
        fs::rename(&find_tmp, &find).map_err(io("cannot replace", &find))?;
        fs::rename(&tmp, &target).map_err(io("cannot replace", &target))
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
        let _ = fs::remove_file(&find_tmp);
    }
    written
}

fn io<'a>(op: &'static str, p: &'a Path) -> impl FnOnce(std::io::Error) -> IndexError + 'a {
    move |source| {
        IndexError::Store(StoreError::Io {
            operation: op,
            path: p.display().to_string(),
            source,
        })
    }
}

const TABLES: &str = "
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE events(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, lane INTEGER NOT NULL,
  t INTEGER NOT NULL, l INTEGER NOT NULL, injected TEXT, position INTEGER NOT NULL,
  call TEXT NOT NULL, fd INTEGER, channel INTEGER, ret INTEGER, errno TEXT, bytes INTEGER,
  start_ns INTEGER NOT NULL, end_ns INTEGER, data TEXT, kinds INTEGER NOT NULL);
CREATE TABLE messages(m INTEGER PRIMARY KEY, name TEXT NOT NULL, channel INTEGER NOT NULL,
  reverse INTEGER NOT NULL, send INTEGER NOT NULL, bytes INTEGER NOT NULL,
  lost INTEGER NOT NULL, dropped INTEGER NOT NULL);
CREATE TABLE recvs(m INTEGER NOT NULL, k INTEGER NOT NULL, recv INTEGER NOT NULL,
  PRIMARY KEY (m, k)) WITHOUT ROWID;
CREATE TABLE edges(k INTEGER PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL,
  kind INTEGER NOT NULL, message INTEGER);
CREATE TABLE deliveries(src_lane INTEGER NOT NULL, dst_lane INTEGER NOT NULL,
  src_t INTEGER NOT NULL, dst_t INTEGER NOT NULL, src_l INTEGER NOT NULL, dst_l INTEGER NOT NULL);
";

const INDEXES: &str = "
CREATE INDEX events_t ON events(t, lane, injected);
CREATE INDEX events_l ON events(l, lane, injected);
CREATE INDEX messages_send ON messages(send);
CREATE INDEX recvs_recv ON recvs(recv);
CREATE INDEX edges_src ON edges(src);
CREATE INDEX edges_dst ON edges(dst);
CREATE INDEX deliveries_src_t ON deliveries(src_t);
CREATE INDEX deliveries_dst_t ON deliveries(dst_t);
CREATE INDEX deliveries_src_l ON deliveries(src_l);
CREATE INDEX deliveries_dst_l ON deliveries(dst_l);
";

fn write_file(
    path: &Path,
    g: &CausalGraph<'_>,
    stamp: Stamp,
    trace_class: impl FnOnce() -> String,
) -> Result<(), IndexError> {
    let mut conn = Connection::open(path)?;
    // The file is renamed into place when whole: no journal needed.
    // A 32 MB page cache (not 2 MB) for the bulk inserts and the indexes
    // built after them.
    conn.execute_batch(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-32768;",
    )?;
    conn.execute_batch(TABLES)?;
    let tx = conn.transaction()?;
    let (extent, mut points) = insert_events(&tx, g)?;
    insert_messages(&tx, g)?;
    let mut deliveries = insert_edges(&tx, g)?;
    let levels = pyramid::write(&tx, &extent, &mut points, &mut deliveries)?;
    drop((points, deliveries));
    tx.execute_batch(INDEXES)?;
    let facts = Facts {
        stamp,
        trace_class: trace_class(),
        events: g.events().len() as u64,
        extent,
        levels,
    };
    let mut put = tx.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2)")?;
    put.execute(params!["schema", INDEX_SCHEMA.to_string()])?;
    put.execute(params!["facts", json(&facts)?])?;
    put.execute(params!["processes", json(&export::processes_out(g))?])?;
    put.execute(params!["threads", json(&export::threads_out(g))?])?;
    put.execute(params!["channels", json(&export::channels_out(g))?])?;
    put.execute(params!["complete", "1"])?;
    drop(put);
    tx.commit()?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(())
}

pub(super) fn json<T: Serialize>(x: &T) -> Result<String, IndexError> {
    serde_json::to_string(x).map_err(|e| IndexError::Unusable {
        path: String::new(),
        reason: format!("cannot encode: {e}"),
    })
}

fn int(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// Inserts the events; returns the run's extent and the events as the
/// pyramid counts them.
fn insert_events(
    tx: &rusqlite::Transaction<'_>,
    g: &CausalGraph<'_>,
) -> Result<(Extent, Vec<pyramid::Point>), IndexError> {
    let mut ins = tx.prepare(
        "INSERT INTO events(id, seq, lane, t, l, injected, position, call, fd, channel, ret,
         errno, bytes, start_ns, end_ns, data, kinds)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
    )?;
    let mut extent: Option<Extent> = None;
    let mut points = Vec::with_capacity(g.events().len());
    for &i in g.seq_order() {
        let e = export::event_out(g, i);
        let (t, l) = (x_of(&e, Scale::Time), x_of(&e, Scale::Logical));
        let x = extent.get_or_insert(Extent {
            time: [t, t],
            logical: [l, l],
        });
        x.time = [x.time[0].min(t), x.time[1].max(t)];
        x.logical = [x.logical[0].min(l), x.logical[1].max(l)];
        let kinds = window::kind_bits(&e.call, e.errno.is_some());
        points.push(pyramid::Point {
            lane: g.thread_of(i) as u32,
            x: [t, l],
            injected: e.injected.is_some(),
            kinds,
        });
        ins.execute(params![
            i as i64,
            int(e.seq),
            g.thread_of(i) as i64,
            int(t),
            int(l),
            e.injected,
            g.position(i) as i64,
            e.call,
            e.fd,
            g.channel_of(i).map(|c| c as i64),
            e.ret,
            e.errno,
            e.bytes.map(int),
            int(e.start_ns),
            e.end_ns.map(int),
            e.data,
            kinds,
        ])?;
    }
    Ok((extent.unwrap_or_default(), points))
}

fn insert_messages(tx: &rusqlite::Transaction<'_>, g: &CausalGraph<'_>) -> Result<(), IndexError> {
    let mut ins = tx.prepare(
        "INSERT INTO messages(m, name, channel, reverse, send, bytes, lost, dropped)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
    )?;
    let mut recv = tx.prepare("INSERT INTO recvs(m, k, recv) VALUES (?1, ?2, ?3)")?;
    for (m, msg) in g.messages().iter().enumerate() {
        ins.execute(params![
            m as i64,
            msg.name,
            msg.channel as i64,
            msg.reverse,
            msg.send as i64,
            int(msg.bytes),
            msg.lost,
            msg.dropped,
        ])?;
        for (k, &r) in msg.recvs.iter().enumerate() {
            recv.execute(params![m as i64, k as i64, r as i64])?;
        }
    }
    Ok(())
}

/// Inserts the cross edges; returns the message deliveries among them.
fn insert_edges(
    tx: &rusqlite::Transaction<'_>,
    g: &CausalGraph<'_>,
) -> Result<Vec<pyramid::Delivery>, IndexError> {
    let mut ins =
        tx.prepare("INSERT INTO edges(k, src, dst, kind, message) VALUES (?1,?2,?3,?4,?5)")?;
    let mut del = tx.prepare(
        "INSERT INTO deliveries(src_lane, dst_lane, src_t, dst_t, src_l, dst_l)
         VALUES (?1,?2,?3,?4,?5,?6)",
    )?;
    let x = |i: usize| {
        let e = &g.events()[i];
        (e.end_ns.unwrap_or(e.start_ns), g.lamport(i))
    };
    let mut out = Vec::new();
    for (k, (a, b, e)) in g.edges().into_iter().enumerate() {
        let kind = bop_tracker::EdgeKind::ALL
            .iter()
            .position(|&x| x == e.kind)
            .unwrap_or(0);
        ins.execute(params![
            k as i64,
            a as i64,
            b as i64,
            kind as i64,
            e.message.map(|m| m as i64)
        ])?;
        if e.kind == bop_tracker::EdgeKind::Message {
            let ((ta, la), (tb, lb)) = (x(a), x(b));
            let (src, dst) = (g.thread_of(a), g.thread_of(b));
            del.execute(params![
                src as i64,
                dst as i64,
                int(ta),
                int(tb),
                int(la),
                int(lb)
            ])?;
            out.push(pyramid::Delivery {
                src: src as u32,
                dst: dst as u32,
                xs: [ta, la],
                xd: [tb, lb],
            });
        }
    }
    Ok(out)
}

/// SQLite's `quick_check` of the index at `path` and of its find table,
/// on a connection of its own (so an open index keeps answering while a
/// big file is checked).
pub fn verify(path: &Path) -> Result<(), IndexError> {
    quick_check(path)?;
    quick_check(&find_path(path))
}

fn quick_check(path: &Path) -> Result<(), IndexError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch("PRAGMA cache_size=-4096;")?;
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(IndexError::Unusable {
            path: path.display().to_string(),
            reason: format!("integrity check: {check}"),
        });
    }
    Ok(())
}

/// Checks database `schema` of `conn` (`main`, or the attached `find`),
/// the file at `path`: whole (a cut file, a partial copy, is shorter than
/// its header says), its write finished (`complete`) and of this layout.
fn check_whole(conn: &Connection, schema: &str, path: &Path) -> Result<(), IndexError> {
    let pages: i64 = conn.query_row(&format!("PRAGMA {schema}.page_count"), [], |r| r.get(0))?;
    let page: i64 = conn.query_row(&format!("PRAGMA {schema}.page_size"), [], |r| r.get(0))?;
    let len = fs::metadata(path).map_or(0, |m| m.len());
    if len != (pages * page) as u64 {
        return Err(unusable(
            path,
            format!("{len} bytes, the header says {}", pages * page),
        ));
    }
    if meta(conn, schema, path, "complete")? != "1"
        || meta(conn, schema, path, "schema")? != INDEX_SCHEMA.to_string()
    {
        return Err(unusable(
            path,
            "another layout or an unfinished write".into(),
        ));
    }
    Ok(())
}

/// Row `key` of the `meta` table of database `schema` of `conn` (the
/// file at `path`); missing, the write never finished.
fn meta(conn: &Connection, schema: &str, path: &Path, key: &str) -> Result<String, IndexError> {
    conn.query_row(
        &format!("SELECT value FROM {schema}.meta WHERE key = ?1"),
        [key],
        |r| r.get(0),
    )
    .map_err(|_| unusable(path, format!("no '{key}' (an unfinished write)")))
}

/// The index (or find table) at `path` cannot be trusted, for `reason`.
fn unusable(path: &Path, reason: String) -> IndexError {
    IndexError::Unusable {
        path: path.display().to_string(),
        reason,
    }
}

impl Index {
    /// Opens a run's index and checks it: its length against its header,
    /// its layout version, that its write finished and that it was built
    /// from the event log as it is now (SQLite's `quick_check` is
    /// [`Index::verify`]). Any failure is
    /// [`IndexError::Unusable`] (or a SQLite error): rebuild, never serve.
    pub fn open(run: &RunDir, stamp: Stamp) -> Result<Index, IndexError> {
        let path = run.file(INDEX);
        if !path.is_file() {
            return Err(unusable(&path, "missing".into()));
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Bounded memory however big the run: a 4 MB page cache.
        conn.execute_batch("PRAGMA cache_size=-4096; PRAGMA temp_store=MEMORY;")?;
        check_whole(&conn, "main", &path)?;
        let meta = |key: &str| meta(&conn, "main", &path, key);
        let parse = |key: &str| -> Result<serde_json::Value, IndexError> {
            serde_json::from_str(&meta(key)?).map_err(|e| unusable(&path, format!("{key}: {e}")))
        };
        let facts: Facts =
            serde_json::from_value(parse("facts")?).map_err(|e| unusable(&path, e.to_string()))?;
        if facts.stamp != stamp {
            return Err(unusable(&path, "built from another event log".into()));
        }
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_schema
             WHERE name IN ('lod_lanes', 'lod_arrows')",
            [],
            |r| r.get(0),
        )?;
        if tables != 2 {
            return Err(unusable(&path, "no level-of-detail pyramid".into()));
        }
        text::attach(&conn, &find_path(&path), stamp)?;
        // Ids are 0..events: the last one says how many were written
        // without reading them all.
        let rows: i64 = conn.query_row("SELECT ifnull(max(id) + 1, 0) FROM events", [], |r| {
            r.get(0)
        })?;
        if rows as u64 != facts.events {
            return Err(unusable(
                &path,
                format!("{rows} events, {} expected", facts.events),
            ));
        }
        let (threads, channels) = (parse("threads")?, parse("channels")?);
        let field = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let lanes = threads
            .as_array()
            .map(|ts| {
                ts.iter()
                    .map(|t| (field(t, "name"), field(t, "process")))
                    .collect()
            })
            .unwrap_or_default();
        let channel_names = channels
            .as_array()
            .map(|cs| cs.iter().map(|c| field(c, "name")).collect())
            .unwrap_or_default();
        Ok(Index {
            processes: parse("processes")?,
            threads,
            channels,
            lanes,
            channel_names,
            undecodable: std::cell::Cell::new(None),
            conn,
            facts,
            path,
        })
    }

    /// SQLite's `quick_check` of the whole file (see [`verify`]).
    /// Linear in its size (2.6 s
    /// for a 10^5-event run's 24 MB on a loaded machine), so not part of
    /// [`Index::open`], which a first window waits for; the server runs it
    /// after opening and drops an index that fails it.
    pub fn verify(&self) -> Result<(), IndexError> {
        verify(&self.path)
    }

    /// The index's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Events the run has.
    pub fn events(&self) -> u64 {
        self.facts.events
    }

    /// The run-wide parts of every window, with the manifest as it is now.
    fn head(&self, manifest: &Manifest) -> Head {
        Head {
            run: export::RunOut::new(manifest, self.facts.trace_class.clone()),
            processes: self.processes.clone(),
            threads: self.threads.clone(),
            channels: self.channels.clone(),
            extent: self.facts.extent,
        }
    }

    /// Answers a window query.
    pub fn window(
        &self,
        manifest: &Manifest,
        q: &WindowQuery,
    ) -> Result<window::Window, IndexError> {
        query::window(self, manifest, q)
    }
}

#[cfg(test)]
mod tests;
