//! `GET /api/runs/{id}/graph` without the memory blow-up: building the
//! causal graph of a 40,000-event run costs ~200 MB while it runs, so at
//! most [`MAX_BUILDS`] builds run at once (a semaphore; the rest wait), on
//! the blocking pool (never on the async workers that answer everything
//! else), and each built graph is kept as its serialized JSON in a cache
//! bounded by bytes, least recently used first out. A cache entry is
//! valid while the run's manifest and event log are the files it was
//! built from (size and modification time), so a rerun finishing, a run
//! still being recorded or a run deleted and recorded again under the
//! same id is built afresh.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use axum::body::Bytes;
use tokio::sync::Semaphore;

use super::error::ApiError;
use bop_store::Store;
use bop_tracker::export;

/// Graph builds allowed at once.
pub(crate) const MAX_BUILDS: usize = 2;
/// Bytes of serialized graphs kept.
pub(crate) const CACHE_BYTES: usize = 256 * 1024 * 1024;

/// What a cached graph was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    manifest: (u64, Option<SystemTime>),
    events: (u64, Option<SystemTime>),
}

fn file_stamp(path: &Path) -> (u64, Option<SystemTime>) {
    std::fs::metadata(path).map_or((0, None), |m| (m.len(), m.modified().ok()))
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    json: Bytes,
    used: u64,
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<String, Entry>,
    bytes: usize,
    clock: u64,
}

impl Cache {
    fn get(&mut self, id: &str, stamp: Stamp) -> Option<Bytes> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.entries.get_mut(id).filter(|e| e.stamp == stamp)?;
        entry.used = clock;
        Some(entry.json.clone())
    }

    fn put(&mut self, id: &str, stamp: Stamp, json: Bytes, limit: usize) {
        if let Some(old) = self.entries.remove(id) {
            self.bytes -= old.json.len();
        }
        if json.len() > limit {
            return;
        }
        while self.bytes + json.len() > limit {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                self.bytes -= e.json.len();
            }
        }
        self.clock += 1;
        self.bytes += json.len();
        let used = self.clock;
        self.entries
            .insert(id.to_string(), Entry { stamp, json, used });
    }
}

/// The graph builder shared by every request.
#[derive(Debug)]
pub(crate) struct Graphs {
    builds: Arc<Semaphore>,
    cache: Mutex<Cache>,
    limit: usize,
}

impl Graphs {
    pub(crate) fn new(max_builds: usize, cache_bytes: usize) -> Graphs {
        Graphs {
            builds: Arc::new(Semaphore::new(max_builds.max(1))),
            cache: Mutex::default(),
            limit: cache_bytes,
        }
    }

    /// The semaphore bounding builds (window index builds share it).
    pub(crate) fn builds(&self) -> Arc<Semaphore> {
        self.builds.clone()
    }

    fn cached(&self, id: &str, stamp: Stamp) -> Option<Bytes> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id, stamp)
    }

    /// Drops run `id`'s cached graph (the run was deleted).
    pub(crate) fn forget(&self, id: &str) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = cache.entries.remove(id) {
            cache.bytes -= e.json.len();
        }
    }

    /// The graph JSON of run `id`, from the cache or built.
    pub(crate) async fn get(&self, store: &Store, id: &str) -> Result<Bytes, ApiError> {
        let stamp = {
            let (store, id) = (store.clone(), id.to_string());
            blocking(move || {
                let run = store.run(&id)?;
                Ok(Stamp {
                    manifest: file_stamp(&run.file("manifest.json")),
                    events: file_stamp(&run.file("events.jsonl")),
                })
            })
            .await?
        };
        if let Some(json) = self.cached(id, stamp) {
            return Ok(json);
        }
        let _permit = self
            .builds
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(format!("graph builds closed: {e}")))?;
        // Requests that waited for the same run find the graph built.
        if let Some(json) = self.cached(id, stamp) {
            return Ok(json);
        }
        let json = {
            let (store, id) = (store.clone(), id.to_string());
            blocking(move || {
                let run = store.run(&id)?;
                let (manifest, events) = (run.manifest()?, run.events()?);
                let graph = export::graph_json(&manifest, &events);
                drop(events);
                serde_json::to_vec(&graph)
                    .map(Bytes::from)
                    .map_err(|e| ApiError::Internal(format!("graph does not serialize: {e}")))
            })
            .await?
        };
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(id, stamp, json.clone(), self.limit);
        Ok(json)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("graph task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(n: u64) -> Stamp {
        Stamp {
            manifest: (n, None),
            events: (0, None),
        }
    }

    #[test]
    fn the_cache_is_bounded_by_bytes_and_evicts_the_least_recently_used() {
        let mut c = Cache::default();
        c.put("a", stamp(1), Bytes::from(vec![0; 40]), 100);
        c.put("b", stamp(1), Bytes::from(vec![0; 40]), 100);
        assert!(c.get("a", stamp(1)).is_some());
        c.put("c", stamp(1), Bytes::from(vec![0; 40]), 100);
        assert!(
            c.get("b", stamp(1)).is_none(),
            "b was the least recently used"
        );
        assert!(c.get("a", stamp(1)).is_some());
        assert!(c.get("c", stamp(1)).is_some());
        assert_eq!(c.bytes, 80);
        // A changed manifest is a miss; too big an entry is not kept.
        assert!(c.get("a", stamp(2)).is_none());
        c.put("d", stamp(1), Bytes::from(vec![0; 101]), 100);
        assert!(c.get("d", stamp(1)).is_none());
        assert_eq!(c.bytes, 80);
    }
}
