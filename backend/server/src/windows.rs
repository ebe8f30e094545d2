//! `GET /api/runs/{id}/window`: windows of big runs from their index
//! (bop-store's `index`), never from the whole log per request.
//!
//! An ended run is answered from `runs/<id>/index.sqlite`, opened once and
//! kept open (at most [`MAX_OPEN`], least recently used closed first; each
//! holds a few MB of page cache whatever the run's size). A run without a
//! usable index (an old run, a damaged or stale file) gets one built, under
//! the same semaphore that bounds graph builds, on the blocking pool, so
//! every other endpoint stays answered while it builds. A run still being
//! recorded has no index yet: it is answered from its log, as the graph is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::error::ApiError;
use bop_store::index::{self, Index, IndexError, Stamp};
use bop_store::{RunDir, Store};
use bop_tracker::window::{self, WindowQuery};

/// Indexes kept open at once.
pub(crate) const MAX_OPEN: usize = 16;

/// `?scale&x0&x1&lanes&columns` as received.
#[derive(Deserialize, Debug)]
pub(crate) struct WindowParams {
    scale: Option<String>,
    x0: Option<u64>,
    x1: Option<u64>,
    lanes: Option<String>,
    columns: Option<usize>,
}

impl WindowParams {
    /// The query, or a 400 for a scale that is not one.
    pub(crate) fn query(self) -> Result<WindowQuery, ApiError> {
        let scale = match self.scale.as_deref() {
            None => window::Scale::Time,
            Some(s) => s
                .parse()
                .map_err(|e: window::WindowError| ApiError::BadQuery(e.to_string()))?,
        };
        Ok(WindowQuery {
            scale,
            x0: self.x0,
            x1: self.x1,
            lanes: self.lanes.map(|l| {
                l.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
            columns: self.columns.unwrap_or(window::DEFAULT_COLUMNS),
        })
    }
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> ApiError {
        match e {
            IndexError::Window(w) => ApiError::BadQuery(w.to_string()),
            IndexError::Find(f) => ApiError::BadQuery(f.to_string()),
            IndexError::Store(s) => s.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

pub(crate) type Shared = Arc<Mutex<Index>>;

#[derive(Debug, Default)]
struct Open {
    entries: HashMap<String, (Stamp, Shared, u64)>,
    clock: u64,
}

/// Open indexes, shared by every request.
#[derive(Debug)]
pub(crate) struct Windows {
    builds: Arc<Semaphore>,
    /// One lock per run being opened or built, so two requests of one run
    /// never build its index twice.
    opening: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Shared with the checks [`Windows::index`] starts.
    open: Arc<Mutex<Open>>,
    max_open: usize,
}

impl Windows {
    /// `builds` is the graph builds' semaphore: index builds count as
    /// graph builds (they build one).
    pub(crate) fn new(builds: Arc<Semaphore>, max_open: usize) -> Windows {
        Windows {
            builds,
            opening: Mutex::default(),
            open: Arc::default(),
            max_open: max_open.max(1),
        }
    }

    fn cached(&self, id: &str, stamp: Stamp) -> Option<Shared> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.clock += 1;
        let clock = open.clock;
        let entry = open.entries.get_mut(id).filter(|e| e.0 == stamp)?;
        entry.2 = clock;
        Some(entry.1.clone())
    }

    fn keep(&self, id: &str, stamp: Stamp, ix: Shared) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.entries.remove(id);
        while open.entries.len() >= self.max_open {
            let Some(oldest) = open
                .entries
                .iter()
                .min_by_key(|(_, e)| e.2)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            open.entries.remove(&oldest);
        }
        open.clock += 1;
        let clock = open.clock;
        open.entries.insert(id.to_string(), (stamp, ix, clock));
    }

    /// Closes run `id`'s index (the run was deleted).
    pub(crate) fn forget(&self, id: &str) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.entries.remove(id);
    }

    /// Run `id`'s open index (opened or built first), or `None` while the
    /// run is being recorded (it has no index yet), with its run.
    pub(crate) async fn index(
        &self,
        store: &Store,
        id: &str,
    ) -> Result<(RunDir, Option<Shared>), ApiError> {
        let (store2, id2) = (store.clone(), id.to_string());
        let (run, recording, stamp) = blocking(move || {
            let run = store2.run(&id2)?;
            let recording = store2.is_recording(&id2)?;
            let stamp = Stamp::of(&run);
            Ok((run, recording, stamp))
        })
        .await?;
        if recording {
            return Ok((run, None));
        }
        if let Some(ix) = self.cached(id, stamp) {
            return Ok((run, Some(ix)));
        }
        let lock = self
            .opening
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id.to_string())
            .or_default()
            .clone();
        let _one = lock.lock().await;
        let found = match self.cached(id, stamp) {
            Some(ix) => ix,
            None => self.open_or_build(id, &run, stamp).await?,
        };
        self.opening
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        Ok((run, Some(found)))
    }

    /// Opens run `id`'s index from disk, or builds it. Opening reads a
    /// header, so it takes no build permit: a comparison or graph build in
    /// progress (which may hold every permit) must not delay the first
    /// window of a run whose index is already written.
    async fn open_or_build(
        &self,
        id: &str,
        run: &RunDir,
        stamp: Stamp,
    ) -> Result<Shared, ApiError> {
        let run2 = run.clone();
        let opened = blocking(move || Ok(open_existing(&run2, stamp))).await?;
        let (ix, built) = match opened {
            Some(ix) => (ix, false),
            None => {
                let _permit = self.permit().await?;
                let run2 = run.clone();
                (blocking(move || Ok(index::build(&run2)?)).await?, true)
            }
        };
        let ix = Arc::new(Mutex::new(ix));
        self.keep(id, stamp, ix.clone());
        if !built {
            self.verify_later(id, run.file(index::INDEX), ix.clone());
        }
        Ok(ix)
    }

    /// The JSON of one window of run `id`.
    pub(crate) async fn window(
        &self,
        store: &Store,
        id: &str,
        q: WindowQuery,
    ) -> Result<Bytes, ApiError> {
        let q2 = q.clone();
        let answer = self
            .with_index(store, id, move |ix, run| ix.window(&run.manifest()?, &q2))
            .await?;
        match answer {
            Some(w) => to_json(&w),
            None => {
                let _permit = self.permit().await?;
                let run = blocking({
                    let (store, id) = (store.clone(), id.to_string());
                    move || Ok(store.run(&id)?)
                })
                .await?;
                blocking(move || from_log(&run, &q)).await
            }
        }
    }

    /// `f` over run `id`'s index on the blocking pool, or `None` while the
    /// run is being recorded. `Index::open` reads a few pages and the
    /// integrity check runs after the first answer, so a page damaged
    /// elsewhere in the file is first seen by a query: then the index is
    /// dropped, rebuilt and asked once more, and the user gets the answer,
    /// never the damage.
    pub(crate) async fn with_index<T: Send + 'static>(
        &self,
        store: &Store,
        id: &str,
        f: impl Fn(&Index, &RunDir) -> Result<T, IndexError> + Clone + Send + 'static,
    ) -> Result<Option<T>, ApiError> {
        let mut retried = false;
        loop {
            let (run, ix) = self.index(store, id).await?;
            let Some(ix) = ix else {
                return Ok(None);
            };
            let (f2, ix2, run2) = (f.clone(), ix.clone(), run.clone());
            let answer = blocking(move || {
                let ix = ix2.lock().unwrap_or_else(PoisonError::into_inner);
                Ok(f2(&ix, &run2))
            })
            .await?;
            match answer {
                Err(e) if !retried && e.is_damage() => {
                    tracing::warn!(run = %id, "rebuilding the window index: {e}");
                    drop_index(&self.open, id, &ix, &run.file(index::INDEX));
                    retried = true;
                }
                other => return Ok(Some(other?)),
            }
        }
    }

