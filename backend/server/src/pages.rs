//! HTML page shells (askama templates in `backend/server/templates/`). They carry
//! the page kind and run id in `<body data-…>`; the frontend bundle fetches
//! the JSON API and draws everything else.

use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::state::AppState;
use bop_store::{StoreError, validate_id};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(runs))
        .route("/runs/{id}", get(run))
        .route("/runs/{id}/tree", get(run_tree))
        .route("/compare", get(compare))
        .route("/explorations", get(explorations))
        .route("/explorations/{id}", get(exploration))
        .route("/searches", get(searches))
        .route("/searches/{id}", get(search))
        .route("/favicon.ico", get(favicon))
}

/// The icon browsers ask for on every page (an SVG: every current browser
/// takes one, whatever the URL's extension says).
async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        include_str!("../templates/favicon.svg"),
    )
        .into_response()
}

/// Renders a template with a status; a render failure becomes a plain 500.
fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!("template failed: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error: a page template failed; see the server log",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    page: &'static str,
}

pub(crate) async fn runs() -> Response {
    page(StatusCode::OK, &RunsPage { page: "runs" })
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    page: &'static str,
    id: String,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    page: &'static str,
    detail: String,
}

/// The error page for a path id that is not a valid id (400).
fn bad_id(e: &bop_store::StoreError) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        &NotFoundPage {
            page: "error",
            detail: e.to_string(),
        },
    )
}

/// A run's page. A missing run still gets the shell (with 404), so the
/// frontend shows the API's explanation the same way it shows any error.
async fn run(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match run_status(&state, &id) {
        Ok(status) => page(status, &RunPage { page: "run", id }),
        Err(e) => bad_id(&e),
    }
}

/// The status a page about run `id` is served with: 200, or 404 for a
/// run that is not there (the shell still comes, the frontend explains);
/// an id that is not an id gets the 400 error page instead.
fn run_status(state: &AppState, id: &str) -> Result<StatusCode, StoreError> {
    validate_id(id)?;
    Ok(match state.store().run(id) {
        Ok(_) => StatusCode::OK,
        Err(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    })
}

#[derive(Template)]
#[template(path = "tree.html")]
struct TreePage {
    page: &'static str,
    id: String,
}

/// A run's rerun tree; like the run page, a missing run gets the shell
/// (with 404) and the frontend shows the API's explanation.
async fn run_tree(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match run_status(&state, &id) {
        Ok(status) => page(status, &TreePage { page: "tree", id }),
        Err(e) => bad_id(&e),
    }
}

#[derive(Template)]
#[template(path = "explorations.html")]
struct ExplorationsPage {
    page: &'static str,
}

async fn explorations() -> Response {
    page(
        StatusCode::OK,
        &ExplorationsPage {
            page: "explorations",
        },
    )
}

#[derive(Template)]
#[template(path = "exploration.html")]
struct ExplorationPage {
    page: &'static str,
    id: String,
}

/// One exploration's page; like a run's, a missing one still gets the
/// shell (with 404) so the frontend shows the API's explanation.
async fn exploration(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if let Err(e) = validate_id(&id) {
        return bad_id(&e);
    }
    let status = match state
        .store()
        .explorations()
        .load::<bop_model::Exploration>(&id)
    {
        Ok(_) => StatusCode::OK,
        Err(StoreError::NoRecord { .. }) => StatusCode::NOT_FOUND,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    page(
        status,
        &ExplorationPage {
            page: "exploration",
            id,
        },
    )
}

#[derive(Template)]
#[template(path = "searches.html")]
struct SearchesPage {
    page: &'static str,
}

async fn searches() -> Response {
    page(StatusCode::OK, &SearchesPage { page: "searches" })
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    page: &'static str,
    id: String,
}

/// One search's page. A search the server has only queued has no record
/// yet, so the shell is always served (200); the frontend shows the API's
/// answer, a 404 included.
async fn search(Path(id): Path<String>) -> Response {
    if let Err(e) = validate_id(&id) {
        return bad_id(&e);
    }
    page(StatusCode::OK, &SearchPage { page: "search", id })
}

#[derive(Deserialize, Debug)]
pub(crate) struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    page: &'static str,
    a: Option<String>,
    b: Option<String>,
}

/// The comparison page of runs `a` and `b` (either may be absent: the page
/// then offers a picker). Ids are checked here; missing runs are reported
/// by the frontend from the API's answer.
async fn compare(query: Result<Query<CompareQuery>, QueryRejection>) -> Response {
    let (a, b) = query.map(|Query(q)| (q.a, q.b)).unwrap_or_default();
    for id in a.iter().chain(b.iter()) {
        if let Err(e) = validate_id(id) {
            return bad_id(&e);
        }
    }
    page(
        StatusCode::OK,
        &ComparePage {
            page: "compare",
            a,
            b,
        },
    )
}

/// Fallback for paths that are neither pages, `/api/` nor `/static/`.
pub(crate) async fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        &NotFoundPage {
            page: "error",
            detail: "There is no page at this address.".into(),
        },
    )
}
