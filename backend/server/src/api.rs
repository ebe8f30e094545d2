//! The JSON API under `/api/` (docs/API.md). Handlers are thin: validate
//! the request, call the store / tracker export on a blocking thread (they
//! read files and can take a while for large runs), shape the answer.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson};
use super::runs_query::{BadRunsQuery, Groups, RunsQuery};
use super::state::AppState;
use super::windows::WindowParams;
use bop_injector::FaultPlan;
use bop_model::Exploration;
use bop_model::Verdict;
use bop_store::{Store, validate_id};
use bop_tracker::export::{self, Format};

/// Most runs one page of `GET /api/runs` returns.
pub(crate) const MAX_RUNS_PAGE: usize = 1000;
/// Most events one page of `GET /api/runs/{id}/events` returns.
pub(crate) const MAX_EVENTS_PAGE: usize = 10_000;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/runs", get(list_runs))
        .route("/runs/{id}", get(get_run).delete(delete_run))
        .route("/runs/{id}/graph", get(get_graph))
        .route("/runs/{id}/window", get(get_window))
        .route("/runs/{id}/events", get(get_events))
        .route("/runs/{id}/find", get(super::find::get_find))
        .route("/runs/{id}/tree", get(super::tree::get_tree))
        .route("/runs/{id}/export", get(get_export))
        .route("/runs/{id}/reruns", post(post_rerun))
        .route("/compare", get(super::compares::get_compare))
        .route("/compare/summary", get(super::compares::get_summary))
        .route("/compare/marks", get(super::compares::get_marks))
        .route("/explorations", get(list_explorations))
        .route("/explorations/{id}", get(get_exploration))
        .route("/reruns", get(list_reruns))
        .route("/reruns/{id}", get(get_rerun))
        .route(
            "/searches",
            get(super::searches::api::list).post(super::searches::api::post),
        )
        .route("/searches/{id}", get(super::searches::api::get))
        .route("/searches/{id}/stop", post(super::searches::api::stop))
        .fallback(|| async { ApiError::from_status(StatusCode::NOT_FOUND) })
}

/// `?offset&limit` of paged routes.
#[derive(Deserialize, Debug)]
struct PageQuery {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

impl PageQuery {
    fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::BadQuery(format!(
                "limit must be between 1 and {max}, not {n}"
            ))),
        }
    }
}

/// Runs a store operation on the blocking pool.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| ApiError::Internal(format!("store task failed: {e}")))?
}

/// Path ids are checked before anything touches the file system.
fn checked(id: &str) -> Result<String, ApiError> {
    validate_id(id)?;
    Ok(id.to_string())
}

async fn list_runs(
    State(state): State<AppState>,
    query: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let bad = |e: BadRunsQuery| ApiError::BadQuery(e.0);
    let limit = query.limit(100, MAX_RUNS_PAGE).map_err(bad)?;
    let (page, damaged) = blocking(&state, move |store| {
        let mut listing = store.scan()?;
        let damaged: Vec<_> = std::mem::take(&mut listing.damaged)
            .into_iter()
            .map(|d| json!({ "id": d.id, "reason": d.reason, "modified_ms": d.modified_ms }))
            .collect();
        // A run whose recorder is gone shows as abandoned, as in `bop runs`.
        for m in &mut listing.runs {
            m.status = store.status_of(m);
        }
        let groups = Groups::load(store);
        Ok((query.page(listing, &groups, limit).map_err(bad)?, damaged))
    })
    .await?;
    let mut page = serde_json::to_value(page)
        .map_err(|e| ApiError::Internal(format!("cannot encode runs: {e}")))?;
    // Only when there are some, so the common answer keeps its old shape.
    if !damaged.is_empty() {
        page["damaged"] = Value::Array(damaged);
    }
    Ok(axum::Json(page).into_response())
}

async fn get_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    let manifest = blocking(&state, move |store| {
        let mut m = store.manifest(&id)?;
        m.status = store.status_of(&m);
        Ok(m)
    })
    .await?;
    Ok(axum::Json(manifest).into_response())
}

