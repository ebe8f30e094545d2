//! The run store: one self-contained directory per run under a root
//! (`./runs` by default).
//!
//! ```text
//! runs/<id>/manifest.json   replaced atomically (write tmp, fsync, rename)
//! runs/<id>/events.jsonl    append-only, one event per line, one write(2) per line
//! runs/<id>/stdout, stderr  the target's output
//! runs/<id>/index.sqlite    the window index of an ended run (`index`)
//! ```
//!
//! Each event line goes to the kernel in a single `write`, so a crash of
//! the tracer loses at most the event being written, and a reader skips a
//! torn last line instead of failing.
//!
//! A recorder holds an exclusive `flock(2)` on `runs/<id>/.recording` for as
//! long as its [`RunDir`] lives ([`Store::create`]); the kernel drops it when
//! the recorder dies, however it dies. [`Store::delete`] takes the same lock,
//! so a run being recorded cannot be deleted, and [`Store::scan`] tells a
//! run being created from a damaged one. Directories whose manifest is
//! missing, empty or garbage are listed as [`Damaged`], and can be deleted.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use bop_model::{Endpoint, Event, Manifest};

/// Errors of the store layer; each reads as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The id has characters that are not allowed (or is empty / too long).
    #[error(
        "'{0}' is not a valid run id (use 1-64 letters, digits, '.', '_' or '-', not starting with '.')"
    )]
    InvalidId(String),
    /// No run with that id.
    #[error("no run '{id}' in {root}")]
    NotFound {
        /// The id asked for.
        id: String,
        /// The store root.
        root: String,
    },
    /// `--id` names a run that exists already.
    #[error("a run '{id}' already exists in {root}")]
    AlreadyExists {
        /// The id asked for.
        id: String,
        /// The store root.
        root: String,
    },
    /// A file of the run could not be parsed.
    #[error("run '{id}': {file} is corrupt: {reason}")]
    Corrupt {
        /// Run id.
        id: String,
        /// Which file.
        file: String,
        /// Parser message.
        reason: String,
    },
    /// No exploration (or other stored document) with that id.
    #[error("no {kind} '{id}' in this store")]
    NoRecord {
        /// What was asked for (`exploration`).
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// A stored exploration (or other document) cannot be parsed.
    #[error("{kind} '{id}' is corrupt: {reason}")]
    CorruptRecord {
        /// What it is (`exploration`).
        kind: &'static str,
        /// Its id.
        id: String,
        /// Parser message.
        reason: String,
    },
    /// The run is being recorded (its recorder holds the lock).
    #[error("run '{id}' is being recorded; wait for its recording to end")]
    Busy {
        /// The run id.
        id: String,
    },
    /// An I/O operation failed.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// On which path.
        path: String,
        /// The OS error.
        source: io::Error,
    },
}

pub mod index;
mod liveness;
mod records;
mod tree;

pub use liveness::{recorder_alive, this_recorder};
pub use records::{Record, Records};
pub use tree::{RerunTree, TreeNode, rerun_tree};

fn io_err<'a>(
    operation: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        operation,
        path: path.display().to_string(),
        source,
    }
}

/// Checks that an id is safe to use as a directory name (no traversal).
pub fn validate_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidId(id.to_string()))
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Replaces `target` atomically: write `.NAME.tmp` beside it, fsync, rename,
/// so readers see the old file or the new one, never half of one.
fn write_atomically(target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = target.with_file_name(format!(".{name}.tmp"));
    let written = File::create(&tmp)
        .map_err(io_err("cannot write", &tmp))
        .and_then(|mut file| {
            file.write_all(bytes)
                .map_err(io_err("cannot write", &tmp))?;
            file.sync_all().map_err(io_err("cannot sync", &tmp))
        })
        .and_then(|()| fs::rename(&tmp, target).map_err(io_err("cannot replace", target)));
    if written.is_err() {
        // A full disk must not leave a half temporary file that nothing
        // will ever remove; the old target (if any) is untouched.
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Directories of the store root that are not runs.
const RESERVED: &[&str] = &["explorations", "searches"];
/// The lock file a recorder holds (see the module header).
const RECORDING_LOCK: &str = ".recording";

/// A run directory whose manifest cannot be read: listed so that it can be
/// seen and deleted instead of hiding in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damaged {
    /// The directory name (the run id).
    pub id: String,
    /// Why it is not a run, in one sentence.
    pub reason: String,
    /// When the directory last changed (ms since the epoch), for sorting.
    pub modified_ms: u64,
}

/// Everything [`Store::scan`] found.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// Readable runs, newest first.
    pub runs: Vec<Manifest>,
    /// Damaged run directories, newest first.
    pub damaged: Vec<Damaged>,
}

