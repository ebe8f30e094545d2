//! The state shared by every request: the store, the served address (for
//! the Host/Origin checks), the static directory and the rerun and search
//! managers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::compares::{self, Comparisons};
use super::graphs::{CACHE_BYTES, Graphs, MAX_BUILDS};
use super::reruns::{RerunConfig, Reruns};
use super::searches::{SearchConfig, Searches};
use super::windows::{MAX_OPEN, Windows};
use bop_store::Store;

/// Cheap to clone (one `Arc`).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    addr: SocketAddr,
    static_dir: PathBuf,
    reruns: Reruns,
    searches: Searches,
    graphs: Graphs,
    windows: Windows,
    comparisons: Arc<Comparisons>,
}

impl AppState {
    /// State for a server bound to `addr` (the address actually bound, so
    /// the Host check knows the real port when port 0 was asked for).
    pub fn new(
        store: Store,
        addr: SocketAddr,
        static_dir: PathBuf,
        reruns: RerunConfig,
    ) -> AppState {
        let searches = SearchConfig::new(reruns.bop_exe.clone());
        AppState::with_searches(store, addr, static_dir, reruns, searches)
    }

    /// [`AppState::new`] with searches run as `searches` says.
    pub fn with_searches(
        store: Store,
        addr: SocketAddr,
        static_dir: PathBuf,
        reruns: RerunConfig,
        searches: SearchConfig,
    ) -> AppState {
        let graphs = Graphs::new(MAX_BUILDS, CACHE_BYTES);
        let comparisons = Arc::new(Comparisons::new(
            graphs.builds(),
            MAX_BUILDS,
            compares::CACHE_BYTES,
        ));
        let reruns = Reruns::new(reruns, store.clone(), comparisons.clone());
        let searches = Searches::new(searches, store.clone());
        AppState(Arc::new(Inner {
            store,
            addr,
            static_dir,
            reruns,
            searches,
            windows: Windows::new(graphs.builds(), MAX_OPEN),
            comparisons,
            graphs,
        }))
    }

    /// The run store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The served address.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Directory served under `/static/`.
    pub fn static_dir(&self) -> &Path {
        &self.0.static_dir
    }

    /// The graph builder and its cache.
    pub(crate) fn graphs(&self) -> &Graphs {
        &self.0.graphs
    }

    /// The open window indexes.
    pub(crate) fn windows(&self) -> &Windows {
        &self.0.windows
    }

    /// The comparisons computed and their cache.
    pub(crate) fn comparisons(&self) -> &Comparisons {
        &self.0.comparisons
    }

    /// The searches started by this server.
    pub(crate) fn searches(&self) -> &Searches {
        &self.0.searches
    }

    /// The reruns started by this server.
    pub(crate) fn reruns(&self) -> &Reruns {
        &self.0.reruns
    }
}
