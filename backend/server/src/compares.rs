//! `GET /api/compare`, `/api/compare/summary` and `/api/compare/marks`
//! (docs/API.md). A comparison builds both runs' causal graphs and aligns
//! them: two graph builds' worth of memory, under a second for two
//! 10^5-event runs, seconds and ~1.4 GB at 10^6 (both sides are built on
//! two threads, docs/PERFORMANCE.md "fastdiff"). So it holds
//! every permit of the build semaphore the graphs and window indexes
//! share (at most one comparison, and nothing else heavy, at once), runs
//! on the blocking pool, and its answer for the big-run page (a summary
//! and placed marks, bop_tracker `compare_marked`) is computed once per
//! pair: kept on disk next to run A (`disk.rs`, so a server started
//! afresh reads it back instead of comparing again) and in a memory cache
//! bounded by an estimate of its size, both valid while both runs' files
//! are unchanged. The whole comparison (`/api/compare`, for small runs
//! and `bop diff`-like clients) is built on demand under the same bound
//! and not kept: for big runs its lists are the marks.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use super::graphs::{Cache, blocking};
use super::state::AppState;
use bop_store::{Store, validate_id};
use bop_tracker::compare::{Mark, Summary, compare, compare_marked};
use disk::{Miss, PairStamp};

mod disk;

/// Bytes (estimated) of comparisons kept.
pub(crate) const CACHE_BYTES: usize = 128 * 1024 * 1024;
/// Most marks one page of `/api/compare/marks` returns.
pub(crate) const MAX_MARKS_PAGE: usize = 10_000;
/// Says where `/api/compare/summary` found its answer ([`Source`]).
const SOURCE_HEADER: &str = "x-bop-compare";
/// Marks a page returns when the query does not say.
const DEFAULT_MARKS_PAGE: usize = 1000;

/// A comparison as the big-run page is served it.
#[derive(Debug)]
pub(crate) struct Served {
    summary: Bytes,
    marks: Vec<Mark>,
}

/// Where a served comparison came from, in the `x-bop-compare` header of
/// `/api/compare/summary` (for tests and benchmarks: a fresh server must
/// answer `disk` for a pair compared before).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// This server's memory.
    Memory,
    /// The file kept next to run A (disk.rs).
    Disk,
    /// Computed for this request.
    Computed,
}

impl Source {
    fn header(self) -> &'static str {
        match self {
            Source::Memory => "memory",
            Source::Disk => "disk",
            Source::Computed => "computed",
        }
    }
}

/// The comparisons shared by every request.
#[derive(Debug)]
pub(crate) struct Comparisons {
    builds: Arc<Semaphore>,
    permits: u32,
    cache: Mutex<Cache<PairStamp, Arc<Served>>>,
    limit: usize,
}

impl Comparisons {
    /// Comparisons that take all `permits` of `builds` each.
    pub(crate) fn new(builds: Arc<Semaphore>, permits: usize, cache_bytes: usize) -> Comparisons {
        Comparisons {
            builds,
            permits: u32::try_from(permits.max(1)).unwrap_or(u32::MAX),
            cache: Mutex::default(),
            limit: cache_bytes,
        }
    }

