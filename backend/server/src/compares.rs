//! `GET /api/compare`, `/api/compare/summary` and `/api/compare/marks`
//! (docs/API.md). A comparison builds both runs' causal graphs and aligns
//! them: two graph builds' worth of memory and seconds of CPU for two
//! 10^5-event runs. So it holds every permit of the build semaphore the
//! graphs and window indexes share (at most one comparison, and nothing
//! else heavy, at once), runs on the blocking pool, and its answer for the
//! big-run page (a summary and placed marks, bop_tracker `compare_marked`)
//! is computed once per pair and kept in a cache bounded by an estimate
//! of its size, valid while both runs' files are unchanged
//! (graphs.rs `Stamp`). The whole comparison (`/api/compare`, for small
//! runs and `bop diff`-like clients) is built on demand under the same
//! bound and not kept: for big runs its lists are the marks.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use super::graphs::{Cache, Stamp, blocking};
use super::state::AppState;
use bop_store::{Store, validate_id};
use bop_tracker::compare::{Mark, compare, compare_marked};

/// Bytes (estimated) of comparisons kept.
pub(crate) const CACHE_BYTES: usize = 128 * 1024 * 1024;
/// Most marks one page of `/api/compare/marks` returns.
pub(crate) const MAX_MARKS_PAGE: usize = 10_000;
/// Marks a page returns when the query does not say.
const DEFAULT_MARKS_PAGE: usize = 1000;

/// A comparison as the big-run page is served it.
#[derive(Debug)]
pub(crate) struct Served {
    summary: Bytes,
    marks: Vec<Mark>,
}

/// The comparisons shared by every request.
#[derive(Debug)]
pub(crate) struct Comparisons {
    builds: Arc<Semaphore>,
    permits: u32,
    cache: Mutex<Cache<(Stamp, Stamp), Arc<Served>>>,
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

    /// Drops the cached comparisons of run `id` (it was deleted).
    pub(crate) fn forget(&self, id: &str) {
        self.lock()
            .remove_where(|k| k.split('\n').any(|side| side == id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache<(Stamp, Stamp), Arc<Served>>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.builds
            .clone()
            .acquire_many_owned(self.permits)
            .await
            .map_err(|e| ApiError::Internal(format!("comparison builds closed: {e}")))
    }

    /// The summary and marks of A against B, from the cache or computed.
    async fn served(&self, store: &Store, a: &str, b: &str) -> Result<Arc<Served>, ApiError> {
        let key = format!("{a}\n{b}");
        let stamp = {
            let (store, a, b) = (store.clone(), a.to_string(), b.to_string());
            blocking(move || Ok((Stamp::of(&store, &a)?, Stamp::of(&store, &b)?))).await?
        };
        if let Some(s) = self.lock().get(&key, &stamp) {
            return Ok(s);
        }
        let _permit = self.permit().await?;
        // Requests that waited for the same pair find it computed.
        if let Some(s) = self.lock().get(&key, &stamp) {
            return Ok(s);
        }
        let served = {
            let (store, a, b) = (store.clone(), a.to_string(), b.to_string());
            blocking(move || {
                let (ra, rb) = (store.run(&a)?, store.run(&b)?);
                let (ma, ea) = (ra.manifest()?, ra.events()?);
                let (mb, eb) = (rb.manifest()?, rb.events()?);
                let m = compare_marked((&ma, &ea), (&mb, &eb));
                let summary = serde_json::to_vec(&m.summary)
                    .map(Bytes::from)
                    .map_err(|e| ApiError::Internal(format!("summary does not serialize: {e}")))?;
                Ok(Served {
                    summary,
                    marks: m.marks,
                })
            })
            .await?
        };
        let cost = served.summary.len() + served.marks.iter().map(mark_cost).sum::<usize>();
        let served = Arc::new(served);
        self.lock()
            .put(&key, stamp, served.clone(), cost, self.limit);
        Ok(served)
    }
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
        let (ra, rb) = (store.run(&a)?, store.run(&b)?);
        let (ma, ea) = (ra.manifest()?, ra.events()?);
        let (mb, eb) = (rb.manifest()?, rb.events()?);
        serde_json::to_vec(&compare((&ma, &ea), (&mb, &eb)))
            .map_err(|e| ApiError::Internal(format!("comparison does not serialize: {e}")))
    })
    .await?;
    Ok(json_bytes(Bytes::from(json)))
}

fn json_bytes(json: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

/// `GET /api/compare/summary?a=&b=`.
pub(crate) async fn get_summary(
    State(state): State<AppState>,
    query: Result<Query<PairQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (a, b) = query?.0.ids()?;
    let served = state.comparisons().served(state.store(), &a, &b).await?;
    Ok(json_bytes(served.summary.clone()))
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
    let served = state.comparisons().served(state.store(), &a, &b).await?;
    let matching = served.marks.iter().filter(|m| in_range(m, range));
    let total = matching.clone().count();
    let page = MarksPage {
        total,
        offset,
        marks: matching.skip(offset).take(limit).collect(),
    };
    Ok(axum::Json(page).into_response())
}