    /// Runs the linear integrity check of an index opened from disk after
    /// its first window (a 10^6-event run's would take seconds); one that
    /// fails is closed and removed, so the next request rebuilds it.
    fn verify_later(&self, id: &str, path: std::path::PathBuf, ix: Shared) {
        let (open, id) = (self.open.clone(), id.to_string());
        tokio::task::spawn_blocking(move || {
            let Err(e) = index::verify(&path) else {
                return;
            };
            tracing::warn!(run = %id, "dropping the window index: {e}");
            drop_index(&open, &id, &ix, &path);
        });
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.builds
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(format!("graph builds closed: {e}")))
    }
}

/// Closes `ix` (if it is still run `id`'s) and removes its file, so the
/// next request builds a new one.
fn drop_index(open: &Mutex<Open>, id: &str, ix: &Shared, path: &std::path::Path) {
    let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
    if open.entries.get(id).is_some_and(|e| Arc::ptr_eq(&e.1, ix)) {
        open.entries.remove(id);
        index::remove(path);
    }
}

/// The run's index if it is usable; a damaged or stale file is removed,
/// so it is never served and the caller builds a new one.
fn open_existing(run: &RunDir, stamp: Stamp) -> Option<Index> {
    match Index::open(run, stamp) {
        Ok(ix) => Some(ix),
        Err(e) => {
            let path = run.file(index::INDEX);
            if path.exists() || run.file(index::FIND).exists() {
                tracing::warn!(run = %run.id, "rebuilding the window index: {e}");
                index::remove(&path);
            }
            None
        }
    }
}

/// A window of a run being recorded, from its log as it is now.
fn from_log(run: &RunDir, q: &WindowQuery) -> Result<Bytes, ApiError> {
    let (manifest, events) = (run.manifest()?, run.events()?);
    let g = bop_tracker::CausalGraph::build(&events);
    let x = bop_tracker::export::Export::from_graph(&manifest, &g);
    let w = window::window_of_export(&x, q).map_err(|e| ApiError::BadQuery(e.to_string()))?;
    to_json(&w)
}

fn to_json(w: &window::Window) -> Result<Bytes, ApiError> {
    serde_json::to_vec(w)
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(format!("window does not serialize: {e}")))
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("window task failed: {e}")))?
}