/// Tries the recording lock of the run directory `dir` without waiting.
/// `Ok(None)`: no lock file (a directory not made by [`Store::create`]).
fn try_lock(id: &str, dir: &Path) -> Result<Option<Flock<File>>, StoreError> {
    let path = dir.join(RECORDING_LOCK);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("cannot open", &path)(e)),
    };
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(Some(lock)),
        Err((_, Errno::EWOULDBLOCK)) => Err(StoreError::Busy { id: id.to_string() }),
        Err((_, errno)) => Err(io_err("cannot lock", &path)(io::Error::from(errno))),
    }
}

fn modified_ms(path: &Path) -> u64 {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64)
}

/// A store rooted at a directory.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(io_err("cannot create store", &root))?;
        Ok(Store { root })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh id: time-ordered so `ls` sorts runs, with a random suffix so
    /// parallel reruns never collide.
    pub fn new_id() -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = now.as_secs();
        let formatted = humantime::format_rfc3339_seconds(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        )
        .to_string();
        // 2026-11-25T16:30:12Z -> 20261125-163012
        let digits: String = formatted.chars().filter(|c| c.is_ascii_digit()).collect();
        let suffix: u32 = rand::random::<u32>() & 0xffff;
        format!("{}-{}-{:04x}", &digits[..8], &digits[8..14], suffix)
    }

    /// Creates the directory of a new run; fails without touching anything
    /// if the id exists.
    pub fn create(&self, id: Option<&str>) -> Result<RunDir, StoreError> {
        let id = match id {
            Some(id) => id.to_string(),
            None => Store::new_id(),
        };
        validate_id(&id)?;
        let path = self.root.join(&id);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StoreError::AlreadyExists {
                    id,
                    root: self.root.display().to_string(),
                });
            }
            Err(e) => return Err(io_err("cannot create run directory", &path)(e)),
        }
        let lock = path.join(RECORDING_LOCK);
        // Close-on-exec (std's default), so traced programs never hold it.
        let locked = File::create(&lock)
            .map_err(io_err("cannot create", &lock))
            .and_then(|file| {
                Flock::lock(file, FlockArg::LockExclusiveNonblock)
                    .map_err(|(_, errno)| io_err("cannot lock", &lock)(io::Error::from(errno)))
            });
        match locked {
            Ok(lock) => Ok(RunDir {
                id,
                path,
                _recording: Some(Arc::new(lock)),
            }),
            Err(e) => {
                // Nothing recorded yet: leave no empty directory behind.
                let _ = fs::remove_dir_all(&path);
                Err(e)
            }
        }
    }

    /// True while a recorder holds run `id`'s lock.
    pub fn is_recording(&self, id: &str) -> Result<bool, StoreError> {
        validate_id(id)?;
        match try_lock(id, &self.root.join(id)) {
            Ok(_) => Ok(false),
            Err(StoreError::Busy { .. }) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// The directory of an existing run.
    pub fn run(&self, id: &str) -> Result<RunDir, StoreError> {
        validate_id(id)?;
        let path = self.root.join(id);
        if path.join(MANIFEST).is_file() {
            Ok(RunDir {
                id: id.to_string(),
                path,
                _recording: None,
            })
        } else {
            Err(StoreError::NotFound {
                id: id.to_string(),
                root: self.root.display().to_string(),
            })
        }
    }

    /// The manifest of a run.
    pub fn manifest(&self, id: &str) -> Result<Manifest, StoreError> {
        self.run(id)?.manifest()
    }

    /// The recorded events of a run, in recording order.
    pub fn events(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        self.run(id)?.events()
    }

    /// Every run's manifest, newest first ([`Store::scan`] without the
    /// damaged directories).
    pub fn list(&self) -> Result<Vec<Manifest>, StoreError> {
        Ok(self.scan()?.runs)
    }

    /// Every run directory: readable runs and damaged ones (manifest
    /// missing, empty or garbage), each newest first. A directory whose
    /// recorder is still creating it (locked, no manifest yet) is neither.
    pub fn scan(&self) -> Result<Listing, StoreError> {
        let entries = fs::read_dir(&self.root).map_err(io_err("cannot list store", &self.root))?;
        let mut listing = Listing::default();
        for entry in entries.filter_map(|e| e.ok()) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if !is_dir || validate_id(&name).is_err() || RESERVED.contains(&name.as_str()) {
                continue;
            }
            let dir = RunDir {
                id: name.clone(),
                path: entry.path(),
                _recording: None,
            };
            match dir.manifest() {
                Ok(m) => listing.runs.push(m),
                Err(_) if matches!(try_lock(&name, &dir.path), Err(StoreError::Busy { .. })) => {}
                Err(e) => listing.damaged.push(Damaged {
                    reason: damage(&dir.path, &e),
                    modified_ms: modified_ms(&dir.path),
                    id: name,
                }),
            }
        }
        listing.runs.sort_by(|a, b| {
            b.started_ms
                .cmp(&a.started_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        listing.damaged.sort_by(|a, b| {
            b.modified_ms
                .cmp(&a.modified_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(listing)
    }

    /// Deletes a run's directory, damaged or not. Refused with
    /// [`StoreError::Busy`] while a recorder holds the run; the lock is held
    /// during the removal so no recording can start on a half-deleted run.
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        validate_id(id)?;
        let path = self.root.join(id);
        if RESERVED.contains(&id) || !path.is_dir() {
            return Err(StoreError::NotFound {
                id: id.to_string(),
                root: self.root.display().to_string(),
            });
        }
        let _lock = try_lock(id, &path)?;
        fs::remove_dir_all(&path).map_err(io_err("cannot delete run", &path))?;
        self.forget_comparisons(id);
        Ok(())
    }

    /// Removes the comparisons other runs keep with run `id` (it was
    /// deleted): they would name a run that is gone. Its own went with
    /// its directory.
    fn forget_comparisons(&self, id: &str) {
        let Ok(runs) = fs::read_dir(&self.root) else {
            return;
        };
        for run in runs.flatten() {
            let _ = fs::remove_file(run.path().join(COMPARE).join(format!("{id}.json")));
        }
    }
}

/// Why a run directory's manifest cannot be read, in one sentence.
fn damage(dir: &Path, error: &StoreError) -> String {
    let manifest = dir.join(MANIFEST);
    let interrupted = if dir.join(format!(".{MANIFEST}.tmp")).exists() {
        " (a manifest write was interrupted)"
    } else {
        ""
    };
    match fs::metadata(&manifest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            format!("{MANIFEST} is missing{interrupted}")
        }
        Ok(m) if m.len() == 0 => format!("{MANIFEST} is empty{interrupted}"),
        _ => match error {
            StoreError::Corrupt { reason, .. } => format!("{MANIFEST} is not a manifest: {reason}"),
            other => other.to_string(),
        },
    }
}

const MANIFEST: &str = "manifest.json";
const EVENTS: &str = "events.jsonl";
/// The directory of a run's kept comparisons with other runs.
const COMPARE: &str = "compare";

/// The directory of one run.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// Run id.
    pub id: String,
    /// Its directory.
    pub path: PathBuf,
    /// The recording lock, held by every clone of a directory made by
    /// [`Store::create`] until the last one is dropped.
    _recording: Option<Arc<Flock<File>>>,
}

impl RunDir {
    /// Path of the target's saved stdout.
    pub fn stdout_path(&self) -> PathBuf {
        self.path.join("stdout")
    }

    /// Path of the target's saved stderr.
    pub fn stderr_path(&self) -> PathBuf {
        self.path.join("stderr")
    }

    /// Path of a file inside the run directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Where this run keeps its comparison with run `other` (removed
    /// when either run is deleted).
    pub fn kept_comparison(&self, other: &str) -> PathBuf {
        self.path.join(COMPARE).join(format!("{other}.json"))
    }

    /// Replaces the manifest atomically: write a temporary file, fsync it,
    /// rename over the old one, so readers never see a half manifest.
    pub fn write_manifest(&self, manifest: &Manifest) -> Result<(), StoreError> {
        let text = serde_json::to_vec_pretty(manifest).map_err(|e| StoreError::Corrupt {
            id: self.id.clone(),
            file: MANIFEST.into(),
            reason: e.to_string(),
        })?;
        write_atomically(&self.path.join(MANIFEST), &text)
    }

    /// Reads the manifest.
    pub fn manifest(&self) -> Result<Manifest, StoreError> {
        let path = self.path.join(MANIFEST);
        let text = fs::read(&path).map_err(io_err("cannot read", &path))?;
        serde_json::from_slice(&text).map_err(|e| StoreError::Corrupt {
            id: self.id.clone(),
            file: MANIFEST.into(),
            reason: e.to_string(),
        })
    }

    /// Opens the event log for appending.
    pub fn event_writer(&self) -> Result<EventWriter, StoreError> {
        let path = self.path.join(EVENTS);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err("cannot open", &path))?;
        Ok(EventWriter {
            file,
            path,
            pending: Vec::with_capacity(WRITE_AT),
        })
    }

    /// Reads every event; a torn last line (the tracer died mid-write) is
    /// skipped, any other bad line is an error. Equal endpoints share one
    /// copy: a channel end is named by every event on it, and a copy each
    /// was ~140 bytes an event held while a run is recorded (issue 16).
    pub fn events(&self) -> Result<Vec<Event>, StoreError> {
        let path = self.path.join(EVENTS);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("cannot read", &path)(e)),
        };
        let mut events = Vec::new();
        let mut ends: HashSet<Arc<Endpoint>> = HashSet::new();
        let mut lines = BufReader::new(file).split(b'\n').peekable();
        let mut lineno = 0;
        while let Some(line) = lines.next() {
            lineno += 1;
            let line = line.map_err(io_err("cannot read", &path))?;
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Event>(&line) {
                Ok(mut ev) => {
                    if let Some(ep) = &mut ev.endpoint {
                        match ends.get(ep) {
                            Some(shared) => *ep = shared.clone(),
                            None => {
                                ends.insert(ep.clone());
                            }
                        }
                    }
                    events.push(ev);
                }
                Err(_) if lines.peek().is_none() => break,
                Err(e) => {
                    return Err(StoreError::Corrupt {
                        id: self.id.clone(),
                        file: format!("{EVENTS} line {lineno}"),
                        reason: e.to_string(),
                    });
                }
            }
        }
        Ok(events)
    }
}