    /// Drops the comparisons of run `id` (it was deleted) kept in memory
    /// (the store's delete removed those kept on disk).
    pub(crate) fn forget(&self, id: &str) {
        self.lock()
            .remove_where(|k| k.split('\n').any(|side| side == id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache<PairStamp, Arc<Served>>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.builds
            .clone()
            .acquire_many_owned(self.permits)
            .await
            .map_err(|e| ApiError::Internal(format!("comparison builds closed: {e}")))
    }

    /// Computes and keeps the comparison of A with B unless it is kept
    /// already (a rerun B of A just finished); a failure is only logged:
    /// the page asking for it later computes it again and says why.
    pub(crate) async fn prepare(&self, store: &Store, a: &str, b: &str) {
        match self.found(store, a, b, true).await {
            Ok(Some((_, source))) => {
                tracing::info!(a, b, source = source.header(), "comparison ready");
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(a, b, "cannot compare the rerun with its parent: {e}"),
        }
    }

    /// The summary and marks of A against B: from memory, else from the
    /// file kept next to A, else computed (under every build permit) and
    /// kept in both.
    async fn served(
        &self,
        store: &Store,
        a: &str,
        b: &str,
    ) -> Result<(Arc<Served>, Source), ApiError> {
        match self.found(store, a, b, true).await? {
            Some(found) => Ok(found),
            None => Err(ApiError::Internal(
                "a comparison computed is not found".into(),
            )),
        }
    }

    /// [`Comparisons::served`], or `None` when it is neither in memory
    /// nor kept on disk and `compute` is false.
    async fn found(
        &self,
        store: &Store,
        a: &str,
        b: &str,
        compute: bool,
    ) -> Result<Option<(Arc<Served>, Source)>, ApiError> {
        let key = format!("{a}\n{b}");
        let (stamp, file) = {
            let (store, a, b) = (store.clone(), a.to_string(), b.to_string());
            blocking(move || Ok((PairStamp::of(&store, &a, &b)?, disk::path(&store, &a, &b)?)))
                .await?
        };
        if let Some(s) = self.lock().get(&key, &stamp) {
            return Ok(Some((s, Source::Memory)));
        }
        // Reading the kept file needs no permit: it costs what the answer
        // costs, not what a comparison does.
        if let Some(s) = self.kept(&key, &file, stamp).await? {
            return Ok(Some((s, Source::Disk)));
        }
        if !compute {
            return Ok(None);
        }
        let _permit = self.permit().await?;
        // Requests that waited for the same pair find it computed.
        if let Some(s) = self.lock().get(&key, &stamp) {
            return Ok(Some((s, Source::Memory)));
        }
        let served = {
            let (store, a, b) = (store.clone(), a.to_string(), b.to_string());
            blocking(move || {
                let m = {
                    let ((ma, ea), (mb, eb)) = load_pair(&store, &a, &b)?;
                    compare_marked((&ma, &ea), (&mb, &eb))
                };
                if let Err(e) = disk::save(&file, stamp, &m.summary, &m.marks) {
                    // Served all the same; the next server computes it again.
                    tracing::warn!(path = %file.display(), "cannot keep the comparison: {e}");
                }
                served(&m.summary, m.marks)
            })
            .await?
        };
        Ok(Some((self.keep(&key, stamp, served), Source::Computed)))
    }

    /// The comparison kept at `file`, if it is there and still valid;
    /// a damaged file is logged and treated as none.
    async fn kept(
        &self,
        key: &str,
        file: &std::path::Path,
        stamp: PairStamp,
    ) -> Result<Option<Arc<Served>>, ApiError> {
        let file = file.to_path_buf();
        let loaded = blocking(move || match disk::load(&file, &stamp) {
            Ok(s) => served(&s.summary, s.marks).map(Some),
            Err(Miss::Absent | Miss::Stale) => Ok(None),
            Err(e @ Miss::Damaged { .. }) => {
                tracing::warn!("{e}; computing it again");
                Ok(None)
            }
        })
        .await?;
        Ok(loaded.map(|s| self.keep(key, stamp, s)))
    }

    fn keep(&self, key: &str, stamp: PairStamp, served: Served) -> Arc<Served> {
        let cost = served.summary.len() + served.marks.iter().map(mark_cost).sum::<usize>();
        let served = Arc::new(served);
        self.lock()
            .put(key, stamp, served.clone(), cost, self.limit);
        served
    }
}

/// Both runs' manifests and logs. B's log is parsed on a second thread
/// while A's is (a second or more each at 10^6 events; the comparison
/// holds every build permit, so the machine is its own); errors come in
/// the order they did when both were read one after the other.
fn load_pair(store: &Store, a: &str, b: &str) -> Result<(Loaded, Loaded), ApiError> {
    let (ra, rb) = (store.run(a)?, store.run(b)?);
    let ma = ra.manifest()?;
    let (ea, b) = std::thread::scope(|s| {
        let b = s.spawn(|| Ok::<_, bop_store::StoreError>((rb.manifest()?, rb.events()?)));
        let ea = ra.events();
        (
            ea,
            b.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
        )
    });
    Ok(((ma, ea?), b?))
}

/// A run's manifest and event log.
type Loaded = (bop_model::Manifest, Vec<bop_model::Event>);

fn served(summary: &Summary, marks: Vec<Mark>) -> Result<Served, ApiError> {
    let summary = serde_json::to_vec(summary)
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(format!("summary does not serialize: {e}")))?;
    Ok(Served { summary, marks })
}

/// About what a mark holds in memory.
fn mark_cost(m: &Mark) -> usize {
    let place = |p: &Option<bop_tracker::compare::Place>| {
        p.as_ref().map_or(0, |p| 64 + p.name.len() + p.thread.len())
    };
    128 + place(&m.a)
        + place(&m.b)
        + m.text.len()
        + m.message.as_ref().map_or(0, String::len)
        + m.what.iter().map(|w| 24 + w.len()).sum::<usize>()
}

/// `?a=ID&b=ID` of every comparison route.
#[derive(Deserialize, Debug)]
pub(crate) struct PairQuery {
    a: Option<String>,
    b: Option<String>,
}

impl PairQuery {
    fn ids(self) -> Result<(String, String), ApiError> {
        let id = |x: Option<String>, side: &str| match x {
            Some(id) if !id.is_empty() => {
                validate_id(&id)?;
                Ok(id)
            }
            _ => Err(ApiError::BadQuery(format!(
                "the comparison needs two run ids: ?a=RUN&b=RUN ({side} is missing)"
            ))),
        };
        Ok((id(self.a, "a")?, id(self.b, "b")?))
    }
}

/// `GET /api/compare?a=&b=`: the whole comparison (docs/COMPARE.md).
pub(crate) async fn get_compare(
    State(state): State<AppState>,
    query: Result<Query<PairQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (a, b) = query?.0.ids()?;
    let _permit = state.comparisons().permit().await?;
    let store = state.store().clone();
    let json = blocking(move || {
        let ((ma, ea), (mb, eb)) = load_pair(&store, &a, &b)?;
        serde_json::to_vec(&compare((&ma, &ea), (&mb, &eb)))
            .map_err(|e| ApiError::Internal(format!("comparison does not serialize: {e}")))
    })
    .await?;
    Ok(json_bytes(Bytes::from(json)))
}

fn json_bytes(json: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

/// `?a&b[&kept=only]` of `/api/compare/summary`.
#[derive(Deserialize, Debug)]
pub(crate) struct SummaryQuery {
    a: Option<String>,
    b: Option<String>,
    kept: Option<String>,
}

/// `GET /api/compare/summary?a=&b=[&kept=only]`. With `kept=only` a pair
/// never compared is not computed (204): the page asks so alongside its
/// first windows, which a comparison being computed would hold up.
pub(crate) async fn get_summary(
    State(state): State<AppState>,
    query: Result<Query<SummaryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let compute = match q.kept.as_deref() {
        None => true,
        Some("only") => false,
        Some(k) => {
            return Err(ApiError::BadQuery(format!(
                "kept must be 'only' or left out, not '{k}'"
            )));
        }
    };
    let (a, b) = PairQuery { a: q.a, b: q.b }.ids()?;
    let source_header = |s: &'static str| (SOURCE_HEADER, header::HeaderValue::from_static(s));
    match state
        .comparisons()
        .found(state.store(), &a, &b, compute)
        .await?
    {
        Some((served, source)) => {
            let mut r = json_bytes(served.summary.clone());
            let (k, v) = source_header(source.header());
            r.headers_mut().insert(k, v);
            Ok(r)
        }
        None => Ok((axum::http::StatusCode::NO_CONTENT, [source_header("none")]).into_response()),
    }
}

/// `?a&b[&scale&x0&x1][&offset&limit]` of `/api/compare/marks`.
#[derive(Deserialize, Debug)]
pub(crate) struct MarksQuery {
    a: Option<String>,
    b: Option<String>,
    scale: Option<String>,
    x0: Option<u64>,
    x1: Option<u64>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

/// Which marks a page is taken from: those with a side whose x (in one
/// scale) is in `[x0, x1]`, or all.
#[derive(Debug, Clone, Copy)]
struct Range {
    logical: bool,
    x0: u64,
    x1: u64,
}

impl MarksQuery {
    fn range(&self) -> Result<Option<Range>, ApiError> {
        let logical = match self.scale.as_deref() {
            None if self.x0.is_none() && self.x1.is_none() => return Ok(None),
            None | Some("time") => false,
            Some("logical") => true,
            Some(s) => {
                return Err(ApiError::BadQuery(format!(
                    "scale must be time or logical, not '{s}'"
                )));
            }
        };
        let (x0, x1) = (self.x0.unwrap_or(0), self.x1.unwrap_or(u64::MAX));
        if x0 > x1 {
            return Err(ApiError::BadQuery(format!(
                "x0 ({x0}) must not be after x1 ({x1})"
            )));
        }
        Ok(Some(Range { logical, x0, x1 }))
    }

    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_MARKS_PAGE),
            Some(n) if (1..=MAX_MARKS_PAGE).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::BadQuery(format!(
                "limit must be between 1 and {MAX_MARKS_PAGE}, not {n}"
            ))),
        }
    }
}

fn in_range(m: &Mark, r: Option<Range>) -> bool {
    let Some(r) = r else { return true };
    [&m.a, &m.b].into_iter().flatten().any(|p| {
        let x = if r.logical { p.logical } else { p.time };
        (r.x0..=r.x1).contains(&x)
    })
}

/// One page of `/api/compare/marks`.
#[derive(Serialize, Debug)]
struct MarksPage<'m> {
    /// Marks matching the range, in all pages.
    total: usize,
    offset: usize,
    marks: Vec<&'m Mark>,
}

/// `GET /api/compare/marks?a=&b=[&scale=&x0=&x1=][&offset=&limit=]`.
pub(crate) async fn get_marks(
    State(state): State<AppState>,
    query: Result<Query<MarksQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let (range, limit, offset) = (q.range()?, q.limit()?, q.offset);
    let (a, b) = PairQuery { a: q.a, b: q.b }.ids()?;
    let (served, _) = state.comparisons().served(state.store(), &a, &b).await?;
    let matching = served.marks.iter().filter(|m| in_range(m, range));
    let total = matching.clone().count();
    let page = MarksPage {
        total,
        offset,
        marks: matching.skip(offset).take(limit).collect(),
    };
    Ok(axum::Json(page).into_response())
}
