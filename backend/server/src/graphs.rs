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
pub(crate) struct Stamp {
    manifest: (u64, Option<SystemTime>),
    events: (u64, Option<SystemTime>),
}

impl Stamp {
    /// The stamp of run `id` as its files are now.
    pub(crate) fn of(store: &Store, id: &str) -> Result<Stamp, ApiError> {
        let run = store.run(id)?;
        Ok(Stamp {
            manifest: file_stamp(&run.file("manifest.json")),
            events: file_stamp(&run.file("events.jsonl")),
        })
    }
}

fn file_stamp(path: &Path) -> (u64, Option<SystemTime>) {
    std::fs::metadata(path).map_or((0, None), |m| (m.len(), m.modified().ok()))
}

#[derive(Debug)]
struct Entry<S, V> {
    stamp: S,
    value: V,
    cost: usize,
    used: u64,
}

/// Values keyed by id, each valid for one stamp, bounded by the sum of
/// their costs (bytes, or an estimate), least recently used first out.
#[derive(Debug)]
pub(crate) struct Cache<S, V> {
    entries: HashMap<String, Entry<S, V>>,
    bytes: usize,
    clock: u64,
}

impl<S, V> Default for Cache<S, V> {
    fn default() -> Self {
        Cache {
            entries: HashMap::new(),
            bytes: 0,
            clock: 0,
        }
    }
}

impl<S: PartialEq, V: Clone> Cache<S, V> {
    pub(crate) fn get(&mut self, id: &str, stamp: &S) -> Option<V> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.entries.get_mut(id).filter(|e| e.stamp == *stamp)?;
        entry.used = clock;
        Some(entry.value.clone())
    }

    pub(crate) fn put(&mut self, id: &str, stamp: S, value: V, cost: usize, limit: usize) {
        self.remove(id);
        if cost > limit {
            return;
        }
        while self.bytes + cost > limit {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            self.remove(&oldest);
        }
        self.clock += 1;
        self.bytes += cost;
        let used = self.clock;
        let entry = Entry {
            stamp,
            value,
            cost,
            used,
        };
        self.entries.insert(id.to_string(), entry);
    }

    pub(crate) fn remove(&mut self, id: &str) {
        if let Some(e) = self.entries.remove(id) {
            self.bytes -= e.cost;
        }
    }

    /// Removes every entry whose id `drop` accepts.
    pub(crate) fn remove_where(&mut self, drop: impl Fn(&str) -> bool) {
        let ids: Vec<String> = self.entries.keys().filter(|k| drop(k)).cloned().collect();
        for id in ids {
            self.remove(&id);
        }
    }
}

/// The graph builder shared by every request.
#[derive(Debug)]
pub(crate) struct Graphs {
    builds: Arc<Semaphore>,
    cache: Mutex<Cache<Stamp, Bytes>>,
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
            .get(id, &stamp)
    }

    /// Drops run `id`'s cached graph (the run was deleted).
    pub(crate) fn forget(&self, id: &str) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// The graph JSON of run `id`, from the cache or built.
    pub(crate) async fn get(&self, store: &Store, id: &str) -> Result<Bytes, ApiError> {
        let stamp = {
            let (store, id) = (store.clone(), id.to_string());
            blocking(move || Stamp::of(&store, &id)).await?
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
            .put(id, stamp, json.clone(), json.len(), self.limit);
        Ok(json)
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
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
        let mut c = Cache::<Stamp, Bytes>::default();
        let put = |c: &mut Cache<Stamp, Bytes>, id: &str, n: usize| {
            c.put(id, stamp(1), Bytes::from(vec![0; n]), n, 100)
        };
        put(&mut c, "a", 40);
        put(&mut c, "b", 40);
        assert!(c.get("a", &stamp(1)).is_some());
        put(&mut c, "c", 40);
        assert!(
            c.get("b", &stamp(1)).is_none(),
            "b was the least recently used"
        );
        assert!(c.get("a", &stamp(1)).is_some());
        assert!(c.get("c", &stamp(1)).is_some());
        assert_eq!(c.bytes, 80);
        // A changed manifest is a miss; too big an entry is not kept.
        assert!(c.get("a", &stamp(2)).is_none());
        put(&mut c, "d", 101);
        assert!(c.get("d", &stamp(1)).is_none());
        assert_eq!(c.bytes, 80);
    }
}