/// Appends events to a run's log, one `write(2)` per event.
#[derive(Debug)]
pub struct EventWriter {
    file: File,
    path: PathBuf,
    /// Lines not yet written. The fast path hands the tracer thousands of
    /// events per drain, and one write(2) each was 8% of the tracer's time
    /// (docs/PERFORMANCE.md); they are written together instead, when
    /// [`WRITE_AT`] bytes are pending or the tracer is about to wait.
    pending: Vec<u8>,
}

/// Pending bytes that are written at once, without waiting for a flush.
const WRITE_AT: usize = 64 * 1024;

impl EventWriter {
    /// Appends one event (written now or at the next [`Self::flush`]).
    pub fn append(&mut self, event: &Event) -> Result<(), StoreError> {
        serde_json::to_writer(&mut self.pending, event).expect("event serializes");
        self.pending.push(b'\n');
        if self.pending.len() >= WRITE_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes every pending event. The tracer calls it before it blocks,
    /// so whatever it has seen is on disk while the run is quiet (a live
    /// view reads it; a bop that is killed loses nothing it waited on).
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let r = self
            .file
            .write_all(&self.pending)
            .map_err(io_err("cannot append to", &self.path));
        self.pending.clear();
        r
    }
}

impl Drop for EventWriter {
    /// A tracer that ends by an error still leaves the events it had.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bop_model::Target;