async fn get_graph(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    let json = state.graphs().get(state.store(), &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

async fn get_window(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<WindowParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    let Query(params) = query?;
    let json = state
        .windows()
        .window(state.store(), &id, params.query()?)
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

async fn get_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    let Query(page) = query?;
    let limit = page.limit(1000, MAX_EVENTS_PAGE)?;
    let offset = page.offset;
    let (total, events) = blocking(&state, move |store| {
        let all = store.events(&id)?;
        let total = all.len();
        Ok((
            total,
            all.into_iter().skip(offset).take(limit).collect::<Vec<_>>(),
        ))
    })
    .await?;
    Ok(
        axum::Json(json!({ "total": total, "offset": offset, "limit": limit, "events": events }))
            .into_response(),
    )
}

#[derive(Deserialize, Debug)]
struct ExportQuery {
    format: Option<String>,
}

async fn get_export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    let Query(query) = query?;
    let format: Format = query.format.as_deref().unwrap_or("json").parse()?;
    let content_type = match format {
        Format::Json | Format::Perfetto => "application/json",
        Format::Dot => "text/vnd.graphviz; charset=utf-8",
        Format::Shiviz => "text/plain; charset=utf-8",
    };
    let text = blocking(&state, move |store| {
        let run = store.run(&id)?;
        Ok(export::render(&run.manifest()?, &run.events()?, format))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

async fn delete_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    if state.reruns().is_active(&id) {
        return Err(ApiError::Conflict(format!(
            "run '{id}' is being recorded by a rerun; wait for it to end"
        )));
    }
    let children = state.reruns().active_children(&id);
    if children > 0 {
        return Err(ApiError::Conflict(format!(
            "run '{id}' has {children} rerun(s) queued or running; wait for them to end before deleting it"
        )));
    }
    // The store refuses (409) a run whose recorder still holds it.
    let (deleted, searches) = (id.clone(), state.clone());
    blocking(&state, move |store| {
        if let Some(why) = searches.searches().holding(&deleted) {
            return Err(ApiError::Conflict(why));
        }
        Ok(store.delete(&deleted)?)
    })
    .await?;
    state.graphs().forget(&id);
    state.windows().forget(&id);
    state.comparisons().forget(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn post_rerun(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<ApiJson<Value>, ApiError>,
) -> Result<Response, ApiError> {
    // The id is checked before the body so a bad URL is reported as such.
    let parent = checked(&id)?;
    let ApiJson(body) = body?;
    // serde reads a struct from a JSON array too (`[[...]]` would be a plan
    // with its fields in order): a plan is an object, nothing else.
    if !body.is_object() {
        return Err(ApiError::InvalidBody(format!(
            "a fault plan is a JSON object {{\"faults\": [...]}}, not {}",
            json_kind(&body)
        )));
    }
    let plan: FaultPlan =
        serde_json::from_value(body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let new_id = state.reruns().start(&parent, plan).await?;
    let location = format!("/api/reruns/{new_id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        axum::Json(json!({ "id": new_id })),
    )
        .into_response())
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One row of `GET /api/explorations`.
#[derive(Serialize, Debug)]
struct ExplorationSummary {
    id: String,
    kind: String,
    base: String,
    base_verdict: Verdict,
    started_ms: u64,
    ended_ms: Option<u64>,
    complete: bool,
    /// Runs recorded (class members, or sweep probes that ran).
    runs: usize,
    /// Trace classes (class exploration).
    classes: usize,
    /// Probes (sweep).
    probes: usize,
    /// Probes whose rerun flipped the baseline's verdict (sweep).
    flipped: usize,
}

impl From<&Exploration> for ExplorationSummary {
    fn from(e: &Exploration) -> ExplorationSummary {
        let class_runs: usize = e.classes.iter().map(|c| c.count).sum();
        let probe_runs = e.probes.iter().filter(|p| p.run.is_some()).count();
        ExplorationSummary {
            id: e.id.clone(),
            kind: e.kind.clone(),
            base: e.params.base.clone(),
            base_verdict: e.base_verdict,
            started_ms: e.started_ms,
            ended_ms: e.ended_ms,
            complete: e.complete,
            runs: class_runs + probe_runs,
            classes: e.classes.len(),
            probes: e.probes.len(),
            flipped: e.probes.iter().filter(|p| p.flipped).count(),
        }
    }
}

async fn list_explorations(State(state): State<AppState>) -> Result<Response, ApiError> {
    let explorations = blocking(&state, |store| {
        Ok(store
            .explorations()
            .list::<Exploration>()
            .iter()
            .map(ExplorationSummary::from)
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(axum::Json(json!({ "explorations": explorations })).into_response())
}

async fn get_exploration(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    let exploration = blocking(&state, move |store| {
        Ok(store.explorations().load::<Exploration>(&id)?)
    })
    .await?;
    Ok(axum::Json(exploration).into_response())
}

async fn list_reruns(State(state): State<AppState>) -> Response {
    axum::Json(json!({ "reruns": state.reruns().list() })).into_response()
}

async fn get_rerun(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = checked(&id)?;
    match state.reruns().status(&id) {
        Some(status) => Ok(axum::Json(status).into_response()),
        None => Err(ApiError::NotFound(format!(
            "no rerun '{id}' was started by this server"
        ))),
    }
}
