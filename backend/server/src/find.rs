//! `GET /api/runs/{id}/find?q=TEXT[&after=ID|&before=ID][&limit=N]`: the
//! events whose name, call, channel or payload contain TEXT, a page at a
//! time, so the run page can find, count and step through matches while it
//! holds only the window in view (issue 16).
//!
//! The matching is [`bop_tracker::find`]'s (pure, unit-tested). An ended
//! run is searched over its window index (the one windows.rs keeps open:
//! its find table, no graph; a damaged index is rebuilt and asked again); a run still being recorded
//! has no index, and is searched over its graph JSON from the shared
//! builder and its cache (graphs.rs: bounded builds, bounded bytes), whose
//! strings the search borrows. Both run on the blocking pool.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ApiError;
use super::state::AppState;
use bop_store::validate_id;
use bop_tracker::find::{FindQuery, Findable, find};

/// Matches per page when `limit` is not given.
const DEFAULT_LIMIT: usize = 100;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct FindParams {
    q: Option<String>,
    after: Option<usize>,
    before: Option<usize>,
    limit: Option<usize>,
}

/// The events of the graph JSON (everything else in it is skipped).
#[derive(Deserialize)]
struct GraphEvents<'a> {
    #[serde(borrow)]
    events: Vec<Findable<'a>>,
}

pub(crate) async fn get_find(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Result<Query<FindParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    validate_id(&id)?;
    let Query(p) = params?;
    let query = FindQuery {
        text: p
            .q
            .ok_or_else(|| ApiError::BadQuery("find needs q=TEXT".into()))?,
        after: p.after,
        before: p.before,
        limit: p.limit.unwrap_or(DEFAULT_LIMIT),
    };
    // Refuse a bad query before building a graph for it.
    query
        .check()
        .map_err(|e| ApiError::BadQuery(e.to_string()))?;
    let q2 = query.clone();
    let indexed = state
        .windows()
        .with_index(state.store(), &id, move |ix, _run| ix.find(&q2))
        .await?;
    if let Some(answer) = indexed {
        return Ok(axum::Json(answer).into_response());
    }
    let json = state.graphs().get(state.store(), &id).await?;
    let answer = tokio::task::spawn_blocking(move || {
        let graph: GraphEvents<'_> = serde_json::from_slice(&json)
            .map_err(|e| ApiError::Internal(format!("cached graph does not parse: {e}")))?;
        find(&graph.events, &query).map_err(|e| ApiError::BadQuery(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("find task failed: {e}")))??;
    Ok(axum::Json(answer).into_response())
}