    fn manifest(id: &str) -> Manifest {
        Manifest::new(
            id,
            Target::Command {
                argv: vec!["true".into()],
                cwd: "/".into(),
            },
            "true",
            now_ms(),
        )
    }

    #[test]
    fn ids_reject_traversal_and_junk() {
        for bad in ["", "..", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["run-1", "20261125-163012-ab12", "a.b_c"] {
            validate_id(good).unwrap();
        }
    }

    #[test]
    fn create_list_open_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let run = store.create(Some("r1")).unwrap();
        run.write_manifest(&manifest("r1")).unwrap();
        let mut w = run.event_writer().unwrap();
        w.append(&Event {
            seq: 1,
            pid: 10,
            tid: 10,
            call: "write".into(),
            ..Default::default()
        })
        .unwrap();
        // Pending until flushed (the tracer flushes before it waits).
        assert_eq!(store.events("r1").unwrap().len(), 0);
        w.flush().unwrap();
        assert_eq!(store.events("r1").unwrap().len(), 1);
        assert_eq!(store.list().unwrap().len(), 1);
        let again = store.create(Some("r1")).unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
        drop((w, run));
        // Another run's kept comparison with r1 goes with it.
        let other = store.create(Some("r2")).unwrap();
        other.write_manifest(&manifest("r2")).unwrap();
        let kept = other.kept_comparison("r1");
        fs::create_dir_all(kept.parent().unwrap()).unwrap();
        fs::write(&kept, "{}").unwrap();
        let unrelated = other.kept_comparison("r3");
        fs::write(&unrelated, "{}").unwrap();
        store.delete("r1").unwrap();
        assert!(!kept.exists(), "a comparison with a deleted run was kept");
        assert!(unrelated.exists());
        assert!(matches!(
            store.manifest("r1"),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.manifest("../etc"),
            Err(StoreError::InvalidId(_))
        ));
    }

    /// A channel end named by every event on it is held once when read
    /// (issue 16: ~140 bytes an event at 10^6 events), and the events read
    /// back are those written.
    #[test]
    fn equal_endpoints_are_read_as_one_shared_copy() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let run = store.create(Some("r")).unwrap();
        let end = |local: &str| bop_model::Endpoint {
            kind: Some(bop_model::ChannelKind::Unix),
            stream: true,
            local: local.into(),
            peer: Some("unix:2".into()),
            path: None,
        };
        let written: Vec<Event> = (1..=4)
            .map(|seq| Event {
                seq,
                pid: 10,
                tid: 10,
                call: "write".into(),
                endpoint: Some(end(if seq == 3 { "unix:3" } else { "unix:1" }).into()),
                ..Default::default()
            })
            .collect();
        let mut w = run.event_writer().unwrap();
        for e in &written {
            w.append(e).unwrap();
        }
        w.flush().unwrap();
        let read = run.events().unwrap();
        assert_eq!(read, written);
        let ep = |i: usize| read[i].endpoint.as_ref().unwrap();
        assert!(Arc::ptr_eq(ep(0), ep(1)) && Arc::ptr_eq(ep(0), ep(3)));
        assert!(!Arc::ptr_eq(ep(0), ep(2)));
    }

    #[test]
    fn torn_last_line_is_skipped_but_middle_corruption_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let run = store.create(Some("r")).unwrap();
        run.write_manifest(&manifest("r")).unwrap();
        let good = r#"{"seq":1,"pid":1,"tid":1,"call":"write","ret":1,"start_ns":0,"end_ns":1}"#;
        fs::write(run.file(EVENTS), format!("{good}\n{{\"seq\":2,\"pi")).unwrap();
        assert_eq!(run.events().unwrap().len(), 1);
        fs::write(run.file(EVENTS), format!("{{oops\n{good}\n")).unwrap();
        assert!(run.events().unwrap_err().to_string().contains("line 1"));
    }

    #[test]
    fn damaged_runs_are_listed_with_a_reason_and_can_be_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .create(Some("good"))
            .unwrap()
            .write_manifest(&manifest("good"))
            .unwrap();
        fs::create_dir(dir.path().join("missing")).unwrap();
        fs::write(dir.path().join("missing/events.jsonl"), "").unwrap();
        fs::create_dir(dir.path().join("empty")).unwrap();
        fs::write(dir.path().join("empty/manifest.json"), "").unwrap();
        fs::create_dir(dir.path().join("garbage")).unwrap();
        fs::write(dir.path().join("garbage/manifest.json"), "{\"id\": 3").unwrap();
        fs::create_dir(dir.path().join("explorations")).unwrap();
        fs::create_dir(dir.path().join(".hidden")).unwrap();
        let listing = store.scan().unwrap();
        assert_eq!(listing.runs.len(), 1);
        let mut reasons: Vec<(String, String)> = listing
            .damaged
            .iter()
            .map(|d| (d.id.clone(), d.reason.clone()))
            .collect();
        reasons.sort();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert_eq!(reasons[0].0, "empty");
        assert_eq!(reasons[0].1, "manifest.json is empty");
        assert_eq!(reasons[1].0, "garbage");
        assert!(
            reasons[1]
                .1
                .starts_with("manifest.json is not a manifest: "),
            "{reasons:?}"
        );
        assert_eq!(
            reasons[2],
            ("missing".into(), "manifest.json is missing".into())
        );
        for id in ["missing", "empty", "garbage"] {
            store.delete(id).unwrap();
            assert!(!dir.path().join(id).exists());
        }
        assert!(matches!(
            store.delete("explorations"),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            store.delete("nosuch"),
            Err(StoreError::NotFound { .. })
        ));
        assert!(store.scan().unwrap().damaged.is_empty());
    }

    #[test]
    fn a_run_being_recorded_is_neither_deleted_nor_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let recording = store.create(Some("r")).unwrap();
        // No manifest yet: a run being created, not a damaged one.
        assert!(store.scan().unwrap().damaged.is_empty());
        recording.write_manifest(&manifest("r")).unwrap();
        assert!(store.is_recording("r").unwrap());
        let clone = recording.clone();
        drop(recording);
        let err = store.delete("r").unwrap_err();
        assert!(matches!(err, StoreError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("being recorded"), "{err}");
        assert!(dir.path().join("r/manifest.json").exists());
        drop(clone);
        assert!(!store.is_recording("r").unwrap());
        store.delete("r").unwrap();
    }

    /// A small tmpfs, unmounted when dropped. `None` when mounting is not
    /// allowed (not root).
    struct SmallDisk(tempfile::TempDir);

    impl SmallDisk {
        fn mount(size: &str) -> Option<SmallDisk> {
            let dir = tempfile::tempdir().unwrap();
            let ok = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            ok.then_some(SmallDisk(dir))
        }

        /// Fills the disk with one file until ENOSPC.
        fn fill(&self) {
            let mut f = File::create(self.0.path().join("filler")).unwrap();
            let block = vec![0u8; 4096];
            while f.write_all(&block).is_ok() {}
        }
    }

    impl Drop for SmallDisk {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg(self.0.path())
                .status();
        }
    }

    #[test]
    fn a_full_disk_leaves_no_temporary_manifest() {
        let Some(disk) = SmallDisk::mount("64k") else {
            eprintln!("skipped: cannot mount a tmpfs (not root)");
            return;
        };
        let store = Store::open(disk.0.path().join("store")).unwrap();
        let run = store.create(Some("r")).unwrap();
        run.write_manifest(&manifest("r")).unwrap();
        disk.fill();
        let mut big = manifest("r");
        big.command = "x".repeat(256 * 1024);
        let err = run.write_manifest(&big).unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
        assert!(
            !run.file(".manifest.json.tmp").exists(),
            "temporary manifest left behind"
        );
        // The old manifest is untouched.
        assert_eq!(store.manifest("r").unwrap().command, "true");
    }
}
